"""Robustness of the treatment effect (notebook 06): each statistic against R on R's own data sets.

The data are R's ``survival::lung`` and ``survival::veteran``, exported once to ``tests/data/`` by
``Rscript tests/r/robustness_reference.R export`` (lung's status recoded 1 = death, 0 = censored, and a fixed,
non-integer case weight ``w = 1 + (row %% 3) / 2``); the reference values were printed by
``Rscript tests/r/robustness_reference.R`` (R 4.2.2, survival 3.5-3) and are quoted beside each call.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.stats.survival import cox_fit, logrank_test

RTOL = 1e-6
DATA = Path(__file__).parent / "data"


def close(actual, expected, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=rtol, atol=1e-12, equal_nan=True)


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    d = pd.read_csv(DATA / "lung.csv")
    d["sex"] = d["sex"].astype(str)
    return d


def test_stratified_logrank_matches_r_survdiff_strata(lung):
    # R: survdiff(Surv(time, status) ~ sex + strata(inst), data = lung)$chisq   -> 8.52446736332317
    res = logrank_test(lung["time"], lung["status"], lung["sex"], strata=lung["inst"])
    close(res.chi2, 8.52446736332317)
    assert res.df == 1
    # one stratum is the unstratified test
    close(logrank_test(lung["time"], lung["status"], lung["sex"], strata=np.ones(len(lung))).chi2,
          logrank_test(lung["time"], lung["status"], lung["sex"]).chi2, rtol=1e-12)


def test_weighted_cox_with_cluster_robust_variance_matches_r(lung):
    # R: f <- coxph(Surv(time, status) ~ age + sex, data = lung, weights = w, cluster = inst)
    #    coef(f)                  ->  0.0191230450733481  -0.6132475883956954
    #    sqrt(diag(f$naive.var))  ->  0.00763262149686517  0.13962636086425079
    #    sqrt(diag(f$var))        ->  0.00787540090786498  0.14714239244599941   (robust se)
    res = cox_fit(lung, "time", "status", ["age", "sex"], weights="w", cluster="inst")
    assert res.estimable and res.robust and res.n == 227  # the row without inst is dropped, as R drops it
    close(res.table["coef"], [0.0191230450733481, -0.6132475883956954])
    close(np.sqrt(np.diag(res.naive_vcov)), [0.00763262149686517, 0.13962636086425079])
    close(res.table["se"], [0.00787540090786498, 0.14714239244599941])
    z = res.table["coef"] / res.table["se"]
    close(res.table["ci_lower"], np.exp(res.table["coef"] - 1.959963984540054 * res.table["se"]))
    assert np.all(np.abs(z) > 2)


def test_stratified_cox_matches_r(lung):
    # R: f <- coxph(Surv(time, status) ~ age + sex + strata(inst), data = lung)
    #    coef(f)            ->  0.0192048983408915  -0.4923515186516150
    #    sqrt(diag(f$var))  ->  0.00987322480987376  0.18156342931018626
    res = cox_fit(lung, "time", "status", ["age", "sex"], strata="inst")
    close(res.table["coef"], [0.0192048983408915, -0.4923515186516150])
    close(res.table["se"], [0.00987322480987376, 0.18156342931018626])


def test_unit_weights_leave_the_cox_fit_unchanged(lung):
    plain = cox_fit(lung, "time", "status", ["age", "sex"])
    weighted = cox_fit(lung.assign(one=1.0), "time", "status", ["age", "sex"], weights="one")
    close(weighted.table["coef"], plain.table["coef"], rtol=1e-12)
    close(weighted.table["se"], plain.table["se"], rtol=1e-12)
