"""Trial sizing (helpers.stats.sizing) against rpact and Schoenfeld's worked figure.

Reference values from R 4.2, rpact 3.3.4 (the default ``typeOfComputation = "Schoenfeld"``)::

    library(rpact)
    x <- getSampleSizeSurvival(alpha = 0.05, beta = 0.2, sided = 2, hazardRatio = 0.429,
                               allocationRatioPlanned = 1, lambda2 = -log(0.618) / 60,
                               accrualTime = c(0, 36), followUpTime = 24)
    sprintf("%.10f", c(x$maxNumberOfEvents, x$maxNumberOfSubjects))

with the other rows of ``RPACT`` made by changing hazardRatio, beta, allocationRatioPlanned,
lambda2, accrualTime and followUpTime as the row says.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from helpers.stats.sizing import (
    arm_event_probability,
    event_probability,
    hazard_from_survival,
    power_at,
    schoenfeld_events,
    trial_size,
)

# hr, power, allocation, control survival s at 60 months (lambda2 = -log(s)/60), accrual, follow-up: events, subjects
RPACT = [
    (0.429, 0.8, 1, 0.618, 36, 24, 43.8349653209, 209.9677901166),
    (0.620, 0.8, 1, 0.618, 36, 24, 137.3873732169, 583.4576471500),
    (0.429, 0.9, 2, 0.5, 24, 12, 66.0179043044, 427.8079405061),
    (0.620, 0.9, 2, 0.5, 24, 12, 206.9130519727, 1121.4562310065),
]


@pytest.mark.parametrize("hr, power, r, s, accrual, followup, events, subjects", RPACT)
def test_trial_size_agrees_with_rpact(hr, power, r, s, accrual, followup, events, subjects):
    t = trial_size(hr, 0.05, power, r, control_hazard=hazard_from_survival(s, 60), accrual=accrual, followup=followup)
    assert t.events == pytest.approx(events, rel=1e-9)
    assert t.patients == pytest.approx(subjects, rel=1e-9)


def test_schoenfeld_worked_figure():
    # HR 0.75, two-sided 5%, 90% power, 1:1: 4 (1.960 + 1.282)^2 / log(0.75)^2 = 507.8 -> 508 events, the
    # figure quoted for Schoenfeld's formula (e.g. Collett, Modelling Survival Data in Medical Research, ch. 10);
    # rpact: getSampleSizeSurvival(alpha=0.05, beta=0.1, sided=2, hazardRatio=0.75, lambda2=log(2)/12,
    # accrualTime=c(0, 24), followUpTime=12) -> maxNumberOfEvents 507.8443353546, maxNumberOfSubjects 746.9398632340
    d = schoenfeld_events(0.75, 0.05, 0.9, 1.0)
    assert d == pytest.approx(4 * (1.959964 + 1.281552) ** 2 / math.log(0.75) ** 2, rel=1e-6)
    assert math.ceil(d) == 508
    t = trial_size(0.75, 0.05, 0.9, control_hazard=math.log(2) / 12, accrual=24, followup=12)
    assert t.events_needed == 508
    assert t.patients == pytest.approx(746.9398632340, rel=1e-9)


def test_allocation_enters_as_p_times_one_minus_p():
    # 2:1 needs 9/8 of the 1:1 events: 1 / (2/3 * 1/3) = 4.5 vs 1 / (1/4) = 4
    assert schoenfeld_events(0.6, allocation=2.0) / schoenfeld_events(0.6) == pytest.approx(9 / 8)
    assert schoenfeld_events(0.6, allocation=2.0) == pytest.approx(schoenfeld_events(1 / 0.6, allocation=2.0))


def test_event_probability_limits_and_given_probability():
    # no accrual: 1 - exp(-lam f); a long follow-up: almost everyone has an event
    assert arm_event_probability(0.1, 0, 12) == pytest.approx(1 - math.exp(-1.2))
    assert arm_event_probability(0.1, 12, 1000) == pytest.approx(1.0)
    assert event_probability(0.02, 1.0, 24, 12) == pytest.approx(arm_event_probability(0.02, 24, 12))
    t = trial_size(0.62, probability=0.5)
    assert t.patients == pytest.approx(2 * t.events)
    with pytest.raises(ValueError, match="either the event probability or the control hazard"):
        trial_size(0.62)
    with pytest.raises(ValueError, match="not 1"):
        schoenfeld_events(1.0)


def test_power_at_the_schoenfeld_size_is_the_planned_power():
    t = trial_size(0.62, 0.05, 0.8, control_hazard=hazard_from_survival(0.618, 60), accrual=36, followup=24)
    assert power_at(t.patients, 0.62, probability=t.event_probability) == pytest.approx(0.8, rel=1e-9)
    assert np.all(np.diff(power_at(np.array([50, 100, 200, 400]), 0.62, probability=0.3)) > 0)


def test_sizing_table_sizes_the_published_trials_and_names_what_cannot_be_sized():
    from helpers.stats.sizing import sizing_table

    scenarios = [dict(source="published", endpoint="OS", hr=0.429, control_survival=0.618, control_months=60),
                 dict(source="reproduced", endpoint="OS", hr=float("nan"), control_survival=0.6, control_months=60),
                 dict(source="reproduced", endpoint="PFS", hr=1.0, control_survival=0.3, control_months=60),
                 dict(source="reproduced", endpoint="LC", hr=0.5, control_survival=float("nan"), control_months=60)]
    t = sizing_table(scenarios, 0.05, 0.8, 1.0, 36.0, 24.0)
    # rpact (first row of RPACT): 43.83 events, 209.97 subjects -> 44 and 210
    assert t.loc[0, "events"] == pytest.approx(43.8349653209, rel=1e-9)
    assert (t.loc[0, "events_needed"], t.loc[0, "patients_needed"]) == (44, 210)
    assert list(t["note"][1:]) == ["no estimable hazard ratio", "hazard ratio 1: no difference to detect",
                                   "no control-arm survival strictly between 0 and 1 at 60 months"]
    assert t["patients"][1:].isna().all()
    # a given event probability needs no control survival
    given = sizing_table(scenarios[3:], probability=0.5)
    assert given.loc[0, "patients"] == pytest.approx(2 * schoenfeld_events(0.5))


def test_sizing_rows_and_the_text_read_them_by_key(tmp_path):
    from helpers.report.manuscript import ResultNumbers
    from helpers.results import write_numbers
    from helpers.results.numbers import NumberTable
    from helpers.results.rows import sizing_rows
    from helpers.stats.sizing import sizing_table

    t = sizing_table([dict(source="published", endpoint="OS", hr=0.429, control_survival=0.618, control_months=60),
                      dict(source="reproduced", endpoint="OS", hr=float("nan"), control_survival=0.6,
                           control_months=60)])
    write_numbers(sizing_rows(t), tmp_path, results_file="trial_size", cell="trial-size", notebook="07_reviewer")
    table = NumberTable.read(tmp_path)
    assert table.get("trial_patients", variable="published", endpoint="OS").value == 210
    assert table.get("trial_events", variable="reproduced", endpoint="OS").note == "no estimable hazard ratio"
    r = ResultNumbers.__new__(ResultNumbers)  # only the numbers table is needed for these two methods
    r.numbers = table
    assert str(r.trial("published", "OS")) == "44 events (210 patients)"
    assert str(r.trial("reproduced", "OS")) == "not estimable (no estimable hazard ratio)"
    assert str(r.trial_hr("published", "OS")) == "0.429"
