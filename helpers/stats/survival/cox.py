"""Cox proportional-hazards regression with Efron ties.

========================================  ===============================================
here                                      R
========================================  ===============================================
``cox_fit(df, "t", "e", ["x"])``          ``coxph(Surv(t, e) ~ x, ties = "efron")``
``cox_fit(..., weights="w")``             ``coxph(Surv(t, e) ~ x, weights = w)``
``cox_fit(..., cluster="s")``             ``coxph(Surv(t, e) ~ x, cluster = s)`` (robust se)
``cox_fit(..., strata="s")``              ``coxph(Surv(t, e) ~ x + strata(s))``
========================================  ===============================================

The model is fitted by Newton-Raphson on the Efron partial likelihood, a
transcription of R's ``coxfit6`` (same start, step-halving, convergence rule
and infinite-coefficient check), so that R and Python stop at the same
iterate. Degenerate models never raise: ``cox_fit`` returns a result flagged
``estimable=False`` with the reason. ``univariate_then_multivariate_cox``
fits each candidate alone, then the ones below the entry p-value together.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from helpers.stats.survival.km import _z
from helpers.stats.survival.times import TIME_TIE_TOLERANCE, _clean_time_event, fix_near_ties

#: R's ``coxph.control()`` defaults.
COX_ITER_MAX: int = 20
COX_EPS: float = 1e-9
COX_TOLER_CHOL: float = float(np.finfo(float).eps) ** 0.75
COX_TOLER_INF: float = math.sqrt(COX_EPS)

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
    naive_vcov: pd.DataFrame = field(default_factory=pd.DataFrame)
    robust: bool = False


class CoxData:
    """A data frame prepared for many Cox fits: what every fit would otherwise recompute, done once.

    :func:`cox_fit` accepts a ``CoxData`` wherever it takes a data frame, with the same results. The
    per-column work (missing values, the codes of a categorical column, numbers as floats), the cleaned
    times and events of an endpoint (``helpers.stats.survival.times``) and the order of the rows by time
    are computed once per column and endpoint and shared by the fits of a model-building loop
    (:func:`univariate_then_multivariate_cox`) and by :meth:`subset` (e.g. the matched cohorts of a
    matching grid, each a subset of one cohort).

    Parameters
    ----------
    df : pandas.DataFrame
        The data; not copied, and not to be changed while this object is in use.

    Examples
    --------
    >>> d = CoxData(pd.DataFrame({"t": [1.0, 2.0, 3.0], "e": [1, 0, 1], "x": ["a", "b", "a"]}))
    >>> len(d), len(d.subset(np.array([True, False, True])))
    (3, 2)
    """

    def __init__(self, df: pd.DataFrame, _root: CoxData | None = None, _rows: np.ndarray | None = None) -> None:
        self._root = self if _root is None else _root
        self.df = df if _root is None else _root.df
        self._rows = _rows  # positions in the root's frame (None: all of them)
        self._cache: dict = {}

    @property
    def columns(self) -> pd.Index:
        return self.df.columns

    def __len__(self) -> int:
        return len(self.df) if self._rows is None else len(self._rows)

    def subset(self, mask: np.ndarray) -> CoxData:
        """The rows where ``mask`` (boolean, one per row of this data) is True, sharing the caches."""
        rows = np.flatnonzero(mask) if self._rows is None else self._rows[mask]
        return CoxData(self.df, self._root, rows)

    def _memo(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _take(self, values: np.ndarray) -> np.ndarray:
        return values if self._rows is None else values[self._rows]

    def series(self, col: str) -> pd.Series:
        """The column (these rows)."""
        x = self.df[col]
        return x if self._rows is None else x.iloc[self._rows]

    def notna(self, col: str) -> np.ndarray:
        """Not missing (pandas' ``notna``), per row."""
        return self._take(self._root._memo(("root-notna", col), lambda: self._root._root_notna(col)))

    def _root_notna(self, col: str) -> np.ndarray:
        if pd.api.types.is_object_dtype(self.df[col].dtype):  # factorize's missing values are notna's
            return self.codes(col)[0] >= 0
        return pd.notna(self.df[col]).to_numpy()

    def floats(self, col: str) -> np.ndarray:
        """The column as floats."""
        return self._memo(("float", col), lambda: self._take(
            self._root._memo(("root-float", col), lambda: self.df[col].to_numpy(dtype=float))))

    def codes(self, col: str) -> tuple[np.ndarray, object]:
        """``pandas.factorize`` of the column over all rows of the frame: these rows' codes, and the values."""
        codes, uniques = self._root._memo(("root-codes", col), lambda: pd.factorize(self.df[col]))
        return self._memo(("codes", col), lambda: self._take(codes)), uniques

    def observed(self, col: str) -> list:
        """The column's values present in these rows, in order of appearance (as ``pd.unique``), missing ones
        left out."""
        codes, uniques = self.codes(col)
        if self._rows is None and not isinstance(self.df[col].dtype, pd.CategoricalDtype):
            return list(uniques)  # factorize numbers the values in order of appearance
        return self._memo(("observed", col), lambda: [uniques[c] for c in pd.unique(codes) if c >= 0])

    def complete(self, cols: Sequence[str]) -> CoxData:
        """The complete cases of ``cols`` (as ``DataFrame.dropna``): this data if there is no missing value."""
        ok = np.ones(len(self), dtype=bool)
        for c in cols:
            ok &= self.notna(c)
        return self if ok.all() else self.subset(ok)

    def time_event(self, duration_col: str, event_col: str) -> tuple[np.ndarray, np.ndarray]:
        """Times and events as ``_clean_time_event`` gives them for these rows (which have no missing time or
        event), and the stable order of the rows by time."""
        return self._memo(("te", duration_col, event_col), lambda: self._time_event(duration_col, event_col))

    def _time_event(self, duration_col: str, event_col: str):
        root = self._root._memo(("root-te", duration_col, event_col),
                                lambda: self._root_time_event(duration_col, event_col))
        if root is None or np.isnan(self._take(root[1])).any():
            t, e, _ = _clean_time_event(self.series(duration_col), self.series(event_col))
            return t, e, np.argsort(t, kind="stable") if len(t) == len(self) else None
        t_raw, e_all, no_near_ties, order = root
        if self._rows is None:
            t = t_raw if no_near_ties else fix_near_ties(t_raw)
            return t, e_all, order if no_near_ties else np.argsort(t, kind="stable")
        t, e = t_raw[self._rows], e_all[self._rows]
        if not no_near_ties:
            t = fix_near_ties(t)
            return t, e, np.argsort(t, kind="stable")
        # The root's order restricted to these rows: the stable order of their times (ties in row order).
        local = np.full(len(t_raw), -1, dtype=np.int64)
        local[self._rows] = np.arange(len(self._rows))
        order = local[order]
        return t, e, order[order >= 0]

    def _root_time_event(self, duration_col: str, event_col: str):
        """All rows' times (floats), events (cleaned, NaN where missing), whether no subset of the times has
        near ties to merge, and the stable order by time; None if some row's time or event is invalid."""
        try:
            t_clean, e_clean, keep = _clean_time_event(self.df[duration_col], self.df[event_col])
        except ValueError:
            return None
        t_raw = self.df[duration_col].to_numpy(dtype=float)
        e_all = np.full(len(t_raw), np.nan)
        e_all[keep] = e_clean
        y = np.unique(t_clean)
        # The gaps between the distinct times of a subset are sums of these gaps, its mean |time| at most the
        # largest: if no gap is within fix_near_ties' tolerance of these bounds, no subset has near ties.
        gap = np.diff(y).min() if y.size > 1 else np.inf
        scale = np.abs(y).max() if y.size else 0.0
        no_near_ties = bool(gap > TIME_TIE_TOLERANCE and (scale == 0 or gap / scale > TIME_TIE_TOLERANCE))
        return t_raw, e_all, no_near_ties, np.argsort(t_raw, kind="stable")


def _design_matrix(df: pd.DataFrame | CoxData, terms: Sequence[str], levels: Mapping[str, Sequence]
                   ) -> tuple[np.ndarray, list[str], list[str], dict[str, str]]:
    """Numeric columns as-is; categorical columns as treatment dummies ``col[level]``.

    Returns the matrix, the column names, each column's source variable, and
    notes for variables that cannot enter the model.
    """
    data = df if isinstance(df, CoxData) else CoxData(df)
    cols: list[np.ndarray] = []
    names: list[str] = []
    variables: list[str] = []
    problems: dict[str, str] = {}
    for var in terms:
        dtype = data.df[var].dtype
        categorical = var in levels or not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
        if not categorical:
            cols.append(data.floats(var))
            names.append(var)
            variables.append(var)
            continue
        observed = data.observed(var)
        if var in levels:
            lv = list(levels[var])
        elif isinstance(dtype, pd.CategoricalDtype):
            lv = list(dtype.categories)  # as R's factor levels
        else:
            lv = sorted(observed, key=str)
        unknown = [v for v in observed if v not in lv]
        if unknown:
            problems[var] = f"values {unknown!r} are not among the declared levels {lv!r}"
            continue
        if len(lv) < 2:
            problems[var] = f"a single level ({lv[0] if lv else 'none'!s}): not estimable"
            continue
        codes, uniques = data.codes(var)
        position = {u: k for k, u in enumerate(uniques)}
        for level in lv[1:]:
            k = position.get(level, -2)  # a level not in the data: a column of zeros
            cols.append((codes == k).astype(float))
            names.append(f"{var}[{level}]")
            variables.append(var)
    X = np.column_stack(cols) if cols else np.zeros((len(data), 0))
    return X, names, variables, problems


def _cumsum_within(values: np.ndarray, runs: np.ndarray, reverse: bool = False) -> np.ndarray:
    """Cumulative sums along axis 0 restarting at each run of equal codes ``runs`` (as ``np.cumsum`` per run,
    addition for addition), one step per position within a run; ``reverse``: from each run's end."""
    n = len(values)
    starts = np.flatnonzero(np.concatenate(([True], runs[1:] != runs[:-1])))
    lengths = np.diff(np.append(starts, n))
    pos = np.arange(n) - np.repeat(starts, lengths)
    if reverse:
        pos = np.repeat(lengths, lengths) - 1 - pos
    out = np.array(values, dtype=float, copy=True)
    order = np.argsort(pos, kind="stable")
    bounds = np.searchsorted(pos[order], np.arange(int(lengths.max()) + 1 if n else 1))
    step = 1 if reverse else -1
    for k in range(1, len(bounds) - 1):
        rows = order[bounds[k]:bounds[k + 1]]
        out[rows] = out[rows + step] + out[rows]
    return out


def _efron(X: np.ndarray, time: np.ndarray, event: np.ndarray, beta: np.ndarray,
           weights: np.ndarray | None = None, strata: np.ndarray | None = None,
           counts: np.ndarray | None = None, cache: dict | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    r"""Efron log partial likelihood, score and information (rows sorted by time; with ``strata``, integer
    codes, sorted by stratum then time, the risk sets of each stratum).

    At an event time with :math:`d` tied events, the :math:`l`-th of them
    (:math:`l = 0..d-1`) sees the risk set with a fraction :math:`l/d` of the
    tied events' weight removed. With case ``weights`` :math:`w_i`, risk
    scores are :math:`w_i e^{x_i^\top\beta}` and each of the :math:`d` terms
    counts with the tied events' mean weight, as R's ``coxfit6``. ``counts``
    (whole numbers): each row stands for that many identical rows (:func:`_collapse`). ``cache``: a dict
    kept over the calls of one model (same rows, new coefficients) for what does not depend on ``beta``.
    """
    eta = X @ beta
    eta_max = np.max(eta) if eta.size else 0.0
    w = np.exp(eta - eta_max)  # shift: the likelihood is invariant to it, and exp cannot overflow
    if weights is not None:
        w = w * weights
    n, p = X.shape
    c = _efron_terms(X, time, event, weights, strata, counts) if cache is None else cache
    if not c:
        c.update(_efron_terms(X, time, event, weights, strata, counts))
    ev = c["ev"]
    if n == 0 or not c["any_event"]:
        return float(np.sum(eta[ev] - eta_max)), np.zeros(p), np.zeros((p, p))
    if counts is not None:
        w = w * counts  # a row's share of the risk-set sums
    wx = w[:, None] * X
    # Risk-set sums at each distinct time: sums per time, then reverse cumulative sums over the times.
    first, size, idx, ie, d, j, frac, m, xe = (c[k] for k in ("first", "size", "idx", "ie", "d", "j", "frac", "m",
                                                               "xe"))
    if strata is None:
        s0 = np.cumsum(np.add.reduceat(w, first)[::-1])[::-1]
        s1 = np.cumsum(np.add.reduceat(wx, first, axis=0)[::-1], axis=0)[::-1]
    else:
        s0 = _cumsum_within(np.add.reduceat(w, first), strata[first], reverse=True)
        s1 = _cumsum_within(np.add.reduceat(wx, first, axis=0), strata[first], reverse=True)
    w_ev = w[ev]
    t0 = np.bincount(ie, weights=w_ev, minlength=size)
    t1 = np.column_stack([np.bincount(ie, weights=w_ev * xe[:, k], minlength=size) for k in range(p)]) \
        if p else np.zeros((size, 0))
    a0 = s0[j] - frac * t0[j]
    a1 = s1[j] - frac[:, None] * t1[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = a1 / a0[:, None]
        # sum over terms of m a2/a0, a2 = S2(t_j) - frac T2_j (second moments), without forming n p x p arrays:
        # sum_j alpha_j S2(t_j) = X' diag(w A) X with A the cumulative alpha at each row's time, and the tied
        # events' part sum_j beta_j T2_j = X_ev' diag(w beta) X_ev. Unweighted, m is 1 (left out: exact).
        alpha = np.bincount(j, weights=1.0 / a0 if m is None else m / a0, minlength=size)
        beta_j = np.bincount(j, weights=(frac if m is None else m * frac) / a0, minlength=size)
        cum_alpha = (np.cumsum(alpha) if strata is None else _cumsum_within(alpha, strata[first]))[idx]
        second = X.T @ ((w * cum_alpha)[:, None] * X) - xe.T @ ((w_ev * beta_j[ie])[:, None] * xe)
        info = second - (mean if m is None else m[:, None] * mean).T @ mean
        ew = c["ew"]
        if weights is None:
            loglik = float(np.sum(eta[ev] - eta_max if ew is None else ew * (eta[ev] - eta_max))
                           - np.sum(np.log(a0)))
            score = c["x_events"] - mean.sum(axis=0)
        else:
            loglik = float(np.sum(ew * (eta[ev] - eta_max)) - np.sum(m * np.log(a0)))
            score = c["x_events"] - (m[:, None] * mean).sum(axis=0)
    return loglik, score, info


def _efron_terms(X: np.ndarray, time: np.ndarray, event: np.ndarray, weights: np.ndarray | None,
                 strata: np.ndarray | None, counts: np.ndarray | None) -> dict:
    """What :func:`_efron` computes without the coefficients: the risk sets' times, the events' terms
    ``(j, l)`` with their fraction ``l/d_j`` and mean weight ``m`` (None: unweighted), the events' rows."""
    n = X.shape[0]
    ev = event == 1
    out = dict(ev=ev, any_event=bool(ev.any()))
    if n == 0 or not out["any_event"]:
        return out
    new_time = time[1:] != time[:-1]
    if strata is not None:
        new_time = new_time | (strata[1:] != strata[:-1])
    first = np.flatnonzero(np.concatenate(([True], new_time)))  # rows sorted by (stratum,) time: no sort needed
    size = first.size
    idx = np.repeat(np.arange(size), np.diff(np.append(first, n)))  # each row's time
    ie = idx[ev]
    ce = None if counts is None else counts[ev]  # the events' multiplicities
    d = np.bincount(ie, minlength=size) if ce is None else \
        np.bincount(ie, weights=ce, minlength=size).astype(np.int64)
    # One term per event: (time index j, l = 0..d_j-1), with the tied events' mean weight m.
    j = np.repeat(np.arange(size), d)
    frac = (np.arange(j.size) - np.repeat(np.cumsum(d) - d, d)) / d[j].astype(float)
    xe = X[ev]
    if weights is None:
        m, ew = None, ce
    else:
        ew = weights[ev] if ce is None else weights[ev] * ce
        m = (np.bincount(ie, weights=ew, minlength=size) / np.maximum(d, 1))[j]
    x_events = xe.sum(axis=0) if ew is None else (ew[:, None] * xe).sum(axis=0)
    out.update(first=first, size=size, idx=idx, ie=ie, d=d, j=j, frac=frac, m=m, ew=ew, xe=xe, x_events=x_events)
    return out


def _efron_strata(X: np.ndarray, time: np.ndarray, event: np.ndarray, beta: np.ndarray,
                  weights: np.ndarray | None = None, strata: np.ndarray | None = None,
                  cache: dict | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """:func:`_efron` summed over strata (rows sorted by stratum, then time; ``strata`` integer codes);
    ``cache``: a dict kept over the calls of one model, one entry per stratum."""
    cache = {} if cache is None else cache
    if strata is None:
        return _efron(X, time, event, beta, weights, cache=cache.setdefault(None, {}))
    if len(strata) and strata[-1] != strata[0] and np.count_nonzero(np.diff(strata)) >= _VECTOR_STRATA:
        # many strata (matched sets): all at once
        return _efron(X, time, event, beta, weights, strata, cache=cache.setdefault(None, {}))
    loglik, score, info = 0.0, np.zeros(X.shape[1]), np.zeros((X.shape[1], X.shape[1]))
    for lo, hi in _stratum_bounds(strata):
        part = slice(lo, hi)
        ll, u, i = _efron(X[part], time[part], event[part], beta, None if weights is None else weights[part],
                          cache=cache.setdefault(lo, {}))
        loglik, score, info = loglik + ll, score + u, info + i
    return loglik, score, info


#: From how many strata on :func:`_efron_strata` computes all strata at once rather than one by one.
_VECTOR_STRATA = 64


def _stratum_bounds(strata: np.ndarray) -> list[tuple[int, int]]:
    """Start and end rows of each run of equal codes in the sorted ``strata``."""
    cuts = np.flatnonzero(np.diff(strata)) + 1
    edges = np.concatenate([[0], cuts, [strata.size]])
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


def _score_residuals(X: np.ndarray, time: np.ndarray, event: np.ndarray, beta: np.ndarray,
                     weights: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    r"""Efron score residuals of each row (one stratum, rows sorted by time), as R's ``residuals(fit, "score")``.

    Row :math:`i`'s residual is :math:`\delta_i (x_i - \bar x^*_{j(i)}) - \sum_j \sum_{l} c_{il}
    \frac{\bar w_j}{A_{jl}} r_i (x_i - \bar x_{jl})`, where the :math:`l`-th Efron term at time
    :math:`t_j` has denominator :math:`A_{jl}` and mean :math:`\bar x_{jl}`, :math:`\bar x^*_j` is their
    average, :math:`\bar w_j` the tied events' mean weight, :math:`r_i = e^{x_i^\top\beta}` and
    :math:`c_{il}` is 1 for a row at risk and :math:`1 - l/d_j` for one of the :math:`d_j` tied events.
    The weighted residuals :math:`w_i L_i` sum to the score. ``counts``: each row stands for that many
    identical rows (:func:`_collapse`), which share its residual.
    """
    n, p = X.shape
    r = np.exp(X @ beta - (np.max(X @ beta) if n else 0.0))
    rw = r * weights
    dead = event == 1
    if not dead.any():
        return np.zeros((n, p))
    mult = np.ones(n) if counts is None else counts
    # Per event time t_j (rows sorted by time): risk-set and tied-event sums, then the Efron terms (j, l).
    times = np.unique(time[dead])
    k = np.searchsorted(times, time)  # each row: the number of event times before its time
    at = np.searchsorted(time, times)  # first row at risk at each event time
    crw = rw if counts is None else rw * mult  # a row's share of the sums
    s0 = np.cumsum(crw[::-1])[::-1][at]
    s1 = np.cumsum((crw[:, None] * X)[::-1], axis=0)[::-1][at]
    kd = k[dead]
    d = np.bincount(kd, minlength=times.size) if counts is None else \
        np.bincount(kd, weights=mult[dead], minlength=times.size).astype(np.int64)
    d0 = np.bincount(kd, weights=crw[dead], minlength=times.size)

    def per_time(values: np.ndarray, at_terms: np.ndarray) -> np.ndarray:
        """Sums over rows (or terms) by event time, one column per covariate."""
        return np.column_stack([np.bincount(at_terms, weights=values[:, c], minlength=times.size)
                                for c in range(p)]) if p else np.zeros((times.size, 0))

    d1 = per_time(crw[dead, None] * X[dead], kd)
    meanwt = np.bincount(kd, weights=weights[dead] if counts is None else weights[dead] * mult[dead],
                         minlength=times.size) / d
    j = np.repeat(np.arange(times.size), d)
    f = (np.arange(j.size) - np.repeat(np.cumsum(d) - d, d)) / d[j]
    a0 = s0[j] - f * d0[j]
    xbar = (s1[j] - f[:, None] * d1[j]) / a0[:, None]
    c_risk = meanwt[j] / a0          # a row at risk: sum_l m/A_jl (r_i (x_i - xbar_jl))
    c_dead = c_risk * (1.0 - f)      # one of the tied events: weighted by 1 - l/d
    A = np.bincount(j, weights=c_risk, minlength=times.size)
    A_dead = np.bincount(j, weights=c_dead, minlength=times.size)
    B, B_dead = per_time(c_risk[:, None] * xbar, j), per_time(c_dead[:, None] * xbar, j)
    xbar_star = per_time(xbar, j) / d[:, None]
    # Row i collects the terms of every event time up to its own: those before it as a row at risk, its own
    # time as a row at risk (censored) or as one of the tied events.
    cum_a = np.concatenate(([0.0], np.cumsum(A)))[k]
    cum_b = np.concatenate((np.zeros((1, p)), np.cumsum(B, axis=0)))[k]
    own = (k < times.size) & (times[np.minimum(k, times.size - 1)] == time)
    ko = k[own]
    cum_a[own] += np.where(dead[own], A_dead[ko], A[ko])
    cum_b[own] += np.where(dead[own, None], B_dead[ko], B[ko])
    out = -r[:, None] * (X * cum_a[:, None] - cum_b)
    out[dead] += X[dead] - xbar_star[kd]
    return out


#: From how many rows on a model without strata is fitted on its distinct rows (:func:`_collapse`).
_COLLAPSE_FROM = 5000


def _collapse(X: np.ndarray, time: np.ndarray, event: np.ndarray, weights: np.ndarray | None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """The distinct rows of ``(time, event, X, weights)`` (rows sorted by time) with their multiplicities.

    Identical rows contribute identical terms to the Efron likelihood, score and information and have the
    same score residuals, so a model is fitted on the distinct rows with ``counts`` (:func:`_efron`): with
    categorical covariates a registry's million rows are a few thousand. Returns the distinct rows (sorted by
    time), their ``counts`` and each row's distinct row (``inverse``).
    """
    n = len(time)
    new_time = np.concatenate(([True], time[1:] != time[:-1]))
    key = np.cumsum(new_time) - 1  # the time's rank: the key's leading part, so the distinct rows stay sorted
    radix = int(key[-1]) + 1 if n else 1

    def append(codes: np.ndarray, size: int) -> None:
        nonlocal key, radix
        if radix * size >= 2 ** 62:  # renumber the keys so far before they overflow
            key = np.unique(key, return_inverse=True)[1].astype(np.int64)
            radix = int(key.max()) + 1
        key = key * size + codes
        radix *= size

    append(event.astype(np.int64), 2)
    for col in list(X.T) + ([] if weights is None else [weights]):
        if np.all((col == 0) | (col == 1)):
            append(col.astype(np.int64), 2)
        else:
            values, codes = np.unique(col, return_inverse=True)
            append(codes.astype(np.int64).ravel(), len(values))
    if radix <= 4 * n:  # few possible keys: count them, no sort (the same distinct rows, in the same order)
        counts = np.bincount(key, minlength=radix)
        number = np.cumsum(counts > 0) - 1
        inverse = number[key]
        first = np.empty(int(number[-1]) + 1, dtype=np.int64)
        first[inverse] = np.arange(n)  # a row of each distinct row (they are all the same)
        counts = counts[counts > 0]
    else:
        _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    return (X[first], time[first], event[first], None if weights is None else weights[first],
            counts.astype(float), inverse.ravel())


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
                        iter_max: int = COX_ITER_MAX, eps: float = COX_EPS,
                        weights: np.ndarray | None = None, strata: np.ndarray | None = None) -> _NewtonFit:
    """R's ``coxfit6`` loop: start at 0, Newton steps, step-halving, relative-loglik stop."""
    collapse = strata is None and len(time) >= _COLLAPSE_FROM
    if collapse:  # the distinct rows of X are those of Z below (a map column by column)
        Xd, time_d, event_d, weights_d, counts, _ = _collapse(X, time, event, weights)
    # Centre and scale non-{-1,0,1} columns as coxph does; Newton is affine
    # invariant, so this only keeps exp() and the pivot tolerance well behaved.
    plain = np.all(np.isin(Xd if collapse else X, (-1.0, 0.0, 1.0)), axis=0)
    if plain.all():  # e.g. dummies: nothing to centre or scale (Z is X)
        center, scale = np.zeros(X.shape[1]), np.ones(X.shape[1])
        Z, Zd = X, Xd if collapse else None
    else:
        center = np.where(plain, 0.0, X.mean(axis=0))
        mad = np.abs(X - center).mean(axis=0)
        scale = np.where(plain | (mad == 0), 1.0, 1.0 / np.where(mad == 0, 1.0, mad))
        Z = (X - center) * scale
        Zd = (Xd - center) * scale if collapse else None

    def solve(info: np.ndarray, u: np.ndarray) -> np.ndarray:
        return _generalized_inverse(info) @ u

    p = Z.shape[1]
    beta = np.zeros(p)
    cache: dict = {}  # what the Efron sums of these rows need at every iterate
    if collapse:
        def efron(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
            return _efron(Zd, time_d, event_d, b, weights_d, counts=counts, cache=cache)
    else:
        def efron(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
            return _efron_strata(Z, time, event, b, weights, strata, cache)

    loglik0, u, info = efron(beta)
    best = loglik0
    newbeta = beta + solve(info, u)
    halving = 0
    converged = False
    iterations = 0
    for iterations in range(1, iter_max + 1):  # noqa: B007 (the count is read after the loop)
        newlk, u, info = efron(newbeta)
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
        best, u, info = efron(beta)
    var = _generalized_inverse(info)
    return _NewtonFit(beta=beta * scale, var=var * np.outer(scale, scale), score=u / scale,
                      loglik_null=loglik0, loglik=best, iterations=iterations, converged=converged)


def _robust_variance(X: np.ndarray, time: np.ndarray, event: np.ndarray, beta: np.ndarray, var: np.ndarray,
                     weights: np.ndarray, strata: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """Cluster-robust variance :math:`D^\top D` of R's ``coxph(..., cluster = )``: weighted dfbeta
    residuals (score residuals times weight times the model-based variance) summed within cluster."""
    if len(time) >= _COLLAPSE_FROM and strata[0] == strata[-1]:  # one stratum: the distinct rows' residuals
        Xd, time_d, event_d, weights_d, counts, inverse = _collapse(X, time, event, weights)
        score = _score_residuals(Xd, time_d, event_d, beta, weights_d, counts)[inverse]
    else:
        score = np.zeros_like(X)
        for lo, hi in _stratum_bounds(strata):
            part = slice(lo, hi)
            score[part] = _score_residuals(X[part], time[part], event[part], beta, weights[part])
    dfbeta = (weights[:, None] * score) @ var
    # Summed within cluster, row by row in order (as np.add.at), one column at a time.
    size = int(cluster.max()) + 1
    collapsed = np.column_stack([np.bincount(cluster, weights=dfbeta[:, k], minlength=size)
                                 for k in range(X.shape[1])]) if X.shape[1] else np.zeros((size, 0))
    return collapsed.T @ collapsed


def _aliased_columns(X: np.ndarray, candidates: np.ndarray) -> list[int]:
    """The ``candidates`` columns of ``X`` that are collinear with earlier ones (after centring), left to right.

    Column ``i`` is aliased when ``np.linalg.matrix_rank`` of the centred columns kept so far and ``i`` is
    short of full: the same singular values and tolerance, computed from the triangular factor ``R`` of one
    QR decomposition of the centred candidates (the singular values of ``X[:, C]`` are those of ``R[:, C]``)
    rather than from the n-row columns for every ``i``.
    """
    if candidates.size < 2:
        return []  # one column, not constant: of rank 1
    centred = X[:, candidates] - X[:, candidates].mean(axis=0)
    r = np.linalg.qr(centred, mode="r")
    n = X.shape[0]
    kept: list[int] = []
    aliased: list[int] = []
    for pos, i in enumerate(candidates.tolist()):
        cols = kept + [pos]
        sv = np.linalg.svd(r[:, cols], compute_uv=False)
        tol = sv.max() * max(n, len(cols)) * np.finfo(float).eps  # matrix_rank's default
        if np.count_nonzero(sv > tol) < len(cols):
            aliased.append(i)
        else:
            kept.append(pos)
    return aliased


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


def cox_fit(df: pd.DataFrame | CoxData, duration_col: str, event_col: str, terms: Sequence[str],
            levels: Mapping[str, Sequence] | None = None, conf_level: float = 0.95,
            weights: str | None = None, strata: str | None = None, cluster: str | None = None) -> CoxResult:
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
    df : pandas.DataFrame or CoxData
        The data (a :class:`CoxData` for many fits on the same data or its subsets).
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
    weights : str, optional
        Column of case weights (e.g. MatchIt's matching weights): each row's
        contributions to the partial likelihood are multiplied by its weight,
        tied events counting with their mean weight (R ``weights = w``).
    strata : str, optional
        Column of strata: a separate baseline hazard (risk sets) per stratum,
        common coefficients (R ``+ strata(s)``), e.g. the matched sets.
    cluster : str, optional
        Column of clusters (e.g. the matched set): the variance is the
        cluster-robust sandwich :math:`D^\top D`, :math:`D` the weighted
        dfbeta residuals summed within cluster (R ``cluster = s``; its
        ``robust se``); ``se``, the CI and p then use it, and
        ``naive_vcov`` keeps the model-based variance.

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
        source = df if isinstance(df, CoxData) else CoxData(df)
        extra = [c for c in (weights, strata, cluster) if c is not None]
        missing = [c for c in [duration_col, event_col, *terms, *extra] if c not in source.columns]
        if missing:
            return _not_estimable(terms, f"column(s) not in the data: {missing}")
        if len(source) == 0:
            return _not_estimable(terms, "no patients")
        data = source.complete(list(dict.fromkeys([duration_col, event_col, *terms, *extra])))
        n = len(data)
        if n == 0:
            return _not_estimable(terms, "no complete rows")
        t, e, order_time = data.time_event(duration_col, event_col)
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
        for i in _aliased_columns(X, np.flatnonzero(keep)):
            keep[i] = False
            rows.loc[i, "note"] = "collinear with earlier terms (aliased): not estimable"
        if not keep.any():
            reasons = "; ".join(dict.fromkeys([*problems.values(), *rows.loc[~keep, "note"]]))
            return _not_estimable(terms, reasons or "no estimable terms", n, n_events, assemble(rows))

        s_code = pd.factorize(data.series(strata))[0] if strata is not None else np.zeros(n, dtype=int)
        # By stratum, then time, stably (without strata: the data's stable order by time).
        order_t = np.lexsort((t, s_code)) if strata is not None or order_time is None else order_time
        w = data.floats(weights)[order_t] if weights is not None else None
        if w is not None and np.any(w < 0):
            return _not_estimable(terms, f"negative weights in column '{weights}'", n, n_events, assemble(rows))
        Xs = X[order_t][:, keep]
        fit = _cox_newton_raphson(Xs, t[order_t], e[order_t], weights=w,
                                  strata=s_code[order_t] if strata is not None else None)
        coef, var = fit.beta, fit.var
        naive_var = var
        if cluster is not None:
            var = _robust_variance(Xs, t[order_t], e[order_t], coef, var,
                                   np.ones(n) if w is None else w, s_code[order_t],
                                   pd.factorize(data.series(cluster))[0][order_t])
        se = np.sqrt(np.diag(var))
        z = _z(conf_level)
        kept_rows = rows.index[keep]
        # R's check: a Newton step that is still large relative to the coefficient.
        step = np.abs(fit.score @ naive_var)
        infinite = ~np.isfinite(fit.score) | ((step > COX_EPS) & (step > COX_TOLER_INF * np.abs(coef)))
        singular = np.diag(naive_var) == 0
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
            naive_vcov=pd.DataFrame(naive_var, index=kept_names, columns=kept_names),
            robust=cluster is not None,
        )
    except Exception as exc:  # noqa: BLE001 - the notebook must get a result, not a traceback
        return _not_estimable(terms, f"fit failed: {type(exc).__name__}: {exc}")


def univariate_then_multivariate_cox(df: pd.DataFrame | CoxData, duration_col: str, event_col: str,
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
    df = df if isinstance(df, CoxData) else CoxData(df)  # one preparation for all the models
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


#: The Cox models whose treatment term can be the report's treatment effect (parameter ``treatment_effect_model``).
TREATMENT_EFFECT_MODELS = ("univariate", "multivariate")


def treatment_effect(cox: pd.DataFrame, model: str = "univariate", variable: str = "arm") -> pd.DataFrame:
    """The treatment effect: the hazard ratio of the treatment term, per cohort and endpoint.

    The report's definition (named in its Methods): the term of ``variable``
    (the arm, SBRT+TACE vs SBRT alone) in the Cox model ``model`` of
    :func:`univariate_then_multivariate_cox` — ``"univariate"`` (the paper's
    headline: ``coxph(Surv(t, e) ~ arm)``) or ``"multivariate"`` (the arm
    adjusted for the covariates that entered the multivariate model).
    The default cohort's values are pinned against R's ``coxph`` by
    ``tests/test_headline.py::test_treatment_hazard_ratio_matches_r``.

    Parameters
    ----------
    cox : pandas.DataFrame
        Rows of :data:`COX_TABLE_COLUMNS` plus ``cohort`` and ``endpoint``.
    model : {"univariate", "multivariate"}
    variable : str
        The treatment variable.

    Returns
    -------
    pandas.DataFrame
        One row per cohort and endpoint, the columns of ``cox``.

    Examples
    --------
    >>> cox = pd.DataFrame({"model": ["univariate", "multivariate", "univariate"], "variable": ["arm", "arm", "age"],
    ...                     "hr": [0.5, 0.6, 1.1]})
    >>> treatment_effect(cox)["hr"].tolist(), treatment_effect(cox, "multivariate")["hr"].tolist()
    ([0.5], [0.6])
    """
    if model not in TREATMENT_EFFECT_MODELS:
        raise ValueError(f"treatment_effect_model must be one of {', '.join(TREATMENT_EFFECT_MODELS)}; "
                         f"found {model!r}")
    return cox[(cox["variable"] == variable) & (cox["model"] == model)].copy()
