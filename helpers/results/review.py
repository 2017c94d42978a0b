"""Inputs of the reviewer's appendix (notebook 07) read by key: the published and reproduced numbers it uses.

The trial sizing (:mod:`helpers.stats.sizing`) needs, per endpoint, a
treatment hazard ratio and the control arm's survival at a time point: the
published ones (``data/published.csv``) and the ones this run reproduced
(``results/numbers.csv``), both after matching, as the paper's Discussion
quotes them.
"""
from __future__ import annotations

import math
import os

from helpers.data.published import load_published, published_value
from helpers.results.numbers import NumberTable

#: The endpoints whose hazard ratios the paper quotes (Discussion) and the trial would be sized for.
SIZING_ENDPOINTS = ("OS", "PFS")


def _value(table: NumberTable, quantity: str, **keys: object) -> float:
    try:
        return table.get(quantity, **keys).value
    except KeyError:
        return math.nan


def sizing_scenarios(build: str | os.PathLike | None, control_arm: str, treated_arm: str, months: float,
                     endpoints: tuple[str, ...] = SIZING_ENDPOINTS, cohort: str = "after") -> list[dict]:
    """Per source (``published``, ``reproduced``) and endpoint: the treatment HR and the control arm's
    Kaplan-Meier survival at ``months`` (NaN where the paper or the run has none)."""
    ledger = load_published()
    table = NumberTable.read(build)
    out = []
    for ep in endpoints:
        try:
            surv = published_value(ledger, "km_survival", cohort=cohort, arm=control_arm, endpoint=ep, months=int(months))
        except KeyError:
            surv = math.nan
        out.append(dict(source="published", endpoint=ep, control_months=months, control_survival=surv,
                        hr=published_value(ledger, "treatment_hr", cohort=cohort, arm=treated_arm, endpoint=ep)))
    for ep in endpoints:
        out.append(dict(source="reproduced", endpoint=ep, control_months=months,
                        control_survival=_value(table, "km_survival", cohort=cohort, arm=control_arm, endpoint=ep,
                                                months=months),
                        hr=_value(table, "treatment_hr", cohort=cohort, arm=treated_arm, endpoint=ep)))
    return out
