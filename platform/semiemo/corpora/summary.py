"""A corpus at a glance: class shares per domain, durations, speakers — tables for the CLI and demo."""

from __future__ import annotations

import pandas as pd


def class_shares(manifest: pd.DataFrame) -> pd.DataFrame:
    """Percent of each class per domain (rows: class; columns: domain). Uses `label` where labeled,
    and `oracle_label` for unlabeled synthetic rows (column `<domain> (oracle)`)."""
    parts = {}
    for domain, rows in manifest.groupby("domain", sort=True, observed=True):
        labeled = rows[rows["labeled"].astype(bool)]
        if len(labeled) and "label" in rows:
            parts[f"{domain}"] = labeled["label"].value_counts(normalize=True) * 100
        unlabeled = rows[~rows["labeled"].astype(bool)]
        if len(unlabeled) and "oracle_label" in rows and unlabeled["oracle_label"].notna().any():
            parts[f"{domain} unlabeled (oracle)"] = unlabeled["oracle_label"].value_counts(normalize=True) * 100
    return pd.DataFrame(parts).fillna(0.0).round(1)


def domain_overview(manifest: pd.DataFrame) -> pd.DataFrame:
    """Rows, labeled rows, speakers and duration statistics per domain."""
    rows = []
    for domain, g in manifest.groupby("domain", sort=True, observed=True):
        row = {"domain": domain, "rows": len(g), "labeled": int(g["labeled"].astype(bool).sum()),
               "speakers": int(g["speaker"].nunique())}
        if "duration" in g and g["duration"].notna().any():
            d = g["duration"].astype(float)
            row.update({"hours": round(d.sum() / 3600, 2), "mean_s": round(d.mean(), 2),
                        "min_s": round(d.min(), 2), "max_s": round(d.max(), 2)})
        rows.append(row)
    return pd.DataFrame(rows)
