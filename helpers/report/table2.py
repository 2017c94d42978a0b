"""The paper's Table 2 (patterns of progression) laid out for the report, from
:func:`helpers.stats.progression.progression_pattern_table`."""
from __future__ import annotations

import pandas as pd

from helpers.report import fmt


def format_table2(
    before: pd.DataFrame,
    after: pd.DataFrame | None = None,
    pct: str = "pct_of_group",
    decimals: int = 2,
) -> pd.DataFrame:
    """Table 2 laid out as in the paper: Total, then the arms before and after PSM.

    Cells are ``n (x%)`` with ``pct`` (``"pct_of_group"`` or
    ``"pct_of_progressed"``) as the percentage; labels are indented with em
    spaces by ``indent``; a section whose rows are all indented ("Progression
    pattern", "Subsequent therapy") gets a heading row with empty cells. Columns are a two-level index: ``("", "Variable")``,
    ``("", "Total (n = N)")`` (from ``before``), ``("Before PSM", "<arm> (n = N)")``
    and ``("After PSM", ...)``.

    Parameters
    ----------
    before, after : DataFrame
        Outputs of :func:`progression_pattern_table` on the full and the
        matched cohort (``before`` must include the Total group).
    """
    if pct not in ("pct_of_group", "pct_of_progressed"):
        raise ValueError("pct must be 'pct_of_group' or 'pct_of_progressed'")

    def cell(r) -> str:
        value = r[pct]
        return fmt.count(r["n"], value, decimals)

    blocks = [("", before[before["group"] == "Total"])] if (before["group"] == "Total").any() else []
    blocks.append(("Before PSM", before[before["group"] != "Total"]))
    if after is not None:
        blocks.append(("After PSM", after[after["group"] != "Total"]))
    items = before.drop_duplicates("key").sort_values("order")
    # A section whose rows are all indented gets a heading row, as in the paper
    # ("Subsequent therapies"); keys of None mark the heading rows.
    keys, labels = [], []
    for section, part in items.groupby("section", sort=False):
        if (part["indent"] > 0).all():
            keys.append(None)
            labels.append(section)
        keys += list(part["key"])
        labels += ["\u2003" * int(i) + lbl for i, lbl in zip(part["indent"], part["label"])]
    columns = [("", "Variable")]
    data = {("", "Variable"): labels}
    for title, part in blocks:
        for g in pd.unique(part["group"]):
            rows = part[part["group"] == g].set_index("key")
            col = (title, f"{g} (n = {int(rows['group_n'].iloc[0])})")
            columns.append(col)
            data[col] = [cell(rows.loc[k]) if k in rows.index else "" for k in keys]
    return pd.DataFrame(data, columns=pd.MultiIndex.from_tuples(columns))
