"""One cut-off everywhere (issue 10, item 2): events after the data cut-off are censored in every count.

The extract of ``degenerate_cases.late_events`` is the default cohort plus 4
deaths and 3 progressions dated 2026, after the cut-off of 30 September 2025.
Before the fix, Table 2 counted the late progressions (SBRT progressed
patients 80 -> 83) and the published-vs-cohort comparison the late deaths.
"""
from __future__ import annotations

import pandas as pd
import pytest
from degenerate_cases import late_events, read_raw, write_raw

from helpers.data.derive import add_endpoints, add_table1_categories, censor_at_cutoff, events_after_cutoff
from helpers.data.eligibility import add_eligibility
from helpers.data.load import load_study
from helpers.paths import ADVERSE_EVENTS_CSV, COHORT_CSV
from helpers.report.notes import cutoff_notes
from helpers.stats.progression import progression_pattern_table
from helpers.synthetic.check import compare_to_published

CUTOFF = "2025-09-30"


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    folder = tmp_path_factory.mktemp("late")
    cohort, ae = late_events(read_raw(COHORT_CSV), read_raw(ADVERSE_EVENTS_CSV))
    late = load_study(write_raw(cohort, folder / "cohort.csv"), write_raw(ae, folder / "adverse_events.csv"))
    assert late.warnings == []  # a valid extract, nothing to repair
    return load_study(COHORT_CSV, ADVERSE_EVENTS_CSV), late


def _eligible(cohort: pd.DataFrame) -> pd.DataFrame:
    df = add_eligibility(cohort)
    return df[df["eligible"]].reset_index(drop=True)


def _analysis(cohort: pd.DataFrame) -> pd.DataFrame:
    return add_endpoints(add_table1_categories(_eligible(cohort)), cutoff=CUTOFF)


def test_the_extract_has_events_after_the_cutoff_and_the_default_data_have_none(studies):
    clean, late = studies
    counts = lambda c: events_after_cutoff(_eligible(c), CUTOFF).set_index("event")["n_after_cutoff"].to_dict()  # noqa: E731
    assert counts(late.cohort) == {"deaths": 4, "progressions": 3, "local progressions": 1}
    assert counts(clean.cohort) == {"deaths": 0, "progressions": 0, "local progressions": 0}
    # uncensored, the late events would be counted: 3 more SBRT progressions, 4 more deaths
    raw_late, raw_clean = _eligible(late.cohort), _eligible(clean.cohort)
    sbrt = lambda df: int(df.loc[df["arm"] == "SBRT", "progression_date"].notna().sum())  # noqa: E731
    assert sbrt(raw_late) == sbrt(raw_clean) + 3
    assert raw_late["death_date"].notna().sum() == raw_clean["death_date"].notna().sum() + 4


def test_censored_extract_is_the_clean_cohort(studies):
    clean, late = studies
    a, b = censor_at_cutoff(clean.cohort, CUTOFF), censor_at_cutoff(late.cohort, CUTOFF)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(censor_at_cutoff(clean.cohort, CUTOFF).drop(columns="last_followup"),
                                  clean.cohort.drop(columns="last_followup"))


def test_table2_counts_no_event_after_the_cutoff(studies):
    clean, late = studies
    t2 = [progression_pattern_table(_analysis(s.cohort), death_col="os_event") for s in (clean, late)]
    pd.testing.assert_frame_equal(t2[0], t2[1])
    sbrt = t2[1].set_index(["group", "key"])["n"]
    assert sbrt[("SBRT", "progressed")] == 80  # the published count, not 83


def test_published_comparison_counts_no_event_after_the_cutoff(studies):
    clean, late = studies
    a = compare_to_published(clean.cohort, clean.adverse_events, cutoff=CUTOFF)
    b = compare_to_published(late.cohort, late.adverse_events, cutoff=CUTOFF)
    pd.testing.assert_frame_equal(a, b)
    deaths = b[b["quantity"] == "n_death"].set_index("arm")["synthetic"]
    assert deaths.sum() == b[b["quantity"] == "n_death"]["published"].sum()


def test_the_analysis_notes_say_how_many_events_were_after_the_cutoff(studies):
    _, late = studies
    notes = cutoff_notes(events_after_cutoff(_eligible(late.cohort), CUTOFF))
    assert notes == [{"step": "data cut-off", "where": "notebook 01",
                      "note": "4 deaths, 3 progressions and 1 local progression of the eligible patients were after "
                              "the data cut-off (2025-09-30); they are censored at the cut-off in every count, "
                              "table and comparison."}]
    assert cutoff_notes(events_after_cutoff(_eligible(studies[0].cohort), CUTOFF)) == []


def test_a_local_progression_after_the_cutoff_leaves_the_in_field_site():
    df = pd.DataFrame({"last_followup": ["2026-03-01"], "death_date": [None], "progression_date": ["2025-01-10"],
                       "local_progression_date": ["2026-02-01"], "progression_sites": ["in-field;bone"],
                       "subsequent_therapy": ["single"]})
    out = censor_at_cutoff(df, CUTOFF).iloc[0]
    assert out["progression_sites"] == "bone" and out["subsequent_therapy"] == "single"
    assert pd.isna(out["local_progression_date"]) and out["last_followup"] == pd.Timestamp(CUTOFF)
