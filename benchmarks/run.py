"""The benchmark: every step of the analysis timed on registry-sized cohorts, against MatchIt.

Run (not part of ``make test``; about 25 minutes with 10^6, most of it the pipeline)::

    make benchmark                                   # = python -m benchmarks.run
    python -m benchmarks.run --sizes 1e3,1e4 --no-r  # a quick look

For each size (default 10^3, 10^4, 10^5, 10^6 patients) it writes a cohort in
the data dictionary's format (:mod:`benchmarks.cohorts`: ten binary
propensity covariates, so the scores are heavily tied), then times, in this
process, ``load_study`` (read and validate both files), derivation and
eligibility, the propensity fit, the 2:1 caliper matching (the paper's
design), the same matching by MatchIt's one-at-a-time scans (the previous
algorithm, ``tests/matching_reference.py``; up to ``--reference-max``),
Kaplan-Meier, the log-rank test and a Cox model with four terms; then the
whole pipeline (``python -m helpers.pipeline``: every notebook, no rendering)
in a child process. First (unless ``--no-report`` or ``--no-pipeline``) it
times ``make report`` on the default cohort: the analysis and the render, the
Makefile's two commands, into ``build-benchmark/default/``. Where ``Rscript`` with MatchIt is installed it times
``matchit()`` on the same distances up to ``--matchit-max`` patients
(distances times a power of two, so that the integer ``abs()`` of MatchIt
4.5.1's builds does not bite; ``benchmarks/matchit.R``) and checks that the
matched sets are identical.

Memory is the peak resident set size over the whole process tree (this
process and its children: the pipeline's notebook kernels, R), polled every
50 ms with ``psutil``.

Writes into ``build-benchmark/`` (``--out``): ``benchmark.csv`` (one row per
size and step: seconds, peak MB, detail), ``benchmark.png`` (time against n
per step, log-log), ``benchmark.md`` (the machine, the command and the table
that the README's performance section quotes, with the targets of the issue
met or missed), and the cohorts and pipeline builds it ran on.
"""
from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import psutil

from benchmarks.cohorts import write_registry_cohort
from helpers.paths import ROOT, TESTS_DIR, benchmark_dir

DEFAULT_SIZES = (10**3, 10**4, 10**5, 10**6)
RATIO, CALIPER_SD, ORDER = 2, 0.02, "largest"  # the paper's design (notebook 02's defaults)
COX_TERMS = ("arm", "child_pugh_class", "platelets_group", "sex_group")
#: The issue's targets: (step, n, limit, unit).
TARGETS = (("matching", 10**6, 5.0, "s"), ("load_study", 10**6, 10.0, "s"),
           ("whole pipeline", 10**6, 120.0, "s"), ("whole pipeline", 10**6, 4096.0, "MB"))
#: `make report` on the default cohort (installation excluded): the analysis, then the render.
REPORT_STEP, REPORT_LIMIT = "make report (default cohort)", 20.0
MATCHIT_SPEED_UP = 100.0  # at 10^5 at least this many times faster than MatchIt


class TreeMemory:
    """Peak resident memory (MB) of a process (default this one) and all its descendants, polled in a thread."""

    def __init__(self, interval: float = 0.05, pid: int | None = None) -> None:
        self._interval, self._peak, self._stop = interval, 0.0, threading.Event()
        self._root = psutil.Process(os.getpid() if pid is None else pid)
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def now(self) -> float:
        """Resident memory of the tree now, in MB."""
        total = 0
        try:
            tree = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:  # the root ended (a child process that has finished)
            return 0.0
        for proc in tree:
            try:
                total += proc.memory_info().rss
            except psutil.Error:  # a child that ended while being read
                pass
        return total / 2**20

    def _poll(self) -> None:
        while not self._stop.wait(self._interval):
            self._peak = max(self._peak, self.now())

    def reset(self) -> None:
        """Start a new peak from the memory in use now."""
        self._peak = self.now()

    def peak(self) -> float:
        """Peak since the last :meth:`reset` (MB), including now."""
        self._peak = max(self._peak, self.now())
        return self._peak

    def peak_seen(self) -> float:
        """Peak polled so far (MB), without reading the tree again (it may have ended)."""
        return self._peak

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Recorder:
    """Rows of ``benchmark.csv``; :meth:`time` runs and records one step."""

    memory: TreeMemory
    rows: list[dict] = field(default_factory=list)
    csv: Path | None = None  # rewritten after every row, so an interrupted run keeps what it measured
    command: str = ""

    def time(self, n: int, step: str, fn: Callable[[], object], detail: str = "") -> object:
        self.memory.reset()
        t0, cpu0 = time.perf_counter(), time.process_time()
        value = fn()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        self.add(n, step, seconds, self.memory.peak(), detail, cpu)
        return value

    def add(self, n: int, step: str, seconds: float, peak_mb: float, detail: str = "",
            cpu_seconds: float = float("nan")) -> None:
        """One row; ``cpu_seconds`` is this process's CPU time (all threads), telling a busy machine's
        waiting from work (NaN for steps in other processes)."""
        self.rows.append({"n": n, "step": step, "seconds": round(seconds, 4), "cpu_seconds": round(cpu_seconds, 4),
                          "peak_mb": round(peak_mb, 1), "detail": detail, "command": self.command})
        if self.csv is not None:
            pd.DataFrame(self.rows).to_csv(self.csv, index=False)
        print(f"[benchmark] n = {n:>9,}  {step:<34} {seconds:9.3f} s  {peak_mb:8.0f} MB  {detail}", flush=True)


