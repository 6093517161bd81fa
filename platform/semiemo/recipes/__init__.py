"""Paper-specific jobs built on the trainer (not part of it): paper 004's front-end pre-training, paper
001's class-balanced unlabeled pool, and the resolver of methods' pretrained-weight requests."""
