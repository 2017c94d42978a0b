r"""Inverse probability of treatment weighting (IPTW) from a fitted propensity score: the weights, their
effective sample size and the weighted balance.

==============================  ==========================================================================
here                            R (``ps <- fitted(glm(treat ~ x, family = binomial))``, ``t`` 0/1)
==============================  ==========================================================================
``iptw_weights(ps, t, "ATT")``  ``ifelse(t == 1, 1, ps / (1 - ps))``  (WeightIt ``estimand = "ATT"``)
``iptw_weights(ps, t, "ATE")``  ``ifelse(t == 1, mean(t) / ps, (1 - mean(t)) / (1 - ps))``  (stabilized)
``effective_sample_size(w)``    ``sum(w)^2 / sum(w^2)`` (Kish; cobalt's ``bal.tab(...)$Observations``)
``weighted_smd(...)``           ``MatchIt:::bal1var(x, t, w, s.weights = 1, s.d.denom, standardize = TRUE)``
                                per dummy of each covariate level (``summary(matchit(...))``'s
                                "Std. Mean Diff.")
==============================  ==========================================================================

The SD of the standardized mean difference is that of MatchIt's ``summary`` and cobalt's ``bal.tab``
(``s.d.denom``): for the ATT the SD of the **treated** patients, for the ATE the **pooled** SD
:math:`\sqrt{(s_1^2 + s_0^2)/2}`, both computed in the **unweighted** cohort (so the denominator is the same
before and after weighting), a binary (0/1) variable's variance being :math:`p(1 - p)`. The difference of
means is weighted.

Extreme weights: a propensity score that is numerically 0 or 1 (within :data:`PS_EPSILON`, R ``glm``'s
"fitted probabilities numerically 0 or 1 occurred") gives a weight that is infinite or has no meaning, and
arms whose scores do not overlap at all (no common support, as under complete separation, where R's ``glm``
stops the scores just short of 0 and 1) leave one arm with weights of about 1e-13; :func:`iptw_weights` then
returns NaN weights and the reason, and every weighted estimate is "not estimable" with it. Within common
support the weights are used as they are, and their summary (the largest weight's share, the effective sample
size) shows how extreme they are.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: The estimands of :func:`iptw_weights`, with the report's wording.
ESTIMANDS = {"ATT": "IPTW, average effect in the treated (ATT)",
             "ATE": "IPTW, average effect in the cohort (ATE, stabilized)"}
#: A propensity score within this distance of 0 or 1 counts as 0 or 1 (R glm.fit's 10 * .Machine$double.eps).
PS_EPSILON = 10 * float(np.finfo(float).eps)
#: Quantiles of the weights' summary (:func:`weight_summary`).
SUMMARY_QUANTILES = {"min": 0.0, "p25": 0.25, "median": 0.5, "p75": 0.75, "max": 1.0}


@dataclass(frozen=True)
class Weights:
    """IPTW weights of one estimand: ``weights`` (NaN where not estimable) and ``note`` (why not)."""

    estimand: str
    weights: np.ndarray
    note: str = ""

    @property
    def estimable(self) -> bool:
        return not self.note


def iptw_weights(ps, treated, estimand: str = "ATT") -> Weights:
    r"""Inverse probability of treatment weights.

    With :math:`e_i` the propensity score and :math:`T_i` 1 for treated patients:

    - ATT: :math:`w_i = 1` (treated), :math:`e_i / (1 - e_i)` (controls): the controls are reweighted to
      the treated patients' covariate distribution;
    - ATE, stabilized: :math:`w_i = \bar T / e_i` (treated), :math:`(1 - \bar T)/(1 - e_i)` (controls),
      :math:`\bar T` the share treated (Xu et al. 2010): both arms are reweighted to the whole cohort, and
      each arm's weights sum to about its size.

    Parameters
    ----------
    ps : array-like
        Propensity scores (fitted probabilities of the treated arm).
    treated : array-like of bool
        True for treated patients.
    estimand : {"ATT", "ATE"}

    Returns
    -------
    Weights
        NaN weights and a ``note`` when a score is missing or numerically 0 or 1 (:data:`PS_EPSILON`), the
        arms' scores do not overlap, or an arm is empty.

    Examples
    --------
    >>> w = iptw_weights([0.5, 0.25, 0.2, 0.75], [True, True, False, False], "ATT")
    >>> w.weights.tolist()
    [1.0, 1.0, 0.25, 3.0]
    >>> iptw_weights([0.5, 0.25, 0.2, 0.75], [True, True, False, False], "ATE").weights.tolist()
    [1.0, 2.0, 0.625, 2.0]
    >>> iptw_weights([1.0, 0.5], [True, False], "ATE").note
    'propensity score numerically 0 or 1 for 1 patient: the inverse probability weights are infinite'
    """
    if estimand not in ESTIMANDS:
        raise ValueError(f"estimand must be one of {', '.join(ESTIMANDS)}; found {estimand!r}")
    e = np.asarray(ps, dtype=float).ravel()
    t = np.asarray(treated, dtype=bool).ravel()
    nan = np.full(e.size, np.nan)
    if e.size != t.size:
        raise ValueError(f"ps and treated differ in length ({e.size} vs {t.size})")
    if t.all() or not t.any():
        return Weights(estimand, nan, "one arm has no patients: nothing to weight")
    if np.isnan(e).any():
        return Weights(estimand, nan, f"no propensity score for {int(np.isnan(e).sum())} patient(s)")
    extreme = (e <= PS_EPSILON) | (e >= 1 - PS_EPSILON)
    # ATT: a treated patient's weight is 1 whatever its score; only controls with e = 1 (and ATE: anyone) break it
    broken = extreme & ~t if estimand == "ATT" else extreme
    if broken.any():
        n = int(broken.sum())
        return Weights(estimand, nan, f"propensity score numerically 0 or 1 for {n} patient{'s' if n > 1 else ''}: "
                                      "the inverse probability weights are infinite")
    if e[t].min() > e[~t].max() or e[t].max() < e[~t].min():
        return Weights(estimand, nan, "the propensity scores of the two arms do not overlap (no common support, "
                                      "e.g. separation): weighting cannot compare the arms")
    with np.errstate(divide="ignore", invalid="ignore"):
        if estimand == "ATT":
            w = np.where(t, 1.0, e / (1 - e))
        else:
            share = t.mean()
            w = np.where(t, share / e, (1 - share) / (1 - e))
    return Weights(estimand, w)


def effective_sample_size(weights) -> float:
    r"""Kish's effective sample size :math:`(\sum w)^2 / \sum w^2` (NaN without weights).

    >>> effective_sample_size([1, 1, 1, 1]), effective_sample_size([1, 1, 1, 5])
    (4.0, 2.2857142857142856)
    """
    w = np.asarray(weights, dtype=float)
    if w.size == 0 or not np.all(np.isfinite(w)) or np.sum(w ** 2) == 0:
        return float("nan")
    return float(w.sum() ** 2 / np.sum(w ** 2))


def weight_summary(weights, arm, arms: Sequence[str]) -> pd.DataFrame:
    """Per arm: patients, the sum of the weights, their quantiles (:data:`SUMMARY_QUANTILES`), the largest
    weight's share of its arm's total, and the effective sample size (Kish)."""
    w = np.asarray(weights, dtype=float)
    a = np.asarray(arm, dtype=object)
    rows = []
    for name in arms:
        x = w[a == name]
        ok = x.size > 0 and np.all(np.isfinite(x))
        row = dict(arm=name, n=int(x.size), sum=float(x.sum()) if ok else np.nan)
        row.update({q: float(np.quantile(x, p)) if ok else np.nan for q, p in SUMMARY_QUANTILES.items()})
        row["max_share"] = float(x.max() / x.sum()) if ok and x.sum() > 0 else np.nan
        row["ess"] = effective_sample_size(x) if ok else np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=["arm", "n", "sum", *SUMMARY_QUANTILES, "max_share", "ess"])


def _variance(x: np.ndarray) -> float:
    """MatchIt's ``wvar`` with unit weights: p(1 - p) for a 0/1 variable, else the sample variance."""
    if x.size == 0:
        return float("nan")
    if np.all((x == 0) | (x == 1)):
        p = x.mean()
        return float(p * (1 - p))
    return float(np.var(x, ddof=1)) if x.size > 1 else float("nan")


