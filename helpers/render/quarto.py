"""Render with a real Quarto (``quarto render``) when one is on PATH."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

from .errors import RenderError


def quarto_executable() -> str | None:
    return shutil.which("quarto")


def quarto_version(exe: str) -> str:
    try:
        return subprocess.run([exe, "--version"], capture_output=True, text=True,
                              timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


PROJECT_SOURCES = ("_quarto.yml", "index.qmd", "references.bib", "docs")


def staged_project(project_dir: Path, out_dir: Path) -> Path:
    """A copy of the manuscript's sources in ``<out>/.quarto-project`` whose ``build`` links to ``out_dir``.

    The article embeds ``build/notebooks/NN.ipynb#label``; Quarto resolves
    those paths against the project, so a build elsewhere (``make report
    OUT=...``) is rendered from a copy that sees it as ``build/``.
    """
    stage = out_dir / ".quarto-project"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    for name in PROJECT_SOURCES:
        src = project_dir / name
        if src.is_dir():
            shutil.copytree(src, stage / name)
        elif src.exists():
            shutil.copy2(src, stage / name)
    (stage / "build").symlink_to(out_dir, target_is_directory=True)
    return stage


def render_quarto(project_dir: Path, out_dir: Path, *, formats: tuple[str, ...] | None = None,
                  log: Callable[[str], None] = print, exe: str | None = None) -> dict[str, Path]:
    """``quarto render`` of the manuscript project into ``<out>/report``.

    The article's python cells run in this interpreter's environment
    (``QUARTO_PYTHON``) and see ``HCC_BUILD_DIR=<out>``; embedded notebooks are
    not re-executed (Quarto does not execute .ipynb inputs by default).
    """
    exe = exe or quarto_executable()
    if exe is None:
        raise RenderError("quarto is not on PATH")
    project_dir = project_dir.resolve()
    out_dir = out_dir.resolve()
    report = out_dir / "report"
    cmd = [exe, "render", str(project_dir), "--output-dir", str(report)]
    if formats and set(formats) != {"html", "pdf", "docx"}:
        # Quarto takes a comma-separated list; PDF comes from the typst format.
        cmd += ["--to", ",".join({"pdf": "typst"}.get(f, f) for f in formats)]
    env = dict(os.environ)
    env.setdefault("QUARTO_PYTHON", sys.executable)
    env["HCC_BUILD_DIR"] = str(out_dir)
    env.setdefault("MPLBACKEND", "Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project_dir), env.get("PYTHONPATH", "")]))
    default_build = (project_dir / "build").resolve()
    if out_dir != default_build:
        # index.qmd embeds build/notebooks/...: render a copy of the sources whose build/ is --out.
        project_dir = staged_project(project_dir, out_dir)
        cmd[2] = str(project_dir)
        log(f"  note: --out {out_dir}: rendering a copy of the sources in {project_dir} (build/ -> --out)")
    log("  $ " + " ".join(cmd))
    proc = subprocess.run(cmd, cwd=str(project_dir), env=env)
    if proc.returncode != 0:
        raise RenderError(f"quarto render failed with exit code {proc.returncode}")
    outputs = {}
    for fmt, name in (("html", "index.html"), ("pdf", "index.pdf"), ("docx", "index.docx")):
        if (report / name).exists():
            outputs[fmt] = report / name
    return outputs
