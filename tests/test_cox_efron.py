"""Vectorized Cox (Efron likelihood, score residuals, many strata) and stratified log-rank equal the direct sums.

``_efron`` (``helpers/stats/survival/cox.py``) forms the second-moment part of
the information as one weighted cross-product ``X' diag(w A) X`` (and a
correction for the tied events) instead of reverse cumulative sums of every
row's ``w x x'``. The reference below is the direct definition, term by term
(one term per event, the l-th of d tied events seeing l/d of their weight
removed, weighted terms counting with the tied events' mean weight, as R's
``coxfit6``); both are compared on random data with heavy ties, with and
without case weights. The fits themselves are checked against R and
lifelines in ``test_survival.py``, ``test_oracles.py`` and ``test_robustness.py``.
The score residuals (the cluster-robust variance) are compared with the former
loop over event times, kept here as the reference.
"""
from __future__ import annotations

import numpy as np
import pytest

from helpers.stats.survival.cox import _efron, _score_residuals


def _efron_direct(X, time, event, beta, weights=None):
    w_case = np.ones(len(time)) if weights is None else weights
    r = np.exp(X @ beta) * w_case
    loglik, score, info = 0.0, np.zeros(X.shape[1]), np.zeros((X.shape[1],) * 2)
    for t in np.unique(time[event == 1]):
        risk, dead = time >= t, (time == t) & (event == 1)
        d = int(dead.sum())
        m = w_case[dead].mean()
        s0, s1 = r[risk].sum(), r[risk] @ X[risk]
        s2 = (r[risk, None, None] * X[risk, :, None] * X[risk, None, :]).sum(axis=0)
        t0, t1 = r[dead].sum(), r[dead] @ X[dead]
        t2 = (r[dead, None, None] * X[dead, :, None] * X[dead, None, :]).sum(axis=0)
        loglik += (w_case[dead] * (X[dead] @ beta)).sum()
        score += (w_case[dead, None] * X[dead]).sum(axis=0)
        for ll in range(d):
            f = ll / d
            a0, a1, a2 = s0 - f * t0, s1 - f * t1, s2 - f * t2
            loglik -= m * np.log(a0)
            score -= m * a1 / a0
            info += m * (a2 / a0 - np.outer(a1, a1) / a0**2)
    return loglik, score, info


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_efron_equals_the_direct_sums(seed, weighted):
    rng = np.random.default_rng(seed)
    n = 300
    X = np.column_stack([rng.integers(0, 2, n), rng.normal(size=n), rng.integers(0, 3, n)]).astype(float)
    time = np.sort(rng.integers(1, 13, n).astype(float))  # heavy ties, rows sorted by time
    event = (rng.random(n) < 0.6).astype(int)
    beta = np.array([0.4, -0.3, 0.2])
    weights = rng.uniform(0.5, 2.0, n) if weighted else None
    got = _efron(X, time, event, beta, weights)
    want = _efron_direct(X, time, event, beta, weights)
    assert got[0] == pytest.approx(want[0], rel=1e-12)  # the shift by max(eta) cancels: sum of m = sum of w
    np.testing.assert_allclose(got[1], want[1], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-10, atol=1e-10)


def test_efron_without_events_or_rows():
    X = np.ones((3, 2))
    loglik, score, info = _efron(X, np.array([1.0, 2.0, 3.0]), np.zeros(3, int), np.zeros(2))
    assert loglik == 0 and score.tolist() == [0, 0] and info.tolist() == [[0, 0], [0, 0]]
    assert _efron(np.zeros((0, 1)), np.zeros(0), np.zeros(0, int), np.zeros(1))[0] == 0


