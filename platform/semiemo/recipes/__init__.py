"""Recipes built on the trainer, outside it.

- Paper-specific jobs (not part of the trainer): paper 004's front-end pre-training (`avspnet_pretrain`),
  paper 001's class-balanced unlabeled pool (`pool_balance`), and the resolver of methods' pretrained-weight
  requests (`pretrained`).
- Named run recipes (`named`, the `*.yaml` files here): settings a user applies with `--recipe NAME`.
"""

from semiemo.recipes.named import apply_recipe, load_recipe, recipe_names

__all__ = ["apply_recipe", "load_recipe", "recipe_names"]
