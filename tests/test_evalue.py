"""E-values against the worked examples of VanderWeele & Ding (2017, Ann Intern Med 167:268) and of the R
package EValue's vignette ("E-values for unmeasured confounding"); EValue itself is not installable from Debian."""
from __future__ import annotations

import math

import numpy as np
import pytest

from helpers.stats.evalue import evalue_hr, evalue_rr, hr_to_rr


@pytest.mark.parametrize("rr, lo, hi, expected, expected_ci, rtol", [
    # smoking and lung cancer (Hammond & Horn): R  evalues.RR(est = 10.73, lo = 8.02, hi = 14.36)
    #   -> E-values 20.94777 (point), 15.52336 (lower)
    (10.73, 8.02, 14.36, 20.94777, 15.52336, 1e-6),
    # breastfeeding and infant respiratory death (Victora): RR 3.9 (1.8, 8.7) -> 7.26 (episensr: 7.263034), 3.0
    (3.9, 1.8, 8.7, 7.263034, 3.0, 1e-6),
    # the paper's protective example (leukemia): RR 0.80 (0.71, 0.91) -> 1.81 and, for the upper limit, 1.43
    (0.80, 0.71, 0.91, 1.81, 1.43, 5e-3),
])
def test_evalue_of_risk_ratios_matches_the_worked_examples(rr, lo, hi, expected, expected_ci, rtol):
    e = evalue_rr(rr, lo, hi)
    np.testing.assert_allclose([e.evalue, e.evalue_ci], [expected, expected_ci], rtol=rtol)


def test_an_interval_containing_one_has_evalue_one_and_the_ratio_is_symmetric():
    assert evalue_rr(1.4, 0.9, 2.1).evalue_ci == 1.0
    assert math.isclose(evalue_rr(0.8).evalue, evalue_rr(1 / 0.8).evalue)  # EValue: evalues.RR(1 / 0.80)


def test_common_outcome_hazard_ratio_is_transformed_before_the_evalue():
    # VanderWeele (2020): RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR)); for HR 0.56 (EValue's evalues.HR example)
    # sqrt(0.56) = 0.748331, 0.5^0.748331 = 0.595292; sqrt(1/0.56) = 1.336306, 0.5^1.336306 = 0.396033
    # RR = 0.404708 / 0.603967 = 0.670084; E = 1/RR + sqrt(1/RR (1/RR - 1)) = 1.492350 + 0.857181 = 2.349531
    assert hr_to_rr(0.56, rare=False) == pytest.approx(0.670084, rel=1e-5)
    e = evalue_hr(0.56, 0.46, 0.69, rare=False)
    assert e.evalue == pytest.approx(2.3495, rel=1e-4)
    assert e.evalue_ci == pytest.approx(evalue_rr(hr_to_rr(0.69, rare=False)).evalue)  # the limit closer to 1
    assert evalue_hr(0.56, rare=True).evalue == pytest.approx(evalue_rr(0.56).evalue)


def test_a_hazard_ratio_that_is_not_estimable_has_no_evalue():
    e = evalue_hr(math.nan, math.nan, math.nan)
    assert math.isnan(e.evalue) and "not estimable" in e.note
