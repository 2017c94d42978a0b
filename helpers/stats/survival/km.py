"""Kaplan-Meier: the curve, survival at given times, the median, reverse-KM follow-up.

========================================  ===============================================
here                                      R
========================================  ===============================================
``kaplan_meier(t, e)``                    ``survfit(Surv(t, e) ~ 1, conf.type = "log-log")``
``km_rates_at(t, e, [12, 36, 60])``       ``summary(fit, times = c(12, 36, 60))``
``km_median(t, e)``                       ``quantile(fit, 0.5)`` / ``print(fit)``
``median_followup(t, e)``                 ``survfit(Surv(t, 1 - e) ~ 1)`` (reverse KM)
``kaplan_meier(t, e, weights=w)``         ``survfit(Surv(t, e) ~ 1, weights = w)``: weighted counts,
                                          infinitesimal-jackknife se for non-integer weights
========================================  ===============================================

Times are in months, events 1 = event, 0 = censored.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from helpers.stats.survival.times import TIME_TIE_TOLERANCE, _clean_time_event

ConfType = Literal["log-log", "log", "plain"]

KM_COLUMNS: tuple[str, ...] = (
    "time", "n_at_risk", "n_event", "n_censor", "survival", "std_err", "ci_lower", "ci_upper",
)


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


def _clean_weights(time, event, weights, cluster=None):
    """Complete cases of time, event, weight (and cluster); rows of weight 0 dropped (they count for nothing)."""
    t, e, keep = _clean_time_event(time, event)
    n = keep.size
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float).ravel()
    c = np.arange(n) if cluster is None else pd.factorize(np.asarray(cluster, dtype=object).ravel())[0]
    if w.size != n or c.size != n:
        raise ValueError(f"weights or cluster differ in length from time ({w.size}, {c.size} vs {n})")
    w, c = w[keep], c[keep]
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("case weights must be finite and >= 0")
    pos = w > 0
    return t[pos], e[pos], w[pos], c[pos]


#: From this many rows, without clusters, :func:`_km_influence_se` sums the squared influences per distinct
#: (time, event) pair instead of per row (the same sum in another order: agreement to ~1e-13 relative).
GROUPED_INFLUENCE_ROWS = 5_000


def _km_influence_se(t: np.ndarray, e: np.ndarray, w: np.ndarray, cluster: np.ndarray, times: np.ndarray,
                     n_at_risk: np.ndarray, n_event: np.ndarray, rows_are_clusters: bool = False) -> np.ndarray:
    r"""Infinitesimal-jackknife se of :math:`\log \hat S` at each distinct time (R ``survfit(..., robust = TRUE)``).

    The influence of row :math:`i` on :math:`\log \hat S(t_k)` is
    :math:`-\sum_{t_j \le t_k} (dN_i(t_j) - Y_i(t_j) h_j) / (n_j - d_j)`, :math:`h_j = d_j / n_j` (weighted
    counts); the variance of :math:`\log \hat S` is :math:`\sum_g (\sum_{i \in g} w_i U_i)^2` over clusters
    :math:`g` (each row its own cluster unless given).

    With ``rows_are_clusters`` (no ``cluster``: each row its own) and at least
    :data:`GROUPED_INFLUENCE_ROWS` rows, :math:`U_i` depends on the row only
    through its time and event, so the variance is
    :math:`\sum_{(t, e)} (\sum_{i \in (t, e)} w_i^2)\, U_{(t, e)}^2` over the distinct pairs: a
    pairs x times matrix instead of rows x times.
    """
    idx = np.searchsorted(times, t)
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = n_at_risk - n_event
        step = np.where(n_event > 0, n_event / n_at_risk / denom, 0.0)
        own = np.where(e > 0, 1.0 / denom[idx], 0.0)
    cum = np.cumsum(step)
    if rows_are_clusters and t.size >= GROUPED_INFLUENCE_ROWS:
        pair = idx * 2 + (e > 0)
        keys, inverse = np.unique(pair, return_inverse=True)
        w2 = np.bincount(inverse, weights=w * w, minlength=keys.size)
        idx_g, own_g = keys // 2, own[np.unique(inverse, return_index=True)[1]]
        out = np.empty(times.size)
        block = max(1, (1 << 22) // max(keys.size, 1))
        for lo in range(0, times.size, block):
            k = np.arange(lo, min(lo + block, times.size))
            infl = -(np.where(idx_g[:, None] <= k[None, :], own_g[:, None], 0.0)
                     - cum[np.minimum(k[None, :], idx_g[:, None])])
            out[k] = np.sqrt(w2 @ (infl ** 2))
        return out
    # The rows of each cluster together, in their order (a stable sort), so that a cluster's sum is
    # np.add.reduceat's running sum: the additions np.add.at would make, in the same order.
    order = np.argsort(cluster, kind="stable")
    sorted_cluster = cluster[order]
    starts = np.flatnonzero(np.r_[True, sorted_cluster[1:] != sorted_cluster[:-1]])
    idx_o, own_o, w_o = idx[order], own[order], w[order]
    out = np.empty(times.size)
    # The rows x times matrix in blocks of times (each time's column is computed on its own), at most
    # about 2^22 cells at once: memory stays bounded at 10^6 rows.
    block = max(2, (1 << 22) // max(t.size, 1))
    for lo in range(0, times.size, block):
        hi = min(lo + block, times.size)
        # Two columns at least: numpy sums a lone column pairwise, a block column by column as the whole matrix.
        k = np.arange(max(0, min(lo, hi - 2)), hi)
        # U[i, k] = -(e_i [idx_i <= k] / (n - d)_{idx_i} - C_{min(k, idx_i)})
        infl = -(np.where(idx_o[:, None] <= k[None, :], own_o[:, None], 0.0)
                 - cum[np.minimum(k[None, :], idx_o[:, None])])
        grouped = np.add.reduceat(w_o[:, None] * infl, starts, axis=0) if cluster.size else np.zeros((0, k.size))
        out[k] = np.sqrt(np.sum(grouped ** 2, axis=0))
    return out


def kaplan_meier(time, event, conf_level: float = 0.95, conf_type: ConfType = "log-log", weights=None,
                 robust: bool | None = None, cluster=None) -> pd.DataFrame:
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
    weights : array-like, optional
        Case weights (e.g. MatchIt's matching weights or inverse probability
        weights): :math:`n_j` and :math:`d_j` become weighted sums, as in R's
        ``survfit(..., weights = w)``. Rows of weight 0 are dropped.
    robust : bool, optional
        Standard error by the infinitesimal jackknife (:func:`_km_influence_se`)
        instead of Greenwood's formula on the weighted counts. The default is
        R's (survival 3.x): robust when there are non-integer weights or a
        ``cluster``.
    cluster : array-like, optional
        Clusters of the robust variance (R ``cluster = ``), e.g. matched sets.

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
    t, e, w, c = _clean_weights(time, event, weights, cluster)
    if t.size == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in KM_COLUMNS})
    if robust is None:
        robust = cluster is not None or not np.all(w == np.round(w))
    times, idx = np.unique(t, return_inverse=True)
    n_total = np.bincount(idx, weights=w, minlength=times.size)
    n_event = np.bincount(idx, weights=w * e, minlength=times.size)
    n_at_risk = np.cumsum(n_total[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - n_event / n_at_risk)
        if robust:
            se_log = _km_influence_se(t, e, w, c, times, n_at_risk, n_event, rows_are_clusters=cluster is None)
        else:
            # Greenwood terms; d == n gives d / 0 = inf, as in R.
            terms = np.where(n_event > 0, n_event / (n_at_risk * (n_at_risk - n_event)), 0.0)
            se_log = np.sqrt(np.cumsum(terms))
        std_err = se_log * surv  # inf * 0 = NaN once S reaches 0, as R's summary
    lower, upper = survival_confint(surv, se_log, conf_level, conf_type)
    counts = (lambda x: x.astype(int)) if weights is None else (lambda x: x)
    return pd.DataFrame({
        "time": times, "n_at_risk": counts(n_at_risk), "n_event": counts(n_event),
        "n_censor": counts(n_total - n_event),
        "survival": surv, "std_err": std_err, "ci_lower": lower, "ci_upper": upper,
    })


def km_rates_at(time, event, months: Sequence[float], conf_level: float = 0.95,
                conf_type: ConfType = "log-log", extend: bool = False, weights=None,
                robust: bool | None = None, cluster=None) -> pd.DataFrame:
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
    weights, robust, cluster
        As in :func:`kaplan_meier`; with weights, ``n_at_risk`` is the weighted number at risk.

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
    table = kaplan_meier(time, event, conf_level, conf_type, weights, robust, cluster)
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
        "months": req, "n_at_risk": n_risk.astype(int) if weights is None else n_risk, "survival": rows["survival"].to_numpy(),
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


def km_rates_reported(time, event, months: Sequence[float], conf_level: float = 0.95,
                      conf_type: ConfType = "log-log", weights=None, robust: bool | None = None,
                      cluster=None) -> pd.DataFrame:
    """The report's one policy for Kaplan-Meier rates at fixed times: a row for every requested time;
    beyond the last observation (no patient at risk, ``n_at_risk = 0``) the rate and its CI are NaN —
    "not estimable (no patient at risk)" in the report — never the last value carried forward.

    R: ``summary(survfit(Surv(t, e) ~ 1, conf.type = "log-log"), times = months, extend = TRUE)``, then NA
    where ``n.risk == 0``; ``weights``, ``robust``, ``cluster`` as in :func:`kaplan_meier`.

    Examples
    --------
    >>> r = km_rates_reported([9, 13, 18, 23], [1, 1, 0, 1], [12, 36])
    >>> r["n_at_risk"].tolist(), r["survival"].round(2).tolist()
    ([3, 0], [0.75, nan])
    """
    r = km_rates_at(time, event, months, conf_level, conf_type, extend=True, weights=weights, robust=robust,
                    cluster=cluster)
    r.loc[r["n_at_risk"] == 0, ["survival", "std_err", "ci_lower", "ci_upper"]] = math.nan
    return r


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
