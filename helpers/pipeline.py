"""Run the analysis: validate the inputs, then execute the notebooks in order with papermill.

``python -m helpers.pipeline --cohort data/cohort.csv --adverse-events data/adverse_events.csv --out build -p ratio 3``

1. Both input files are validated (``helpers.load``); on any error the list of
   problems is printed and nothing is written.
2. Each ``notebooks/NN_*.py`` (jupytext percent format) is converted to a
   notebook and executed by papermill into a staging folder
   (``<out>.partial/``), with the parameters it declares.
3. Only when every notebook has run does the staging folder replace
   ``<out>/``; a failed run leaves the previous build untouched and keeps the
   failed executed notebook (with its error) in the staging folder.
"""
from __future__ import annotations

import argparse
import ast
import logging
import re
import shutil
import sys
import time
from pathlib import Path

from helpers.paths import NOTEBOOKS_DIR, ROOT, build_dir

NOTEBOOK_ORDER = ("00_data_overview", "01_eligibility", "02_matching", "03_survival", "04_toxicity", "05_reproduction")


def notebook_sources(names: tuple[str, ...] = NOTEBOOK_ORDER) -> list[Path]:
    """The percent-format sources of the notebooks to run, in order (those that exist)."""
    return [NOTEBOOKS_DIR / f"{n}.py" for n in names if (NOTEBOOKS_DIR / f"{n}.py").exists()]


def parse_parameter(name: str, text: str) -> object:
    """A command-line parameter value: a Python literal if it parses as one, else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def notebook_steps(nb, injected: bool) -> dict[int, str]:
    """The section each cell belongs to, by the cell's index in the executed notebook.

    A section starts at a markdown cell with a ``##`` or ``###`` heading
    (the ``#`` title is the notebook itself). Papermill inserts its "injected-parameters" cell right after the
    cell tagged ``parameters`` when it is given parameters (``injected``);
    later cells move down by one.
    """
    steps, current, shift = {}, None, 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            m = re.search(r"^#{2,3} +(.+)$", cell.source, re.M)
            current = m.group(1).strip() if m else current
        steps[i + shift] = current
        if injected and "parameters" in cell.get("metadata", {}).get("tags", []):
            shift = 1
            steps[i + shift] = current
    return steps


class _StepPrinter(logging.Handler):
    """Prints the section a notebook has reached (papermill logs 'Executing Cell N' per cell)."""

    def __init__(self, prefix: str, steps: dict[int, str]):
        super().__init__(logging.INFO)
        self.prefix, self.steps, self.last = prefix, steps, None

    def emit(self, record: logging.LogRecord) -> None:
        m = re.match(r"Executing Cell (\d+)", record.getMessage())
        step = self.steps.get(int(m.group(1)) - 1) if m else None
        if step and step != self.last:
            self.last = step
            print(f"{self.prefix} {step}", flush=True)


def execute_notebook(source: Path, out_dir: Path, parameters: dict[str, object], progress: str = "") -> Path:
    """Convert ``source`` to .ipynb and execute it with papermill; return the executed notebook.

    With ``progress`` (a prefix such as ``"[3/6] 02_matching:"``), the
    section headings are printed as the execution reaches them.
    """
    import jupytext
    import papermill

    out_dir.mkdir(parents=True, exist_ok=True)
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    unexecuted = out_dir / f".{source.stem}.input.ipynb"
    jupytext.write(nb, unexecuted, fmt="ipynb")
    declared = papermill.inspect_notebook(str(unexecuted))
    params = {k: v for k, v in parameters.items() if k in declared}
    executed = out_dir / f"{source.stem}.ipynb"
    logger = logging.getLogger("papermill")
    printer = _StepPrinter(progress, notebook_steps(nb, injected=bool(params))) if progress else None
    saved = (logger.level, logger.propagate)
    if printer:
        logger.addHandler(printer)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # papermill's own INFO lines (cell outputs) are not for the console
    try:
        papermill.execute_notebook(str(unexecuted), str(executed), parameters=params, cwd=str(ROOT),
                                   kernel_name="python3", progress_bar=False, log_output=bool(printer),
                                   stdout_file=None, stderr_file=None)
    finally:
        unexecuted.unlink(missing_ok=True)
        if printer:
            logger.removeHandler(printer)
            logger.level, logger.propagate = saved
    return executed


def run(cohort: str, adverse_events: str, out: str, overrides: dict[str, object]) -> int:
    """Validate, then execute every notebook; returns a process exit code."""
    from helpers.load import DataValidationError, load_study

    final = build_dir(out)
    print(f"[validate] {cohort} and {adverse_events}", flush=True)
    try:
        study = load_study(cohort, adverse_events)
    except DataValidationError as err:
        print(str(err), file=sys.stderr)
        print(f"Stopped before any notebook ran; nothing was written to {final}.", file=sys.stderr)
        return 1
    print(f"[validate] OK: {len(study.cohort)} patients, {len(study.adverse_events)} adverse events, "
          f"{len(study.warnings)} warnings", flush=True)
    from helpers.parameters import notebook_parameters

    unknown = sorted(set(overrides) - {p.name for p in notebook_parameters()})
    if unknown:
        print(f"[parameters] ignored: no notebook declares {', '.join(map(repr, unknown))} "
              "(the README's Parameters table lists those that exist)", file=sys.stderr, flush=True)
    staging = final.with_name(final.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    parameters = {"cohort_csv": str(Path(cohort).resolve()), "adverse_events_csv": str(Path(adverse_events).resolve()),
                  "build_dir": str(staging), **overrides}
    sources = notebook_sources()
    for i, source in enumerate(sources, start=1):
        t0 = time.time()
        print(f"[{i}/{len(sources)}] {source.stem} ...", flush=True)
        try:
            execute_notebook(source, staging / "notebooks", parameters, progress=f"[{i}/{len(sources)}] {source.stem}:")
        except Exception as err:  # papermill raises PapermillExecutionError with the cell's traceback
            print(f"[{i}/{len(sources)}] {source.stem} FAILED: {type(err).__name__}: {str(err).strip()[:2000]}", file=sys.stderr)
            print(f"The failed notebook is kept at {staging / 'notebooks' / (source.stem + '.ipynb')}; "
                  f"the previous build in {final} is untouched.", file=sys.stderr)
            return 1
        print(f"[{i}/{len(sources)}] {source.stem} done in {time.time() - t0:.1f} s", flush=True)
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)
    print(f"[done] executed notebooks in {final / 'notebooks'}, results in {final / 'results'}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", default="data/cohort.csv")
    parser.add_argument("--adverse-events", default="data/adverse_events.csv")
    parser.add_argument("--out", default="build")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="papermill parameter override, e.g. -p ratio 3 -p caliper_sd 0.1")
    args = parser.parse_args(argv)
    overrides = {name: parse_parameter(name, value) for name, value in args.parameter}
    return run(args.cohort, args.adverse_events, args.out, overrides)


if __name__ == "__main__":
    sys.exit(main())
