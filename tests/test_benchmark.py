"""The benchmark's cohorts and a smoke run of ``python -m benchmarks.run`` at 10^3 patients (no R, no pipeline)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.cohorts import registry_cohort, write_registry_cohort
from benchmarks.run import main
from helpers.data.load import load_study
from helpers.data.schema import ADVERSE_EVENT_COLUMNS, COHORT_COLUMNS
from helpers.paths import ADVERSE_EVENTS_CSV, COHORT_CSV


def test_registry_cohort_is_valid_in_the_dictionary_format_and_reproducible(tmp_path):
    cohort_csv, ae_csv = write_registry_cohort(600, tmp_path)
    study = load_study(cohort_csv, ae_csv)  # raises on any error
    assert len(study.cohort) == 600 and study.warnings == []
    assert pd.read_csv(cohort_csv, nrows=0).columns.tolist() == [c.name for c in COHORT_COLUMNS]
    assert pd.read_csv(ae_csv, nrows=0).columns.tolist() == [c.name for c in ADVERSE_EVENT_COLUMNS]
    again, _ = registry_cohort(600)
    assert again.equals(pd.read_csv(cohort_csv, dtype=str, keep_default_na=False))


def test_registry_cohort_keeps_each_arms_proportions_and_each_patients_events():
    source = pd.read_csv(COHORT_CSV, dtype=str)
    cohort, ae = registry_cohort(5_000, seed=3)
    share = cohort.groupby("arm")["child_pugh"].apply(lambda s: (s == "B").mean())
    expected = source.groupby("arm")["child_pugh"].apply(lambda s: (s == "B").mean())
    np.testing.assert_allclose(share, expected, atol=0.03)
    # about as many adverse events per patient as in the default cohort, each for a patient of the cohort
    per_patient = len(ae) / len(cohort)
    assert abs(per_patient - len(pd.read_csv(ADVERSE_EVENTS_CSV)) / len(source)) < 0.05
    assert ae["patient_id"].isin(cohort["patient_id"]).all()


def test_benchmark_smoke_run_writes_csv_plot_and_table(tmp_path):
    assert main(["--sizes", "1e3", "--no-r", "--no-pipeline", "--out", str(tmp_path)]) == 0
    results = pd.read_csv(tmp_path / "benchmark.csv", keep_default_na=False)
    steps = results["step"].tolist()
    for step in ("load_study", "propensity fit", "matching", "matching, MatchIt's scans (before)",
                 "Kaplan-Meier", "log-rank", "Cox (4 terms)"):
        assert step in steps
    assert (results["n"] == 1000).all() and (results["seconds"] >= 0).all() and (results["peak_mb"] > 0).all()
    before = results.set_index("step").loc["matching, MatchIt's scans (before)", "detail"]
    assert before == "identical matched sets"
    table = (tmp_path / "benchmark.md").read_text()
    assert "| step | 10^3 |" in table and "| matching |" in table and "Machine:" in table
    assert (tmp_path / "benchmark.png").stat().st_size > 10_000


def test_the_default_reports_time_is_judged_against_the_target_and_kept_out_of_the_size_table():
    from benchmarks.run import REPORT_STEP, table_markdown, targets_markdown

    rows = pd.DataFrame([
        {"n": 1000, "step": "matching", "seconds": 0.002, "peak_mb": 10.0, "detail": ""},
        {"n": 190, "step": REPORT_STEP, "seconds": 23.4, "peak_mb": 900.0,
         "detail": "exit 0; rendered by pip-only (pandoc + typst)"},
        {"n": 190, "step": "  make report: analysis", "seconds": 15.0, "peak_mb": float("nan"), "detail": ""},
        {"n": 190, "step": "  make report: render", "seconds": 8.4, "peak_mb": float("nan"), "detail": ""}])
    assert "| step | 10^3 |" in table_markdown(rows) and "190" not in table_markdown(rows)
    line = targets_markdown(rows).splitlines()[-1]
    assert line == (f"- {REPORT_STEP}, 190 patients, installation excluded: at most 20 s; measured 23.4 s "
                    "(analysis 15.0 s, render 8.4 s; exit 0; rendered by pip-only (pandoc + typst)): MISSED")
    rows.loc[1, "seconds"] = 19.9
    assert targets_markdown(rows).endswith(": met")
    rows.loc[1, "detail"] = "render: exit 1; see default.log"
    assert "MISSED (did not finish: render: exit 1" in targets_markdown(rows)
