"""Degenerate but valid data give a report, not a traceback (issue: new data and bad data, item 3).

Each case of ``tests/degenerate_cases.py`` is run end to end, as a user
would: ``python -m helpers.pipeline`` (validation, then every notebook under
papermill) and ``python -m helpers.render`` (the manuscript,
pip-only renderer). The tests then check what the results files and the rendered
report say about the degenerate feature: the estimate is "not estimable"
with its reason, never ``nan``, and the reason is listed in the analysis
notes of the data-quality appendix.
"""
from __future__ import annotations

import hashlib
import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from degenerate_cases import CASES, DegenerateCase, find_private_values, private_values

from helpers.data.schema import ARMS
from helpers.paths import ROOT
from helpers.results import NumberTable

pytestmark = pytest.mark.slow


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run_case(case: DegenerateCase, folder: Path) -> dict:
    cohort, ae = case.write(folder / "input")
    before = {p: _sha(p) for p in (cohort, ae)}
    out = folder / "build"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    # Paths relative to the project root, as `make report DATA=... OUT=...` gives them: the pages must show
    # them as given (test_pages_name_no_machine_path).
    args = [sys.executable, "-m", "helpers.pipeline", "--cohort", os.path.relpath(cohort, ROOT),
            "--adverse-events", os.path.relpath(ae, ROOT), "--out", os.path.relpath(out, ROOT)]
    for name, value in case.parameters.items():
        args += ["-p", name, repr(value)]
    analysis = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    render = None
    if analysis.returncode == 0:
        render = subprocess.run([sys.executable, "-m", "helpers.render", "--out", os.path.relpath(out, ROOT),
                                 "--engine", "pip",
                                 "--to", "html"], cwd=ROOT, env=env, capture_output=True, text=True)
    return {"out": out, "analysis": analysis, "render": render, "inputs_before": before}


class _Runs(dict):
    """The run of each case, made the first time a test asks for it (``runs[name]``).

    Each case's tests carry the ``xdist_group`` of the case, so that `make test`'s parallel workers
    (pytest-xdist, ``--dist loadgroup``; ``tests/scheduling.py``) run a case once, on one worker, while
    other cases run on the others. The runs last the session (a worker that runs another file's tests
    between two of a case's would otherwise make the case again). Kernels talk over private Unix
    sockets (``helpers.pipeline``), so runs at the same time cannot race for TCP ports.
    """

    def __init__(self, root: Path):
        super().__init__()
        self.root = root

    def __missing__(self, name: str) -> dict:
        case = next(c for c in CASES if c.name == name)
        self[name] = _run_case(case, self.root / name)
        return self[name]


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> _Runs:
    return _Runs(tmp_path_factory.mktemp("degenerate"))


def _on_case(name: str):
    """The mark that keeps the tests of one case on one worker."""
    return pytest.mark.xdist_group(f"degenerate-{name}")


EVERY_CASE = [pytest.param(c.name, marks=_on_case(c.name), id=c.name) for c in CASES]


def _result(run: dict, name: str) -> pd.DataFrame:
    return pd.read_csv(run["out"] / "results" / f"{name}.csv")


def _report_text(run: dict) -> str:
    """The rendered HTML as text (tags stripped, entities decoded, whitespace collapsed)."""
    raw = (run["out"] / "report" / "index.html").read_text(encoding="utf-8")
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S | re.I)
    raw = re.sub(r'src="data:[^"]*"', "", raw)
    raw = re.sub(r"</?(a|span|em|strong|code)\b[^>]*>", "", raw)  # inline tags (a linked number) join their text
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


@pytest.mark.parametrize("case", EVERY_CASE)
def test_case_gives_a_report_without_nan(runs, case):
    run = runs[case]
    a = run["analysis"]
    assert a.returncode == 0, f"{case}: pipeline failed\n{a.stdout[-3000:]}\n{a.stderr[-5000:]}"
    assert "Traceback" not in a.stderr
    r = run["render"]
    assert r.returncode == 0, f"{case}: render failed\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    text = _report_text(run)
    assert not re.search(r"\bnan\b", text, re.I), re.findall(r".{80}\bnan\b.{40}", text, re.I)[:5]
    assert "??" not in text and "Traceback" not in text
    # Nothing lost: the input files were read, never written.
    for path, sha in run["inputs_before"].items():
        assert _sha(path) == sha, path


