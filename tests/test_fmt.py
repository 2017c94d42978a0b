"""The one formatter (helpers/report/fmt.py): worked examples of each rule.

The p-value rule is the paper's: three decimals, "<0.001" below 0.001 (so p = 0.0003 no longer
prints "0.000"). In R, with the values of ``test_p_value_rule``:
``p <- c(0.0003, 0.000999, 0.001, 0.0653393, 0.0691, 0.5, 0.9996, 1);
ifelse(p < 0.001, "<0.001", sprintf("%.3f", p))`` ->
``<0.001 <0.001 0.001 0.065 0.069 0.500 1.000 1.000``.
"""
import math

import pytest

from helpers.report import fmt

NAN = float("nan")


@pytest.mark.parametrize("p, cell, text", [
    (0.0003, "<0.001", "p < 0.001"),          # printed "0.000" by f"{p:.3f}" before
    (0.000999, "<0.001", "p < 0.001"),
    (0.001, "0.001", "p = 0.001"),
    (0.0653393, "0.065", "p = 0.065"),        # survdiff(Surv(time, status) ~ x, aml): p = 0.0653
    (0.0691, "0.069", "p = 0.069"),
    (0.5, "0.500", "p = 0.500"),
    (0.9996, "1.000", "p = 1.000"),
    (1.0, "1.000", "p = 1.000"),               # Fisher's exact test of equal proportions
    (NAN, "not estimable", "p not estimable"),
    (None, "not estimable", "p not estimable"),
])
def test_p_value_rule(p, cell, text):
    assert fmt.p_value(p) == cell
    assert fmt.p_text(p) == text


def test_p_value_with_reason():
    assert fmt.p_value(NAN, "no events") == "not estimable (no events)"
    assert fmt.p_text(NAN, "no patients") == "p not estimable (no patients)"
    assert fmt.p_value(0.2, "ignored when estimable") == "0.200"


def test_hazard_ratio():
    # coxph(Surv(time, status) ~ x, aml): HR 2.4981 (0.9159-6.8135)
    assert fmt.hr_ci(2.4981, 0.9159, 6.8135) == "2.50 (0.92\u20136.81)"
    assert fmt.hr_text(2.4981, 0.9159, 6.8135) == "HR 2.50, 95% CI 0.92\u20136.81"
    assert fmt.hr_ci(NAN, 1, 2) == "not estimable"
    assert fmt.hr_ci(1.0, 0.0, math.inf, "separation") == "not estimable (separation)"
    assert fmt.hr_text(NAN, NAN, NAN, "no events") == "HR not estimable (no events)"


def test_percentages_counts_rates():
    assert fmt.pct(0.9118) == "91.2%" and fmt.pct(NAN) == "not estimable"
    assert fmt.count(12, 34.49) == "12 (34.5%)" and fmt.count(12, 34.49, sign=False) == "12 (34.5)"
    assert fmt.count(0, 0.0) == "0 (0.0%)" and fmt.count(5) == "5" and fmt.count(NAN) == ""
    assert fmt.rate_ci(0.9118, 0.8034, 0.9512) == "91.2 (80.3\u201395.1)"
    assert fmt.rate_ci(1.0, NAN, NAN) == "100.0 (not estimable)"
    assert fmt.rate_ci(NAN, NAN, NAN, "no patient at risk") == "not estimable (no patient at risk)"


def test_one_missing_word():
    assert fmt.NOT_ESTIMABLE == "not estimable"
    assert fmt.not_estimable("no events") == "not estimable (no events)"
    assert fmt.not_estimable(None) == fmt.not_estimable("") == "not estimable"