def _reference_matching() -> Callable:
    """MatchIt's scans as the project ran them before (the tests' reference)."""
    spec = importlib.util.spec_from_file_location("matching_reference", TESTS_DIR / "matching_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reference_match_rows


def matchit_available() -> bool:
    """``Rscript`` is on the PATH and has the MatchIt package."""
    if shutil.which("Rscript") is None:
        return False
    done = subprocess.run(["Rscript", "-e", "library(MatchIt)"], capture_output=True)
    return done.returncode == 0


def run_matchit(ids: np.ndarray, treated: np.ndarray, logit: np.ndarray, directory: Path) -> tuple[float, np.ndarray]:
    """``matchit()`` on ``logit`` (``benchmarks/matchit.R``): its seconds and each patient's match_id ("" if none)."""
    directory.mkdir(parents=True, exist_ok=True)
    scale = 2.0 ** np.floor(np.log2(2**30 / max(np.ptp(logit), 1e-300)))  # exact: a power of two
    pd.DataFrame({"patient_id": ids, "treat": treated.astype(int),
                  "distance": [f"{v:.17g}" for v in logit * scale]}).to_csv(directory / "distance.csv", index=False)
    subprocess.run(["Rscript", str(Path(__file__).with_name("matchit.R")), str(directory), str(RATIO),
                    str(CALIPER_SD), ORDER], check=True, capture_output=True, text=True)
    out = pd.read_csv(directory / "matchit.csv", dtype=str, keep_default_na=False)
    return float((directory / "seconds.txt").read_text()), out["match_id"].to_numpy()


def in_process_steps(n: int, cohort_csv: Path, ae_csv: Path, rec: Recorder, args: argparse.Namespace,
                     work: Path) -> None:
    """Time the analysis steps one by one in this process (the functions the notebooks call)."""
    from helpers.data.derive import PROPENSITY_COVARIATES, add_endpoints, add_table1_categories
    from helpers.data.eligibility import add_eligibility, criteria
    from helpers.data.load import load_study
    from helpers.stats.matching import fit_propensity, match_nearest_caliper
    from helpers.stats.survival import cox_fit, kaplan_meier, logrank_test

    study = rec.time(n, "load_study", lambda: load_study(cohort_csv, ae_csv),
                     f"{len(pd.read_csv(ae_csv, usecols=[0]))} adverse events")
    t0 = time.perf_counter()
    pd.read_csv(cohort_csv, dtype=str, keep_default_na=False)
    rec.add(n, "pandas.read_csv (for scale)", time.perf_counter() - t0, rec.memory.peak())

    def derive() -> pd.DataFrame:
        screened = add_eligibility(study.cohort, criteria())
        eligible = screened[screened["eligible"]].reset_index(drop=True)
        return add_endpoints(add_table1_categories(eligible))

    analysis = rec.time(n, "derive + eligibility", derive)
    fit = rec.time(n, "propensity fit", lambda: fit_propensity(analysis, PROPENSITY_COVARIATES))
    logit, treated = fit.logit_ps.to_numpy(), np.asarray(fit.is_treated).astype(bool)
    ids = analysis["patient_id"].to_numpy()
    distinct, largest_block = np.unique(logit, return_counts=True)
    ties = (f"{len(analysis):,} eligible, {int(treated.sum()):,} treated; {len(distinct):,} distinct scores, "
            f"largest tied block {int(largest_block.max()):,}")
    matched = rec.time(n, "matching", lambda: match_nearest_caliper(
        logit, treated, ids, ratio=RATIO, caliper_sd=CALIPER_SD, order=ORDER), ties)
    ours = matched["match_id"].astype("string").fillna("").to_numpy()
    fast_seconds = rec.rows[-1]["seconds"]
    if n <= args.reference_max:
        # The same public function with the previous core in place of the new one.
        with mock.patch("helpers.stats.matching.nearest.nearest_caliper_match_rows", _reference_matching()):
            old = rec.time(n, "matching, MatchIt's scans (before)", lambda: match_nearest_caliper(
                logit, treated, ids, ratio=RATIO, caliper_sd=CALIPER_SD, order=ORDER))
        same = (old["match_id"].astype("string").fillna("").to_numpy() == ours).all()
        rec.rows[-1]["detail"] = "identical matched sets" if same else "MATCHED SETS DIFFER"
    if args.r and n <= args.matchit_max:
        rec.memory.reset()
        seconds, theirs = run_matchit(ids, treated, logit, work / "matchit")
        same = bool((theirs == ours).all())
        rec.add(n, "MatchIt 4.5.1 (R)", seconds, rec.memory.peak(),
                f"{'identical matched sets' if same else 'MATCHED SETS DIFFER'}; "
                f"{seconds / max(fast_seconds, 1e-9):,.0f}x the time of ours")
    rec.time(n, "Kaplan-Meier", lambda: kaplan_meier(analysis["os_months"], analysis["os_event"]))
    rec.time(n, "log-rank", lambda: logrank_test(analysis["os_months"], analysis["os_event"], analysis["arm"]))
    rec.time(n, f"Cox ({len(COX_TERMS)} terms)", lambda: cox_fit(analysis, "os_months", "os_event", list(COX_TERMS)))


def pipeline_step(n: int, cohort_csv: Path, ae_csv: Path, rec: Recorder, out: Path, timeout: float) -> None:
    """The whole analysis (``helpers.pipeline``, every notebook, no rendering) in a child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    command = [sys.executable, "-m", "helpers.pipeline", "--cohort", str(cohort_csv), "--adverse-events",
               str(ae_csv), "--out", str(out)]
    t0 = time.perf_counter()
    log = out.with_suffix(".log")
    with open(log, "w") as sink:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
        memory = TreeMemory(pid=proc.pid)  # the pipeline and its kernels, not this process's own data
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for child in psutil.Process(proc.pid).children(recursive=True):
                child.kill()
            proc.kill()
            code = f"stopped after {timeout:.0f} s"
        finally:
            memory.close()
    seconds, peak = time.perf_counter() - t0, memory.peak_seen()
    text = log.read_text()
    notebooks = out / "notebooks"
    sizes = {p.stem: p.stat().st_size / 2**20 for p in notebooks.glob("*.ipynb")} if notebooks.is_dir() else {}
    largest = max(sizes.items(), key=lambda kv: kv[1], default=("none", 0.0))
    detail = (f"exit {code}; largest executed notebook {largest[0]} {largest[1]:.1f} MB"
              if code == 0 else f"exit {code}; see {log.name}")
    rec.add(n, "whole pipeline", seconds, peak, detail)
    for stem, took in re.findall(r"\] (\S+) done in ([0-9.]+) s", text):
        rec.add(n, f"  notebook {stem}", float(took), float("nan"), f"{sizes.get(stem, 0.0):.1f} MB executed")


def report_step(rec: Recorder, out: Path, repeats: int = 3) -> None:
    """``make report`` on the default cohort without the installation check: the analysis, then the render.

    The same two commands as the Makefile (``helpers.pipeline``, then ``helpers.render``), into
    ``out`` (not ``build/``), each in a child process; recorded with n = the default cohort's rows.
    Run ``repeats`` times; the run of median total time is recorded, the others' totals in its
    detail (a 20-second measurement on a shared 2-core machine varies by several seconds).
    """
    runs = [_report_once(out) for _ in range(max(1, repeats))]
    runs.sort(key=lambda r: sum(r[0].values()))
    took, peak, detail = runs[len(runs) // 2]
    from helpers.paths import COHORT_CSV

    n = len(pd.read_csv(COHORT_CSV, usecols=[0]))
    if len(runs) > 1:
        detail += f"; median of {len(runs)} runs ({', '.join(f'{sum(r[0].values()):.1f}' for r in runs)} s)"
    rec.add(n, REPORT_STEP, sum(took.values()), peak, detail)
    for part, seconds in took.items():
        rec.add(n, f"  make report: {part}", seconds, float("nan"))


def _report_once(out: Path) -> tuple[dict[str, float], float, str]:
    """One ``make report`` into ``out``: seconds per part, peak MB over the process tree, and how it ended."""
    from helpers.paths import ADVERSE_EVENTS_CSV, COHORT_CSV

    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    commands = {"analysis": [sys.executable, "-m", "helpers.pipeline", "--cohort", str(COHORT_CSV),
                             "--adverse-events", str(ADVERSE_EVENTS_CSV), "--out", str(out)],
                "render": [sys.executable, "-m", "helpers.render", "--out", str(out)]}
    took, peak, detail = {}, 0.0, "exit 0"
    log = out.with_suffix(".log")
    with open(log, "w") as sink:
        for part, command in commands.items():
            t0 = time.perf_counter()
            proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
            memory = TreeMemory(pid=proc.pid)
            code = proc.wait()
            memory.close()
            took[part], peak = time.perf_counter() - t0, max(peak, memory.peak_seen())
            if code != 0:
                detail = f"{part}: exit {code}; see {log.name}"
                break
    renderer = re.findall(r"helpers.render: done \((.*)\)", log.read_text())
    if detail == "exit 0" and renderer:
        detail += f"; rendered by {renderer[-1]}"
    return took, peak, detail


def _sizes_table(results: pd.DataFrame) -> pd.DataFrame:
    """The rows of the registry-sized cohorts (not those of the default report)."""
    return results[~results["step"].str.strip().str.startswith("make report")]


def report_markdown(results: pd.DataFrame) -> str:
    """The default report's time, its two parts, and the target met or missed ("" if not measured)."""
    rows = results.assign(step=results["step"].str.strip()).set_index("step")
    if REPORT_STEP not in rows.index:
        return ""
    total = rows.loc[REPORT_STEP]
    parts = ", ".join(f"{part} {rows.loc[f'make report: {part}', 'seconds']:.1f} s"
                      for part in ("analysis", "render") if f"make report: {part}" in rows.index)
    finished = str(total["detail"]).startswith("exit 0")
    verdict = ("met" if float(total["seconds"]) <= REPORT_LIMIT else "MISSED") if finished else \
        f"MISSED (did not finish: {total['detail']})"
    return (f"- {REPORT_STEP}, {int(total['n'])} patients, installation excluded: at most {REPORT_LIMIT:g} s; "
            f"measured {float(total['seconds']):.1f} s ({parts}; {total['detail']}): {verdict}")


def machine() -> str:
    """One line: CPU, cores, memory, OS, Python."""
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GB; "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
            f"numpy {np.__version__}, pandas {pd.__version__}")