@pytest.mark.parametrize("case", EVERY_CASE)
def test_report_shows_no_patient_identifier_or_individual_date(runs, case):
    run = runs[case]
    ids, dates = private_values(next(iter(run["inputs_before"])))
    pages = [run["out"] / "report" / "index.html", *sorted((run["out"] / "report" / "notebooks").glob("*.html"))]
    assert len(pages) >= 6
    for page in pages:
        assert find_private_values(page.read_text(encoding="utf-8"), ids, dates) == [], page.name


@pytest.mark.parametrize("case", EVERY_CASE)
def test_pages_name_no_machine_path(runs, case):
    """Executed notebooks and pip-rendered pages show build_dir as given, no absolute path, no staging folder."""
    run = runs[case]
    out = run["out"]
    absolute = re.compile(rf"(?<![\w./-])({re.escape(str(ROOT))}|{re.escape(str(out))})")
    pages = [*sorted((out / "notebooks").glob("*.ipynb")), out / "report" / "index.html",
             *sorted((out / "report" / "notebooks").glob("*.html"))]
    assert len(pages) >= 13
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not absolute.search(text), (page.name, absolute.search(text).group(0))
        assert ".partial" not in text, page.name
    nb = (out / "report" / "notebooks" / "00_data_overview.html").read_text(encoding="utf-8")
    assert html.escape(os.path.relpath(out, ROOT)) in nb  # the injected build_dir, as given
    # the report names the bytes analysed: the SHA-256 of both input files (supplementary table "Input files")
    index = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert all(sha in index for sha in run["inputs_before"].values())


@_on_case("no_events_in_combination_arm")
def test_no_events_in_an_arm_makes_its_hazard_ratio_not_estimable(runs):
    run = runs["no_events_in_combination_arm"]
    hr = _result(run, "treatment_hr")
    assert hr["hr"].isna().all()
    assert hr["note"].str.contains("HR tends to zero").all() and hr["note"].str.contains("not estimable").all()
    km = _result(run, "km_rates")
    assert (km.loc[km["arm"] == "SBRT+TACE", "survival"] == 1).all()
    lr = _result(run, "logrank").set_index(["cohort", "endpoint"])
    assert lr.loc[("before", "OS"), "p_value"] < 0.001  # the other arm's deaths still make a test
    text = _report_text(run)
    assert "HR not estimable (HR tends to zero (monotone likelihood / separation" in text
    assert "no estimable treatment effect" in text
    # notebook 06: the weighted Cox models and the grid's have the same reason
    assert _result(run, "iptw_hr")["note"].str.contains("HR tends to zero").all()
    assert _result(run, "matching_grid").dropna(subset=["smd_max"])["note"].str.contains("HR tends to zero").all()


@_on_case("all_censored")
def test_all_censored_reports_tests_as_not_computable(runs):
    run = runs["all_censored"]
    lr = _result(run, "logrank")
    assert lr["p_value"].isna().all() and (lr["events"] == 0).all()
    assert (_result(run, "treatment_hr")["note"] == "no events").all()
    notes = _result(run, "analysis_notes")
    assert (notes["note"] == "not estimable (no events).").sum() == 6
    text = _report_text(run)
    assert "log-rank test not estimable (no events)" in text
    assert "HR not estimable (no events)" in text


@_on_case("single_level_covariates")
def test_single_level_covariates_are_left_out_with_a_note(runs):
    run = runs["single_level_covariates"]
    notes = _result(run, "propensity_notes")["note"].tolist()
    for col, level in (("sex_group", "Male"), ("hepatitis_type", "HBV"), ("pvtt_group", "Without")):
        assert f"{col} has a single level in the data ('{level}'); it is left out of the propensity model." in notes
    terms = set(_result(run, "propensity_model")["term"])
    assert not any(t.startswith(("sex_group", "hepatitis_type", "pvtt_group")) for t in terms)
    bal = _result(run, "balance")
    assert (bal.loc[bal["variable"] == "sex_group", "test"] == "not testable: only one level observed").all()
    cox = _result(run, "cox")
    sex = cox[cox["variable"] == "sex_group"]
    assert sex["hr"].isna().all() and sex["note"].str.contains("single level").all()
    text = _report_text(run)
    assert "sex_group has a single level in the data" in text
    # The two implausible values are warnings in the data-quality appendix, with their spreadsheet rows.
    warnings = _result(run, "data_warnings")
    assert warnings[["column", "rows"]].astype(str).values.tolist() == [["age_years", "3"], ["sbrt_fractions", "5"]]
    assert "is outside the plausible range 18 to 95 years" in text


