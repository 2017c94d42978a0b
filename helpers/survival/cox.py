r"""Survival analysis: Kaplan-Meier, log-rank, Cox regression, follow-up.

Every function reproduces what R's ``survival`` package (3.5) reports, to a
relative 1e-6 (``tests/test_survival.py`` quotes the R calls and values):

========================================  ===============================================
here                                      R
========================================  ===============================================
``kaplan_meier(t, e)``                    ``survfit(Surv(t, e) ~ 1, conf.type = "log-log")``
``km_rates_at(t, e, [12, 36, 60])``       ``summary(fit, times = c(12, 36, 60))``
``km_median(t, e)``                       ``quantile(fit, 0.5)`` / ``print(fit)``
``logrank_test(t, e, g)``                 ``survdiff(Surv(t, e) ~ g)``
``cox_fit(df, "t", "e", ["x"])``          ``coxph(Surv(t, e) ~ x, ties = "efron")``
``median_followup(t, e)``                 ``survfit(Surv(t, 1 - e) ~ 1)`` (reverse KM)
========================================  ===============================================

Conventions: times are in months (``helpers.derive``: days / 30.4375), events
are 1 = event, 0 = censored. Rows with a missing time or event are dropped, as
R's default ``na.action`` does. Times that differ by less than
:math:`\sqrt{\epsilon}` are treated as tied, as R's ``timefix = TRUE``
(``aeqSurv``) does, so that e.g. 365 days computed along two float paths is one
time point.

The Cox model is fitted here by Newton-Raphson on the Efron partial likelihood,
a transcription of R's ``coxfit6`` (same start, step-halving, convergence rule
and infinite-coefficient check), so that R and Python stop at the same
iterate. Degenerate models never raise: ``cox_fit`` returns a result flagged
``estimable=False`` with the reason.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

ConfType = Literal["log-log", "log", "plain"]

#: R's ``coxph.control()`` defaults.
COX_ITER_MAX: int = 20
COX_EPS: float = 1e-9
COX_TOLER_CHOL: float = float(np.finfo(float).eps) ** 0.75
COX_TOLER_INF: float = math.sqrt(COX_EPS)

#: ``aeqSurv``'s tolerance: sqrt(.Machine$double.eps).
TIME_TIE_TOLERANCE: float = math.sqrt(float(np.finfo(float).eps))

KM_COLUMNS: tuple[str, ...] = (
    "time", "n_at_risk", "n_event", "n_censor", "survival", "std_err", "ci_lower", "ci_upper",
)


# ---------------------------------------------------------------------------
# Input handling
# ---------------------------------------------------------------------------

def fix_near_ties(time: np.ndarray, tolerance: float = TIME_TIE_TOLERANCE) -> np.ndarray:
    r"""Merge times that differ only by floating-point noise (R's ``aeqSurv``).

    Sorted distinct times :math:`y_1 < y_2 < \dots` are tied to their
    predecessor when :math:`y_{k+1} - y_k \le \text{tol}` or
    :math:`(y_{k+1} - y_k) / \overline{|y|} \le \text{tol}`; each time is
    then replaced by the first time of its run.

    Examples
    --------
    >>> fix_near_ties(np.array([1.0, 1.0 + 1e-12, 2.0])).tolist()
    [1.0, 1.0, 2.0]
    """
    time = np.asarray(time, dtype=float)
    y = np.unique(time[np.isfinite(time)])
    if y.size < 2:
        return time
    dy = np.diff(y)
    tied = (dy <= tolerance) | (dy / np.mean(np.abs(y)) <= tolerance)
    if not tied.any():
        return time
    cuts = y[np.concatenate([[True], ~tied])]
    out = time.copy()
    ok = np.isfinite(time)
    out[ok] = cuts[np.searchsorted(cuts, time[ok], side="right") - 1]
    return out


def _clean_time_event(time, event) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float times, 0/1 events, and the mask of kept (complete) rows."""
    t = np.asarray(time, dtype=float).ravel()
    e = pd.to_numeric(pd.Series(np.asarray(event, dtype=object).ravel()), errors="coerce").to_numpy(float)
    if t.shape != e.shape:
        raise ValueError(f"time and event differ in length ({t.size} vs {e.size})")
    keep = ~(np.isnan(t) | np.isnan(e))
    t, e = t[keep], e[keep]
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError("survival times must be finite and >= 0")
    if not np.all(np.isin(e, (0.0, 1.0))):
        raise ValueError("event must be coded 1 (event) / 0 (censored)")
    return fix_near_ties(t), e, keep


# ---------------------------------------------------------------------------
# Kaplan-Meier
# ---------------------------------------------------------------------------

def _z(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must be in (0, 1)")
    return float(stats.norm.ppf(1 - (1 - conf_level) / 2))


def survival_confint(surv: np.ndarray, se_log: np.ndarray, conf_level: float = 0.95,
                     conf_type: ConfType = "log-log") -> tuple[np.ndarray, np.ndarray]:
    r"""Pointwise confidence limits for :math:`S(t)` (R's ``survfit_confint``).

    With :math:`\sigma = \mathrm{se}(\log S)` (Greenwood) and :math:`z` the normal
    quantile:

    - ``"log-log"``: :math:`S^{\exp(\pm z\sigma/\log S)}`, i.e.
      :math:`\exp(-\exp(\log(-\log S) \mp z\sigma/\log S))`; undefined (NaN)
      where :math:`S \in \{0, 1\}`, as in R.
    - ``"log"``: :math:`S\exp(\pm z\sigma)`, upper limit capped at 1; NaN where
      :math:`S = 0`.
    - ``"plain"``: :math:`S \pm zS\sigma`, clipped to [0, 1].

    Examples
    --------
    >>> lo, hi = survival_confint(np.array([0.8]), np.array([0.1]), conf_type="log")
    >>> [round(float(lo[0]), 4), round(float(hi[0]), 4)]
    [0.6576, 0.9732]
    """
    z = _z(conf_level)
    s = np.asarray(surv, dtype=float)
    se = np.asarray(se_log, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "log-log":
            xx = np.where((s == 0) | (s == 1), np.nan, s)
            shift = z * se / np.log(xx)
            lower = np.exp(-np.exp(np.log(-np.log(xx)) - shift))
            upper = np.exp(-np.exp(np.log(-np.log(xx)) + shift))
        elif conf_type == "log":
            xx = np.where(s == 0, np.nan, s)
            lower = np.exp(np.log(xx) - z * se)
            upper = np.minimum(np.exp(np.log(xx) + z * se), 1.0)
        elif conf_type == "plain":
            half = z * se * s
            lower = np.maximum(s - half, 0.0)
            upper = np.minimum(s + half, 1.0)
        else:
            raise ValueError(f"conf_type must be 'log-log', 'log' or 'plain', not {conf_type!r}")
    return lower, upper


def kaplan_meier(time, event, conf_level: float = 0.95, conf_type: ConfType = "log-log") -> pd.DataFrame:
    r"""Kaplan-Meier product-limit table, one row per distinct time.

    .. math::

        \hat S(t) = \prod_{t_j \le t} \Bigl(1 - \frac{d_j}{n_j}\Bigr), \qquad
        \widehat{\mathrm{se}}\{\hat S(t)\} = \hat S(t)
            \sqrt{\sum_{t_j \le t} \frac{d_j}{n_j (n_j - d_j)}}
        \quad\text{(Greenwood)}

    with :math:`n_j` at risk (time :math:`\ge t_j`) and :math:`d_j` events at
    :math:`t_j`. Equals R's ``survfit(Surv(time, event) ~ 1)`` including rows
    at censoring-only times; ``std_err`` is the standard error of
    :math:`\hat S` as printed by ``summary()`` (R's ``fit$std.err`` is that of
    :math:`\log \hat S`, i.e. ``std_err / survival``).

    Parameters
    ----------
    time, event : array-like
        Follow-up time and event indicator (1 event, 0 censored).
    conf_level : float
        Coverage of the pointwise interval (0.95).
    conf_type : {"log-log", "log", "plain"}
        Interval on the :math:`\log(-\log S)` scale (**default**, Kalbfleisch &
        Prentice), or on :math:`\log S` (R's default), or plain. The log-log
        interval is the default because it always lies inside (0, 1) and has
        better coverage in small samples and in the tails, where the log
        interval has to be truncated at 1; it is what SAS ``PROC LIFETEST``
        and Stata report. R needs ``conf.type = "log-log"`` to agree.

    Returns
    -------
    pandas.DataFrame
        Columns ``time, n_at_risk, n_event, n_censor, survival, std_err,
        ci_lower, ci_upper``. Where :math:`\hat S = 1` (log-log) or
        :math:`\hat S = 0` the interval is NaN, as in R; where the last
        subject at risk has the event, ``std_err`` is NaN (Greenwood divides
        by :math:`n - d = 0`).

    Examples
    --------
    R's ``aml`` data, maintained arm:

    >>> t = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161]
    >>> e = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0]
    >>> km = kaplan_meier(t, e)
    >>> km.loc[km.time == 18, ["n_at_risk", "survival"]].round(4).values.tolist()
    [[8.0, 0.7159]]
    >>> km.loc[km.time == 18, "n_at_risk"].item()
    8
    """
    t, e, _ = _clean_time_event(time, event)
    if t.size == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in KM_COLUMNS})
    times, idx = np.unique(t, return_inverse=True)
    n_total = np.bincount(idx, minlength=times.size).astype(float)
    n_event = np.bincount(idx, weights=e, minlength=times.size)
    n_at_risk = np.cumsum(n_total[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - n_event / n_at_risk)
        # Greenwood terms; d == n gives d / 0 = inf, as in R.
        terms = np.where(n_event > 0, n_event / (n_at_risk * (n_at_risk - n_event)), 0.0)
        se_log = np.sqrt(np.cumsum(terms))
        std_err = se_log * surv  # inf * 0 = NaN once S reaches 0, as R's summary
    lower, upper = survival_confint(surv, se_log, conf_level, conf_type)
    return pd.DataFrame({
        "time": times, "n_at_risk": n_at_risk.astype(int), "n_event": n_event.astype(int),
        "n_censor": (n_total - n_event).astype(int),
        "survival": surv, "std_err": std_err, "ci_lower": lower, "ci_upper": upper,
    })


def km_rates_at(time, event, months: Sequence[float], conf_level: float = 0.95,
                conf_type: ConfType = "log-log", extend: bool = False) -> pd.DataFrame:
    r"""Kaplan-Meier survival at given times, as R's ``summary(fit, times = months)``.

    :math:`\hat S(m)` is the curve's value at the last time :math:`\le m`
    (1 before the first event); ``n_at_risk`` is the number still followed at
    :math:`m` (time :math:`\ge m`).

    **Times beyond the last observation.** R drops a requested time greater
    than the largest follow-up time (event or censoring) from the output, and
    so does this function by default: with ``months=(12, 36, 60)`` and the last
    patient censored at 50 months, only the 12- and 36-month rows are
    returned. With ``extend=True`` (R's ``extend = TRUE``) the row is kept
    with the last value of the curve carried forward and ``n_at_risk = 0``;
    read such a value as "not observed that long", not as an estimate. A time
    equal to the last observation is kept.

    Parameters
    ----------
    time, event : array-like
        Follow-up time and event indicator.
    months : sequence of float
        Time points; returned sorted ascending, as R does.
    conf_level, conf_type
        As in :func:`kaplan_meier` (log-log by default).
    extend : bool
        Keep times beyond the last observation (see above).

    Returns
    -------
    pandas.DataFrame
        Columns ``months, n_at_risk, survival, std_err, ci_lower, ci_upper``.

    Examples
    --------
    >>> t = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161]
    >>> e = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0]
    >>> km_rates_at(t, e, [12, 36, 200])[["months", "n_at_risk", "survival"]].round(4).values.tolist()
    [[12.0, 10.0, 0.9091], [36.0, 3.0, 0.3682]]
    """
    columns = ["months", "n_at_risk", "survival", "std_err", "ci_lower", "ci_upper"]
    table = kaplan_meier(time, event, conf_level, conf_type)
    req = np.sort(np.asarray(list(months), dtype=float))
    req = req[np.isfinite(req)]
    if table.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    if not extend:
        req = req[req <= table["time"].iloc[-1]]
    # R's survfit0: prepend time 0 with S = 1, se = 0 and CI (1, 1) unless a row is at 0.
    if table["time"].iloc[0] != 0:
        first = pd.DataFrame({"time": [0.0], "n_at_risk": [table["n_at_risk"].iloc[0]], "n_event": [0.0],
                              "n_censor": [0.0], "survival": [1.0], "std_err": [0.0],
                              "ci_lower": [1.0], "ci_upper": [1.0]})
        table = pd.concat([first, table], ignore_index=True)
    grid = table["time"].to_numpy()
    at_or_before = np.maximum(np.searchsorted(grid, req, side="right") - 1, 0)
    first_at_or_after = np.searchsorted(grid, req, side="left")
    n_risk = np.append(table["n_at_risk"].to_numpy(), 0.0)[first_at_or_after]
    rows = table.iloc[at_or_before]
    return pd.DataFrame({
        "months": req, "n_at_risk": n_risk.astype(int), "survival": rows["survival"].to_numpy(),
        "std_err": rows["std_err"].to_numpy(), "ci_lower": rows["ci_lower"].to_numpy(),
        "ci_upper": rows["ci_upper"].to_numpy(),
    })


def _survival_quantile(times: np.ndarray, curve: np.ndarray, p: float,
                       tol: float = TIME_TIE_TOLERANCE) -> float:
    """R's ``findq``: first time the curve reaches 1 - p, with R's midpoint rule on flats."""
    x = np.concatenate([[0.0], times])
    y = np.concatenate([[0.0], 1.0 - curve])
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return math.nan
    x_last = x[-1]
    keep = ~pd.Series(y).duplicated().to_numpy()  # NaN counts as equal to NaN, as in R
    x, y = x[keep], y[keep]
    ok = ~np.isnan(y)

    def smallest_reaching(shift: float) -> float:
        # approx(y + shift, seq_along(y), p, "constant", f = 1): the point with the
        # smallest y + shift that is >= p.
        cand = np.flatnonzero(ok & (y + shift >= p))
        if cand.size == 0:
            return math.nan
        return float(x[cand[np.argmin(y[cand])]])

    lo, hi = smallest_reaching(tol), smallest_reaching(-tol)
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol:
        # The curve ends exactly at 1 - p: midpoint with the last follow-up time.
        return float((lo + x_last) / 2)
    return float((lo + hi) / 2)


def km_median(time, event, conf_level: float = 0.95, conf_type: ConfType = "log-log") -> dict[str, float]:
    r"""Median survival time with its confidence interval (R's ``quantile.survfit``).

    The median is the first time with :math:`\hat S(t) \le 0.5`; if
    :math:`\hat S = 0.5` exactly on an interval it is the midpoint of that
    interval (R's rule). The limits are the same quantity read off the lower
    and the upper confidence curves (Brookmeyer-Crowley style), so they depend
    on ``conf_type``. NaN where a curve never reaches 0.5 ("not reached").

    Returns
    -------
    dict
        ``median``, ``ci_lower``, ``ci_upper``, ``n``, ``n_event``.

    Examples
    --------
    >>> t = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161]
    >>> e = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0]
    >>> km_median(t, e)["median"]
    31.0
    """
    table = kaplan_meier(time, event, conf_level, conf_type)
    out = {"n": float(table["n_at_risk"].iloc[0]) if len(table) else 0.0,
           "n_event": float(table["n_event"].sum())}
    if table.empty:
        return {"median": math.nan, "ci_lower": math.nan, "ci_upper": math.nan, **out}
    t = table["time"].to_numpy()
    return {
        "median": _survival_quantile(t, table["survival"].to_numpy(), 0.5),
        "ci_lower": _survival_quantile(t, table["ci_lower"].to_numpy(), 0.5),
        "ci_upper": _survival_quantile(t, table["ci_upper"].to_numpy(), 0.5),
        **out,
    }


def median_followup(time, event, conf_level: float = 0.95,
                    conf_type: ConfType = "log-log") -> dict[str, float]:
    r"""Median follow-up: simple and reverse Kaplan-Meier.

    - ``median_observed``, ``min``, ``max``: of the observed times of all
      patients (time to event or censoring).
    - ``median_censored``: of the censored patients' times only (the
      follow-up of those still event-free).
    - ``reverse_km_median`` with ``ci_lower``/``ci_upper``: the median of the
      Kaplan-Meier curve with the roles swapped (censoring is the "event",
      the event censors), i.e. R's ``survfit(Surv(time, 1 - event) ~ 1)``.
      This estimates the potential follow-up had nobody had the event
      (Schemper & Smith 1996) and is the usual figure to report.

    The interval uses ``conf_type`` (log-log by default; R's default is
    ``"log"``).

    Examples
    --------
    >>> mf = median_followup([1, 2, 3, 4, 5], [1, 0, 1, 0, 0])
    >>> mf["median_observed"], mf["reverse_km_median"]
    (3.0, 4.0)
    """
    t, e, _ = _clean_time_event(time, event)
    rev = km_median(t, 1.0 - e, conf_level, conf_type)
    return {
        "n": float(t.size),
        "median_observed": float(np.median(t)) if t.size else math.nan,
        "min": float(t.min()) if t.size else math.nan,
        "max": float(t.max()) if t.size else math.nan,
        "median_censored": float(np.median(t[e == 0])) if np.any(e == 0) else math.nan,
        "reverse_km_median": rev["median"],
        "ci_lower": rev["ci_lower"],
        "ci_upper": rev["ci_upper"],
    }


# ---------------------------------------------------------------------------
# Log-rank test
# ---------------------------------------------------------------------------

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


def logrank_test(time, event, group, group_order: Sequence | None = None) -> LogrankResult:
    r"""Log-rank (Mantel-Haenszel) test of equal survival across groups (R's ``survdiff``).

    At each event time :math:`t_j`, with :math:`n_{gj}` at risk and
    :math:`d_{gj}` events in group :math:`g` (totals :math:`n_j, d_j`):

    .. math::

        O_g - E_g = \sum_j \Bigl(d_{gj} - d_j \frac{n_{gj}}{n_j}\Bigr), \qquad
        V_{gh} = \sum_j d_j \frac{n_j - d_j}{n_j - 1}
                 \frac{n_{gj}}{n_j}\Bigl(\delta_{gh} - \frac{n_{hj}}{n_j}\Bigr),

    :math:`\chi^2 = (O - E)^\top V^{-1} (O - E)` over all groups but the
    first, on (number of groups with :math:`E_g > 0`) - 1 degrees of freedom.

    Parameters
    ----------
    time, event, group : array-like
    group_order : sequence, optional
        Order of the groups in the result (default: sorted, as R's factor).

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
    t, e, _ = _clean_time_event(t_all[complete], e_all[complete])
    g = g_raw[complete].to_numpy()
    present = list(pd.unique(g))
    if group_order is None:
        levels = sorted(present, key=str)
    else:
        levels = [lv for lv in group_order if lv in present]
        levels += sorted((lv for lv in present if lv not in levels), key=str)
    k = len(levels)
    code = np.array([levels.index(v) for v in g], dtype=int) if k else np.zeros(0, int)
    n_per = tuple(int(np.sum(code == i)) for i in range(k))
    if k < 2:
        return LogrankResult(0.0, 0, math.nan, tuple(levels), n_per,
                             tuple(float(np.sum(e[code == i])) for i in range(k)), (0.0,) * k,
                             "fewer than two groups: no test")
    times, idx = np.unique(t, return_inverse=True)
    # events and subjects per (time, group)
    d = np.zeros((times.size, k))
    m = np.zeros((times.size, k))
    np.add.at(d, (idx, code), e)
    np.add.at(m, (idx, code), 1.0)
    n_gj = np.cumsum(m[::-1], axis=0)[::-1]
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


# ---------------------------------------------------------------------------
# Cox proportional hazards
# ---------------------------------------------------------------------------

COX_TABLE_COLUMNS: tuple[str, ...] = ("term", "variable", "hr", "ci_lower", "ci_upper", "p_value",
                                      "coef", "se", "note")


@dataclass
class CoxResult:
    """A fitted (or not estimable) Cox model.

    ``table`` has one row per model term (``term, variable, hr, ci_lower,
    ci_upper, p_value, coef, se, note``); terms that could not be estimated
    have NaN numbers and a ``note``. ``estimable`` is False when any requested
    term has no estimate, and ``reason`` says why.
    """

    table: pd.DataFrame
    estimable: bool
    reason: str = ""
    n: int = 0
    n_events: int = 0
    converged: bool = False
    iterations: int = 0
    loglik_null: float = math.nan
    loglik: float = math.nan
    lr_chi2: float = math.nan
    lr_df: int = 0
    lr_p_value: float = math.nan
    vcov: pd.DataFrame = field(default_factory=pd.DataFrame)


def _design_matrix(df: pd.DataFrame, terms: Sequence[str], levels: Mapping[str, Sequence]
                   ) -> tuple[np.ndarray, list[str], list[str], dict[str, str]]:
    """Numeric columns as-is; categorical columns as treatment dummies ``col[level]``.

    Returns the matrix, the column names, each column's source variable, and
    notes for variables that cannot enter the model.
    """
    cols: list[np.ndarray] = []
    names: list[str] = []
    variables: list[str] = []
    problems: dict[str, str] = {}
    for var in terms:
        x = df[var]
        categorical = var in levels or not (pd.api.types.is_numeric_dtype(x) or pd.api.types.is_bool_dtype(x))
        if not categorical:
            cols.append(x.to_numpy(dtype=float))
            names.append(var)
            variables.append(var)
            continue
        observed = list(pd.unique(x.dropna()))
        if var in levels:
            lv = list(levels[var])
        elif isinstance(x.dtype, pd.CategoricalDtype):
            lv = list(x.cat.categories)  # as R's factor levels
        else:
            lv = sorted(observed, key=str)
        unknown = [v for v in observed if v not in lv]
        if unknown:
            problems[var] = f"values {unknown!r} are not among the declared levels {lv!r}"
            continue
        if len(lv) < 2:
            problems[var] = f"a single level ({lv[0] if lv else 'none'!s}): not estimable"
            continue
        for level in lv[1:]:
            cols.append((x == level).to_numpy(dtype=float))
            names.append(f"{var}[{level}]")
            variables.append(var)
    X = np.column_stack(cols) if cols else np.zeros((len(df), 0))
    return X, names, variables, problems


def _efron(X: np.ndarray, time: np.ndarray, event: np.ndarray, beta: np.ndarray
           ) -> tuple[float, np.ndarray, np.ndarray]:
    r"""Efron log partial likelihood, score and information (rows sorted by time).

    At an event time with :math:`d` tied events, the :math:`l`-th of them
    (:math:`l = 0..d-1`) sees the risk set with a fraction :math:`l/d` of the
    tied events' weight removed.
    """
    eta = X @ beta
    eta_max = np.max(eta) if eta.size else 0.0
    w = np.exp(eta - eta_max)  # shift: the likelihood is invariant to it, and exp cannot overflow
    wx = w[:, None] * X
    wxx = wx[:, :, None] * X[:, None, :]
    # Risk-set sums: reverse cumulative sums, read at the first row of each time.
    s0 = np.cumsum(w[::-1])[::-1]
    s1 = np.cumsum(wx[::-1], axis=0)[::-1]
    s2 = np.cumsum(wxx[::-1], axis=0)[::-1]
    times, first = np.unique(time, return_index=True)
    idx = np.searchsorted(times, time)
    ev = event == 1
    d = np.bincount(idx[ev], minlength=times.size)
    t0 = np.bincount(idx[ev], weights=w[ev], minlength=times.size)
    t1 = np.zeros((times.size, X.shape[1]))
    t2 = np.zeros((times.size, X.shape[1], X.shape[1]))
    np.add.at(t1, idx[ev], wx[ev])
    np.add.at(t2, idx[ev], wxx[ev])
    # One term per event: (time index j, l = 0..d_j-1).
    j = np.repeat(np.arange(times.size), d)
    dj = d[j].astype(float)
    frac = (np.arange(j.size) - np.repeat(np.cumsum(d) - d, d)) / dj
    a0 = s0[first][j] - frac * t0[j]
    a1 = s1[first][j] - frac[:, None] * t1[j]
    a2 = s2[first][j] - frac[:, None, None] * t2[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        loglik = float(np.sum(eta[ev] - eta_max) - np.sum(np.log(a0)))
        mean = a1 / a0[:, None]
        score = X[ev].sum(axis=0) - mean.sum(axis=0)
        info = (a2 / a0[:, None, None] - mean[:, :, None] * mean[:, None, :]).sum(axis=0)
    return loglik, score, info


def _ldl_rank(info: np.ndarray, toler: float = COX_TOLER_CHOL) -> np.ndarray:
    """R's ``cholesky2``: which pivots of an LDL' decomposition are non-singular."""
    m = np.array(info, dtype=float, copy=True)
    p = m.shape[0]
    diag_max = max([m[i, i] for i in range(p)] + [0.0])
    eps = toler if diag_max == 0 else diag_max * toler
    ok = np.zeros(p, dtype=bool)
    for i in range(p):
        pivot = m[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            continue
        ok[i] = True
        for jj in range(i + 1, p):
            temp = m[jj, i] / pivot
            m[jj, i] = temp
            m[jj, jj] -= temp * temp * pivot
            for kk in range(jj + 1, p):
                m[kk, jj] -= temp * m[kk, i]
    return ok


def _generalized_inverse(info: np.ndarray) -> np.ndarray:
    """Inverse over the non-singular pivots, zeros elsewhere (R's ``chinv2``)."""
    ok = _ldl_rank(info)
    out = np.zeros_like(info)
    if ok.any():
        out[np.ix_(ok, ok)] = np.linalg.inv(info[np.ix_(ok, ok)])
    return out


@dataclass
class _NewtonFit:
    beta: np.ndarray
    var: np.ndarray
    score: np.ndarray
    loglik_null: float
    loglik: float
    iterations: int
    converged: bool


def _cox_newton_raphson(X: np.ndarray, time: np.ndarray, event: np.ndarray,
                        iter_max: int = COX_ITER_MAX, eps: float = COX_EPS) -> _NewtonFit:
    """R's ``coxfit6`` loop: start at 0, Newton steps, step-halving, relative-loglik stop."""
    # Centre and scale non-{-1,0,1} columns as coxph does; Newton is affine
    # invariant, so this only keeps exp() and the pivot tolerance well behaved.
    plain = np.all(np.isin(X, (-1.0, 0.0, 1.0)), axis=0)
    center = np.where(plain, 0.0, X.mean(axis=0))
    mad = np.abs(X - center).mean(axis=0)
    scale = np.where(plain | (mad == 0), 1.0, 1.0 / np.where(mad == 0, 1.0, mad))
    Z = (X - center) * scale

    def solve(info: np.ndarray, u: np.ndarray) -> np.ndarray:
        return _generalized_inverse(info) @ u

    p = Z.shape[1]
    beta = np.zeros(p)
    loglik0, u, info = _efron(Z, time, event, beta)
    best = loglik0
    newbeta = beta + solve(info, u)
    halving = 0
    converged = False
    iterations = 0
    for iterations in range(1, iter_max + 1):
        newlk, u, info = _efron(Z, time, event, newbeta)
        finite = np.isfinite(newlk) and np.all(np.isfinite(u)) and np.all(np.isfinite(info))
        if finite and (abs(1 - best / newlk) <= eps if newlk != 0 else best == 0):
            beta, best, converged = newbeta, newlk, True
            break
        if not finite or newlk < best:
            halving += 1
            newbeta = (newbeta + halving * beta) / (halving + 1.0)
        else:
            halving = 0
            best = newlk
            step = solve(info, u)
            beta, newbeta = newbeta, newbeta + step
    if not converged:
        best, u, info = _efron(Z, time, event, beta)
    var = _generalized_inverse(info)
    return _NewtonFit(beta=beta * scale, var=var * np.outer(scale, scale), score=u / scale,
                      loglik_null=loglik0, loglik=best, iterations=iterations, converged=converged)


def _not_estimable(terms: Sequence[str], reason: str, n: int = 0, n_events: int = 0,
                   rows: pd.DataFrame | None = None) -> CoxResult:
    if rows is None:
        rows = pd.DataFrame({"term": list(terms), "variable": list(terms)})
    table = rows.reindex(columns=list(COX_TABLE_COLUMNS))
    table["note"] = table["note"].where(table["note"].notna() & (table["note"] != ""), reason)
    for c in ("hr", "ci_lower", "ci_upper", "p_value", "coef", "se"):
        table[c] = table[c].astype(float)
    return CoxResult(table=table.reset_index(drop=True), estimable=False, reason=reason,
                     n=n, n_events=n_events)


def cox_fit(df: pd.DataFrame, duration_col: str, event_col: str, terms: Sequence[str],
            levels: Mapping[str, Sequence] | None = None, conf_level: float = 0.95) -> CoxResult:
    r"""Cox proportional-hazards model with Efron ties, as R's ``coxph``.

    Maximises the Efron (1977) partial likelihood

    .. math::

        \ell(\beta) = \sum_j \Bigl[\sum_{i \in D_j} x_i^\top\beta
            - \sum_{l=0}^{d_j-1} \log\Bigl(\sum_{i \in R_j} e^{x_i^\top\beta}
            - \frac{l}{d_j}\sum_{i \in D_j} e^{x_i^\top\beta}\Bigr)\Bigr]

    (:math:`R_j` at risk, :math:`D_j` the :math:`d_j` events at time
    :math:`t_j`). Reports :math:`\mathrm{HR} = e^{\hat\beta}`, the Wald interval
    :math:`e^{\hat\beta \pm z\,\mathrm{se}}` and Wald p
    :math:`2\Phi(-|\hat\beta/\mathrm{se}|)`, with se from the inverse
    information, exactly as ``summary(coxph(...))``.

    Parameters
    ----------
    df : pandas.DataFrame
    duration_col, event_col : str
        Follow-up time and event (1/0).
    terms : sequence of str
        Covariate columns. Numeric columns enter as they are; string (or
        categorical) columns, and any column named in ``levels``, are
        dummy-coded against their first level, with term names
        ``"column[level]"`` (e.g. ``"child_pugh_class[B]"``).
    levels : mapping, optional
        ``column -> levels``, reference first. Undeclared string columns use
        their sorted values, as R's ``factor()``.
    conf_level : float
        Coverage of the HR interval.

    Returns
    -------
    CoxResult
        Never raises on degenerate data. ``estimable=False`` with ``reason``
        for: no events; no complete rows; a covariate with a single level (or
        a constant); collinear (aliased) terms; values outside the declared
        levels; non-convergence in 20 iterations; a coefficient that diverges
        (monotone likelihood / separation, e.g. no events in one arm: R's
        "Loglik converged before variable ...; coefficient may be infinite").
        Terms that are not estimable have NaN numbers and a ``note``; the other
        terms keep their estimates. Rows with a missing value in any model
        column are dropped (complete cases), as in R.

    Examples
    --------
    R's ``aml`` data (tied times): ``coxph(Surv(time, status) ~ x, data = aml)``
    gives coef 0.9155, HR 2.498, p = 0.0737.

    >>> aml = pd.DataFrame({
    ...     "time": [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161, 5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45],
    ...     "status": [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1],
    ...     "x": ["Maintained"] * 11 + ["Nonmaintained"] * 12})
    >>> res = cox_fit(aml, "time", "status", ["x"], {"x": ["Maintained", "Nonmaintained"]})
    >>> res.table[["term", "hr", "p_value"]].round(4).values.tolist()
    [['x[Nonmaintained]', 2.4981, 0.0737]]
    """
    levels = dict(levels or {})
    terms = list(terms)
    try:
        missing = [c for c in [duration_col, event_col, *terms] if c not in df.columns]
        if missing:
            return _not_estimable(terms, f"column(s) not in the data: {missing}")
        if len(df) == 0:
            return _not_estimable(terms, "no patients")
        data = df[[duration_col, event_col, *terms]].dropna()
        n = len(data)
        if n == 0:
            return _not_estimable(terms, "no complete rows")
        t, e, _ = _clean_time_event(data[duration_col], data[event_col])
        n_events = int(e.sum())
        X, names, variables, problems = _design_matrix(data, terms, levels)
        rows = pd.DataFrame({"term": names, "variable": variables, "note": ""})
        bad = pd.DataFrame({"term": list(problems), "variable": list(problems), "note": list(problems.values())})
        order = {v: i for i, v in enumerate(terms)}

        def assemble(good: pd.DataFrame) -> pd.DataFrame:
            out = pd.concat([good, bad], ignore_index=True)
            out["_o"] = out["variable"].map(order)
            return out.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)

        if n_events == 0:
            return _not_estimable(terms, "no events", n, 0, assemble(rows))
        # Constant columns (a level absent after dropping missing rows, a constant number).
        keep = np.ones(len(names), dtype=bool)
        for i in range(len(names)):
            if np.ptp(X[:, i]) == 0:
                keep[i] = False
                rows.loc[i, "note"] = "constant in the data (a single level): not estimable"
        # Aliased columns, left to right as R's model.matrix/coxph.
        kept: list[int] = []
        for i in np.flatnonzero(keep):
            cand = X[:, kept + [i]] - X[:, kept + [i]].mean(axis=0)
            if np.linalg.matrix_rank(cand) < len(kept) + 1:
                keep[i] = False
                rows.loc[i, "note"] = "collinear with earlier terms (aliased): not estimable"
            else:
                kept.append(i)
        if not keep.any():
            reasons = "; ".join(dict.fromkeys([*problems.values(), *rows.loc[~keep, "note"]]))
            return _not_estimable(terms, reasons or "no estimable terms", n, n_events, assemble(rows))

        order_t = np.argsort(t, kind="stable")
        fit = _cox_newton_raphson(X[order_t][:, keep], t[order_t], e[order_t])
        coef, var = fit.beta, fit.var
        se = np.sqrt(np.diag(var))
        z = _z(conf_level)
        kept_rows = rows.index[keep]
        # R's check: a Newton step that is still large relative to the coefficient.
        step = np.abs(fit.score @ var)
        infinite = ~np.isfinite(fit.score) | ((step > COX_EPS) & (step > COX_TOLER_INF * np.abs(coef)))
        singular = np.diag(var) == 0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            rows.loc[kept_rows, "coef"] = coef
            rows.loc[kept_rows, "se"] = se
            rows.loc[kept_rows, "hr"] = np.exp(coef)
            rows.loc[kept_rows, "ci_lower"] = np.exp(coef - z * se)
            rows.loc[kept_rows, "ci_upper"] = np.exp(coef + z * se)
            rows.loc[kept_rows, "p_value"] = 2 * stats.norm.sf(np.abs(coef / se))
        reasons = list(problems.values()) + [r for r in rows.loc[~keep, "note"]]
        flag_rows = np.zeros(len(rows), dtype=bool)
        if not fit.converged:
            flag_rows[kept_rows] = True
            # R: "Ran out of iterations and did not converge"; usually a diverging coefficient.
            msg = f"did not converge in {COX_ITER_MAX} iterations (a coefficient may be infinite)"
            rows.loc[kept_rows, "note"] = f"{msg}: not estimable"
            reasons.append(msg)
        else:
            for pos, (is_inf, is_sing) in enumerate(zip(infinite, singular)):
                i = kept_rows[pos]
                if is_sing:
                    flag_rows[i] = True
                    rows.loc[i, "note"] = "singular information matrix: not estimable"
                    reasons.append(f"{names[i]}: singular information matrix")
                elif is_inf:
                    flag_rows[i] = True
                    direction = "infinity" if coef[pos] > 0 else "zero"
                    rows.loc[i, "note"] = (f"HR tends to {direction} (monotone likelihood / separation, "
                                           "e.g. no events in a group): not estimable")
                    reasons.append(f"{names[i]}: coefficient may be infinite (separation)")
        num = ["hr", "ci_lower", "ci_upper", "p_value", "coef", "se"]
        for c in num:
            if c not in rows:
                rows[c] = np.nan
        rows.loc[flag_rows, num] = np.nan
        table = assemble(rows).reindex(columns=list(COX_TABLE_COLUMNS))
        table[num] = table[num].astype(float)
        table["note"] = table["note"].fillna("")
        kept_names = [names[i] for i in kept_rows]
        estimable = not reasons
        lr = 2 * (fit.loglik - fit.loglik_null)
        lr_df = int(len(kept_names) - singular.sum())
        return CoxResult(
            table=table, estimable=estimable, reason="; ".join(dict.fromkeys(reasons)), n=n,
            n_events=n_events, converged=fit.converged, iterations=fit.iterations,
            loglik_null=fit.loglik_null, loglik=fit.loglik, lr_chi2=float(lr), lr_df=lr_df,
            lr_p_value=float(stats.chi2.sf(lr, lr_df)) if fit.converged and lr_df > 0 else math.nan,
            vcov=pd.DataFrame(var, index=kept_names, columns=kept_names),
        )
    except Exception as exc:  # noqa: BLE001 - the notebook must get a result, not a traceback
        return _not_estimable(terms, f"fit failed: {type(exc).__name__}: {exc}")


def univariate_then_multivariate_cox(df: pd.DataFrame, duration_col: str, event_col: str,
                                     candidates: Sequence[str], levels: Mapping[str, Sequence] | None = None,
                                     entry_p: float = 0.1, forced: Sequence[str] = ("arm",),
                                     conf_level: float = 0.95) -> pd.DataFrame:
    """Univariate Cox per variable, then one multivariate model.

    The multivariate model contains the ``forced`` variables plus every
    candidate whose univariate Wald p is < ``entry_p`` (for a multi-level
    variable: if any of its levels has p < ``entry_p``). Univariate rows are
    given for the forced variables (first) and for every candidate.

    Returns
    -------
    pandas.DataFrame
        Rows ``model`` ("univariate" / "multivariate"), ``variable``,
        ``term``, ``hr``, ``ci_lower``, ``ci_upper``, ``p_value``, ``note``,
        ``n``, ``n_events``. ``note`` says why a variable entered the
        multivariate model ("forced", "univariate p < 0.1") or why a value is
        missing ("... not estimable"). A candidate whose univariate model is
        not estimable does not enter.

    Examples
    --------
    >>> aml = pd.DataFrame({
    ...     "time": [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161, 5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45],
    ...     "status": [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1],
    ...     "arm": ["Maintained"] * 11 + ["Nonmaintained"] * 12})
    >>> tab = univariate_then_multivariate_cox(aml, "time", "status", [], {"arm": ["Maintained", "Nonmaintained"]})
    >>> tab[["model", "term"]].values.tolist()
    [['univariate', 'arm[Nonmaintained]'], ['multivariate', 'arm[Nonmaintained]']]
    """
    levels = dict(levels or {})
    forced = [f for f in forced]
    variables = forced + [c for c in candidates if c not in forced]
    columns = ["model", "variable", "term", "hr", "ci_lower", "ci_upper", "p_value", "note", "n", "n_events"]
    pieces = []
    selected: list[str] = []
    for var in variables:
        res = cox_fit(df, duration_col, event_col, [var], levels, conf_level)
        tab = res.table.assign(model="univariate", n=res.n, n_events=res.n_events)
        pieces.append(tab)
        if var in forced:
            continue
        p = tab["p_value"].to_numpy(dtype=float)
        if res.estimable and np.any(p < entry_p):
            selected.append(var)
    multi_vars = forced + selected
    res = cox_fit(df, duration_col, event_col, multi_vars, levels, conf_level)
    multi = res.table.assign(model="multivariate", n=res.n, n_events=res.n_events)
    why = {v: "forced" for v in forced} | {v: f"univariate p < {entry_p:g}" for v in selected}
    multi["note"] = [n if n else why.get(v, "") for n, v in zip(multi["note"], multi["variable"])]
    out = pd.concat(pieces + [multi], ignore_index=True)
    return out.reindex(columns=columns)


# ---------------------------------------------------------------------------
# Convenience tables
# ---------------------------------------------------------------------------

def km_summary_by_group(df: pd.DataFrame, time_col: str, event_col: str, group_col: str,
                        months: Sequence[float] = (12, 36, 60), group_order: Sequence | None = None,
                        conf_level: float = 0.95, conf_type: ConfType = "log-log") -> pd.DataFrame:
    """One row per group: n, events, median (95% CI) and survival at ``months``.

    Rates at times beyond a group's last observation are NaN (R drops them; a
    fixed-width table needs a cell). Columns ``group, n, n_event, median,
    median_ci_lower, median_ci_upper`` then ``surv_{m}``, ``surv_{m}_ci_lower``,
    ``surv_{m}_ci_upper``, ``n_at_risk_{m}`` per month ``m``.

    Examples
    --------
    >>> d = pd.DataFrame({"t": [1, 2, 3, 4], "e": [1, 0, 1, 0], "g": ["a", "a", "b", "b"]})
    >>> km_summary_by_group(d, "t", "e", "g", months=[1])[["group", "n", "surv_1"]].values.tolist()
    [['a', 2, 0.5], ['b', 2, 1.0]]
    """
    present = list(pd.unique(df[group_col].dropna()))
    order = [g for g in (group_order or sorted(present, key=str)) if g in present]
    rows = []
    for g in order:
        sub = df[df[group_col] == g]
        med = km_median(sub[time_col], sub[event_col], conf_level, conf_type)
        row = {"group": g, "n": int(med["n"]), "n_event": int(med["n_event"]), "median": med["median"],
               "median_ci_lower": med["ci_lower"], "median_ci_upper": med["ci_upper"]}
        rates = km_rates_at(sub[time_col], sub[event_col], months, conf_level, conf_type).set_index("months")
        for m in months:
            r = rates.loc[float(m)] if float(m) in rates.index else None
            key = f"{m:g}"
            row[f"surv_{key}"] = math.nan if r is None else float(r["survival"])
            row[f"surv_{key}_ci_lower"] = math.nan if r is None else float(r["ci_lower"])
            row[f"surv_{key}_ci_upper"] = math.nan if r is None else float(r["ci_upper"])
            row[f"n_at_risk_{key}"] = 0 if r is None else int(r["n_at_risk"])
        rows.append(row)
    return pd.DataFrame(rows)


def time_point_label(months: float) -> str:
    """A Kaplan-Meier time point as a column label: whole years in years, else months.

    >>> [time_point_label(m) for m in (12, 36, 6, 18.5)]
    ['1 year', '3 years', '6 months', '18.5 months']
    """
    if months > 0 and months % 12 == 0:
        years = int(months // 12)
        return f"{years} year{'s' if years != 1 else ''}"
    return f"{months:g} month{'s' if months != 1 else ''}"


def time_points_phrase(months: list[float]) -> str:
    """Time points as an adjective for the text: '1-, 3- and 5-year', '6- and 18-month'.

    >>> time_points_phrase([12, 36, 60]), time_points_phrase([6, 18]), time_points_phrase([24])
    ('1-, 3- and 5-year', '6- and 18-month', '2-year')
    """
    if all(m > 0 and m % 12 == 0 for m in months):
        values, unit = [f"{int(m // 12)}" for m in months], "year"
    else:
        values, unit = [f"{m:g}" for m in months], "month"
    if len(values) == 1:
        return f"{values[0]}-{unit}"
    return ", ".join(f"{v}-" for v in values[:-1]) + f" and {values[-1]}-{unit}"
