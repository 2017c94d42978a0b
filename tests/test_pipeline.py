"""End to end: validate, execute the notebooks with papermill, write the results."""
from __future__ import annotations

import json
import pandas as pd
import pytest

from helpers import pipeline
from helpers.paths import ADVERSE_EVENTS_CSV, COHORT_CSV

REQUIRED_COLUMNS = {
    "flow": ["step", "criterion", "n_excluded", "n_remaining"],
    "matched_cohort": ["patient_id", "arm", "propensity_score", "logit_ps", "matched", "match_id"],
    "balance": ["variable", "level", "cohort", "n_sbrt", "n_sbrt_tace", "p_value", "smd"],
    "km_rates": ["cohort", "endpoint", "arm", "months", "survival", "ci_lower", "ci_upper", "n_at_risk"],
    "logrank": ["cohort", "endpoint", "chi2", "df", "p_value"],
    "cox": ["cohort", "endpoint", "model", "term", "hr", "ci_lower", "ci_upper", "p_value"],
    "toxicity": ["cohort", "key", "n_sbrt", "n_sbrt_tace", "p_value"],
    "published_vs_reproduced": ["quantity", "published", "reproduced"],
}
LABELS = {
    "01_eligibility": ["tbl-flow", "flow-diagram"],
    "02_matching": ["tbl-baseline", "fig-ps-density", "love-plot"],
    "03_survival": ["tbl-km-rates", "fig-km", "tbl-treatment-hr"] + [
        f"fig-forest-{e}-{c}" for c in ("before", "after") for e in ("os", "pfs", "lc")],
    "04_toxicity": ["tbl-toxicity", "tbl-progression"],
    "00_data_overview": ["tbl-synthetic-vs-published"],
}


@pytest.fixture(scope="module")
def build(default_build):
    return default_build


@pytest.mark.slow
def test_results_have_the_documented_columns(build):
    for name, cols in REQUIRED_COLUMNS.items():
        df = pd.read_csv(build / "results" / f"{name}.csv")
        assert set(cols) <= set(df.columns), (name, set(cols) - set(df.columns))
        assert len(df) > 0, name


@pytest.mark.slow
def test_results_on_the_default_cohort(build):
    r = lambda n: pd.read_csv(build / "results" / f"{n}.csv")  # noqa: E731
    flow = r("flow")
    assert flow["n_remaining"].iloc[-1] == 152
    m = r("matched_cohort")
    assert m.groupby("arm")["matched"].sum().to_dict() == {"SBRT": 68, "SBRT+TACE": 36}
    # every matched control belongs to a treated unit's set of at most 2 controls
    sets = m[m["matched"] == 1].groupby("match_id")["arm"].agg(lambda a: (a == "SBRT").sum())
    assert sets.between(1, 2).all()
    km = r("km_rates")
    assert set(km["endpoint"]) == {"OS", "PFS", "LC"} and set(km["cohort"]) == {"before", "after"}
    assert km["survival"].between(0, 1).all() and (km["ci_lower"] <= km["survival"]).all()
    assert len(r("logrank")) == 6


@pytest.mark.slow
def test_executed_notebooks_carry_the_labelled_outputs(build):
    for stem, labels in LABELS.items():
        nb = json.loads((build / "notebooks" / f"{stem}.ipynb").read_text())
        by_label = {}
        for cell in nb["cells"]:
            src = "".join(cell["source"])
            for line in src.splitlines():
                if line.startswith("#| label: "):
                    by_label[line.split(": ", 1)[1].strip()] = cell
        for label in labels:
            assert label in by_label, (stem, label)
            mimes = {k for o in by_label[label].get("outputs", []) for k in o.get("data", {})}
            want = "text/html" if label.startswith("tbl-") else "image/png"
            assert want in mimes, (stem, label, mimes)
    for fig in ("fig-km", "flow-diagram", "love-plot", "fig-ps-density"):
        assert (build / "figures" / f"{fig}.png").stat().st_size > 10_000


def test_invalid_input_stops_before_any_notebook_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "cohort.csv"
    text = COHORT_CSV.read_text().replace("SYN-0002,SBRT,", "SYN-0002,SBRT-alone,", 1)
    bad.write_text(text)
    out = tmp_path / "build"
    assert pipeline.run(str(bad), str(ADVERSE_EVENTS_CSV), str(out), {}) == 1
    err = capsys.readouterr().err
    assert "cohort.csv" in err and "arm" in err and "row" in err
    assert not out.exists() and not (tmp_path / "build.partial").exists()