@_on_case("treated_separated_from_controls")
def test_no_treated_patient_matched_gives_an_empty_matched_cohort_and_says_so(runs):
    run = runs["treated_separated_from_controls"]
    n = NumberTable.read(run["out"])
    assert [n.get("n_matched", cohort="after", arm=arm).value for arm in ARMS] == [0, 0]
    assert n.get("n_treated_unmatched").value == 43
    assert any("separation" in n for n in _result(run, "propensity_notes")["note"])
    hr = _result(run, "treatment_hr")
    assert (hr.loc[hr["cohort"] == "after", "note"] == "no patients").all()
    assert hr.loc[hr["cohort"] == "before", "hr"].notna().all()
    text = _report_text(run)
    assert "matching kept 0 and 0" in text
    assert "not estimable (no patients)" in text
    assert "log-rank test not estimable (no patients)" in text
    assert "an edited copy of the synthetic cohort (not the calibrated default)" in text
    assert "the matched cohort is empty" in text
    # notebook 06: weighting cannot compare arms without common support; no caliper matches anybody
    iptw = _result(run, "iptw_hr")
    assert iptw["hr"].isna().all()
    assert iptw["note"].str.contains("do not overlap|numerically 0 or 1").all()  # ATT; ATE (scores of exactly 1)
    grid = _result(run, "matching_grid")
    assert (grid.loc[grid["caliper_sd"].notna(), "note"] == "nobody matched").all()
    assert "HR not estimable (the propensity scores of the two arms do not overlap" in text


@_on_case("deaths_only_in_child_pugh_b")
def test_cox_separation_is_reported_as_not_estimable_with_the_reason(runs):
    run = runs["deaths_only_in_child_pugh_b"]
    cox = _result(run, "cox")
    row = cox[(cox["cohort"] == "before") & (cox["endpoint"] == "OS") & (cox["model"] == "univariate")
              & (cox["term"] == "child_pugh_class[B]")].iloc[0]
    assert pd.isna(row["hr"]) and "HR tends to infinity" in row["note"]
    # PFS still has deaths and progressions in Child-Pugh A: estimable there.
    pfs = cox[(cox["cohort"] == "before") & (cox["endpoint"] == "PFS") & (cox["model"] == "univariate")
              & (cox["term"] == "child_pugh_class[B]")].iloc[0]
    assert pfs["hr"] > 1
    assert "Child-Pugh classification: B vs A: HR tends to infinity" in _report_text(run)


@_on_case("tiny_arms")
def test_tiny_arms_use_fishers_exact_test(runs):
    run = runs["tiny_arms"]
    bal = _result(run, "balance")
    before = bal[bal["cohort"] == "before"]
    assert before["n_arm_sbrt"].iloc[0] + before["n_arm_sbrt_tace"].iloc[0] < 40
    tested = before[~before["test"].str.startswith("not testable")]
    assert (tested["test"] == "Fisher's exact").all()
    tox = _result(run, "toxicity")
    compared = tox["test"].dropna()
    compared = compared[~compared.str.startswith("not compared")]  # post-TACE rows: one arm only
    assert len(compared) > 0 and compared.str.startswith("Fisher").all()
    notes = _result(run, "analysis_notes")
    assert notes["note"].str.contains("Fisher's exact test for").any()
    # Four matched patients, one death: the Cox iterations diverge, reported as such.
    hr = _result(run, "treatment_hr").set_index(["cohort", "endpoint"])
    assert hr.loc[("after", "OS"), "n"] == 4
    assert hr.loc[("after", "OS"), "note"].startswith("did not converge in 20 iterations")
    assert "did not converge" in _report_text(run)


@_on_case("no_eligible_combination_patient")
def test_one_arm_without_eligible_patients_is_reported_not_matched(runs):
    run = runs["no_eligible_combination_patient"]
    n = NumberTable.read(run["out"])
    assert [n.get("n_patients", cohort="before", arm=arm).value for arm in ARMS] == [109, 0]
    assert n.get("n_matched", cohort="after", arm="SBRT").value == 0
    assert _result(run, "propensity_notes")["note"].tolist() == [
        "No SBRT+TACE patient is in the analysis (109 SBRT): no propensity model is fitted and nobody is matched."]
    hr = _result(run, "treatment_hr")
    assert hr["hr"].isna().all()
    text = _report_text(run)
    assert "109 were eligible (109 SBRT, 0 SBRT+TACE); matching kept 0 and 0" in text
    assert "no propensity model is fitted and nobody is matched" in text
    assert "had a control inside the caliper" not in text  # there was no treated patient to match
    # notebook 06: nothing to weight, nobody matched in any cell of the grid
    assert _result(run, "iptw_hr")["note"].str.startswith("one arm has no patients").all()
    assert (_result(run, "matching_grid")["note"] == "nobody matched").all()
