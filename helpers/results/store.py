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

import csv
import hashlib
import io
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.paths import cache_dir, results_dir

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


#: Frames of at least this many rows are written by :func:`csv_text` (the same bytes as pandas, faster);
#: smaller ones by ``DataFrame.to_csv`` itself.
FAST_WRITE_MIN_ROWS = 1000
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def _quoted(value: str) -> str:
    """``value`` as the csv module writes it in a row of several fields (pandas' QUOTE_MINIMAL)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([value, ""])
    return buf.getvalue()[:-2]


def _column_text(values: np.ndarray) -> list[str] | None:
    """The cells of one column as ``to_csv(float_format=FLOAT_FORMAT)`` writes them, or None for a dtype not
    handled here (then the caller lets pandas write the frame).

    Each distinct value is formatted once (a column of 10^6 rows has few), then spread by its codes;
    floats are told apart by their bits, so ``-0.0`` stays ``-0``.
    """
    kind = values.dtype.kind
    if kind == "f" and values.dtype == np.float64:
        codes, uniq = pd.factorize(values.view(np.int64))
        uniq = uniq.view(np.float64)
        text = ["" if np.isnan(u) else FLOAT_FORMAT % u for u in uniq]
    elif kind in "iub":
        codes, uniq = pd.factorize(values)
        text = [str(u) for u in uniq]
    elif kind == "O":
        codes, uniq = pd.factorize(values)  # None, NaN and pd.NA are -1: written empty, pandas' na_rep
        if not all(isinstance(u, str) for u in uniq):
            return None
        text = [_quoted(u) if _NEEDS_QUOTES.search(u) else u for u in uniq]
    else:
        return None
    return np.array([*text, ""], dtype=object)[codes].tolist()


def csv_text(df: pd.DataFrame) -> str | None:
    """``df.to_csv(index=False, lineterminator="\\n", float_format=FLOAT_FORMAT)``, built column by column.

    pandas formats every float cell in Python, one at a time (about 6 s for the 10^6-patient analysis
    cohort); here each column's distinct values are formatted once. The text is the same, character for
    character (``tests/test_results.py`` compares both on every kind of cell handled). Returns None when
    ``df`` has a column of another dtype (datetime, category, nullable integer, objects other than text),
    fewer than two columns or duplicated column names: pandas then writes it.
    """
    if df.shape[1] < 2 or not df.columns.is_unique:
        return None
    columns = []
    for i in range(df.shape[1]):
        column = df.iloc[:, i]
        cells = _column_text(column.to_numpy()) if isinstance(column.dtype, np.dtype) else None
        if cells is None:
            return None
        columns.append(cells)
    header = df.head(0).to_csv(index=False, lineterminator="\n")
    return header + "\n".join(map(",".join, zip(*columns))) + ("\n" if len(df) else "")


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` to ``path`` in the one format of the results files (see the module docstring)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = csv_text(df) if len(df) >= FAST_WRITE_MIN_ROWS else None
    if text is None:
        df.to_csv(path, index=False, lineterminator="\n", float_format=FLOAT_FORMAT)
    else:
        path.write_bytes(text.encode("utf-8"))


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


#: Results files of at least this many bytes are kept, once parsed, in :func:`helpers.paths.cache_dir`.
CACHE_MIN_BYTES = 4 << 20


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of the file's bytes (hex), read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()


def read_result(name: str, build: str | os.PathLike | None = None, **kwargs) -> pd.DataFrame:
    """Read ``<build>/results/<name>.csv`` (written by an earlier notebook): ``pandas.read_csv(path, **kwargs)``.

    The CSV is the results file of record. A large one (at least ``CACHE_MIN_BYTES``: the patient-level
    cohorts of a registry-sized run, which several notebooks read) is parsed once per set of ``kwargs``:
    the frame is kept in ``<build>/cache/`` with the SHA-256 of the CSV's bytes, and a later read with the
    same ``kwargs`` returns the kept frame only while the CSV has those bytes (else it parses the CSV
    again and replaces the kept frame).
    """
    path = results_dir(build) / f"{name}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run the notebook that writes '{name}' first (make analysis)")
    if path.stat().st_size < CACHE_MIN_BYTES:
        return pd.read_csv(path, **kwargs)
    how = repr(sorted(kwargs.items()))
    kept = cache_dir(build) / f"{name}-{hashlib.sha256(how.encode()).hexdigest()[:16]}.pickle"
    sha256 = file_sha256(path)
    if kept.is_file():
        with open(kept, "rb") as f:
            entry = pickle.load(f)
        if entry["sha256"] == sha256 and entry["read_csv"] == how:
            return _decoded(entry["frame"], entry["text_columns"])
    frame = pd.read_csv(path, **kwargs)
    kept.parent.mkdir(parents=True, exist_ok=True)
    partial = kept.with_name(kept.name + ".partial")
    encoded, text_columns = _encoded(frame)
    with open(partial, "wb") as f:
        pickle.dump({"sha256": sha256, "read_csv": how, "frame": encoded, "text_columns": text_columns}, f,
                    protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(kept)
    return frame


def _encoded(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """``frame`` with each text column of few distinct values (text and NaN only) as integer codes, and the
    distinct texts of each: pickled, a column of 10^6 cells is then 10^6 integers, not 10^6 strings."""
    out, texts = frame.copy(deep=False), {}
    for name in (frame.columns if frame.columns.is_unique else []):
        values = frame[name].to_numpy()
        if values.dtype != object:
            continue
        codes, uniq = pd.factorize(values)
        # Only text, with NaN (a float) where missing, as read_csv gives: rebuilt exactly from the codes.
        if (len(uniq) <= len(values) // 2 and all(isinstance(u, str) for u in uniq)
                and all(isinstance(m, float) for m in values[codes < 0])):
            out[name], texts[name] = codes.astype(np.int32), np.asarray([*uniq, np.nan], dtype=object)
    return out, texts


def _decoded(frame: pd.DataFrame, texts: dict[str, np.ndarray]) -> pd.DataFrame:
    """The frame :func:`_encoded` was given: each coded column's texts (NaN for code -1) back in place."""
    for name, values in texts.items():
        frame[name] = values[frame[name].to_numpy()]
    return frame


def result_exists(name: str, build: str | os.PathLike | None = None) -> bool:
    """Whether ``<build>/results/<name>.csv`` has been written."""
    return (results_dir(build) / f"{name}.csv").exists()


def read_index(build: str | os.PathLike | None = None) -> pd.DataFrame:
    """``results/index.csv``: every results file with the notebook and cell that wrote it."""
    return read_result(INDEX_NAME, build, dtype=str, keep_default_na=False)
