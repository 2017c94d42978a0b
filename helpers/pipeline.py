"""Run the analysis: snapshot and validate the inputs, then execute the notebooks in order with papermill.

``python -m helpers.pipeline --cohort data/cohort.csv --adverse-events data/adverse_events.csv --out build -p ratio 3``

1. **One snapshot per run.** Each input file is read once, copied with its
   SHA-256 into the staging folder (``<out>.partial/inputs/<role>/<name>``,
   listed in ``inputs/SHA256SUMS``; :func:`take_snapshot`), and the copy is
   validated (``helpers.data.load``), once: the typed tables are kept in
   ``inputs/validated.pickle`` with the copies' SHA-256, and the notebooks
   take them from there (``helpers.paths.validated_inputs``) instead of
   validating again. On any error the list of problems is
   printed, the staging folder is removed and nothing is written. Every
   notebook reads the snapshot (``helpers.paths.input_file``), so a file
   re-exported during the run cannot mix two versions in one build; notebook
   00 hashes the snapshot into ``results/input_summary.csv``.
2. Each ``notebooks/NN_*.py`` (jupytext percent format) is converted to a
   notebook and executed by papermill, with the parameters it declares, in a
   kernel of its own: a new process forked from one that has done the imports
   (:mod:`helpers.kernels`), started while the notebook before it runs
   (:class:`StartedKernel`); ``--kernels fresh`` starts a new interpreter
   for each, when its notebook begins. The executed notebook is written
   once, when it has finished or failed (:class:`_SaveOnceManager`).
   The parameters show the paths as the user gave them (``build_dir =
   "build"``); the notebooks write into the staging folder because the
   pipeline sets ``HCC_BUILD_AS``/``HCC_BUILD_INTO`` (``helpers.paths``),
   so no executed notebook names a machine path or the staging folder.
3. Only when every notebook has run does the staging folder replace
   ``<out>/``. A failed run leaves the previous build untouched, keeps the
   failed executed notebook (with its error) in ``<out>.partial/notebooks/``
   and prints one message: the notebook, the cell (its label or number and
   first line), the exception's type and message, and the kept notebook's
   path (:func:`failure_message`).

The data cut-off (``-p data_cutoff``) is applied by the notebooks
(``helpers.data.derive.censor_at_cutoff``): events after it are censored in every
count, table and comparison, and the analysis notes say how many there were.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from helpers.imports import skip_unused_optional_imports
from helpers.paths import (
    BUILD_AS_ENV,
    BUILD_INTO_ENV,
    INPUT_SNAPSHOT_ENV,
    ROOT,
    VALIDATED_INPUTS,
    build_dir,
    inputs_dir,
    notebook_sources,
)

skip_unused_optional_imports()  # before papermill imports nbformat (helpers.imports says why)


class _SaveOnceManager:
    """Papermill's execution manager, writing the executed notebook once, when it has finished or failed.

    Papermill writes the whole notebook at the start and end of every cell
    (about 270 writes of up to 4 MB per run); nothing reads it before the
    notebook is done, so the writes are kept for the end (``notebook_complete``,
    which papermill calls on success and on error alike).
    """

    _class = None

    @classmethod
    def get(cls):
        if cls._class is None:
            from papermill.engines import NotebookExecutionManager

            class SaveOnce(NotebookExecutionManager):
                _final = False

                def save(self, **kwargs):
                    if self._final:
                        super().save(**kwargs)

                def notebook_complete(self, **kwargs):
                    self._final = True
                    return super().notebook_complete(**kwargs)

            cls._class = SaveOnce
        return cls._class


def _engine_name() -> str:
    """Register (once) and name papermill's nbclient engine with :class:`_SaveOnceManager`."""
    from papermill.engines import NBClientEngine, papermill_engines

    name = "hcc-save-once"
    if name not in papermill_engines._engines:

        class SaveOnceEngine(NBClientEngine):
            @classmethod
            def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                                 autosave_cell_every=30, **kwargs):
                nb_man = _SaveOnceManager.get()(nb, output_path=output_path, progress_bar=progress_bar,
                                                log_output=log_output, autosave_cell_every=autosave_cell_every)
                nb_man.notebook_start()
                try:
                    cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
                finally:
                    nb_man.cleanup_pbar()
                    nb_man.notebook_complete()
                return nb_man.nb

        papermill_engines.register(name, SaveOnceEngine)
    return name


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


