"""Foundation: the data dictionary page is current; derived variables and eligibility on known values."""
from __future__ import annotations

import pandas as pd
import pytest

from helpers.derive import add_endpoints, add_table1_categories, bed_gy
from helpers.paths import ROOT
from helpers.eligibility import add_eligibility, flow_table
from helpers.schema import DATA_DICTIONARY_MD, data_dictionary_markdown


def test_data_dictionary_page_is_generated_from_schema():
    assert DATA_DICTIONARY_MD.read_text(encoding="utf-8") == data_dictionary_markdown(), \
        "docs/data-dictionary.md is stale: run `python -m helpers.schema`"


@pytest.mark.parametrize("dose, fractions, expected", [
    (48, 8, 76.8),      # the paper's lowest BED
    (50, 5, 100.0),     # exactly the 100 Gy cut-point
    (54, 6, 102.6),
    (55, 7, 98.21428571428571),
])
def test_bed_linear_quadratic(dose, fractions, expected):
    # BED = D (1 + d / (alpha/beta)), d = D / n, alpha/beta = 10
    assert bed_gy(dose, fractions) == pytest.approx(expected, rel=1e-12)


def _patient(**kw):
    base = dict(patient_id="P1", arm="SBRT", sex="Male", age_years=60, hepatitis="HBV", child_pugh="A",
                platelets_1e9_per_l=100.0, afp_ng_ml=200.0, pvtt=0, ecog=1, prior_treatments=2,
                months_since_last_treatment=3.0, n_tumors=1, tumor_diameter_cm=5.0, residual_liver_volume_cc=700.0,
                sbrt_dose_gy=50.0, sbrt_fractions=5, sbrt_start=pd.Timestamp("2015-01-01"),
                last_followup=pd.Timestamp("2025-09-30"), death_date=pd.NaT, progression_date=pd.NaT,
                local_progression_date=pd.NaT)
    base.update(kw)
    return base


def test_categories_at_cut_points_fall_on_the_upper_side():
    df = add_table1_categories(pd.DataFrame([_patient(), _patient(age_years=59, platelets_1e9_per_l=99.9,
                                                                   afp_ng_ml=199.9, tumor_diameter_cm=4.9,
                                                                   sbrt_dose_gy=48.0, sbrt_fractions=8, prior_treatments=1)]))
    assert df.loc[0, ["age_group", "platelets_group", "afp_group", "diameter_group", "bed_group", "prior_treatment_group"]].tolist() == \
        [">=60", ">=100", ">=200", ">=5", ">=100", "Twice or more"]
    assert df.loc[1, ["age_group", "platelets_group", "afp_group", "diameter_group", "bed_group", "prior_treatment_group"]].tolist() == \
        ["<60", "<100", "<200", "<5", "<100", "Once"]


def test_endpoints_in_months_and_censoring():
    start = pd.Timestamp("2015-01-01")
    df = add_endpoints(pd.DataFrame([
        # progression at 365.25 days, death at 730.5 days: PFS 12 months event, OS 24 months event
        _patient(progression_date=start + pd.Timedelta(days=365.25 * 1), death_date=start + pd.Timedelta(days=730),
                 last_followup=start + pd.Timedelta(days=730)),
        # local progression then alive: LC event; censored at the data cut-off for OS
        _patient(progression_date=start + pd.Timedelta(days=100), local_progression_date=start + pd.Timedelta(days=200)),
        # death after the data cut-off counts as censored at the cut-off
        _patient(death_date=pd.Timestamp("2025-12-01"), last_followup=pd.Timestamp("2025-12-01")),
    ]), cutoff="2025-09-30")
    assert df.loc[0, "os_months"] == pytest.approx(730 / 30.4375) and df.loc[0, "os_event"] == 1
    assert df.loc[0, "pfs_months"] == pytest.approx(365 / 30.4375) and df.loc[0, "pfs_event"] == 1
    assert df.loc[0, "lc_event"] == 0 and df.loc[0, "lc_months"] == pytest.approx(730 / 30.4375)  # death censors LC
    assert df.loc[1, "lc_months"] == pytest.approx(200 / 30.4375) and df.loc[1, "lc_event"] == 1
    assert df.loc[1, "os_event"] == 0
    cut = (pd.Timestamp("2025-09-30") - start).days / 30.4375
    assert df.loc[2, "os_event"] == 0 and df.loc[2, "os_months"] == pytest.approx(cut)


def test_flow_counts_each_exclusion_once_in_order():
    rows = [_patient(patient_id="ok"),
            _patient(patient_id="two tumours and CP C", n_tumors=2, child_pugh="C"),  # excluded at step 1 only
            _patient(patient_id="CP C", child_pugh="C"),
            _patient(patient_id="late", sbrt_start=pd.Timestamp("2021-01-01")),
            _patient(patient_id="small liver", residual_liver_volume_cc=699.0)]
    flow = flow_table(add_eligibility(pd.DataFrame(rows)))
    assert flow["n_excluded"].tolist() == [0, 1, 0, 1, 1, 1]
    assert flow["n_remaining"].tolist() == [5, 4, 4, 3, 2, 1]


def test_readme_documents_every_notebook_parameter():
    """The README's parameter table lists each name a notebook's `parameters` cell declares."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = {n for row in re.findall(r"^\| (`.*?) \|", readme, re.M) for n in re.findall(r"`(\w+)`", row)}
    declared = set()
    for source in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        cell = re.search(r'# %% tags=\["parameters"\]\n(.*?)\n# %%', source.read_text(encoding="utf-8"), re.S)
        assert cell, f"{source.name} has no cell tagged 'parameters'"
        declared |= set(re.findall(r"^(\w+) =", cell.group(1), re.M))
    assert len(declared) >= 15  # the regex found the cells
    assert declared - table == set()
    assert "docs/data-dictionary.md" in readme and "make validate" in readme