def _tree_digest(folder) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path."""
    import hashlib

    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_two_runs_write_byte_identical_results(build, tmp_path):
    """Same input and parameters, another output folder: every results file has the same bytes."""
    from helpers.paths import ROOT

    inputs = _tree_digest(ROOT / "data")
    other = tmp_path / "elsewhere" / "build"
    assert pipeline.run(str(COHORT_CSV), str(ADVERSE_EVENTS_CSV), str(other), {}) == 0
    first, second = _tree_digest(build / "results"), _tree_digest(other / "results")
    assert len(first) >= 18
    assert first.keys() == second.keys()
    assert [n for n in first if first[n] != second[n]] == []
    assert _tree_digest(ROOT / "data") == inputs  # the input files are never modified


@pytest.mark.slow
def test_failed_run_keeps_the_previous_build_and_the_failed_notebook(build, tmp_path, capsys):
    import shutil

    out = tmp_path / "build"
    shutil.copytree(build, out)
    previous = _tree_digest(out)
    # A covariate that is not in the data makes notebook 02 fail after 00 and 01 have run.
    code = pipeline.run(str(COHORT_CSV), str(ADVERSE_EVENTS_CSV), str(out), {"covariates": ["no_such_column"]})
    assert code == 1
    captured = capsys.readouterr()
    err = captured.err
    assert "02_matching FAILED" in err and "previous build" in err
    # progress: which notebook, and which section of it
    assert "[2/6] 01_eligibility: Flow of patients" in captured.out
    assert "[3/6] 02_matching: Propensity model" in captured.out
    assert _tree_digest(out) == previous
    failed = tmp_path / "build.partial" / "notebooks" / "02_matching.ipynb"
    nb = json.loads(failed.read_text())
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors and "no_such_column" in "".join(errors[0]["traceback"]) + errors[0]["evalue"]
    assert not (tmp_path / "build.partial" / "notebooks" / "03_survival.ipynb").exists()


@pytest.mark.slow
def test_parameter_overrides_reach_every_notebook_and_are_recorded(tmp_path, capsys):
    """`make analysis PARAMS="-p ratio 1 -p time_points_months [24]"`: the run does what was asked and says so."""
    from helpers.parameters import read_parameters

    out = tmp_path / "build"
    overrides = {"ratio": pipeline.parse_parameter("ratio", "1"),
                 "time_points_months": pipeline.parse_parameter("time_points_months", "[24]"),
                 "not_a_parameter": 5}  # ignored: no notebook declares it
    assert pipeline.run(str(COHORT_CSV), str(ADVERSE_EVENTS_CSV), str(out), overrides) == 0
    assert "[parameters] ignored: no notebook declares 'not_a_parameter'" in capsys.readouterr().err
    m = pd.read_csv(out / "results" / "matched_cohort.csv")
    sets = m[m["matched"] == 1].groupby("match_id")["arm"].agg(lambda a: (a == "SBRT").sum())
    assert set(sets) == {1}
    assert set(pd.read_csv(out / "results" / "km_rates.csv")["months"]) == {24}
    params = read_parameters(out)
    assert params["ratio"] == 1 and params["time_points_months"] == [24] and params["caliper_sd"] == 0.02
    assert "not_a_parameter" not in params and "build_dir" not in params


def test_notebook_steps_follow_the_headings_and_the_injected_parameters_cell():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 2. Matching"),
        nbformat.v4.new_code_cell("ratio = 2", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import pandas"),
        nbformat.v4.new_markdown_cell("## Propensity model\n\ntext"),
        nbformat.v4.new_code_cell("fit()"),
        nbformat.v4.new_markdown_cell("Just text, no heading"),
        nbformat.v4.new_markdown_cell("### Table 1"),
        nbformat.v4.new_code_cell("table()"),
    ])
    assert pipeline.notebook_steps(nb, injected=False) == {
        0: None, 1: None, 2: None, 3: "Propensity model", 4: "Propensity model", 5: "Propensity model",
        6: "Table 1", 7: "Table 1"}
    # papermill puts its injected-parameters cell at index 2: everything after moves down by one
    assert pipeline.notebook_steps(nb, injected=True) == {
        0: None, 1: None, 2: None, 3: None, 4: "Propensity model", 5: "Propensity model", 6: "Propensity model",
        7: "Table 1", 8: "Table 1"}