def smd_one(x, treated, weights=None, sd_denominator: str = "treated") -> float:
    r"""Standardized mean difference of one variable, as ``MatchIt:::bal1var(..., standardize = TRUE)``.

    :math:`(\bar x_{1,w} - \bar x_{0,w}) / s`, the means weighted and :math:`s` the unweighted SD of the
    treated (``"treated"``, the ATT's) or the pooled :math:`\sqrt{(s_1^2 + s_0^2)/2}` (``"pooled"``, the
    ATE's). A difference below :math:`\sqrt{\epsilon}` is returned unstandardized (as MatchIt), and an SD of
    0 falls back to the pooled SD. Signed (treated minus control).

    >>> round(smd_one([1, 0, 1, 0], [True, True, False, False], [1, 1, 1, 3]), 4)
    0.5
    """
    x = np.asarray(x, dtype=float)
    t = np.asarray(treated, dtype=bool)
    w = np.ones(x.size) if weights is None else np.asarray(weights, dtype=float)
    xt, xc = x[t], x[~t]
    return _smd(xt, xc, w[t], w[~t], _variance(xt), _variance(xc), sd_denominator)


def _smd(xt: np.ndarray, xc: np.ndarray, wt: np.ndarray, wc: np.ndarray, var_t: float, var_c: float,
         sd_denominator: str) -> float:
    """:func:`smd_one` from the arms' values ``xt``, ``xc``, weights ``wt``, ``wc`` and unweighted variances."""
    if not (wt > 0).any() or not (wc > 0).any():
        return float("nan")
    diff = np.average(xt, weights=wt) - np.average(xc, weights=wc)
    if abs(diff) <= np.sqrt(np.finfo(float).eps):
        return float(diff)
    pooled = np.sqrt((var_t + var_c) / 2)
    sd = np.sqrt(var_t) if sd_denominator == "treated" else pooled
    if not np.isfinite(sd) or sd < np.sqrt(np.finfo(float).eps):
        sd = pooled
    return float(diff / sd) if sd > 0 else float("nan")


