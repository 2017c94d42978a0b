r"""E-values (VanderWeele & Ding 2017): how strong an unmeasured confounder would have to be to explain an effect away.

==============================================  =====================================================
here                                            R (package ``EValue``)
==============================================  =====================================================
``evalue_rr(rr, lo, hi)``                       ``evalues.RR(est, lo, hi)``
``evalue_hr(hr, lo, hi, rare=False)``           ``evalues.HR(est, lo, hi, rare = FALSE)``
==============================================  =====================================================

For a risk ratio :math:`RR \ge 1` the E-value is

.. math:: E = RR + \sqrt{RR\,(RR - 1)},

and for :math:`RR < 1` the same with :math:`1/RR`: the minimum strength of
association, on the risk-ratio scale, that an unmeasured confounder would
need with both the treatment and the outcome, beyond the measured
covariates, to move the estimate to 1. For the confidence interval it is
the E-value of the limit closer to 1, and 1 when the interval contains 1.

A hazard ratio approximates a risk ratio only when the outcome is rare
(under 15% by the end of follow-up); otherwise (``rare=False``, death or
progression in this cohort) it is first transformed as

.. math:: RR \approx \frac{1 - 0.5^{\sqrt{HR}}}{1 - 0.5^{\sqrt{1/HR}}}.

The EValue package is not installable from Debian; the tests use the worked
examples of VanderWeele & Ding (2017) and of the package's vignette.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class EValue:
    """The risk ratios used (``rr``, ``rr_lower``, ``rr_upper``) and the E-values of the estimate and of the CI
    (the limit closer to 1); NaN with ``note`` when not computable."""

    rr: float
    rr_lower: float
    rr_upper: float
    evalue: float
    evalue_ci: float
    note: str = ""


def _e(rr: float) -> float:
    if not rr > 0 or not math.isfinite(rr):
        return math.nan
    rr = 1 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1))


def evalue_rr(rr: float, lower: float = math.nan, upper: float = math.nan) -> EValue:
    """E-values of a risk ratio and of its confidence interval.

    Examples
    --------
    VanderWeele & Ding (2017): formula-fed infants died of respiratory infection 3.9 times as often
    (95% CI 1.8 to 8.7); E-value 7.26, and 3.0 for the lower limit.

    >>> e = evalue_rr(3.9, 1.8, 8.7)
    >>> round(e.evalue, 2), round(e.evalue_ci, 2)
    (7.26, 3.0)
    """
    values = [v for v in (rr, lower, upper) if not math.isnan(v)]
    if not math.isfinite(rr) or any(v <= 0 for v in values):
        return EValue(rr, lower, upper, math.nan, math.nan, "no finite, positive ratio")
    if math.isnan(lower) or math.isnan(upper):
        ci = math.nan
    elif lower <= 1 <= upper:
        ci = 1.0
    else:
        ci = _e(lower if rr > 1 else upper)
    return EValue(rr, lower, upper, _e(rr), ci)


def hr_to_rr(hr: float, rare: bool) -> float:
    """The risk ratio a hazard ratio stands for: itself for a rare outcome, else VanderWeele's transformation."""
    if rare or not (hr > 0 and math.isfinite(hr)):
        return hr
    return (1 - 0.5 ** math.sqrt(hr)) / (1 - 0.5 ** math.sqrt(1 / hr))


def evalue_hr(hr: float, lower: float = math.nan, upper: float = math.nan, rare: bool = False) -> EValue:
    """E-values of a hazard ratio and its CI (``rare``: outcome under 15% by the end of follow-up).

    Parameters
    ----------
    hr, lower, upper : float
        Hazard ratio and its confidence limits (NaN: not estimable, giving NaN E-values with the note).
    rare : bool
        False (default) applies the common-outcome transformation to each of the three.

    Examples
    --------
    >>> round(hr_to_rr(0.56, rare=False), 4)
    0.6701
    >>> round(evalue_hr(0.56, 0.46, 0.69, rare=False).evalue, 4)
    2.3495
    """
    if not math.isfinite(hr):
        return EValue(math.nan, math.nan, math.nan, math.nan, math.nan, "hazard ratio not estimable")
    return evalue_rr(hr_to_rr(hr, rare), hr_to_rr(lower, rare), hr_to_rr(upper, rare))
