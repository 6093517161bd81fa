"""The groups `reproduce --all` can run one at a time, so a long budget runs in pieces.

A group is the analyses of one paper (or the shared SSL analyses, or the positive control), named by
patterns over the analysis names in search_spaces/. Each analysis belongs to the first group whose
pattern matches it; one no pattern names falls in `other`, so a new YAML still runs with `--all`
and can still be picked (tests/test_reproduce_groups.py asks that every shipped analysis has a named
group). `--group a,b` and `--only x,y` pick what one invocation runs; the index of every invocation
keeps all analyses, each with its last recorded status, so the pieces merge into one report.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatch

# group -> name patterns, cheapest group first (a good order to run the pieces in; `--all` itself runs file order)
GROUPS: dict[str, tuple[str, ...]] = {
    "control": ("ssl_positive_control", "unlabeled_quantity_control"),
    "ssl": ("fixmatch_*", "label_fraction", "unlabeled_quantity"),
    "cmdm": ("cmdm_*",),
    "cmkt": ("cmkt_*",),
    "ssgan": ("ssgan_*", "unlabeled_normalization"),
    "mmmd": ("mmmd_*",),
    "avspnet": ("avspnet_*",),
}
OTHER = "other"


def group_of(name: str) -> str:
    """The group an analysis belongs to (`other` when no pattern names it)."""
    for group, patterns in GROUPS.items():
        if any(fnmatch(name, p) for p in patterns):
            return group
    return OTHER


def select(names: Iterable[str], groups: list[str] | None = None, only: list[str] | None = None) -> list[str]:
    """The analyses of `names` (in their order) that one invocation runs: those in `groups` and those in
    `only` (both empty or None: all). An unknown group or analysis name is an error naming the allowed ones."""
    names = list(names)
    groups, only = [g for g in groups or [] if g], [o for o in only or [] if o]
    if not groups and not only:
        return names
    known_groups = sorted({*GROUPS, *(group_of(n) for n in names)})
    bad_groups = [g for g in groups if g not in known_groups]
    if bad_groups:
        raise ValueError(f"unknown group(s) {bad_groups}; groups: "
                         + "; ".join(f"{g} ({', '.join(n for n in names if group_of(n) == g) or 'none here'})"
                                     for g in known_groups))
    bad_names = [o for o in only if o not in names]
    if bad_names:
        raise ValueError(f"--only names {bad_names}, which `--all` does not run; analyses: {', '.join(names)}")
    return [n for n in names if group_of(n) in groups or n in only]


def split_list(value: str | None) -> list[str]:
    """'a,b , c' -> ['a', 'b', 'c'] (CLI lists)."""
    return [v.strip() for v in (value or "").split(",") if v.strip()]
