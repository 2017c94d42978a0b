"""End to end: validate, execute the notebooks with papermill, write the results."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from helpers import pipeline
from helpers.paths import ADVERSE_EVENTS_CSV, COHORT_CSV, notebook_sources

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
def test_two_runs_write_byte_identical_results(build, tmp_path, monkeypatch):
    """Same input and parameters, another output folder: every results file has the same bytes.

    The second run starts each kernel as a new interpreter (``--kernels fresh``, papermill's default),
    the session's build forked them from a process that had done the imports (``helpers.kernels``,
    the default on Linux): the same bytes also show that forked kernels compute what new interpreters do.
    """
    from helpers.paths import ROOT

    inputs = _tree_digest(ROOT / "data")
    other = tmp_path / "elsewhere" / "build"
    assert pipeline.run(str(COHORT_CSV), str(ADVERSE_EVENTS_CSV), str(other), {}, kernels="fresh") == 0
    first, second = _tree_digest(build / "results"), _tree_digest(other / "results")
    assert len(first) >= 18
    assert first.keys() == second.keys()
    assert [n for n in first if first[n] != second[n]] == []
    assert _tree_digest(ROOT / "data") == inputs  # the input files are never modified


@pytest.mark.slow
def test_failed_run_keeps_the_previous_build_and_says_why(build, tmp_path, capsys):
    import shutil

    out = tmp_path / "build"
    shutil.copytree(build, out)
    previous = _tree_digest(out)
    # A confidence-interval type that does not exist makes notebook 03 fail after 00 to 02 have run.
    code = pipeline.run(str(COHORT_CSV), str(ADVERSE_EVENTS_CSV), str(out), {"conf_type": "bogus"})
    assert code == 1
    captured = capsys.readouterr()
    err = captured.err
    failed = tmp_path / "build.partial" / "notebooks" / "03_survival.ipynb"
    # One message: notebook, cell (number, label, first line), the exception's type and message, the kept notebook.
    n = len(notebook_sources())
    assert re.search(rf"\[4/{n}\] 03_survival FAILED in cell \d+ of \d+ \(In \[\d+\]\), label 'km-logrank', which starts "
                     r"`rates, tests = \[\], \[\]`:\n  ValueError: conf_type must be 'log-log', 'log' or 'plain', "
                     r"not 'bogus'\n", err), err
    assert f"kept at {failed}." in err and "previous build" in err
    assert "Traceback" not in err and "\x1b[" not in err and len(err) < 1000
    # progress: which notebook, and which section of it
    assert f"[2/{n}] 01_eligibility: Flow of patients" in captured.out
    assert f"[3/{n}] 02_matching: Propensity model" in captured.out
    assert _tree_digest(out) == previous
    nb = json.loads(failed.read_text())
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "ValueError" and "bogus" in errors[0]["evalue"]
    assert not (tmp_path / "build.partial" / "notebooks" / "04_toxicity.ipynb").exists()


def test_failure_message_names_the_cell_by_its_label():
    from papermill.exceptions import PapermillExecutionError

    err = PapermillExecutionError(cell_index=2, exec_count=3, source="#| label: fig-km\npanels = []\nplot(x)",
                                  ename="KeyError", evalue="'os_months'", traceback=["\x1b[31mlong\x1b[0m"] * 500)
    msg = pipeline.failure_message(err, "03_survival", Path("missing.ipynb"))
    assert msg == ("03_survival FAILED in cell 3 (In [3]), label 'fig-km', which starts `panels = []`:\n"
                   "  KeyError: 'os_months'\nThe failed notebook, with the full traceback, is kept at missing.ipynb.")
    assert pipeline.failure_message(RuntimeError("Kernel died"), "02_matching", Path("x.ipynb")).startswith(
        "02_matching FAILED: RuntimeError: Kernel died\n")


def test_snapshot_is_read_by_every_notebook_even_when_the_source_changes(tmp_path, monkeypatch):
    """Papermill-free: the run's snapshot, not the re-exported file, is what a notebook of the run reads."""
    from helpers.data.load import input_summary, load_study
    from helpers.paths import build_dir, input_file

    source = tmp_path / "export" / "my cohort.csv"
    source.parent.mkdir()
    source.write_bytes(COHORT_CSV.read_bytes())
    final, staging = tmp_path / "build", tmp_path / "build.partial"
    taken = pipeline.take_snapshot({"cohort": source, "adverse_events": ADVERSE_EVENTS_CSV}, staging)
    copy, sha = taken["cohort"]
    assert copy == staging / "inputs" / "cohort" / "my cohort.csv" and copy.read_bytes() == COHORT_CSV.read_bytes()
    assert (staging / "inputs" / "SHA256SUMS").read_text().splitlines()[0] == f"{sha}  cohort/my cohort.csv"
    # re-exported during the run: one patient fewer
    source.write_text("".join(COHORT_CSV.read_text().splitlines(keepends=True)[:-1]))
    for var in ("HCC_BUILD_AS", "HCC_BUILD_INTO", "HCC_INPUT_SNAPSHOT"):
        monkeypatch.delenv(var, raising=False)
    with pipeline.staging_environment(final, staging):
        assert build_dir(str(final)) == staging and build_dir(tmp_path / "other") == tmp_path / "other"
        seen = [input_file("cohort", str(source), str(final)) for _notebook in ("00", "01", "04")]
        assert seen == [copy] * 3
        study = load_study(seen[0], input_file("adverse_events", "anything.csv", str(final)))
        assert len(study.cohort) == 190
        summary = input_summary({"cohort": seen[0]}, {"cohort": 190}, synthetic=True)
        assert summary[["file", "sha256"]].values.tolist() == [["my cohort.csv", sha]]
    # a notebook run on its own reads the file it is given, and build_dir is the folder named
    assert input_file("cohort", str(source), str(final)) == source and build_dir(str(final)) == final


