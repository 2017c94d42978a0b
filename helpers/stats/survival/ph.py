r"""The proportional-hazards test of a Cox model: scaled Schoenfeld residuals, as R's ``cox.zph``.

========================================  ===============================================
here                                      R (survival 3.x)
========================================  ===============================================
``cox_zph(df, "t", "e", ["x"])``          ``cox.zph(coxph(Surv(t, e) ~ x), transform = "km")``
``.table`` (per term, then GLOBAL)        ``$table`` (chisq, df, p)
``.residuals`` (time, scaled residuals)   ``$x``, ``$time``, ``$y`` (``plot(zph)``'s points)
========================================  ===============================================

Survival 3.x's test (Grambsch & Therneau 1994, as ``cox.zph`` computes it
since survival 3.0): a score test, at the fitted :math:`\hat\beta`, of
adding the time-varying terms :math:`x\,g(t)` to the model, with
:math:`g(t) = 1 - \hat S(t-)` (``transform = "km"``: one minus the
left-continuous Kaplan-Meier estimate of all patients), centred on its mean
over the events. With Efron's ties, at event time :math:`t_j` the
:math:`l`-th of the :math:`d_j` tied terms has risk-set mean
:math:`\bar x_{jl}` and variance :math:`V_{jl}`, and

.. math::

    U = \sum_j g_j \Bigl(\sum_{i \in D_j} x_i - \sum_l \bar x_{jl}\Bigr), \quad
    I = \sum_{j,l} \begin{pmatrix} V_{jl} & g_j V_{jl} \\ g_j V_{jl} & g_j^2 V_{jl} \end{pmatrix},

the test of a term with columns :math:`k` is
:math:`(0, U_k)^\top I_{[\cdot, k]}^{-1} (0, U_k)` on :math:`|k|` degrees
of freedom (the rows and columns of :math:`I` of all :math:`x` and of
:math:`x_k g`), the global test the same with every :math:`U`. The scaled
residuals plotted are :math:`\hat\beta + d\,V(\hat\beta)\, r_i` per event,
:math:`r_i` the Schoenfeld residual and :math:`d` the number of events; a
slope against time says the hazard ratio changes with time.

Unweighted, unstratified models only; the model is :func:`cox_fit`'s.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from helpers.stats.survival.cox import CoxData, _design_matrix, cox_fit
from helpers.stats.survival.km import kaplan_meier

ZPH_COLUMNS = ("variable", "chisq", "df", "p_value", "note")
GLOBAL = "GLOBAL"


@dataclass
class ZphResult:
    """``table``: one row per model variable and a ``GLOBAL`` row (``ZPH_COLUMNS``); ``residuals``: one row per
    event with ``time``, ``transformed_time`` and a scaled Schoenfeld residual per model column; ``reason`` says
    why there is no test (then the numbers are NaN)."""

    table: pd.DataFrame
    residuals: pd.DataFrame = field(default_factory=pd.DataFrame)
    reason: str = ""


def _not_testable(variables: Sequence[str], reason: str) -> ZphResult:
    table = pd.DataFrame({"variable": [*variables, GLOBAL], "chisq": math.nan, "df": 0, "p_value": math.nan,
                          "note": reason})
    return ZphResult(table=table, reason=reason)


def km_transform(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """``transform = "km"``: :math:`1 - \\hat S(t-)` at each time, the left-continuous KM of all rows."""
    km = kaplan_meier(time, event)
    idx = np.searchsorted(km["time"].to_numpy(), time, side="left")  # events strictly before t
    return 1.0 - np.concatenate([[1.0], km["survival"].to_numpy()])[idx]


def cox_zph(df: pd.DataFrame | CoxData, duration_col: str, event_col: str, terms: Sequence[str],
            levels: Mapping[str, Sequence] | None = None) -> ZphResult:
    """Test proportional hazards per variable and globally, as ``cox.zph(fit, transform = "km")``.

    Parameters
    ----------
    df : pandas.DataFrame or CoxData
    duration_col, event_col : str
        Follow-up time and event (1/0).
    terms, levels
        The Cox model, as :func:`cox_fit` takes it.

    Returns
    -------
    ZphResult
        Never raises on degenerate data: a model that is not estimable (no
        events, separation) gives NaN tests with the reason.
    """
    terms = list(terms)
    levels = dict(levels or {})
    source = df if isinstance(df, CoxData) else CoxData(df)
    fit = cox_fit(source, duration_col, event_col, terms, levels)
    if not fit.estimable:
        return _not_testable(terms, f"the Cox model is not estimable: {fit.reason}")
    data = source.complete([duration_col, event_col, *terms])
    t, e, order = data.time_event(duration_col, event_col)
    X, names, variables, _ = _design_matrix(data, terms, levels)
    kept = list(fit.vcov.index)
    cols = [names.index(k) for k in kept]
    var_of = [variables[c] for c in cols]
    beta = fit.table.set_index("term").loc[kept, "coef"].to_numpy(dtype=float)
    vcov = fit.vcov.to_numpy()
    g_raw = km_transform(t, e)
    g = g_raw - g_raw[e == 1].mean()
    # Rows sorted by time (stably: tied events keep the data's order, as the residuals are listed).
    X, t, e, g_raw, g = X[order][:, cols], t[order], e[order], g_raw[order], g[order]
    p = X.shape[1]
    eta = X @ beta
    r = np.exp(eta - np.max(eta))
    dead = e == 1
    # Per event time t_j: the risk set's sums S (rows with t >= t_j) and the tied events' sums D of r, r x, r x x'.
    event_times = np.unique(t[dead])
    kd = np.searchsorted(event_times, t[dead])  # each event's time among the event times
    size = event_times.size
    first = np.flatnonzero(np.concatenate(([True], t[1:] != t[:-1])))  # each distinct time's first row
    at = np.searchsorted(t[first], event_times)  # the event times among the distinct times

    def risk_sum(values: np.ndarray) -> np.ndarray:
        # sums per distinct time, then over the times from the last (as the Cox fit's risk sets)
        return np.cumsum(np.add.reduceat(values, first)[::-1])[::-1][at]

    def tied_sum(values: np.ndarray) -> np.ndarray:
        return np.bincount(kd, weights=values[dead], minlength=size)

    rx = r[:, None] * X
    s0, d0 = risk_sum(r), tied_sum(r)
    s1 = np.column_stack([risk_sum(rx[:, a]) for a in range(p)])
    d1 = np.column_stack([tied_sum(rx[:, a]) for a in range(p)])
    # One Efron term per event (j, l = 0..d_j-1): the risk-set mean and variance with l/d_j of the tied removed.
    d = np.bincount(kd, minlength=size)
    j = np.repeat(np.arange(size), d)
    f = (np.arange(j.size) - np.repeat(np.cumsum(d) - d, d)) / d[j]
    a0 = s0[j] - f * d0[j]
    mean = (s1[j] - f[:, None] * d1[j]) / a0[:, None]
    gj = g[dead][np.searchsorted(kd, np.arange(size))]  # g at each event time (g depends on the time only)
    gt = gj[j]
    imat = np.zeros((2 * p, 2 * p))
    for a in range(p):
        for b in range(a, p):
            s2, d2 = risk_sum(rx[:, a] * X[:, b]), tied_sum(rx[:, a] * X[:, b])
            v = (s2[j] - f * d2[j]) / a0 - mean[:, a] * mean[:, b]
            block = np.array([[v.sum(), (gt * v).sum()], [(gt * v).sum(), (gt * gt * v).sum()]])
            for (ra, rb) in ((a, b), (b, a)):
                imat[np.ix_([ra, p + ra], [rb, p + rb])] = block
    means = np.column_stack([np.bincount(j, weights=mean[:, a], minlength=size) for a in range(p)])
    x_dead = np.column_stack([tied_sum(X[:, a]) for a in range(p)])
    u = (gj[:, None] * (x_dead - means)).sum(axis=0)
    schoen = X[dead] - means[kd] / d[kd, None]
    n_events = int(dead.sum())

    def score_test(k: list[int]) -> float:
        idx = list(range(p)) + [p + j for j in k]
        vec = np.concatenate([np.zeros(p), u[k]])
        return float(vec @ np.linalg.solve(imat[np.ix_(idx, idx)], vec))

    rows = []
    for var in dict.fromkeys(var_of):
        k = [j for j, v in enumerate(var_of) if v == var]
        chisq = score_test(k)
        rows.append(dict(variable=var, chisq=chisq, df=len(k), p_value=float(stats.chi2.sf(chisq, len(k))), note=""))
    chisq = score_test(list(range(p)))
    rows.append(dict(variable=GLOBAL, chisq=chisq, df=p, p_value=float(stats.chi2.sf(chisq, p)), note=""))
    resid = schoen @ vcov * n_events + beta
    residuals = pd.DataFrame(resid, columns=kept)
    residuals.insert(0, "transformed_time", g_raw[dead])
    residuals.insert(0, "time", t[dead])
    return ZphResult(table=pd.DataFrame(rows, columns=list(ZPH_COLUMNS)), residuals=residuals)