def take_snapshot(inputs: dict[str, str | os.PathLike], out: str | os.PathLike) -> dict[str, tuple[Path, str]]:
    """Copy each input file, read once, into ``<out>/inputs/<role>/<its name>``; return ``{role: (copy, sha256)}``.

    The bytes are read once, hashed and written, so the copy is exactly what
    was hashed even if the source is re-exported meanwhile. ``inputs/SHA256SUMS``
    lists the copies in ``sha256sum`` format. A missing source is left out
    (validation then reports it by its name).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "c.csv").write_text("a\\n1\\n")
    >>> copy, sha = take_snapshot({"cohort": d / "c.csv"}, d / "build")["cohort"]
    >>> copy.relative_to(d).as_posix(), sha[:12]  # sha256sum of the two lines "a", "1"
    ('build/inputs/cohort/c.csv', '309b0e45a73d')
    """
    folder = inputs_dir(out)
    taken: dict[str, tuple[Path, str]] = {}
    for role, source in inputs.items():
        source = Path(source)
        if not source.is_file():
            continue
        data = source.read_bytes()
        copy = folder / role / source.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(data)
        taken[role] = (copy, hashlib.sha256(data).hexdigest())
    if taken:
        (folder / "SHA256SUMS").write_text("".join(f"{sha}  {copy.relative_to(folder).as_posix()}\n"
                                                   for copy, sha in taken.values()), encoding="utf-8")
    return taken


@contextlib.contextmanager
def staging_environment(final: Path, staging: Path) -> Iterator[None]:
    """While inside: ``helpers.paths.build_dir`` maps ``final`` to ``staging`` and inputs come from the snapshot.

    The variables are set in this process's environment, which the notebook
    kernels inherit, and restored afterwards.
    """
    values = {BUILD_AS_ENV: str(final), BUILD_INTO_ENV: str(staging), INPUT_SNAPSHOT_ENV: "1"}
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _cell_label(source: str) -> str | None:
    m = re.search(r"^#\| *label: *(\S+)", source, re.M)
    return m.group(1) if m else None


def _first_code_line(source: str) -> str:
    lines = [ln.strip() for ln in source.splitlines() if ln.strip() and not ln.lstrip().startswith("#|")]
    return lines[0] if lines else ""


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it (as the user would type it), else absolute."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def failure_message(err: BaseException, stem: str, executed: Path) -> str:
    """What went wrong in a notebook, in one message.

    For a cell error (papermill's ``PapermillExecutionError``): the notebook,
    the cell (its label if it has one, its number among the notebook's cells,
    its first line of code), the exception's type and message, and where the
    failed notebook is kept. Any other error (the kernel died, a timeout)
    gives its type and message.
    """
    ename, evalue = getattr(err, "ename", None), getattr(err, "evalue", None)
    kept = f"The failed notebook, with the full traceback, is kept at {_shown(executed)}."
    if ename is None:
        return f"{stem} FAILED: {type(err).__name__}: {_ANSI.sub('', str(err)).strip()}\n{kept}"
    index, source = getattr(err, "cell_index", None), getattr(err, "source", "") or ""
    n_cells = None
    if executed.exists():
        import nbformat

        # papermill puts a marker cell on top of the kept notebook; its error's cell_index counts without it
        cells = [c for c in nbformat.read(executed, as_version=4).cells
                 if "papermill-error-cell-tag" not in c.get("metadata", {}).get("tags", [])]
        n_cells = len(cells)
        if not source and index is not None and 0 <= index < n_cells:
            source = cells[index].source
    label = _cell_label(source)
    where = f"cell {index + 1}" + (f" of {n_cells}" if n_cells else "") if index is not None else "a cell"
    count = getattr(err, "exec_count", None)
    where += f" (In [{count}])" if count is not None else ""
    where += f", label '{label}'" if label else ""
    first = _first_code_line(source)
    where += f", which starts `{first}`" if first else ""
    message = _ANSI.sub("", f"{ename}: {evalue}").strip()
    return f"{stem} FAILED in {where}:\n  {message}\n{kept}"


def _relabel(executed: Path, source: Path, shown_dir: str) -> None:
    """Record in the executed notebook's metadata the source and output as a reader knows them (no staging path)."""
    import nbformat

    if not executed.exists():
        return
    nb = nbformat.read(executed, as_version=4)
    meta = nb.metadata.get("papermill")
    if meta is None:
        return
    meta["input_path"] = source.relative_to(ROOT).as_posix() if source.is_relative_to(ROOT) else source.name
    meta["output_path"] = (Path(shown_dir) / executed.name).as_posix()
    nbformat.write(nb, executed)


