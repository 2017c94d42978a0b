r"""Sizing a two-arm survival trial: Schoenfeld's events formula and the patients it takes.

The paper closes by calling for "an adequately powered prospective trial"
without saying how large. For a log-rank (or Cox) comparison of two arms with
hazard ratio ``hr``, two-sided level ``alpha``, power ``power`` and a fraction
``p`` of the patients in the experimental arm, Schoenfeld (1983) gives the
number of *events* needed:

.. math::

    d = \frac{(z_{1-\alpha/2} + z_{1-\beta})^2}{p (1 - p) \log(\mathrm{HR})^2},
    \qquad p = \frac{r}{1 + r},

with ``r`` the allocation ratio (experimental per control patient). The
number of *patients* is ``d`` divided by the probability that a patient has
an event by the analysis. With uniform accrual over ``a`` months, ``f``
months of follow-up after the last patient, and exponential survival with
hazard ``lam`` (control) and ``hr * lam`` (experimental), a patient of one
arm has an event with probability

.. math::

    P(\lambda) = 1 - \frac{e^{-\lambda f} - e^{-\lambda (a + f)}}{\lambda a},

and the trial's event probability is the allocation-weighted mean of the two
arms'. The control hazard comes from the control arm's survival ``s`` at
``t`` months: ``lam = -log(s) / t``.

==========================================  ===================================================================
here                                        R (rpact 3.3)
==========================================  ===================================================================
``schoenfeld_events(hr, alpha, power, r)``  ``getSampleSizeSurvival(alpha=, beta=1-power, sided=2, hazardRatio=hr,
                                            allocationRatioPlanned=r, ...)$maxNumberOfEvents``
``trial_size(hr, ...)``                     the same call's ``$maxNumberOfSubjects`` (with ``lambda2=``,
                                            ``accrualTime=c(0, a)``, ``followUpTime=f``)
==========================================  ===================================================================

``tests/test_sizing.py`` quotes the R calls and values, and Schoenfeld's
worked figure (508 events for HR 0.75, 90% power, 1:1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm


def _check(hr: float, alpha: float, power: float, allocation: float) -> None:
    if not (hr > 0 and hr != 1):
        raise ValueError(f"the hazard ratio must be positive and not 1 to size a trial; got {hr}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha (two-sided) must be between 0 and 1; got {alpha}")
    if not 0 < power < 1:
        raise ValueError(f"power must be between 0 and 1; got {power}")
    if not allocation > 0:
        raise ValueError(f"the allocation ratio (experimental per control patient) must be positive; got {allocation}")


def experimental_fraction(allocation: float) -> float:
    """The fraction ``p = r / (1 + r)`` of patients in the experimental arm for allocation ratio ``r``."""
    return allocation / (1.0 + allocation)


def schoenfeld_events(hr: float, alpha: float = 0.05, power: float = 0.8, allocation: float = 1.0) -> float:
    """Events needed (not rounded) to detect hazard ratio ``hr`` with a two-sided level-``alpha`` test.

    Parameters
    ----------
    hr : float
        Hazard ratio, experimental vs control (positive, not 1).
    alpha : float
        Two-sided significance level.
    power : float
        Power, ``1 - beta``.
    allocation : float
        Experimental patients per control patient (``r``).

    Returns
    -------
    float
        ``(z_{1-alpha/2} + z_{power})^2 / (p (1 - p) log(hr)^2)``, ``p = r / (1 + r)``.
    """
    _check(hr, alpha, power, allocation)
    p = experimental_fraction(allocation)
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    return float(z * z / (p * (1 - p) * math.log(hr) ** 2))


def hazard_from_survival(survival: float, months: float) -> float:
    """The exponential hazard (per month) with survival ``survival`` at ``months``: ``-log(s) / t``."""
    if not 0 < survival < 1 or not months > 0:
        raise ValueError(f"a survival probability strictly between 0 and 1 at a positive time is needed to set the "
                         f"control hazard; got {survival} at {months} months")
    return -math.log(survival) / months


def arm_event_probability(hazard: float, accrual: float, followup: float) -> float:
    """Probability of an event by the analysis for one arm: uniform accrual over ``accrual`` months,
    ``followup`` further months, exponential hazard ``hazard`` (per month)."""
    if hazard <= 0:
        return 0.0
    if accrual <= 0:
        return 1.0 - math.exp(-hazard * followup)
    return 1.0 - (math.exp(-hazard * followup) - math.exp(-hazard * (accrual + followup))) / (hazard * accrual)


def event_probability(control_hazard: float, hr: float, accrual: float, followup: float,
                      allocation: float = 1.0) -> float:
    """The trial's event probability: the allocation-weighted mean of the two arms' (:func:`arm_event_probability`)."""
    p = experimental_fraction(allocation)
    return ((1 - p) * arm_event_probability(control_hazard, accrual, followup)
            + p * arm_event_probability(hr * control_hazard, accrual, followup))


@dataclass(frozen=True)
class TrialSize:
    """Events and patients for one hazard ratio (unrounded, as rpact reports them; round up to plan)."""

    hr: float
    events: float
    event_probability: float
    patients: float

    @property
    def events_needed(self) -> int:
        return math.ceil(self.events - 1e-9)

    @property
    def patients_needed(self) -> int:
        return math.ceil(self.patients - 1e-9)


def trial_size(hr: float, alpha: float = 0.05, power: float = 0.8, allocation: float = 1.0, *,
               control_hazard: float | None = None, accrual: float = 36.0, followup: float = 24.0,
               probability: float | None = None) -> TrialSize:
    """Events (Schoenfeld) and patients for hazard ratio ``hr``.

    The event probability is ``probability`` if given, else computed from
    ``control_hazard`` (per month), ``accrual`` and ``followup`` months
    (:func:`event_probability`); exactly one of the two must be given.
    """
    if (probability is None) == (control_hazard is None):
        raise ValueError("give either the event probability or the control hazard (with accrual and follow-up)")
    d = schoenfeld_events(hr, alpha, power, allocation)
    pe = probability if probability is not None else event_probability(control_hazard, hr, accrual, followup,
                                                                         allocation)
    if not 0 < pe <= 1:
        raise ValueError(f"the event probability must be in (0, 1]; got {pe}")
    return TrialSize(hr=float(hr), events=d, event_probability=float(pe), patients=d / float(pe))


def power_at(patients: np.ndarray | float, hr: float, alpha: float = 0.05, allocation: float = 1.0,
             probability: float = 1.0) -> np.ndarray:
    """Power of the two-sided level-``alpha`` test with ``patients`` patients (Schoenfeld's formula inverted):
    ``Phi(sqrt(d p (1 - p)) |log hr| - z_{1-alpha/2})``, ``d = patients * probability`` (the far tail ignored)."""
    _check(hr, alpha, 0.5, allocation)
    p = experimental_fraction(allocation)
    d = np.asarray(patients, dtype=float) * probability
    return norm.cdf(np.sqrt(d * p * (1 - p)) * abs(math.log(hr)) - norm.ppf(1 - alpha / 2))


#: The columns of :func:`sizing_table`.
SIZING_COLUMNS = ["source", "endpoint", "hr", "control_survival", "control_months", "control_hazard", "events",
                  "events_needed", "event_probability", "patients", "patients_needed", "note"]


def sizing_table(scenarios: list[dict], alpha: float = 0.05, power: float = 0.8, allocation: float = 1.0,
                 accrual: float = 36.0, followup: float = 24.0, probability: float = 0.0) -> pd.DataFrame:
    """One trial size per scenario (a hazard ratio and the control arm's survival at a time).

    Parameters
    ----------
    scenarios : list of dict
        Each with ``source`` (e.g. "published"), ``endpoint``, ``hr``, ``control_survival`` (the control
        arm's survival at ``control_months``) and ``control_months``.
    alpha, power, allocation, accrual, followup
        As :func:`trial_size`.
    probability : float
        The event probability; 0 computes it per scenario from the control survival, accrual and follow-up.

    Returns
    -------
    pandas.DataFrame
        ``SIZING_COLUMNS``; a scenario that cannot be sized (no hazard ratio, a ratio of 1, no control
        survival) has NaN sizes and the reason in ``note``.
    """
    rows = []
    for s in scenarios:
        row = {c: s.get(c, np.nan) for c in SIZING_COLUMNS}
        row.update(note="", control_hazard=np.nan, events=np.nan, events_needed=np.nan, event_probability=np.nan,
                   patients=np.nan, patients_needed=np.nan)
        hr, surv, months = float(s["hr"]), float(s.get("control_survival", np.nan)), float(s["control_months"])
        if not np.isfinite(hr) or hr <= 0:
            row["note"] = "no estimable hazard ratio"
        elif abs(math.log(hr)) < 1e-12:
            row["note"] = "hazard ratio 1: no difference to detect"
        elif probability <= 0 and not (0 < surv < 1):
            row["note"] = f"no control-arm survival strictly between 0 and 1 at {months:g} months"
        else:
            lam = None if probability > 0 else hazard_from_survival(surv, months)
            t = trial_size(hr, alpha, power, allocation, control_hazard=lam, accrual=accrual, followup=followup,
                           probability=probability if probability > 0 else None)
            row.update(control_hazard=np.nan if lam is None else lam, events=t.events, events_needed=t.events_needed,
                       event_probability=t.event_probability, patients=t.patients,
                       patients_needed=t.patients_needed)
        rows.append(row)
    return pd.DataFrame(rows, columns=SIZING_COLUMNS)