@pytest.mark.slow
def test_a_late_extract_with_other_parameters_gives_the_same_counts_and_names_no_machine_path(
        build, tmp_path, monkeypatch, capsys):
    """`make analysis DATA=late.csv PARAMS="-p ratio 1 -p time_points_months [24]"` with relative paths.

    - the overrides reach every notebook and are recorded;
    - the extract has 4 deaths and 3 progressions after the data cut-off: every count (Table 2,
      published-vs-cohort, follow-up) equals the clean file's, and the analysis notes say so;
    - the input file is re-exported (here: broken) after notebook 00: every notebook reads the snapshot;
    - no executed notebook names the project's or the build's absolute path, or the staging folder.
    """
    import hashlib
    import os

    from degenerate_cases import late_events, read_raw, write_raw

    from helpers.parameters import read_parameters
    from helpers.paths import ROOT

    cohort, ae = late_events(read_raw(COHORT_CSV), read_raw(ADVERSE_EVENTS_CSV))
    late = write_raw(cohort, tmp_path / "late.csv")
    late_bytes = late.read_bytes()
    out = tmp_path / "build"
    real_execute = pipeline.execute_notebook

    def execute_then_reexport(source, *args, **kwargs):
        executed = real_execute(source, *args, **kwargs)
        if source.stem == "00_data_overview":
            late.write_text("patient_id,arm\nre-exported,half-written\n")
        return executed

    monkeypatch.setattr(pipeline, "execute_notebook", execute_then_reexport)
    monkeypatch.chdir(ROOT)
    rel = lambda p: os.path.relpath(p, ROOT)  # noqa: E731
    overrides = {"ratio": pipeline.parse_parameter("ratio", "1"),
                 "time_points_months": pipeline.parse_parameter("time_points_months", "[24]"),
                 "not_a_parameter": 5}  # ignored: no notebook declares it
    assert pipeline.run(rel(late), rel(ADVERSE_EVENTS_CSV), rel(out), overrides) == 0
    r = lambda folder, n: pd.read_csv(folder / "results" / f"{n}.csv")  # noqa: E731
    m = r(out, "matched_cohort")
    assert "[parameters] ignored: no notebook declares 'not_a_parameter'" in capsys.readouterr().err
    sets = m[m["matched"] == 1].groupby("match_id")["arm"].agg(lambda a: (a == "SBRT").sum())
    assert set(sets) == {1}
    assert set(r(out, "km_rates")["months"]) == {24}
    params = read_parameters(out)
    assert params["ratio"] == 1 and params["time_points_months"] == [24] and params["caliper_sd"] == 0.02
    assert "not_a_parameter" not in params and "build_dir" not in params

    # one cut-off everywhere: the same counts as the clean file's
    before = lambda t: t[t["cohort"] == "before"].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(before(r(out, "progression_patterns")), before(r(build, "progression_patterns")))
    for name in ("synthetic_vs_published", "followup", "flow"):
        pd.testing.assert_frame_equal(r(out, name), r(build, name))
    late_counts = r(out, "cutoff_events").set_index("event")["n_after_cutoff"].to_dict()
    assert late_counts == {"deaths": 4, "progressions": 3, "local progressions": 1}
    assert r(build, "cutoff_events")["n_after_cutoff"].sum() == 0
    notes = r(out, "analysis_notes")
    assert notes.loc[notes["step"] == "data cut-off", "note"].tolist() == [
        "4 deaths, 3 progressions and 1 local progression of the eligible patients were after the data cut-off "
        "(2025-09-30); they are censored at the cut-off in every count, table and comparison."]

    # one snapshot: every notebook read the bytes of the start of the run
    sha = hashlib.sha256(late_bytes).hexdigest()
    summary = r(out, "input_summary").set_index("input")
    assert summary.loc["cohort", "sha256"] == sha and summary.loc["cohort", "file"] == "late.csv"
    assert (out / "inputs" / "cohort" / "late.csv").read_bytes() == late_bytes
    assert f"{sha}  cohort/late.csv" in (out / "inputs" / "SHA256SUMS").read_text()

    # no machine path: the parameters as given, nothing absolute, no staging folder
    absolute = re.compile(rf"(?<![\w./-])({re.escape(str(ROOT))}|{re.escape(str(out))})")
    for nb_path in sorted((out / "notebooks").glob("*.ipynb")):
        text = nb_path.read_text()
        assert not absolute.search(text) and ".partial" not in text, nb_path.name
        meta = json.loads(text)["metadata"]["papermill"]
        assert meta["parameters"]["build_dir"] == rel(out), nb_path.name
        assert meta["output_path"] == f"{rel(out)}/notebooks/{nb_path.name}"
        assert meta["input_path"] == f"notebooks/{nb_path.stem}.py"
    injected = [c for c in json.loads((out / "notebooks" / "00_data_overview.ipynb").read_text())["cells"]
                if "injected-parameters" in c["metadata"].get("tags", [])]
    assert f'build_dir = "{rel(out)}"' in "".join(injected[0]["source"])
    assert f'cohort_csv = "{rel(late)}"' in "".join(injected[0]["source"])


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


