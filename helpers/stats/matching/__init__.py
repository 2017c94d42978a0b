r"""Propensity scores and 1:k nearest-neighbour caliper matching, as R MatchIt does them.

The paper matched with R MatchIt 4.5.1::

    matchit(treat ~ <10 covariates>, method = "nearest", distance = "glm",
            link = "linear.logit", ratio = 2, caliper = 0.02, std.caliper = TRUE,
            replace = FALSE)            # default m.order = "largest"

This module reproduces that call in two steps:

- :func:`fit_propensity` -- the logistic regression (R ``glm(..., family =
  binomial)``, replayed iteration for iteration by :func:`fit_logit_irls`);
- :func:`match_nearest_caliper` -- greedy nearest-neighbour matching on the
  logit of the propensity score, a port of MatchIt 4.5.1's C++ routine
  ``nn_matchC_vec`` with its tie rules and its two quirks (see ``emulate``):
  a control is sometimes passed over in the second pass, and some builds
  truncate distance differences to whole numbers, which voids a caliper
  below 1 logit.

:func:`fit_logit_irls` and :func:`nearest_caliper_match_rows` are the
array-only fast paths (for simulations that match thousands of times).

The tests compare both steps with MatchIt output captured from R
(``tests/test_matching.py``; ``make crosscheck`` re-runs R on random data).

Layout
------
==============  ==============================================================
``glm``         the propensity model: :func:`fit_propensity`, :func:`fit_logit_irls`
``nearest``     the matching: :func:`match_nearest_caliper` (tie and order rules
                beside the code), :func:`caliper_width`,
                :func:`nearest_caliper_match_rows`, :func:`match_rows_up_to_ratio`
                (every ratio up to k from one 1:k run)
``weights``     MatchIt's matching weights: :func:`matching_weights` (``m$weights``)
this module     :func:`propensity_match`: the model, then the matching
==============  ==============================================================

Everything is imported from ``helpers.stats.matching``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.data.schema import CONTROL_ARM, TREATED_ARM
from helpers.stats.matching.glm import (
    GLM_EPSILON,
    GLM_MAX_ITER,
    LogitFit,
    PropensityFit,
    fit_logit_irls,
    fit_propensity,
)
from helpers.stats.matching.nearest import (
    EMULATIONS,
    MATCH_ORDERS,
    caliper_width,
    match_nearest_caliper,
    match_rows_up_to_ratio,
    nearest_caliper_match_rows,
)
from helpers.stats.matching.weights import matching_weights

__all__ = [
    "GLM_MAX_ITER", "GLM_EPSILON", "LogitFit", "PropensityFit", "fit_logit_irls", "fit_propensity",
    "EMULATIONS", "MATCH_ORDERS", "caliper_width", "match_nearest_caliper", "match_rows_up_to_ratio",
    "nearest_caliper_match_rows",
    "PropensityMatch", "propensity_match", "matching_weights",
]


@dataclass(frozen=True)
class PropensityMatch:
    """Result of :func:`propensity_match`: the fit (None if no model could be fitted) and one row per patient."""

    fit: PropensityFit | None
    matched_cohort: pd.DataFrame
    """``patient_id, arm, propensity_score, logit_ps, matched (0/1), match_id, weights`` in the input's order:
    ``match_id`` is the matched set (MatchIt's ``subclass``), ``weights`` MatchIt's matching weights."""
    caliper: float
    notes: list[str]


def propensity_match(df: pd.DataFrame, covariates: Sequence[str], *, treated_arm: str = TREATED_ARM,
                     control_arm: str = CONTROL_ARM, ratio: int = 2, caliper_sd: float | None = 0.02,
                     id_col: str = "patient_id", emulate: str = "matchit-4.5.1") -> PropensityMatch:
    """Fit the propensity model and match, or say why nobody can be matched.

    :func:`fit_propensity` then :func:`match_nearest_caliper` on its logit.
    When one arm has no patients (e.g. every SBRT+TACE patient failed an
    eligibility criterion) there is nothing to model or match: the result
    has no fit, every patient is unmatched, and ``notes`` says why, so that
    the report can go on and state it. ``emulate``: which MatchIt behaviour
    :func:`match_nearest_caliper` reproduces (a recorded parameter of notebook 02).

    Examples
    --------
    >>> d = pd.DataFrame({"patient_id": ["a", "b", "c"], "arm": ["SBRT"] * 3, "sex_group": ["Male"] * 3})
    >>> m = propensity_match(d, ["sex_group"])
    >>> m.fit is None, m.matched_cohort["matched"].tolist(), m.notes
    (True, [0, 0, 0], ['No SBRT+TACE patient is in the analysis (3 SBRT): no propensity model is fitted and nobody is matched.'])
    """
    counts = df["arm"].value_counts()
    n_treated, n_control = int(counts.get(treated_arm, 0)), int(counts.get(control_arm, 0))
    base = pd.DataFrame({id_col: df[id_col].to_numpy(), "arm": df["arm"].to_numpy()})
    if n_treated == 0 or n_control == 0:
        empty, present = (treated_arm, control_arm) if n_treated == 0 else (control_arm, treated_arm)
        note = (f"No {empty} patient is in the analysis ({max(n_treated, n_control)} {present}): "
                "no propensity model is fitted and nobody is matched.")
        out = base.assign(propensity_score=np.nan, logit_ps=np.nan, matched=0,
                          match_id=pd.Series([pd.NA] * len(df), dtype=object), weights=0.0)
        return PropensityMatch(fit=None, matched_cohort=out, caliper=float("nan"), notes=[note])
    fit = fit_propensity(df, covariates, treatment="arm", treated_level=treated_arm)
    is_treated = (df["arm"] == treated_arm).to_numpy()
    logit = fit.logit_ps.to_numpy()
    matches = match_nearest_caliper(logit, is_treated, df[id_col].to_numpy(), ratio=ratio, caliper_sd=caliper_sd,
                                    emulate=emulate)
    out = base.assign(propensity_score=fit.propensity_score.to_numpy(), logit_ps=logit,
                      matched=matches["matched"].to_numpy().astype(int), match_id=matches["match_id"].to_numpy(),
                      weights=matching_weights(is_treated, matches["match_id"].to_numpy()))
    return PropensityMatch(fit=fit, matched_cohort=out, caliper=caliper_width(logit, caliper_sd), notes=list(fit.notes))