class LevelBalance:
    """The level dummies of categorical covariates split by arm, for the SMDs of many weightings of one cohort.

    What does not depend on the weights (each level's 0/1 values per arm and their unweighted variances) is
    computed once, so that :meth:`smd` under one weighting costs a weighted mean per level and arm
    (e.g. the fifteen matched cohorts of a matching grid, the IPTW weightings).

    Parameters
    ----------
    df : pandas.DataFrame
    covariates : sequence of str
        Columns whose values (as strings) are the levels.
    treated : array-like of bool
    """

    def __init__(self, df: pd.DataFrame, covariates: Sequence[str], treated) -> None:
        self.treated = np.asarray(treated, dtype=bool)
        self.levels: list[tuple[str, str, np.ndarray, np.ndarray, float, float]] = []
        for var in covariates:
            codes, uniques = pd.factorize(df[var].astype(str).to_numpy(), sort=True)
            ct, cc = codes[self.treated], codes[~self.treated]
            for k, level in enumerate(uniques):
                xt, xc = (ct == k).astype(float), (cc == k).astype(float)
                self.levels.append((var, str(level), xt, xc, _variance(xt), _variance(xc)))

    def smd(self, weights=None, sd_denominator: str = "treated") -> pd.DataFrame:
        """The rows of :func:`weighted_smd` under ``weights`` (None: unweighted)."""
        t = self.treated
        w = np.ones(t.size) if weights is None else np.asarray(weights, dtype=float)
        wt, wc = w[t], w[~t]
        rows = [dict(variable=var, level=level, smd=_smd(xt, xc, wt, wc, vt, vc, sd_denominator))
                for var, level, xt, xc, vt, vc in self.levels]
        return pd.DataFrame(rows, columns=["variable", "level", "smd"])


def weighted_smd(df: pd.DataFrame, covariates: Sequence[str], treated, weights=None,
                 sd_denominator: str = "treated") -> pd.DataFrame:
    """Standardized mean differences (:func:`smd_one`) of every level of each categorical covariate.

    Returns
    -------
    pandas.DataFrame
        ``variable``, ``level``, ``smd`` (signed), one row per level present in the data (MatchIt's summary
        rows of a factor), covariates in the given order, levels sorted. Many weightings of one cohort:
        :class:`LevelBalance`.
    """
    return LevelBalance(df, covariates, treated).smd(weights, sd_denominator)