# The score residuals as they were computed before (one pass over every row per event time): the reference.
def _score_residuals_loop(X: np.ndarray, time: np.ndarray, event: np.ndarray, beta: np.ndarray,
                     weights: np.ndarray) -> np.ndarray:
    """The former loop: for each event time, every row at risk, each of the tied events' Efron terms."""
    n, p = X.shape
    r = np.exp(X @ beta - (np.max(X @ beta) if n else 0.0))
    rw = r * weights
    out = np.zeros((n, p))
    times = np.unique(time[event == 1])
    for tj in times:
        at_risk = time >= tj
        dead = (time == tj) & (event == 1)
        dcount = int(dead.sum())
        meanwt = weights[dead].sum() / dcount
        s0, s1 = rw[at_risk].sum(), (rw[at_risk, None] * X[at_risk]).sum(axis=0)
        d0, d1 = rw[dead].sum(), (rw[dead, None] * X[dead]).sum(axis=0)
        xbar_star = np.zeros(p)
        for ll in range(dcount):
            f = ll / dcount
            a0 = s0 - f * d0
            xbar = (s1 - f * d1) / a0
            xbar_star += xbar / dcount
            c = np.where(dead, 1.0 - f, 1.0)[at_risk]
            out[at_risk] -= (meanwt / a0) * (c * r[at_risk])[:, None] * (X[at_risk] - xbar)
        out[dead] += X[dead] - xbar_star
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_score_residuals_equal_the_loop_over_event_times(seed):
    rng = np.random.default_rng(seed)
    n = 200
    X = np.column_stack([rng.integers(0, 2, n), rng.normal(size=n)]).astype(float)
    time = np.sort(rng.integers(1, 30, n).astype(float))
    event = (rng.random(n) < 0.5).astype(int)
    event[-1] = 0  # the last rows censored after every event time
    weights = rng.uniform(0.5, 2.0, n) if seed % 2 else np.ones(n)
    beta = np.array([0.3, -0.2])
    got = _score_residuals(X, time, event, beta, weights)
    np.testing.assert_allclose(got, _score_residuals_loop(X, time, event, beta, weights), rtol=1e-10, atol=1e-12)
    assert _score_residuals(X, time, np.zeros(n, int), beta, weights).tolist() == np.zeros((n, 2)).tolist()


@pytest.mark.parametrize("weighted", [False, True])
def test_many_strata_at_once_equal_one_stratum_at_a_time(monkeypatch, weighted):
    import helpers.stats.survival.cox as cox

    rng = np.random.default_rng(7)
    n = 600
    strata = np.sort(rng.integers(0, 150, n))  # matched sets of a few patients, and some larger
    time = rng.integers(1, 12, n).astype(float)
    order = np.lexsort((time, strata))
    strata, time = strata[order], time[order]
    X = np.column_stack([rng.integers(0, 2, n), rng.normal(size=n)]).astype(float)
    event = (rng.random(n) < 0.6).astype(int)
    weights = rng.uniform(0.5, 2.0, n) if weighted else None
    beta = np.array([0.5, -0.25])
    at_once = cox._efron_strata(X, time, event, beta, weights, strata)
    monkeypatch.setattr(cox, "_VECTOR_STRATA", 10**9)  # one stratum at a time
    one_by_one = cox._efron_strata(X, time, event, beta, weights, strata)
    assert at_once[0] == pytest.approx(one_by_one[0], rel=1e-12)
    np.testing.assert_allclose(at_once[1], one_by_one[1], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(at_once[2], one_by_one[2], rtol=1e-10, atol=1e-10)


def test_cumsum_within_runs_is_numpy_cumsum_per_run():
    from helpers.stats.survival.cox import _cumsum_within

    rng = np.random.default_rng(3)
    runs = np.sort(rng.integers(0, 20, 200))
    values = rng.normal(size=(200, 2))
    want = np.concatenate([np.cumsum(values[runs == r], axis=0) for r in np.unique(runs)])
    want_rev = np.concatenate([np.cumsum(values[runs == r][::-1], axis=0)[::-1] for r in np.unique(runs)])
    assert _cumsum_within(values, runs).tolist() == want.tolist()  # the same additions, bit for bit
    assert _cumsum_within(values, runs, reverse=True).tolist() == want_rev.tolist()


def test_stratified_logrank_moments_are_the_sums_of_each_stratum():
    from helpers.stats.survival.logrank import _logrank_moments

    rng = np.random.default_rng(11)
    n = 400
    t = rng.integers(1, 15, n).astype(float)
    e = (rng.random(n) < 0.6).astype(float)
    code = rng.integers(0, 2, n)
    strata = rng.integers(0, 90, n)
    at_once = _logrank_moments(t, e, code, 2, strata)
    summed = [sum(parts) for parts in zip(*(_logrank_moments(t[strata == s], e[strata == s], code[strata == s], 2)
                                            for s in np.unique(strata)))]
    for got, want in zip(at_once, summed):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("continuous", [False, True])
def test_distinct_rows_with_counts_give_the_rows_likelihood_and_residuals(weighted, continuous):
    # A registry's rows are few distinct ones: fitting on them with counts (_collapse) must give the
    # likelihood, score, information and score residuals of all the rows. With a continuous covariate the
    # possible keys outnumber the rows and _collapse sorts them instead of counting.
    from helpers.stats.survival import cox
    rng = np.random.default_rng(7)
    n = 3000
    X = np.column_stack([rng.integers(0, 2, n), rng.integers(0, 3, n) - 1.0, rng.integers(0, 2, n)]).astype(float)
    if continuous:
        X[:, 2] = np.round(rng.normal(0, 1, n), 1)
    time = np.sort(rng.integers(1, 13, n).astype(float))
    event = (rng.random(n) < 0.6).astype(int)
    weights = rng.choice([0.5, 1.0, 2.25], n) if weighted else None
    beta = np.array([0.3, -0.2, 0.1])
    Xd, time_d, event_d, weights_d, counts, inverse = cox._collapse(X, time, event, weights)
    assert counts.sum() == n and len(counts) < (n if continuous else n / 3)
    assert np.all(np.diff(time_d) >= 0)
    np.testing.assert_array_equal(Xd[inverse], X)
    got = cox._efron(Xd, time_d, event_d, beta, weights_d, counts=counts)
    want = cox._efron(X, time, event, beta, weights)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-12)
    w = np.ones(n) if weights is None else weights
    res = _score_residuals(Xd, time_d, event_d, beta, np.ones(len(counts)) if weights is None else weights_d,
                           counts)[inverse]
    np.testing.assert_allclose(res, _score_residuals(X, time, event, beta, w), rtol=1e-10, atol=1e-12)


