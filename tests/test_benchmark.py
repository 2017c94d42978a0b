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
