"""Eligibility: one boolean column per criterion of the Methods, and the flow table.

The criteria are applied in the order of the Methods; the flow table counts,
at each step, the patients excluded by that criterion among those still in.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

STUDY_START = "2011-12-01"
STUDY_END = "2020-12-31"


@dataclass(frozen=True)
class Criterion:
    column: str
    label: str
    rule: Callable[[pd.DataFrame], pd.Series]


def _in_window(df: pd.DataFrame, start: str, end: str) -> pd.Series:
    s = pd.to_datetime(df["sbrt_start"])
    return (s >= pd.Timestamp(start)) & (s <= pd.Timestamp(end))


def criteria(study_start: str = STUDY_START, study_end: str = STUDY_END,
             max_diameter_cm: float = 7.0, min_months_since_treatment: float = 3.0,
             min_residual_liver_cc: float = 700.0) -> tuple[Criterion, ...]:
    """The five inclusion criteria of the Methods, in order, with the paper's thresholds."""
    return (
        Criterion("crit_single_tumor_le_7cm", f"Single tumour of at most {max_diameter_cm:g} cm",
                  lambda d: (d["n_tumors"] == 1) & (d["tumor_diameter_cm"] <= max_diameter_cm)),
        Criterion("crit_last_treatment_ge_3m", f"Latest earlier treatment at least {min_months_since_treatment:g} months before SBRT",
                  lambda d: d["months_since_last_treatment"] >= min_months_since_treatment),
        Criterion("crit_child_pugh_a_b", "Child-Pugh class A or B",
                  lambda d: d["child_pugh"].isin(["A", "B"])),
        Criterion("crit_residual_liver_ge_700cc", f"Residual liver volume at least {min_residual_liver_cc:g} cc",
                  lambda d: d["residual_liver_volume_cc"] >= min_residual_liver_cc),
        Criterion("crit_sbrt_in_study_period", f"SBRT started {study_start} to {study_end}",
                  lambda d: _in_window(d, study_start, study_end)),
    )


def add_eligibility(df: pd.DataFrame, crits: tuple[Criterion, ...] | None = None) -> pd.DataFrame:
    """Add one boolean column per criterion and ``eligible`` (all criteria met)."""
    crits = criteria() if crits is None else crits
    out = df.copy(deep=False)  # only new columns are set: the input's are shared, never written
    for c in crits:
        out[c.column] = c.rule(out).fillna(False).astype(bool)
    out["eligible"] = out[[c.column for c in crits]].all(axis=1)
    return out


def eligible_patients(screened: pd.DataFrame) -> pd.DataFrame:
    """The eligible rows of :func:`add_eligibility`'s frame, numbered 0, 1, ... (as
    ``screened[screened["eligible"]].reset_index(drop=True)``, with one copy of the rows, not two).

    >>> eligible_patients(pd.DataFrame({"eligible": [False, True, True], "x": [1, 2, 3]}))["x"].to_dict()
    {0: 2, 1: 3}
    """
    out = screened[screened["eligible"].to_numpy(dtype=bool)]
    out.index = pd.RangeIndex(len(out))
    return out


def flow_table(df: pd.DataFrame, crits: tuple[Criterion, ...] | None = None) -> pd.DataFrame:
    """The CONSORT-style flow: criteria applied one after another.

    Columns: ``step`` (0 = screened), ``criterion``, ``n_excluded`` (at this step,
    among those remaining), ``n_remaining``. Expects the columns of ``add_eligibility``.

    >>> d = pd.DataFrame({"a": [True, False, True], "b": [False, False, True]})
    >>> flow_table(d, (Criterion("a", "A", None), Criterion("b", "B", None)))[["n_excluded", "n_remaining"]].values.tolist()
    [[0, 3], [1, 2], [1, 1]]
    """
    crits = criteria() if crits is None else crits
    remaining = pd.Series(True, index=df.index)
    rows = [dict(step=0, criterion="Screened", n_excluded=0, n_remaining=int(remaining.sum()))]
    for i, c in enumerate(crits, start=1):
        excluded = remaining & ~df[c.column].astype(bool)
        remaining &= df[c.column].astype(bool)
        rows.append(dict(step=i, criterion=c.label, n_excluded=int(excluded.sum()), n_remaining=int(remaining.sum())))
    return pd.DataFrame(rows)
