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

from helpers.stats.survival.cox import _design_matrix, cox_fit
from helpers.stats.survival.km import kaplan_meier
from helpers.stats.survival.times import _clean_time_event

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


def cox_zph(df: pd.DataFrame, duration_col: str, event_col: str, terms: Sequence[str],
            levels: Mapping[str, Sequence] | None = None) -> ZphResult:
    """Test proportional hazards per variable and globally, as ``cox.zph(fit, transform = "km")``.

    Parameters
    ----------
    df : pandas.DataFrame
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
    fit = cox_fit(df, duration_col, event_col, terms, levels)
    if not fit.estimable:
        return _not_testable(terms, f"the Cox model is not estimable: {fit.reason}")
    data = df[[duration_col, event_col, *terms]].dropna()
    t, e, _ = _clean_time_event(data[duration_col], data[event_col])
    X, names, variables, _ = _design_matrix(data, terms, levels)
    kept = list(fit.vcov.index)
    cols = [names.index(k) for k in kept]
    X = X[:, cols]
    var_of = [variables[c] for c in cols]
    beta = fit.table.set_index("term").loc[kept, "coef"].to_numpy(dtype=float)
    vcov = fit.vcov.to_numpy()
    g_raw = km_transform(t, e)
    g = g_raw - g_raw[e == 1].mean()
    p = X.shape[1]
    r = np.exp(X @ beta - np.max(X @ beta))
    u = np.zeros(p)
    imat = np.zeros((2 * p, 2 * p))
    schoen = []
    event_times = np.unique(t[e == 1])
    for tj in event_times:
        risk = t >= tj
        dead = (t == tj) & (e == 1)
        d = int(dead.sum())
        s0, s1 = r[risk].sum(), r[risk] @ X[risk]
        s2 = (r[risk, None] * X[risk]).T @ X[risk]
        d0, d1 = r[dead].sum(), r[dead] @ X[dead]
        d2 = (r[dead, None] * X[dead]).T @ X[dead]
        gj = g[dead][0]
        means = np.zeros(p)
        for ll in range(d):
            f = ll / d
            a0 = s0 - f * d0
            mean = (s1 - f * d1) / a0
            v = (s2 - f * d2) / a0 - np.outer(mean, mean)
            means += mean
            imat += np.block([[v, gj * v], [gj * v, gj * gj * v]])
        u += gj * (X[dead].sum(axis=0) - means)
        for i in np.flatnonzero(dead):
            schoen.append((t[i], g_raw[i], X[i] - means / d))
    n_events = len(schoen)

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
    resid = np.array([s[2] for s in schoen]) @ vcov * n_events + beta
    residuals = pd.DataFrame(resid, columns=kept)
    residuals.insert(0, "transformed_time", [s[1] for s in schoen])
    residuals.insert(0, "time", [s[0] for s in schoen])
    return ZphResult(table=pd.DataFrame(rows, columns=list(ZPH_COLUMNS)), residuals=residuals)
