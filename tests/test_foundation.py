"""Foundation: the data dictionary page and the README's parameters table are current; derived variables and eligibility on known values."""
from __future__ import annotations

import pandas as pd
import pytest

from helpers.data.derive import add_endpoints, add_table1_categories, bed_gy
from helpers.data.eligibility import add_eligibility, flow_table
from helpers.data.schema import DATA_DICTIONARY_MD, data_dictionary_markdown


def test_data_dictionary_page_is_generated_from_schema():
    assert DATA_DICTIONARY_MD.read_text(encoding="utf-8") == data_dictionary_markdown(), \
        "docs/data-dictionary.md is stale: run `python -m helpers.data.schema`"


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
    # competing risks: death without local failure is status 2, at the time of death; local failure 1
    assert df["lc_status"].tolist() == [2, 1, 0]
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


def test_readme_parameters_table_is_generated_from_the_notebooks():
    """The README's "Parameters" table is what `python -m helpers.parameters` writes from the notebooks."""
    from helpers.parameters import readme_with_parameters_table
    from helpers.paths import README_MD

    readme = README_MD.read_text(encoding="utf-8")
    assert readme == readme_with_parameters_table(readme), \
        "README.md's parameters table is stale: run `python -m helpers.parameters`"
    assert "docs/data-dictionary.md" in readme and "make validate" in readme


def test_every_parameter_is_declared_once_typed_and_helped_as_papermill_reads_it(tmp_path):
    """Each notebook's parameters cell is `name = value  # type: help`, read the same by papermill's inspect_notebook."""
    import jupytext
    import papermill

    from helpers.parameters import notebook_parameters
    from helpers.paths import notebook_sources

    params = notebook_parameters()  # raises on a missing type or help, a repeat, or disagreeing notebooks
    assert len({p.name for p in params}) == len(params) >= 20 and all(p.type and p.help for p in params)
    by_name = {p.name: p for p in params}
    for source in notebook_sources():
        jupytext.write(jupytext.read(source), tmp_path / f"{source.stem}.ipynb", fmt="ipynb")
        inspected = papermill.inspect_notebook(str(tmp_path / f"{source.stem}.ipynb"))
        assert inspected, source.name
        for name, p in inspected.items():
            assert source.stem in by_name[name].notebooks
            assert (p["inferred_type_name"], p["help"]) == (by_name[name].type, by_name[name].help)
    assert {name for name, p in by_name.items() if len(p.notebooks) > 1} == {
        "cohort_csv", "adverse_events_csv", "build_dir", "data_cutoff"}


@pytest.mark.parametrize("cells, phrase", [
    ({"00_a": 'ratio = 2  # type: int  controls\nratio = 3  # type: int  controls\n'},
     "00_a: 'ratio' is assigned 2 times in the parameters cell; declare it once"),
    ({"00_a": 'ratio = 2\n'}, "00_a: parameter 'ratio': declared type 'None' is not one of str, int"),
    ({"00_a": 'ratio = 2  # type: int\n'}, "00_a: parameter 'ratio': no help text"),
    ({"00_a": 'ratio = 2.5  # type: int  controls\n'}, "00_a: parameter 'ratio': the default 2.5 is not a int"),
    ({"00_a": 'data_cutoff = "2025-09-30"  # type: str  cut-off\n',
      "01_b": 'data_cutoff = "2025-12-31"  # type: str  cut-off\n'},
     "01_b: parameter 'data_cutoff' is declared as `'2025-12-31'  # type: str  cut-off` but 00_a declares "
     "`'2025-09-30'  # type: str  cut-off`; make the declarations the same"),
])
def test_a_parameters_cell_that_breaks_a_rule_is_named(tmp_path, cells, phrase):
    from helpers.parameters import ParameterDeclarationError, notebook_parameters

    sources = []
    for name, cell in cells.items():
        (tmp_path / f"{name}.py").write_text(f'# %% tags=["parameters"]\n{cell}\n# %%\nprint(1)\n', encoding="utf-8")
        sources.append(tmp_path / f"{name}.py")
    with pytest.raises(ParameterDeclarationError) as err:
        notebook_parameters(sources)
    assert phrase in str(err.value)


def test_shared_defaults_agree_with_the_module_constants(monkeypatch):
    """A default the notebooks declare is the default of the helper that applies it, and the paper's."""
    import inspect

    from helpers import paths
    from helpers.data import derive, eligibility
    from helpers.data.published import load_published
    from helpers.data.schema import ARMS, COHORT_COLUMNS, CONTROL_ARM, TREATED_ARM
    from helpers.parameters import notebook_parameters
    from helpers.stats import matching, survival

    def default(function, name):
        return inspect.signature(function).parameters[name].default

    d = {p.name: p.default for p in notebook_parameters()}
    monkeypatch.delenv("HCC_BUILD_DIR", raising=False)
    crit = eligibility.criteria
    assert d["cohort_csv"] == paths.COHORT_CSV.relative_to(paths.ROOT).as_posix()
    assert d["adverse_events_csv"] == paths.ADVERSE_EVENTS_CSV.relative_to(paths.ROOT).as_posix()
    assert paths.build_dir(d["build_dir"]) == paths.build_dir()
    assert d["data_cutoff"] == derive.DEFAULT_CUTOFF == default(derive.add_endpoints, "cutoff")
    assert (d["study_start"], d["study_end"]) == (eligibility.STUDY_START, eligibility.STUDY_END) == (
        default(crit, "study_start"), default(crit, "study_end"))
    for name in ("max_diameter_cm", "min_months_since_treatment", "min_residual_liver_cc"):
        assert d[name] == default(crit, name), name
    assert d["alpha_beta"] == default(derive.add_table1_categories, "alpha_beta") == default(derive.bed_gy, "alpha_beta")
    assert (d["ratio"], d["caliper_sd"]) == (default(matching.propensity_match, "ratio"),
                                             default(matching.propensity_match, "caliper_sd"))
    assert tuple(d["covariates"]) == derive.PROPENSITY_COVARIATES
    assert sorted(d["candidate_covariates"]) == sorted(v.column for v in derive.TABLE1_VARIABLES)
    assert d["conf_type"] == default(survival.km_rates_at, "conf_type") == default(survival.kaplan_meier, "conf_type")
    assert d["entry_p"] == default(survival.univariate_then_multivariate_cox, "entry_p")
    ledger = load_published()
    assert d["time_points_months"] == sorted(ledger.loc[ledger["quantity"] == "km_survival", "months"].astype(int).unique())
    # The arms are the data dictionary's codes, not parameters: no notebook declares them.
    assert not {"treated_arm", "control_arm", "arms"} & set(d)
    assert ARMS == (CONTROL_ARM, TREATED_ARM) == next(c for c in COHORT_COLUMNS if c.name == "arm").allowed
    assert (default(matching.propensity_match, "treated_arm"), default(matching.propensity_match, "control_arm")) == (
        TREATED_ARM, CONTROL_ARM)


def test_the_code_passes_lint():
    """`make lint` is clean: ruff with the rules of pyproject.toml over helpers, notebooks and tests."""
    import subprocess
    import sys

    from helpers.paths import ROOT

    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
