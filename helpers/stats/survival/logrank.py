"""The log-rank (Mantel-Haenszel) test of equal survival across groups.

========================================  ===============================================
here                                      R
========================================  ===============================================
``logrank_test(t, e, g)``                 ``survdiff(Surv(t, e) ~ g)``
``logrank_test(t, e, g, strata=s)``       ``survdiff(Surv(t, e) ~ g + strata(s))``
========================================  ===============================================

The stratified test (e.g. on the matched sets of a propensity-matched
cohort, ``s`` = MatchIt's ``subclass``) sums each stratum's observed minus
expected events and their variance before forming the statistic, as
``survdiff`` does; lifelines has no stratified log-rank test.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from helpers.stats.survival.cox import _cumsum_within
from helpers.stats.survival.times import _clean_time_event


@dataclass(frozen=True)
class LogrankResult:
    """Log-rank test, as R's ``survdiff``.

    ``observed``/``expected`` are per group, in ``groups`` order; ``note`` is
    empty unless the test is undefined (then ``p_value`` is NaN).
    """

    chi2: float
    df: int
    p_value: float
    groups: tuple = ()
    n: tuple = ()
    observed: tuple = ()
    expected: tuple = ()
    note: str = ""


def _logrank_moments(t: np.ndarray, e: np.ndarray, code: np.ndarray, k: int, strata: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed and expected events per group and the variance matrix of O - E, summed over ``strata``
    (integer codes; the risk sets of each stratum; None: one stratum)."""
    s = np.zeros(len(t), dtype=np.int64) if strata is None else np.asarray(strata, dtype=np.int64)
    order = np.lexsort((t, s))
    t, e, code, s = t[order], e[order], code[order], s[order]
    # (stratum, time) pairs play the role of the times; the at-risk counts restart in each stratum
    first = np.flatnonzero(np.concatenate(([True], (t[1:] != t[:-1]) | (s[1:] != s[:-1])))) if len(t) else \
        np.zeros(0, dtype=np.int64)
    idx = np.repeat(np.arange(first.size), np.diff(np.append(first, len(t))))
    cell = idx * k + code
    d = np.bincount(cell, weights=e, minlength=first.size * k).reshape(first.size, k)
    m = np.bincount(cell, minlength=first.size * k).reshape(first.size, k).astype(float)
    n_gj = _cumsum_within(m, s[first], reverse=True) if first.size else m
    n_j = n_gj.sum(axis=1)
    d_j = d.sum(axis=1)
    has = d_j > 0
    d, n_gj, n_j, d_j = d[has], n_gj[has], n_j[has], d_j[has]
    frac = n_gj / n_j[:, None]
    expected = (d_j[:, None] * frac).sum(axis=0)
    observed = d.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n_j > 1, d_j * (n_j - d_j) / (n_j - 1), 0.0)
    var = np.einsum("j,jg,jgh->gh", factor, frac, np.eye(k)[None, :, :] - frac[:, None, :])
    return observed, expected, var


def logrank_test(time, event, group, group_order: Sequence | None = None, strata=None) -> LogrankResult:
    r"""Log-rank (Mantel-Haenszel) test of equal survival across groups (R's ``survdiff``).

    At each event time :math:`t_j`, with :math:`n_{gj}` at risk and
    :math:`d_{gj}` events in group :math:`g` (totals :math:`n_j, d_j`):

    .. math::

        O_g - E_g = \sum_j \Bigl(d_{gj} - d_j \frac{n_{gj}}{n_j}\Bigr), \qquad
        V_{gh} = \sum_j d_j \frac{n_j - d_j}{n_j - 1}
                 \frac{n_{gj}}{n_j}\Bigl(\delta_{gh} - \frac{n_{hj}}{n_j}\Bigr),

    :math:`\chi^2 = (O - E)^\top V^{-1} (O - E)` over all groups but the
    first, on (number of groups with :math:`E_g > 0`) - 1 degrees of freedom.
    Stratified (``strata`` given): :math:`O - E` and :math:`V` are computed
    within each stratum and summed over strata before the statistic is formed
    (R's ``survdiff(Surv(t, e) ~ g + strata(s))``).

    Parameters
    ----------
    time, event, group : array-like
    group_order : sequence, optional
        Order of the groups in the result (default: sorted, as R's factor).
    strata : array-like, optional
        Stratum of each row (e.g. the matched set); rows with a missing
        stratum are dropped, as R drops them.

    Examples
    --------
    R's ``aml``: ``survdiff(Surv(time, status) ~ x, data = aml)`` gives
    Chisq = 3.4 on 1 df, p = 0.0653.

    >>> t = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161, 5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45]
    >>> e = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]
    >>> g = ["M"] * 11 + ["N"] * 12
    >>> round(logrank_test(t, e, g).chi2, 4)
    3.3964
    """
    g_raw = pd.Series(np.asarray(group, dtype=object).ravel())
    t_all = np.asarray(time, dtype=float).ravel()
    e_all = pd.to_numeric(pd.Series(np.asarray(event, dtype=object).ravel()), errors="coerce").to_numpy(float)
    complete = ~(np.isnan(t_all) | np.isnan(e_all) | g_raw.isna().to_numpy())
    if strata is not None:
        s_raw = pd.Series(np.asarray(strata, dtype=object).ravel())
        complete &= ~s_raw.isna().to_numpy()
    t, e, _ = _clean_time_event(t_all[complete], e_all[complete])
    g = g_raw[complete].to_numpy()
    present = list(pd.unique(g))
    if group_order is None:
        levels = sorted(present, key=str)
    else:
        levels = [lv for lv in group_order if lv in present]
        levels += sorted((lv for lv in present if lv not in levels), key=str)
    k = len(levels)
    code = pd.Categorical(g, categories=levels).codes.astype(int) if k else np.zeros(0, int)
    n_per = tuple(int(np.sum(code == i)) for i in range(k))
    if k < 2:
        return LogrankResult(0.0, 0, math.nan, tuple(levels), n_per,
                             tuple(float(np.sum(e[code == i])) for i in range(k)), (0.0,) * k,
                             "fewer than two groups: no test")
    if strata is None:
        observed, expected, var = _logrank_moments(t, e, code, k)
    else:
        s_code = pd.factorize(s_raw[complete].to_numpy())[0]
        observed, expected, var = _logrank_moments(t, e, code, k, s_code)  # all strata at once
    usable = expected > 0
    df = int(usable.sum()) - 1
    result = dict(groups=tuple(levels), n=n_per, observed=tuple(observed.tolist()),
                  expected=tuple(expected.tolist()))
    if usable.sum() < 2:
        return LogrankResult(0.0, max(df, 0), math.nan, **result,
                             note="fewer than two groups with expected events: no test")
    diff = (observed - expected)[usable][1:]
    v = var[np.ix_(usable, usable)][1:, 1:]
    try:
        chi2 = float(diff @ np.linalg.solve(v, diff))
    except np.linalg.LinAlgError:
        return LogrankResult(math.nan, df, math.nan, **result, note="singular variance matrix")
    return LogrankResult(chi2, df, float(stats.chi2.sf(chi2, df)), **result)
