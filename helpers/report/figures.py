"""Figures in the notebooks: one look, saved under one name, shown once.

``setup_figures()`` makes every inline figure come out as PNG (for the HTML
page) and SVG (vector, for the PDF). ``show_figure(fig, label)`` saves the
figure as ``<build>/figures/<label>.png`` and ``.svg`` — the same name as the
cell label that the manuscript cross-references — and displays it once.
A figure whose SVG would exceed :data:`SVG_MAX_BYTES` (a scatter of many
thousands of points) has its plotted marks embedded as a PNG image inside the
SVG, axes and text still vector, so no figure grows with the cohort.
"""
from __future__ import annotations

import os

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from helpers.paths import figures_dir

#: Largest vector SVG written; above it the marks inside the axes are rasterized (200 dpi).
SVG_MAX_BYTES: int = 2_000_000


def setup_figures() -> None:
    """Inline figures as PNG + SVG at 150 dpi, with deterministic SVG ids."""
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    matplotlib.rcParams.update({"figure.dpi": 150, "savefig.dpi": 150, "svg.hashsalt": "hcc-report",
                                "svg.fonttype": "path", "font.size": 9})
    set_matplotlib_formats("png", "svg", bbox_inches="tight")


def show_figure(fig: Figure, label: str, build: str | os.PathLike | None = None) -> None:
    """Save ``fig`` as ``<label>.png`` (200 dpi) and ``<label>.svg``, close it, and display it once.

    Each format is drawn once: the bytes written to the files are the ones
    the notebook displays (PNG for HTML pages, SVG for the PDF). An SVG
    larger than :data:`SVG_MAX_BYTES` is drawn again with the marks inside
    the axes rasterized (:func:`_svg`).
    """
    import base64
    import io

    from IPython.display import display

    out = figures_dir(build)
    out.mkdir(parents=True, exist_ok=True)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=200, bbox_inches="tight")
    svg = _svg(fig)
    plt.close(fig)
    (out / f"{label}.png").write_bytes(png.getvalue())
    (out / f"{label}.svg").write_bytes(svg.getvalue())
    display({"image/png": base64.b64encode(png.getvalue()).decode("ascii"),
             "image/svg+xml": svg.getvalue().decode("utf-8"),
             "text/plain": f"<Figure {label}>"}, raw=True)


def _svg(fig: Figure, max_bytes: int | None = None):
    """The SVG of ``fig`` (a ``BytesIO``): vector, or, above ``max_bytes``, with its marks rasterized.

    The marks are every line, collection, patch and image inside an axes;
    the axes, ticks, labels and legends stay vector. A figure that is large
    as a vector (one mark per patient at registry scale) is then about the
    size of its PNG.
    """
    import io

    max_bytes = SVG_MAX_BYTES if max_bytes is None else max_bytes
    svg = io.BytesIO()
    fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
    if svg.tell() <= max_bytes:
        return svg
    for ax in fig.axes:
        for artist in (*ax.lines, *ax.collections, *ax.patches, *ax.images):
            artist.set_rasterized(True)
    svg = io.BytesIO()
    fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None}, dpi=200)
    return svg
