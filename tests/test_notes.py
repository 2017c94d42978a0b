"""Analysis notes (helpers.report.notes): every estimate that could not be made as planned, with the reason."""
from __future__ import annotations

import pandas as pd

from helpers.report.notes import (
    analysis_notes,
    balance_notes,
    cox_notes,
    logrank_notes,
    matching_notes,
    robustness_notes,
)
from helpers.results import NumberTable, number, write_numbers, write_result

NAN = float("nan")


def _summary(dropped: int, sets: tuple[int, int] = (32, 4)) -> list[dict]:
    """The matching counts notebook 02 writes to results/numbers.csv (helpers.results.rows.matching_summary)."""
    return [number("n_treated_with_controls", sets[0], level=2), number("n_treated_with_controls", sets[1], level=1),
            number("n_treated_unmatched", dropped)]


def test_matching_notes():
    ps = pd.DataFrame({"note": ["pvtt_group has a single level in the data ('Without'); it is left out of the "
                                "propensity model."]})
    rows = matching_notes(ps, NumberTable(pd.DataFrame(_summary(7))))
    assert [r["note"] for r in rows] == [
        ps["note"][0], "7 of 43 treated patients had no control inside the caliper and are not in the matched cohort."]
    empty = matching_notes(None, NumberTable(pd.DataFrame(_summary(43, sets=(0, 0)))))
    assert len(empty) == 1 and "the matched cohort is empty" in empty[0]["note"]
    assert matching_notes(None, NumberTable(pd.DataFrame(_summary(0, sets=(36, 0))))) == []
    # no treated patient at all: the propensity note says so; nothing about the caliper
    assert matching_notes(None, NumberTable(pd.DataFrame(_summary(0, sets=(0, 0))))) == []


def test_balance_notes_name_fishers_test_and_untestable_variables():
    bal = pd.DataFrame({
        "cohort": ["before"] * 5,
        "variable": ["sex_group", "sex_group", "age_group", "age_group", "pvtt_group"],
        "test": ["Fisher's exact", "Fisher's exact", "Pearson chi-squared", "Pearson chi-squared",
                 "not testable: only one level observed"],
    })
    assert [r["note"] for r in balance_notes(bal)] == [
        "Fisher's exact test for 1 of 3 variables (small expected counts): Gender.",
        "Portal vein tumour thrombus: not testable: only one level observed."]  # labels, not column names


def test_logrank_and_cox_notes():
    lr = pd.DataFrame({"cohort": ["before", "after", "after"], "endpoint": ["OS", "OS", "PFS"],
                       "p_value": [0.4, NAN, NAN], "n": [152, 0, 104], "events": [60, 0, 0]})
    assert [(r["where"], r["note"]) for r in logrank_notes(lr)] == [
        ("OS, after matching", "not estimable (no patients)."), ("PFS, after matching", "not estimable (no events).")]
    cox = pd.DataFrame({"cohort": ["before", "after", "before"], "endpoint": ["OS", "OS", "PFS"],
                        "model": ["univariate"] * 3, "term": ["arm[SBRT+TACE]", "arm[SBRT+TACE]", "x[B]"],
                        "hr": [NAN, NAN, 1.3], "note": ["no events", "no events", NAN]})
    assert cox_notes(cox) == [{"step": "Cox, univariate", "where": "OS before matching and OS after matching",
                               "note": "Treatment: SBRT+TACE vs SBRT: no events."}]


def test_robustness_notes_merge_a_reason_over_its_places():
    """Notebook 06's reasons: one row per step and reason, naming every place; estimable rows say nothing."""
    grid = pd.DataFrame({"endpoint": ["OS", "PFS", "OS", "OS"],
                         "cell": ["0.02 SD; 1:1", "0.02 SD; 1:1", "0.05 SD; 1:1", "none; 1:1"],
                         "note": ["nobody matched", "nobody matched", "nobody matched", NAN]})
    cr = pd.DataFrame({"cohort": ["before", "after"], "gray_note": [NAN, "no events of interest"],
                       "shr_note": [NAN, "not estimable (no events of interest)"]})
    iptw = pd.DataFrame({"endpoint": ["OS"], "estimand": ["ATT"], "note": [""]})
    assert robustness_notes({"matching_grid": grid, "competing_risk_tests": cr, "iptw_hr": iptw,
                             "rmst": None}) == [
        {"step": "matching-settings grid", "where": "OS 0.02 SD; 1:1, PFS 0.02 SD; 1:1 and OS 0.05 SD; 1:1",
         "note": "Not estimable (nobody matched)."},
        {"step": "competing risks (local control)", "where": "after matching",
         "note": "Not estimable (no events of interest)."}]  # Gray's test and Fine-Gray: one reason, once


def test_analysis_notes_from_a_results_folder(tmp_path):
    assert analysis_notes(tmp_path).empty  # no results yet: nothing to say
    write_numbers(_summary(43, sets=(0, 0)), tmp_path, results_file="matching_summary", cell="matching")
    write_result(pd.DataFrame({"cohort": ["after"], "endpoint": ["OS"], "p_value": [NAN], "n": [0], "events": [0]}),
                 "logrank", tmp_path)
    notes = analysis_notes(tmp_path)
    assert notes.columns.tolist() == ["step", "where", "note"]
    assert notes["step"].tolist() == ["matching", "log-rank test"]
