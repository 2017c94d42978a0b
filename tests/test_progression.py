"""Table 2: pattern of progression, subsequent therapy, deaths (``helpers.stats.progression``).

Known values: hand-made cohorts whose counts are worked out in the comments,
and the paper's Table 2 (counts and printed percentages).
"""
from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers.report.table2 import format_table2
from helpers.stats.progression import organs_of, parse_sites, progression_pattern_table

# --------------------------------------------------------------------------
# Table 2: organ counting rules
# --------------------------------------------------------------------------

@pytest.mark.parametrize("cell, organs", [
    ("in-field", {"liver"}),
    ("in-field;liver", {"liver"}),          # the irradiated lesion is in the liver: one organ
    ("liver", {"liver"}),
    ("liver;bone", {"liver", "bone"}),
    ("in-field;bone", {"liver", "bone"}),
    ("Liver ; In-field", {"liver"}),        # case and spaces do not matter
    ("liver;bone;lung", {"liver", "bone", "lung"}),
    ("", set()),
    (None, set()),
    (float("nan"), set()),
])
def test_organs_of_sites(cell, organs):
    assert organs_of(parse_sites(cell)) == organs


TABLE2_HAND = pd.DataFrame([
    # arm, sites, therapy, death
    ("SBRT", "in-field", "single", None),              # single liver, in-field
    ("SBRT", "in-field;liver", "multiple", "2019-01-01"),  # single liver, in-field
    ("SBRT", "liver", "conservative", None),           # single liver
    ("SBRT", "liver;bone", "single", "2020-01-01"),    # two organs
    ("SBRT", "in-field;bone", "single", None),         # two organs (in-field is liver)
    ("SBRT", None, None, "2018-01-01"),                # no progression, died
    ("SBRT", None, None, None),
    ("SBRT+TACE", "bone", "single", None),             # single bone
    ("SBRT+TACE", "adrenal", "conservative", None),    # single other
    ("SBRT+TACE", "in-field;liver;lung", "multiple", "2021-01-01"),  # two organs
    ("SBRT+TACE", "liver;bone;lung", "single", None),  # three organs
    ("SBRT+TACE", "lymph node", None, None),           # single lymph node, therapy not recorded
], columns=["arm", "progression_sites", "subsequent_therapy", "death_date"])

# key: (SBRT, SBRT+TACE), worked out from TABLE2_HAND above.
TABLE2_HAND_COUNTS = {
    "progressed": (5, 5),
    "single_organ": (3, 3),
    "single_liver": (3, 0),
    "single_liver_in_field": (2, 0),
    "single_bone": (0, 1),
    "single_lung": (0, 0),
    "single_lymph_node": (0, 1),
    "single_pelvis": (0, 0),
    "single_other": (0, 1),
    "multiple_organ": (2, 2),
    "two_organs": (2, 1),
    "three_plus_organs": (0, 1),
    "therapy_single": (3, 2),
    "therapy_multiple": (1, 1),
    "therapy_conservative": (1, 1),
    "therapy_not_recorded": (0, 1),
    "died": (3, 1),
}


@pytest.fixture(scope="module")
def hand_table2() -> pd.DataFrame:
    return progression_pattern_table(TABLE2_HAND)


@pytest.mark.parametrize("key", list(TABLE2_HAND_COUNTS))
def test_table2_hand_counts(hand_table2, key):
    wide = hand_table2.pivot(index="key", columns="group", values="n")
    sbrt, tace = TABLE2_HAND_COUNTS[key]
    assert (wide.loc[key, "SBRT"], wide.loc[key, "SBRT+TACE"], wide.loc[key, "Total"]) == (sbrt, tace, sbrt + tace)