def _kernel_config(sockets: str):
    """Configuration for the kernel: talk over Unix sockets in the folder ``sockets``.

    The default TCP transport picks free ports before the kernel binds them, so
    two runs started at the same moment (two builds, or the test suite's
    parallel workers) can race for a port and lose the kernel's heartbeat; IPC
    sockets in a private folder cannot collide.
    """
    from traitlets.config import Config

    return Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(sockets, "kernel")}})


class StartedKernel:
    """A notebook's kernel, forked and starting before its notebook runs (``--kernels fork``).

    The pipeline starts notebook *k + 1*'s kernel just before it runs notebook
    *k*, so that the kernel's start (about 0.45 s: ipykernel's set-up and the
    first handshake) happens on the other core while notebook *k* runs. It is
    the kernel a notebook would get anyway — a new process forked from the
    zygote, with the run's environment and working directory — only started
    earlier. :meth:`stop` asks it to shut down without waiting;
    :meth:`close` waits for that (at the end of the run).
    """

    def __init__(self) -> None:
        from jupyter_core.utils import run_sync

        from helpers.kernels import ForkingKernelManager

        self._stopped = False
        self.sockets = tempfile.mkdtemp(prefix="hcc-kernel-")
        self.km = ForkingKernelManager(kernel_name="python3", config=_kernel_config(self.sockets))
        # the arguments nbclient starts its kernels with (no history file)
        run_sync(self.km.start_kernel)(extra_arguments=["--HistoryManager.hist_file=:memory:"], cwd=str(ROOT))

    def stop(self) -> None:
        """Ask the kernel to shut down (it is done); do not wait."""
        from jupyter_core.utils import run_sync

        if self.km.has_kernel and not self._stopped:
            run_sync(self.km.request_shutdown)()
            self._stopped = True

    def close(self) -> None:
        """Wait for the kernel to end (killing it after a few seconds) and remove its sockets."""
        from jupyter_core.utils import run_sync

        try:
            if self.km.has_kernel:
                run_sync(self.km.finish_shutdown)(waittime=5)
                run_sync(self.km.cleanup_resources)()
        finally:
            shutil.rmtree(self.sockets, ignore_errors=True)


