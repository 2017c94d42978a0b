"""Render the manuscript (index.qmd) to HTML, PDF and Word.

Usage::

    python -m helpers.render --out build            # what `make report` runs
    python -m helpers.render --out build --engine pip --to html,pdf

or from Python::

    from helpers.render import render
    result = render(project_dir=".", out="build")      # -> RenderResult

Two renderers, one set of sources (``_quarto.yml``, ``index.qmd``,
``references.bib``, ``docs/vancouver-superscript.csl``):

* **quarto** — if ``quarto`` is on PATH (``--engine auto``, the default) a
  staged copy of the project (``<out>/.quarto-project``, see :mod:`.quarto`)
  is rendered with ``quarto render``; its output replaces ``<out>/report``
  only when the render succeeded. Quarto's inputs are ``index.qmd`` and the
  executed ``build/notebooks/*.ipynb`` (``project: render:``); the "Source"
  lines and DOCX PNG images come from ``helpers/render/lua/source-notes.lua``.
* **pip-only** — otherwise Pandoc 3 (``pypandoc-binary``) and Typst (``typst``
  package) render ``<out>/report/index.html`` (standalone, resources embedded,
  nothing loaded from the network), ``index.pdf`` and ``index.docx``, plus
  ``<out>/report/notebooks/<name>.html`` for every embedded notebook (each
  labelled cell is an anchor, e.g. ``notebooks/03_survival.html#fig-km``).

Article conventions understood by both (see :mod:`.qmd` and :mod:`.floats`):

* hidden setup cells (```` ```{python} ```` with ``#| include: false``) read
  ``build/results/*.csv`` (``HCC_BUILD_DIR`` is set to ``--out``); inline
  `` `{python} expr` `` puts computed values in the text. Nothing re-runs the
  notebooks.
* ``{{< embed build/notebooks/03_survival.ipynb#fig-km >}}`` embeds a cell's
  output; the cell's ``#| label: fig-…``/``tbl-…`` and ``#| fig-cap:``/
  ``#| tbl-cap:`` make it Figure/Table N. Tables are HTML outputs
  (:mod:`helpers.report.display`) and stay real tables with two-level headers.
* supplementary items use the custom kinds of ``_quarto.yml``
  (``suppfig``/``supptbl``) on a fenced div around the embed.
* ``@fig-km``/``[@tbl-baseline]`` → "Figure 1"/"Table 1" links;
  ``[@bray2024]`` → numbered citation (``references.bib``).

Everything that cannot be resolved — a ``@fig-`` label without a float, a
citation key not in the bibliography, a missing notebook or cell, a failing
code cell — stops the render with a :class:`RenderError` naming it
(``python -m helpers.render`` exits 1); "??" never reaches the output.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from helpers.imports import skip_unused_optional_imports

skip_unused_optional_imports()  # before nbformat is imported (helpers.imports says why)

from .errors import RenderError  # noqa: E402
from .pipeline import FORMATS, PipRenderer, RenderResult  # noqa: E402
from .quarto import quarto_executable, quarto_version, render_quarto  # noqa: E402

__all__ = ["render", "RenderError", "RenderResult", "FORMATS", "choose_engine"]

ROOT = Path(__file__).resolve().parents[2]


def choose_engine(engine: str = "auto") -> str:
    """'quarto' or 'pip' ('auto': quarto if on PATH)."""
    if engine not in ("auto", "quarto", "pip"):
        raise RenderError(f"unknown engine {engine!r} (auto, quarto, pip)")
    if engine == "auto":
        return "quarto" if quarto_executable() else "pip"
    if engine == "quarto" and not quarto_executable():
        raise RenderError("--engine quarto, but quarto is not on PATH")
    return engine


def render(project_dir: str | os.PathLike = ROOT, out: str | os.PathLike | None = None, *,
           engine: str = "auto", formats: Iterable[str] = FORMATS,
           log: Callable[[str], None] = print) -> RenderResult:
    """Render the manuscript of ``project_dir`` into ``<out>/report``.

    ``out`` defaults to ``<project_dir>/build``; a relative ``out`` is taken
    relative to ``project_dir``. Raises :class:`RenderError` on any problem.
    """
    project = Path(project_dir).resolve()
    out_dir = Path(out) if out is not None else project / "build"
    if not out_dir.is_absolute():
        out_dir = project / out_dir
    formats = tuple(formats)
    chosen = choose_engine(engine)
    if chosen == "quarto":
        exe = quarto_executable()
        log(f"helpers.render: renderer = quarto ({exe}, version {quarto_version(exe)}): quarto render")
        outputs = render_quarto(project, out_dir, formats=formats, log=log, exe=exe)
        return RenderResult(renderer="quarto", outputs=outputs)
    import typst  # noqa: PLC0415

    from .pandoc_ast import pandoc_version  # noqa: PLC0415

    why = "requested" if engine == "pip" else "quarto not found on PATH"
    log(f"helpers.render: renderer = pip-only (pandoc {pandoc_version()} + typst "
        f"{typst.__version__}; {why})")
    return PipRenderer(project, out_dir, formats, log=log).render()
