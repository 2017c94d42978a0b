"""Writing and reading the results files (``build/results/*.csv``), and where each came from.

One function writes every results file, so that all of them share one
format: comma-separated, ``\\n`` line ends, no index, floats with 10
significant digits. Two runs on the same input write the same bytes.

Provenance. A notebook opens its run with :func:`start` (its own name and
the build folder); from then on every file it writes is entered in
``results/index.csv`` with the notebook and the label of the cell that wrote
it (the ``#| label:`` line of the executing cell, read from IPython's input
history). A cell that writes results without a label is an error: every
number must be traceable to a cell a reader can find.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers.paths import results_dir

FLOAT_FORMAT = "%.10g"

#: The file listing every results file with the notebook and cell that wrote it.
INDEX_NAME = "index"
INDEX_COLUMNS = ["file", "notebook", "cell", "rows"]

_LABEL_RE = re.compile(r"^#\|\s*label:\s*['\"]?([\w.:-]+)", re.M)


@dataclass(frozen=True)
class Origin:
    """The notebook and cell that compute a result."""

    notebook: str
    cell: str


_RUN: dict[str, object] = {}


def start(notebook: str, build: str | os.PathLike | None = None) -> None:
    """Declare which notebook is running (call once, at the top of each notebook).

    Results written afterwards in this process name ``notebook`` and the
    executing cell's label as their origin.
    """
    _RUN.clear()
    _RUN.update(notebook=notebook, build=build)


def running_notebook() -> str | None:
    """The notebook declared by :func:`start`, or None outside a notebook run."""
    return _RUN.get("notebook")  # type: ignore[return-value]


def executing_cell_label() -> str | None:
    """The ``#| label:`` of the cell IPython is executing now (None outside IPython or without a label)."""
    try:
        from IPython import get_ipython  # noqa: PLC0415
    except ImportError:  # pragma: no cover - IPython is a dependency of the kernels
        return None
    shell = get_ipython()
    if shell is None:
        return None
    history = shell.user_ns.get("In") or [""]
    m = _LABEL_RE.search(history[-1] or "")
    return m.group(1) if m else None


def origin(cell: str | None = None, notebook: str | None = None) -> Origin | None:
    """Where a result being written now comes from: ``notebook`` (default: the running notebook) and ``cell``
    (default: the executing cell's label). None outside a notebook run; an error inside one when the cell has no
    label."""
    notebook = notebook or running_notebook()
    if notebook is None:
        return None if cell is None else Origin("", cell)
    cell = cell or executing_cell_label()
    if not cell:
        raise RuntimeError(f"notebook {notebook}: a cell that writes results needs a '#| label:' line, so that "
                           "its numbers can be traced to it; add one to the cell")
    return Origin(notebook, cell)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n", float_format=FLOAT_FORMAT)


def _record_in_index(name: str, out: Path, where: Origin | None, rows: int) -> None:
    if where is None or not where.notebook:
        return
    path = out / f"{INDEX_NAME}.csv"
    index = pd.read_csv(path, dtype=str, keep_default_na=False) if path.exists() else pd.DataFrame(
        columns=INDEX_COLUMNS)
    index = index[index["file"] != f"{name}.csv"]
    entry = pd.DataFrame([{"file": f"{name}.csv", "notebook": where.notebook, "cell": where.cell, "rows": rows}])
    write_csv(pd.concat([index, entry], ignore_index=True)[INDEX_COLUMNS], path)


def write_table(df: pd.DataFrame, name: str, build: str | os.PathLike | None = None,
                cell: str | None = None) -> Path:
    """Write ``df`` to ``<build>/results/<name>.csv`` and return the path.

    Inside a notebook run (:func:`start`) the file is entered in
    ``results/index.csv`` with the notebook and ``cell`` (default: the
    executing cell's label).
    """
    out = results_dir(build)
    path = out / f"{name}.csv"
    where = origin(cell)
    write_csv(df, path)
    _record_in_index(name, out, where, len(df))
    return path


def read_result(name: str, build: str | os.PathLike | None = None, **kwargs) -> pd.DataFrame:
    """Read ``<build>/results/<name>.csv`` (written by an earlier notebook)."""
    path = results_dir(build) / f"{name}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run the notebook that writes '{name}' first (make analysis)")
    return pd.read_csv(path, **kwargs)


def result_exists(name: str, build: str | os.PathLike | None = None) -> bool:
    """Whether ``<build>/results/<name>.csv`` has been written."""
    return (results_dir(build) / f"{name}.csv").exists()


def read_index(build: str | os.PathLike | None = None) -> pd.DataFrame:
    """``results/index.csv``: every results file with the notebook and cell that wrote it."""
    return read_result(INDEX_NAME, build, dtype=str, keep_default_na=False)
