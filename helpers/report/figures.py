"""Figures in the notebooks: one look, saved under one name, shown once.

``setup_figures()`` makes every inline figure come out as PNG (for the HTML
page) and SVG (vector, for the PDF). ``show_figure(fig, label)`` saves the
figure as ``<build>/figures/<label>.png`` and ``.svg`` — the same name as the
cell label that the manuscript cross-references — and displays it once.
"""
from __future__ import annotations

import os

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from helpers.paths import figures_dir


def setup_figures() -> None:
    """Inline figures as PNG + SVG at 150 dpi, with deterministic SVG ids."""
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    matplotlib.rcParams.update({"figure.dpi": 150, "savefig.dpi": 150, "svg.hashsalt": "hcc-report",
                                "svg.fonttype": "path", "font.size": 9})
    set_matplotlib_formats("png", "svg", bbox_inches="tight")


def show_figure(fig: Figure, label: str, build: str | os.PathLike | None = None) -> None:
    """Save ``fig`` as ``<label>.png`` (200 dpi) and ``<label>.svg``, close it, and display it once.

    Each format is drawn once: the bytes written to the files are the ones
    the notebook displays (PNG for HTML pages, SVG for the PDF).
    """
    import base64
    import io

    from IPython.display import display

    out = figures_dir(build)
    out.mkdir(parents=True, exist_ok=True)
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=200, bbox_inches="tight")
    fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    (out / f"{label}.png").write_bytes(png.getvalue())
    (out / f"{label}.svg").write_bytes(svg.getvalue())
    display({"image/png": base64.b64encode(png.getvalue()).decode("ascii"),
             "image/svg+xml": svg.getvalue().decode("utf-8"),
             "text/plain": f"<Figure {label}>"}, raw=True)
