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
#: Seconds the SVG of a figure may take in its child process before it is drawn here instead.
CHILD_TIMEOUT_S: float = 300.0


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
    the axes rasterized (:func:`_svg`). The two are drawn at the same time,
    the SVG in a forked child (:func:`_svg_in_child`; the notebooks run one
    after another, so a second core is otherwise idle): about 40% of a
    figure's time. Both are drawn from the figure as it was made.
    """
    import base64
    import io

    from IPython.display import display

    out = figures_dir(build)
    out.mkdir(parents=True, exist_ok=True)
    pending = _svg_in_child(fig)  # the SVG is drawn on the other core while this process draws the PNG
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=200, bbox_inches="tight")
    svg = _svg_from_child(pending) if pending is not None else None
    if svg is None:
        svg = _svg(fig)
    plt.close(fig)
    (out / f"{label}.png").write_bytes(png.getvalue())
    (out / f"{label}.svg").write_bytes(svg.getvalue())
    display({"image/png": base64.b64encode(png.getvalue()).decode("ascii"),
             "image/svg+xml": svg.getvalue().decode("utf-8"),
             "text/plain": f"<Figure {label}>"}, raw=True)


def _svg_in_child(fig: Figure) -> tuple[int, int] | None:
    """Start drawing the SVG of ``fig`` in a forked child; its (pid, read end of its pipe), or None.

    The child has the figure as it is now (a copy-on-write image of this
    process), so its SVG is the one :func:`_svg` would draw here before the
    PNG. It writes nothing but the SVG (standard output and error go to
    ``/dev/null``: the kernel's streams belong to this process) and ends
    with ``os._exit``, so none of this process's exit handlers or sockets is
    touched. Only on Linux (``os.fork`` is not safe on macOS's system
    libraries); elsewhere, or if the fork fails, None: the caller draws it.
    """
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        read_end, write_end = os.pipe()
        pid = os.fork()
    except OSError:
        return None
    if pid:
        os.close(write_end)
        return pid, read_end
    code = 1
    try:
        os.close(read_end)
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the child ends with os._exit
        import warnings

        warnings.simplefilter("ignore")
        data = _svg(fig).getvalue()
        view = memoryview(len(data).to_bytes(8, "big") + data)
        while view:
            view = view[os.write(write_end, view):]
        code = 0
    finally:
        os._exit(code)


def _svg_from_child(pending: tuple[int, int], timeout: float = CHILD_TIMEOUT_S):
    """The SVG (a ``BytesIO``) the child of :func:`_svg_in_child` drew, or None if it failed.

    A child that has not finished within ``timeout`` seconds is killed (and the caller draws the SVG).
    """
    import io
    import select
    import signal
    import time

    pid, read_end = pending
    chunks, deadline, complete = [], time.monotonic() + timeout, False
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            block = pipe.read(1 << 20)
            if not block:
                complete = True
                break
            chunks.append(block)
    if not complete:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    data = b"".join(chunks)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0 or len(data) < 8:
        return None
    size = int.from_bytes(data[:8], "big")
    if len(data) != 8 + size:
        return None
    return io.BytesIO(data[8:])


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