def test_notebooks_take_the_tables_validated_once_for_the_same_bytes(tmp_path, monkeypatch):
    """Papermill-free: validation runs once per run; the kept tables serve only the bytes they came from."""
    import helpers.data.load as load
    from helpers.paths import validated_inputs

    final, staging = tmp_path / "build", tmp_path / "build.partial"
    taken = pipeline.take_snapshot({"cohort": COHORT_CSV, "adverse_events": ADVERSE_EVENTS_CSV}, staging)
    (cohort, sha_c), (ae, sha_a) = taken["cohort"], taken["adverse_events"]
    study = load.load_study(cohort, ae)
    for var in ("HCC_BUILD_AS", "HCC_BUILD_INTO", "HCC_INPUT_SNAPSHOT"):
        monkeypatch.delenv(var, raising=False)
    assert validated_inputs(str(final)) is None  # a notebook run on its own validates its files
    with pipeline.staging_environment(final, staging):
        kept = validated_inputs(str(final))
        assert kept == staging / "inputs" / "validated.pickle"
        load.save_validated(study, (sha_c, sha_a), kept)
        calls = []
        real = load.check_study
        monkeypatch.setattr(load, "check_study", lambda *a: calls.append(a) or real(*a))
        again = load.load_study(cohort, ae, validated=kept)
        assert calls == []  # not validated again
        pd.testing.assert_frame_equal(again.cohort, study.cohort)
        pd.testing.assert_frame_equal(again.adverse_events, study.adverse_events)
        assert again.warnings == study.warnings and again.cohort.attrs == study.cohort.attrs
        # other bytes (the file edited after the tables were kept): validated, not taken from the kept tables
        cohort.write_text("".join(COHORT_CSV.read_text().splitlines(keepends=True)[:-1]))
        assert len(load.load_study(cohort, ae, validated=kept).cohort) == 189 and len(calls) == 1
