"""Where things live. The one module that knows the project's layout.

The build directory can be moved with the environment variable
``HCC_BUILD_DIR`` (the Makefile's ``OUT=``) so that a run on other data never
overwrites the default build.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT: Path = Path(__file__).resolve().parent.parent
DATA_DIR: Path = ROOT / "data"
NOTEBOOKS_DIR: Path = ROOT / "notebooks"
DOCS_DIR: Path = ROOT / "docs"
README_MD: Path = ROOT / "README.md"

COHORT_CSV: Path = DATA_DIR / "cohort.csv"
ADVERSE_EVENTS_CSV: Path = DATA_DIR / "adverse_events.csv"
PUBLISHED_CSV: Path = DATA_DIR / "published.csv"


def build_dir(out: str | os.PathLike | None = None) -> Path:
    """The build directory: ``out`` if given, else ``$HCC_BUILD_DIR``, else ``build/``."""
    if out is None:
        out = os.environ.get("HCC_BUILD_DIR", ROOT / "build")
    path = Path(out)
    return path if path.is_absolute() else ROOT / path


def results_dir(out: str | os.PathLike | None = None) -> Path:
    """Machine-readable results: one CSV per table of numbers."""
    return build_dir(out) / "results"


def executed_notebooks_dir(out: str | os.PathLike | None = None) -> Path:
    """Executed notebooks (papermill output), embedded by the manuscript."""
    return build_dir(out) / "notebooks"


def figures_dir(out: str | os.PathLike | None = None) -> Path:
    """Figures saved by the notebooks (PNG for HTML, PDF/SVG for print)."""
    return build_dir(out) / "figures"


def report_dir(out: str | os.PathLike | None = None) -> Path:
    """The rendered manuscript: index.html, index.pdf, index.docx."""
    return build_dir(out) / "report"
