"""Render with a real Quarto (``quarto render``) when one is on PATH.

Quarto never sees the checkout itself. :func:`staged_project` copies the
manuscript's sources and the executed notebooks into ``<out>/.quarto-project``
and Quarto renders that copy into its ``_report`` folder; only when the
render succeeded and wrote every requested output does that folder replace
``<out>/report`` (:func:`replace_report`). So

* a failed render leaves the previous ``<out>/report`` byte-identical, and
  the error says why and where Quarto's working copy is;
* Quarto's intermediates (``index.typ``, ``site_libs/``, ``.quarto/``,
  ``*.quarto_ipynb``, ``*_files/`` beside the notebooks) are written in
  ``<out>/.quarto-project`` only, never in the checkout nor in
  ``<out>/notebooks``; the copy has a ``.gitignore`` with what Quarto would
  add, and is removed after a successful render.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path

from .errors import RenderError

# What the manuscript needs from the checkout (relative to the project):
# the project file, the article, the bibliography and CSL (docs/), and the
# Lua filter _quarto.yml names. staged_project stages all of the checkout's
# top-level files and folders, so that files the article shows are found.
PROJECT_SOURCES = ("_quarto.yml", "index.qmd", "references.bib", "docs", "helpers/render/lua")
STAGE_NAME = ".quarto-project"
STAGE_OUTPUT = "_report"  # Quarto's --output-dir, inside the staged copy
# The entries Quarto adds to a project's .gitignore (quarto-cli
# src/project/project-gitignore.ts, kQuartoIgnore); the staged copy has them
# already, so Quarto writes no .gitignore of its own.
QUARTO_GITIGNORE = ("/.quarto/", "**/*.quarto_ipynb")
OUTPUT_NAMES = {"html": "index.html", "pdf": "index.pdf", "docx": "index.docx"}


def quarto_executable() -> str | None:
    """The ``quarto`` on PATH, or None."""
    return shutil.which("quarto")


def quarto_version(exe: str) -> str:
    """``quarto --version`` ("unknown" if it cannot be run)."""
    try:
        return subprocess.run([exe, "--version"], capture_output=True, text=True,
                              timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def staged_project(project_dir: Path, out_dir: Path) -> Path:
    """A fresh copy of the manuscript project in ``<out>/.quarto-project``.

    Parameters
    ----------
    project_dir : Path
        The checkout (holds ``_quarto.yml`` and ``index.qmd``).
    out_dir : Path
        The build folder of the run (``notebooks/*.ipynb`` executed by
        papermill).

    Returns
    -------
    Path
        The staged project: copies of the checkout's top-level files
        (``_quarto.yml``, ``index.qmd``, ``references.bib``, ...), links to its
        folders (``docs/``, ``helpers/``, and any folder of files the article
        shows), read only, and ``build/notebooks/`` with copies of
        ``<out>/notebooks/*.ipynb`` (the paths the article embeds), so that
        Quarto writes its notebook intermediates beside the copies, not in
        ``<out>/notebooks`` (Quarto refuses a linked ``build``). Hidden
        folders, ``build/``, ``_manuscript/`` and any folder holding ``out_dir``
        are left out.

    Raises
    ------
    RenderError
        A file of :data:`PROJECT_SOURCES` is missing from the checkout.
    """
    missing = [name for name in PROJECT_SOURCES[:2] if not (project_dir / name).exists()]
    if missing:
        raise RenderError(f"{project_dir} has no {', '.join(missing)}: not a manuscript project")
    stage = out_dir / STAGE_NAME
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    out_resolved = out_dir.resolve()
    for entry in sorted(project_dir.iterdir()):
        if entry.name.startswith(".") or entry.name in ("build", "_manuscript", "__pycache__"):
            continue
        if entry.is_dir():
            target = entry.resolve()
            if out_resolved == target or target in out_resolved.parents:
                continue
            (stage / entry.name).symlink_to(target, target_is_directory=True)
        elif entry.is_file():
            shutil.copy2(entry, stage / entry.name)
    (stage / ".gitignore").write_text("\n".join(QUARTO_GITIGNORE) + "\n", encoding="utf-8")
    notebooks = stage / "build" / "notebooks"
    notebooks.mkdir(parents=True)
    for nb in sorted((out_dir / "notebooks").glob("*.ipynb")):
        shutil.copy2(nb, notebooks / nb.name)
    return stage


def replace_report(new: Path, report: Path) -> None:
    """Move the folder ``new`` to ``report``, replacing what was there.

    The old report is first renamed beside it and only removed once the new
    one is in place (both renames stay within ``<out>``).
    """
    old = report.with_name(".report.old")
    shutil.rmtree(old, ignore_errors=True)
    if report.exists():
        report.rename(old)
    new.rename(report)
    shutil.rmtree(old, ignore_errors=True)


def _run(cmd: list[str], cwd: Path, env: dict[str, str], log: Callable[[str], None]) -> tuple[int, list[str]]:
    """Run ``cmd``, passing its output on line by line; return (exit code, last lines)."""
    tail: deque[str] = deque(maxlen=60)
    proc = subprocess.Popen(cmd, cwd=str(cwd), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace")
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\n")
        tail.append(line)
        log(line)
    return proc.wait(), list(tail)


def _why(tail: list[str]) -> str:
    """Quarto's error lines (ANSI colours removed), then its last lines.

    >>> print(_why(["[1/2] a.ipynb", "File figs/x.png not found in resource path",
    ...             "\x1b[33mWARN: Error encountered when rendering files\x1b[39m"]))
        File figs/x.png not found in resource path
        WARN: Error encountered when rendering files
        [1/2] a.ipynb
    """
    clean = [re.sub(r"\x1b\[[0-9;]*m", "", ln).rstrip() for ln in tail]
    clean = [ln for ln in clean if ln.strip() and "Kernel is running over TCP" not in ln]
    wanted = [ln for ln in clean if re.search(r"ERROR|Error|error:|not found|failed|does not exist", ln)]
    for ln in clean[-4:]:
        if ln not in wanted:
            wanted.append(ln)
    return "\n".join("    " + ln for ln in wanted[:16])


def render_quarto(project_dir: Path, out_dir: Path, *, formats: tuple[str, ...] | None = None,
                  log: Callable[[str], None] = print, exe: str | None = None) -> dict[str, Path]:
    """``quarto render`` of a staged copy of the manuscript into ``<out>/report``.

    Parameters
    ----------
    project_dir : Path
        The checkout; nothing in it is written.
    out_dir : Path
        The build folder (``notebooks/``, ``results/``); the report goes to
        ``<out>/report``.
    formats : tuple of str, optional
        Subset of ``html``, ``pdf``, ``docx`` (default: all three).
    log : callable
        Receives progress lines (Quarto's output included).
    exe : str, optional
        The quarto executable (default: the one on PATH).

    Returns
    -------
    dict
        Format name -> path of the output in ``<out>/report``.

    Raises
    ------
    RenderError
        Quarto failed or did not write a requested output; ``<out>/report``
        is then left as it was.

    Notes
    -----
    The article's python cells run in this interpreter's environment
    (``QUARTO_PYTHON``) and see ``HCC_BUILD_DIR=<out>``; the embedded
    notebooks are not re-executed (Quarto does not execute .ipynb inputs).
    """
    exe = exe or quarto_executable()
    if exe is None:
        raise RenderError("quarto is not on PATH")
    project_dir = project_dir.resolve()
    out_dir = out_dir.resolve()
    report = out_dir / "report"
    wanted = tuple(formats) if formats else tuple(OUTPUT_NAMES)
    unknown = sorted(set(wanted) - set(OUTPUT_NAMES))
    if unknown:
        raise RenderError(f"unknown output format(s) {unknown}; choose from {tuple(OUTPUT_NAMES)}")
    if not (out_dir / "notebooks").is_dir():
        raise RenderError(f"{out_dir / 'notebooks'} does not exist: run the analysis first "
                          f"(make analysis OUT={out_dir})")
    stage = staged_project(project_dir, out_dir)
    cmd = [exe, "render", str(stage), "--output-dir", STAGE_OUTPUT]
    if set(wanted) != set(OUTPUT_NAMES):
        # Quarto takes a comma-separated list; PDF comes from the typst format.
        cmd += ["--to", ",".join({"pdf": "typst"}.get(f, f) for f in wanted)]
    env = dict(os.environ)
    env.setdefault("QUARTO_PYTHON", sys.executable)
    env["HCC_BUILD_DIR"] = str(out_dir)
    env.setdefault("MPLBACKEND", "Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project_dir), env.get("PYTHONPATH", "")]))
    log(f"  rendering a copy of the sources in {stage} (build/notebooks: copies of "
        f"{out_dir / 'notebooks'})")
    log("  $ " + " ".join(cmd))
    code, tail = _run(cmd, stage, env, log)
    keep = f"the previous report in {report} is unchanged; Quarto's working copy is in {stage}"
    if code != 0:
        raise RenderError(f"quarto render failed with exit code {code}:\n{_why(tail)}\n  ({keep})")
    produced = stage / STAGE_OUTPUT
    missing = [OUTPUT_NAMES[f] for f in wanted if not (produced / OUTPUT_NAMES[f]).is_file()]
    if missing:
        raise RenderError(f"quarto render exited 0 but wrote no {', '.join(missing)} in {produced} "
                          f"({keep})")
    replace_report(produced, report)
    shutil.rmtree(stage, ignore_errors=True)
    return {f: report / OUTPUT_NAMES[f] for f in wanted}