def test_cox_fit_on_distinct_rows_equals_the_fit_on_all_rows(monkeypatch):
    # cox_fit switches to the distinct rows from _COLLAPSE_FROM rows on: the same estimates, variances (model and
    # cluster-robust) and likelihoods as the row by row fit.
    import pandas as pd

    from helpers.stats.survival import cox
    rng = np.random.default_rng(11)
    n = 6000
    df = pd.DataFrame({"t": rng.integers(1, 60, n) / 2.0, "e": (rng.random(n) < 0.5).astype(int),
                       "arm": rng.choice(["A", "B"], n), "grade": rng.choice(["1", "2", "3"], n),
                       "w": rng.choice([0.5, 1.0, 1.5], n), "id": np.arange(n)})
    levels = {"arm": ["A", "B"], "grade": ["1", "2", "3"]}
    fits = {}
    for collapse_from in (cox._COLLAPSE_FROM, 10 ** 9):
        monkeypatch.setattr(cox, "_COLLAPSE_FROM", collapse_from)
        fits[collapse_from] = [cox.cox_fit(df, "t", "e", ["arm", "grade"], levels),
                               cox.cox_fit(df, "t", "e", ["arm"], levels, weights="w", cluster="id")]
    for got, want in zip(*fits.values()):
        assert got.iterations == want.iterations
        np.testing.assert_allclose(got.table[["coef", "se", "p_value"]], want.table[["coef", "se", "p_value"]],
                                   rtol=1e-10)
        np.testing.assert_allclose([got.loglik, got.loglik_null], [want.loglik, want.loglik_null], rtol=1e-12)


def test_cox_data_reads_columns_as_pandas_does():
    # CoxData's shortcuts: missing values from factorize's codes (object columns), the observed values of a
    # whole frame from factorize's order of appearance; a subset's from its own rows.
    import pandas as pd

    from helpers.stats.survival.cox import CoxData
    df = pd.DataFrame({"s": ["b", None, "a", np.nan, "b", pd.NA, "c"], "x": [1.0, np.nan, 2, 3, 4, 5, 6],
                       "k": pd.Categorical(["u", "v", None, "u", "v", "u", "v"], categories=["v", "u"])})
    data = CoxData(df)
    for col in df:
        assert data.notna(col).tolist() == df[col].notna().tolist()
        assert data.observed(col) == list(pd.unique(df[col].dropna()))
    rows = np.array([False, True, False, True, True, True, True])
    part = data.subset(rows)
    for col in df:
        assert part.notna(col).tolist() == df[col][rows].notna().tolist()
        assert part.observed(col) == list(pd.unique(df[col][rows].dropna()))