def execute_notebook(source: Path, out_dir: Path, parameters: dict[str, object], progress: str = "",
                     shown_dir: str | None = None, kernels: str = "fresh",
                     kernel: StartedKernel | None = None) -> Path:
    """Convert ``source`` to .ipynb and execute it with papermill; return the executed notebook.

    With ``progress`` (a prefix such as ``"[3/6] 02_matching:"``), the
    section headings are printed as the execution reaches them. With
    ``shown_dir`` (the notebooks folder as the user named the build, e.g.
    ``"build/notebooks"``), papermill's metadata records that folder and the
    source's path in the project instead of the staging paths. ``kernels``
    is ``"fork"`` (inside :func:`helpers.kernels.forked_kernels`) or
    ``"fresh"`` (a new interpreter, papermill's default); ``kernel``, a
    kernel already started for this notebook (:class:`StartedKernel`), is
    used instead of starting one, and left running for its owner to stop.
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
    sockets = tempfile.mkdtemp(prefix="hcc-kernel-")
    manager: dict[str, object] = {}
    if kernel is not None:
        manager["km"] = kernel.km
    elif kernels == "fork":
        from helpers.kernels import ForkingKernelManager

        manager["kernel_manager_class"] = ForkingKernelManager
    try:
        papermill.execute_notebook(str(unexecuted), str(executed), parameters=params, cwd=str(ROOT),
                                   kernel_name="python3", progress_bar=False, log_output=bool(printer),
                                   stdout_file=None, stderr_file=None, config=_kernel_config(sockets),
                                   engine_name=_engine_name(), **manager)
    finally:
        unexecuted.unlink(missing_ok=True)
        shutil.rmtree(sockets, ignore_errors=True)
        if shown_dir is not None:
            _relabel(executed, source, shown_dir)
        if printer:
            logger.removeHandler(printer)
            logger.level, logger.propagate = saved
    return executed


def run(cohort: str, adverse_events: str, out: str, overrides: dict[str, object], kernels: str | None = None) -> int:
    """Snapshot and validate the inputs, then execute every notebook; returns a process exit code.

    ``cohort``, ``adverse_events`` and ``out`` are passed to the notebooks as
    given (a relative ``out`` is relative to the project root); they read
    the snapshot and write into the staging folder (see the module docstring).
    ``kernels``: ``"fork"`` (each notebook's kernel forked from a process that
    has done the imports, started now so that its imports run while the inputs
    are validated; :mod:`helpers.kernels`) or ``"fresh"`` (a new interpreter
    each); default :func:`helpers.kernels.default_mode`.
    """
    from helpers.kernels import default_mode

    kernels = kernels or default_mode()
    with contextlib.ExitStack() as stack:
        if kernels == "fork":
            from helpers.kernels import LIBRARIES, forked_kernels, notebook_imports

            stack.enter_context(forked_kernels((*LIBRARIES, *notebook_imports(notebook_sources())), cwd=ROOT))
        return _run(cohort, adverse_events, out, overrides, kernels)


def _run(cohort: str, adverse_events: str, out: str, overrides: dict[str, object], kernels: str) -> int:
    from helpers.data.load import DataValidationError, load_study, save_validated

    final = build_dir(out)
    staging = final.with_name(final.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    print(f"[validate] {cohort} and {adverse_events}", flush=True)
    snapshot = take_snapshot({"cohort": cohort, "adverse_events": adverse_events}, staging)
    read = {role: snapshot[role][0] if role in snapshot else given
            for role, given in (("cohort", cohort), ("adverse_events", adverse_events))}
    try:
        study = load_study(read["cohort"], read["adverse_events"])
    except DataValidationError as err:
        shutil.rmtree(staging, ignore_errors=True)
        print(str(err), file=sys.stderr)
        print(f"Stopped before any notebook ran; nothing was written to {final}.", file=sys.stderr)
        return 1
    print(f"[validate] OK: {len(study.cohort)} patients, {len(study.adverse_events)} adverse events, "
          f"{len(study.warnings)} warnings", flush=True)
    # Validated once: the notebooks take these tables (paths.validated_inputs) for the snapshot's bytes.
    save_validated(study, (snapshot["cohort"][1], snapshot["adverse_events"][1]), inputs_dir(staging) / VALIDATED_INPUTS)
    del study
    from helpers.parameters import notebook_parameters

    unknown = sorted(set(overrides) - {p.name for p in notebook_parameters()})
    if unknown:
        print(f"[parameters] ignored: no notebook declares {', '.join(map(repr, unknown))} "
              "(the README's Parameters table lists those that exist)", file=sys.stderr, flush=True)
    for role, (copy, sha) in snapshot.items():
        print(f"[snapshot] {role}: {copy.name}, SHA-256 {sha}", flush=True)
    parameters = {"cohort_csv": str(cohort), "adverse_events_csv": str(adverse_events), "build_dir": str(out),
                  **overrides}
    shown_notebooks = (Path(str(out)) / "notebooks").as_posix()
    sources = notebook_sources()
    started: list[StartedKernel] = []  # fork: each notebook's kernel is started while the one before runs
    with staging_environment(final, staging):
        try:
            if kernels == "fork":
                started.append(StartedKernel())
            for i, source in enumerate(sources, start=1):
                t0 = time.time()
                print(f"[{i}/{len(sources)}] {source.stem} ...", flush=True)
                executed = staging / "notebooks" / f"{source.stem}.ipynb"
                kernel = started[i - 1] if started else None
                if started and i < len(sources):
                    started.append(StartedKernel())
                try:
                    execute_notebook(source, staging / "notebooks", parameters,
                                     progress=f"[{i}/{len(sources)}] {source.stem}:", shown_dir=shown_notebooks,
                                     kernels=kernels, kernel=kernel)
                except Exception as err:  # papermill raises PapermillExecutionError with the cell's error
                    print(f"[{i}/{len(sources)}] {failure_message(err, source.stem, executed)}", file=sys.stderr)
                    print(f"The previous build in {_shown(final)} is untouched.", file=sys.stderr)
                    return 1
                finally:
                    if kernel is not None:
                        kernel.stop()
                print(f"[{i}/{len(sources)}] {source.stem} done in {time.time() - t0:.1f} s", flush=True)
        finally:
            for kernel in started:
                kernel.stop()
                kernel.close()
    if (final / "report").is_dir():
        # The last good report stays until a render of the new build replaces it (helpers.render swaps
        # OUT/report only on success), so a failing `make report` never leaves the user without one.
        (final / "report").rename(staging / "report")
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
    parser.add_argument("--kernels", choices=("fork", "fresh"), default=None,
                        help="fork: each notebook's kernel forked from a process that has done the imports "
                             "(default on Linux); fresh: a new interpreter each (default elsewhere; "
                             "also HCC_KERNELS=fresh)")
    args = parser.parse_args(argv)
    overrides = {name: parse_parameter(name, value) for name, value in args.parameter}
    return run(args.cohort, args.adverse_events, args.out, overrides, kernels=args.kernels)


if __name__ == "__main__":
    sys.exit(main())