def _n_label(n: int) -> str:
    exponent = np.log10(n)
    return f"10^{exponent:.0f}" if exponent == int(exponent) else f"{n:,}"


def table_markdown(results: pd.DataFrame) -> str:
    """The steps (rows) by size (columns): seconds, with peak memory for the whole pipeline."""
    results = _sizes_table(results)
    sizes = sorted(results["n"].unique())
    header = "| step | " + " | ".join(_n_label(n) for n in sizes) + " |"
    lines = [header, "|---|" + "---|" * len(sizes)]
    for step in dict.fromkeys(results["step"]):
        cells = []
        for n in sizes:
            row = results[(results["step"] == step) & (results["n"] == n)]
            if row.empty:
                cells.append("")
                continue
            r = row.iloc[0]
            cell = f"{r['seconds']:.3g} s" if r["seconds"] < 100 else f"{r['seconds']:.0f} s"
            if step == "whole pipeline":
                cell += f", {r['peak_mb'] / 1024:.2f} GB"
                if not str(r["detail"]).startswith("exit 0"):
                    cell = f"stopped after {cell} (not finished)"
            cells.append(cell)
        lines.append(f"| {step.strip()} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets_markdown(results: pd.DataFrame) -> str:
    """The issue's targets, each met or missed with the measured figure."""
    lines = []
    for step, n, limit, unit in TARGETS:
        row = results[(results["step"] == step) & (results["n"] == n)]
        if row.empty:
            lines.append(f"- {step} at {_n_label(n)}: at most {limit:g} {unit} — not measured in this run")
            continue
        value = float(row.iloc[0]["seconds" if unit == "s" else "peak_mb"])
        verdict = "met" if value <= limit else "MISSED"
        if step == "whole pipeline" and not str(row.iloc[0]["detail"]).startswith("exit 0"):
            verdict = f"MISSED (the run did not finish: {row.iloc[0]['detail']})"
        lines.append(f"- {step} at {_n_label(n)}: at most {limit:g} {unit}; measured {value:,.1f} {unit}: {verdict}")
    ours = results[(results["step"] == "matching") & (results["n"] == 10**5)]
    theirs = results[(results["step"] == "MatchIt 4.5.1 (R)") & (results["n"] == 10**5)]
    if ours.empty or theirs.empty:
        lines.append(f"- matching at 10^5 at least {MATCHIT_SPEED_UP:g}x faster than MatchIt: not measured in this run")
    else:
        ratio = float(theirs.iloc[0]["seconds"]) / max(float(ours.iloc[0]["seconds"]), 1e-9)
        same = "identical matched sets" in theirs.iloc[0]["detail"]
        verdict = "met" if ratio >= MATCHIT_SPEED_UP and same else "MISSED"
        lines.append(f"- matching at 10^5 at least {MATCHIT_SPEED_UP:g}x faster than MatchIt, identical sets: "
                     f"{ratio:,.0f}x, {'identical' if same else 'sets differ'}: {verdict}")
    lines.append(report_markdown(results) or
                 f"- {REPORT_STEP}: at most {REPORT_LIMIT:g} s — not measured in this run")
    return "\n".join(lines)


def details_markdown(results: pd.DataFrame) -> str:
    """What each size's cohort was like, and whether the matchings agreed."""
    results = _sizes_table(results)
    lines = []
    for n in sorted(results["n"].unique()):
        rows = results[results["n"] == n].set_index("step")["detail"]
        parts = [str(rows.get("matching", ""))]
        for step in ("matching, MatchIt's scans (before)", "MatchIt 4.5.1 (R)"):
            if step in rows.index:
                parts.append(f"{step}: {rows[step]}")
        if "whole pipeline" in rows.index:
            parts.append(f"pipeline: {rows['whole pipeline']}")
        lines.append(f"- {_n_label(n)}: " + "; ".join(p for p in parts if p))
    return "\n".join(lines)


def plot(results: pd.DataFrame, path: Path) -> None:
    """Time against n per step, log-log, with a line of slope 1 (linear time) for the eye.

    A run that did not finish (the pipeline stopped) is a cross at the time it was stopped.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = _sizes_table(results)
    fig, ax = plt.subplots(figsize=(8, 5.5), constrained_layout=True)
    steps = [s for s in dict.fromkeys(results["step"]) if not s.startswith(" ")]
    colours = plt.get_cmap("tab20").colors
    for i, step in enumerate(steps):
        rows = results[results["step"] == step].sort_values("n")
        done = ~rows["detail"].astype(str).str.match(r"exit (?!0;)")  # a stopped pipeline: a cross, no line
        colour = colours[(2 * i) % 20 if i < 10 else (2 * i + 1) % 20]
        ax.plot(rows["n"][done], rows["seconds"][done].clip(lower=1e-4), "o-", ms=4, color=colour, label=step)
        ax.plot(rows["n"][~done], rows["seconds"][~done], "x", ms=8, mew=2, color=colour)
    sizes = np.array(sorted(results["n"].unique()), dtype=float)
    if len(sizes) > 1:
        ax.plot(sizes, 1e-6 * sizes, ls=":", color="grey", label="slope 1 (1 µs per patient)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("patients (rows of cohort.csv)")
    ax.set_ylabel("seconds")
    ax.set_title("Time per step against cohort size")
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    ax.grid(True, which="major", alpha=0.3)
    fig.savefig(path, dpi=150)
    plt.close(fig)


def _sizes(text: str) -> list[int]:
    return [int(float(s)) for s in text.split(",") if s.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=list(DEFAULT_SIZES),
                        help="cohort sizes, comma-separated (default 1e3,1e4,1e5,1e6)")
    parser.add_argument("--out", default=None, help="output folder (default build-benchmark)")
    parser.add_argument("--no-r", dest="r", action="store_false", help="do not time MatchIt in R")
    parser.add_argument("--no-pipeline", dest="pipeline", action="store_false",
                        help="time the steps only, not the whole pipeline")
    parser.add_argument("--no-report", dest="report", action="store_false",
                        help="do not time `make report` on the default cohort (timed first, into OUT/default)")
    parser.add_argument("--report-repeats", type=int, default=3,
                        help="times `make report` is run; the median is recorded (default 3)")
    parser.add_argument("--matchit-max", type=lambda s: int(float(s)), default=10**5,
                        help="largest cohort matched by MatchIt too (default 1e5)")
    parser.add_argument("--reference-max", type=lambda s: int(float(s)), default=10**5,
                        help="largest cohort matched by the previous algorithm too (default 1e5)")
    parser.add_argument("--pipeline-timeout", type=float, default=3600.0, help="seconds (default 3600)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the rows of the sizes not run now from the folder's benchmark.csv (one table "
                             "from several runs, e.g. 10^6 on its own)")
    parser.add_argument("--table-only", action="store_true",
                        help="run nothing: write benchmark.png and benchmark.md from the folder's benchmark.csv")
    args = parser.parse_args(argv)
    out = benchmark_dir(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks.run" + ("" if argv is None and len(sys.argv) == 1 else
                                            " " + " ".join(argv if argv is not None else sys.argv[1:]))
    if args.table_only:
        write_outputs(pd.read_csv(out / "benchmark.csv", keep_default_na=False), out, command)
        return 0
    kept = []
    if args.keep and (out / "benchmark.csv").exists():
        previous = pd.read_csv(out / "benchmark.csv", keep_default_na=False)
        kept = previous[~previous["n"].isin(args.sizes)].to_dict("records")
    if args.r and not matchit_available():
        print("[benchmark] Rscript with MatchIt not found: MatchIt is not timed", flush=True)
        args.r = False
    rec = Recorder(TreeMemory(), rows=kept, csv=out / "benchmark.csv", command=command)
    try:
        if args.report and args.pipeline:
            kept = [r for r in rec.rows if not str(r["step"]).strip().startswith("make report")]
            rec.rows[:] = kept
            report_step(rec, out / "default", args.report_repeats)
        for n in args.sizes:
            work = out / f"n{n}"
            cohort_csv, ae_csv = rec.time(n, "write the cohort (not analysis)",
                                          functools.partial(write_registry_cohort, n, work / "inputs"))
            in_process_steps(n, cohort_csv, ae_csv, rec, args, work)
            if args.pipeline:
                pipeline_step(n, cohort_csv, ae_csv, rec, work / "build", args.pipeline_timeout)
    finally:
        rec.memory.close()
    results = pd.DataFrame(rec.rows).sort_values("n", kind="stable")
    results.to_csv(out / "benchmark.csv", index=False)
    write_outputs(results, out, command)
    return 0


def write_outputs(results: pd.DataFrame, out: Path, command: str) -> None:
    """``benchmark.png`` and ``benchmark.md`` from the rows of ``benchmark.csv``."""
    results = results.assign(peak_mb=pd.to_numeric(results["peak_mb"], errors="coerce"))
    plot(results, out / "benchmark.png")
    commands = list(dict.fromkeys(results["command"])) if "command" in results else [command]
    text = (f"Machine: {machine()}.\n\nCommand: {', then '.join(f'`{c}`' for c in commands)} "
            f"({time.strftime('%Y-%m-%d')}). Seconds per step (wall clock; benchmark.csv also has the CPU "
            "seconds of the steps run in the benchmark's own process); "
            "the whole pipeline with its peak memory over the process tree.\n\n"
            f"{table_markdown(results)}\n\nCohorts and checks:\n\n{details_markdown(results)}\n\n"
            f"Targets:\n\n{targets_markdown(results)}\n")
    (out / "benchmark.md").write_text(text)
    print(f"[benchmark] wrote {out / 'benchmark.csv'}, benchmark.png and benchmark.md", flush=True)


if __name__ == "__main__":
    sys.exit(main())