def test_table2_percentages(hand_table2):
    t = hand_table2.set_index(["key", "group"])
    assert t.loc[("progressed", "SBRT"), "pct_of_group"] == pytest.approx(100 * 5 / 7)
    assert t.loc[("single_liver", "SBRT"), "pct_of_progressed"] == pytest.approx(100 * 3 / 5)
    assert t.loc[("two_organs", "Total"), "pct_of_progressed"] == pytest.approx(100 * 3 / 10)
    assert math.isnan(t.loc[("died", "Total"), "pct_of_progressed"])
    assert t.loc[("died", "Total"), "pct_of_group"] == pytest.approx(100 * 4 / 12)


def test_table2_not_recorded_row_only_when_needed():
    complete = TABLE2_HAND[TABLE2_HAND["progression_sites"] != "lymph node"]
    keys = set(progression_pattern_table(complete)["key"])
    assert "therapy_not_recorded" not in keys


@pytest.mark.parametrize("died", [
    [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],                        # 0/1 event column
    ["0", "1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "1"],  # ... read as text
    [False, True] + [False] * 9 + [True],                         # boolean
    ["", "2020-01-01"] + [""] * 9 + ["2021-05-05"],               # dates, blanks read as ""
])
def test_table2_death_column_forms(died):
    t = progression_pattern_table(TABLE2_HAND.assign(died=died), death_col="died").set_index(["key", "group"])
    assert (t.loc[("died", "SBRT"), "n"], t.loc[("died", "SBRT+TACE"), "n"]) == (1, 1)


def test_table2_blank_strings_are_no_progression():
    # A CSV read with keep_default_na=False gives "" rather than NaN.
    df = TABLE2_HAND.fillna("")
    t = progression_pattern_table(df).set_index(["key", "group"])
    assert t.loc[("progressed", "Total"), "n"] == 10
    assert t.loc[("therapy_not_recorded", "Total"), "n"] == 1


def _published_table2_cohort(spec: dict) -> pd.DataFrame:
    """A cohort whose Table 2 counts are ``spec``'s (one arm)."""
    rows = []
    add = lambda k, sites: rows.extend([sites] * k)  # noqa: E731
    add(spec["in_field"], "in-field")
    add(spec["liver"] - spec["in_field"], "liver")
    add(spec["bone"], "bone")
    add(spec["lung"], "lung")
    add(spec["lymph node"], "lymph node")
    add(spec["pelvis"], "pelvis")
    add(spec["two"], "liver;bone")
    add(spec["three"], "liver;bone;lung")
    n_prog = len(rows)
    therapy = ["single"] * spec["single_tx"] + ["multiple"] * spec["multiple_tx"] + ["conservative"] * spec["conservative_tx"]
    assert len(therapy) == n_prog
    sites = rows + [None] * (spec["n"] - n_prog)
    therapy = therapy + [None] * (spec["n"] - n_prog)
    death = ["2020-01-01"] * spec["deaths"] + [None] * (spec["n"] - spec["deaths"])
    return pd.DataFrame({"arm": spec["arm"], "progression_sites": sites,
                         "subsequent_therapy": therapy, "death_date": death})


# The paper's Table 2 counts, before PSM.
PUBLISHED_T2_SBRT = dict(arm="SBRT", n=109, liver=67, in_field=9, bone=1, lung=0, pelvis=0, two=9, three=2,
                         single_tx=35, multiple_tx=25, conservative_tx=20, deaths=45, **{"lymph node": 1})
PUBLISHED_T2_TACE = dict(arm="SBRT+TACE", n=43, liver=23, in_field=4, bone=2, lung=1, pelvis=1, two=3, three=0,
                         single_tx=15, multiple_tx=7, conservative_tx=8, deaths=15, **{"lymph node": 0})
# ... and after PSM.
PUBLISHED_T2_SBRT_AFTER = dict(arm="SBRT", n=68, liver=45, in_field=8, bone=1, lung=0, pelvis=0, two=2, three=1,
                               single_tx=19, multiple_tx=17, conservative_tx=13, deaths=30, **{"lymph node": 0})
PUBLISHED_T2_TACE_AFTER = dict(arm="SBRT+TACE", n=36, liver=18, in_field=3, bone=2, lung=1, pelvis=1, two=2, three=0,
                               single_tx=13, multiple_tx=6, conservative_tx=5, deaths=10, **{"lymph node": 0})


@pytest.fixture(scope="module")
def published_table2_after() -> pd.DataFrame:
    cohort = pd.concat([_published_table2_cohort(PUBLISHED_T2_SBRT_AFTER),
                        _published_table2_cohort(PUBLISHED_T2_TACE_AFTER)])
    return progression_pattern_table(cohort.reset_index(drop=True)).set_index(["key", "group"])


@pytest.mark.parametrize("key, sbrt, tace", [
    # (n, printed % of the arm's n) after PSM; SBRT n = 68, SBRT+TACE n = 36
    ("progressed", (49, 72.06), (24, 66.67)),
    ("single_organ", (46, 67.65), (22, 61.11)),
    ("single_liver", (45, 66.18), (18, 50.00)),
    ("single_bone", (1, 1.47), (2, 5.56)),
    ("single_lung", (0, 0.00), (1, 2.78)),
    ("single_lymph_node", (0, 0.00), (0, 0.00)),
    ("single_pelvis", (0, 0.00), (1, 2.78)),
    ("multiple_organ", (3, 4.41), (2, 5.56)),
    ("two_organs", (2, 2.94), (2, 5.56)),
    ("three_plus_organs", (1, 1.47), (0, 0.00)),
    ("therapy_single", (19, 27.94), (13, 36.11)),
    ("therapy_multiple", (17, 25.00), (6, 16.67)),
    ("therapy_conservative", (13, 19.12), (5, 13.89)),
    ("died", (30, 44.12), (10, 27.78)),
])
def test_published_table2_after_psm(published_table2_after, key, sbrt, tace):
    for group, (n, pct) in (("SBRT", sbrt), ("SBRT+TACE", tace)):
        row = published_table2_after.loc[(key, group)]
        assert (row["n"], round(row["pct_of_group"], 2)) == (n, pct)


def test_published_in_field_after_psm_is_pct_of_single_organ(published_table2_after):
    # Printed 8 (17.39%) and 3 (13.64%): 8/46 and 3/22, % of single-organ cases.
    sbrt = published_table2_after.loc[("single_liver_in_field", "SBRT")]
    tace = published_table2_after.loc[("single_liver_in_field", "SBRT+TACE")]
    assert (sbrt["n"], tace["n"]) == (8, 3)
    assert round(100 * 8 / 46, 2) == 17.39 and round(100 * 3 / 22, 2) == 13.64
    assert round(sbrt["pct_of_group"], 2) == 11.76 and round(tace["pct_of_group"], 2) == 8.33


@pytest.fixture(scope="module")
def published_table2() -> pd.DataFrame:
    cohort = pd.concat([_published_table2_cohort(PUBLISHED_T2_SBRT), _published_table2_cohort(PUBLISHED_T2_TACE)])
    return progression_pattern_table(cohort.reset_index(drop=True)).set_index(["key", "group"])


@pytest.mark.parametrize("key, group, n, pct", [
    # arm columns: % of the arm's n, as printed
    ("progressed", "SBRT", 80, 73.39), ("progressed", "SBRT+TACE", 30, 69.77),
    ("single_organ", "SBRT", 69, 63.30), ("single_organ", "SBRT+TACE", 27, 62.79),
    ("single_liver", "SBRT", 67, 61.47), ("single_liver", "SBRT+TACE", 23, 53.49),
    ("single_bone", "SBRT", 1, 0.92), ("single_bone", "SBRT+TACE", 2, 4.65),
    ("single_lung", "SBRT+TACE", 1, 2.33), ("single_pelvis", "SBRT+TACE", 1, 2.33),
    ("multiple_organ", "SBRT", 11, 10.09), ("two_organs", "SBRT", 9, 8.26), ("three_plus_organs", "SBRT", 2, 1.83),
    ("therapy_single", "SBRT", 35, 32.11), ("therapy_multiple", "SBRT", 25, 22.94),
    ("therapy_conservative", "SBRT+TACE", 8, 18.60),
    ("died", "SBRT", 45, 41.28), ("died", "SBRT+TACE", 15, 34.88),
])
def test_published_table2_pct_of_group(published_table2, key, group, n, pct):
    row = published_table2.loc[(key, group)]
    assert row["n"] == n
    assert round(row["pct_of_group"], 2) == pct


@pytest.mark.parametrize("key, n, pct", [
    # Total column, "% of recurrent cases", as printed
    ("single_organ", 96, 87.27), ("single_liver", 90, 81.82), ("single_liver_in_field", 13, 11.82),
    ("single_bone", 3, 2.73), ("single_lung", 1, 0.91), ("single_lymph_node", 1, 0.91),
    ("multiple_organ", 14, 12.73), ("two_organs", 12, 10.91), ("three_plus_organs", 2, 1.82),
    ("therapy_single", 50, 45.45), ("therapy_multiple", 32, 29.09), ("therapy_conservative", 28, 25.45),
])
def test_published_table2_total_pct_of_progressed(published_table2, key, n, pct):
    row = published_table2.loc[(key, "Total")]
    assert row["n"] == n
    assert round(row["pct_of_progressed"], 2) == pct


def test_published_table2_mixed_denominators_documented(published_table2):
    """Published percentages that our two denominators do not give as printed; computed values listed."""
    # In-field, SBRT arm: printed 9 (13.04%) = 9/69, % of single-organ cases.
    in_field = published_table2.loc[("single_liver_in_field", "SBRT")]
    assert round(in_field["pct_of_group"], 2) == 8.26 and round(in_field["pct_of_progressed"], 2) == 11.25
    assert round(100 * 9 / 69, 2) == 13.04
    # Deaths, Total column: printed 60 (54.55%) = 60/110, deaths per progressed patient.
    died = published_table2.loc[("died", "Total")]
    assert died["n"] == 60 and round(died["pct_of_group"], 2) == 39.47
    assert round(100 * 60 / 110, 2) == 54.55
    # Progressed, Total column: printed 110 (72.36%); 110/152 = 72.368, i.e. truncated, not rounded.
    progressed = published_table2.loc[("progressed", "Total")]
    assert progressed["n"] == 110 and round(progressed["pct_of_group"], 2) == 72.37
    assert math.floor(progressed["pct_of_group"] * 100) / 100 == 72.36


def test_format_table2_layout(published_table2, published_table2_after):
    t = format_table2(published_table2.reset_index(), published_table2_after.reset_index())
    assert list(t.columns) == [("", "Variable"), ("", "Total (n = 152)"),
                               ("Before PSM", "SBRT (n = 109)"), ("Before PSM", "SBRT+TACE (n = 43)"),
                               ("After PSM", "SBRT (n = 68)"), ("After PSM", "SBRT+TACE (n = 36)")]
    first = t.iloc[0]
    assert first[("", "Variable")] == "Patients with progression"
    assert first[("Before PSM", "SBRT (n = 109)")] == "80 (73.39%)"
    assert first[("After PSM", "SBRT+TACE (n = 36)")] == "24 (66.67%)"
    labels = t[("", "Variable")].tolist()
    assert labels[1:4] == ["Progression pattern", "\u2003Single-organ progression", "\u2003\u2003Liver"]
    assert "Subsequent therapy" in labels
    heading = t.iloc[labels.index("Subsequent therapy")]
    assert (heading.iloc[1:] == "").all()
    assert len(t) == 16 + 2  # 16 items (no "not recorded" row) + 2 headings
    with pytest.raises(ValueError):
        format_table2(published_table2.reset_index(), pct="of_something")
