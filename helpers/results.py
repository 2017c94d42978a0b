"""Writing and reading the machine-readable results (``build/results/*.csv``).

One function writes every results file, so that all of them share one
format: comma-separated, ``\\n`` line ends, no index, floats with 10
significant digits. Two runs on the same input write the same bytes.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from helpers.paths import results_dir

FLOAT_FORMAT = "%.10g"


def write_result(df: pd.DataFrame, name: str, build: str | os.PathLike | None = None) -> Path:
    """Write ``df`` to ``<build>/results/<name>.csv`` and return the path."""
    out = results_dir(build)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.csv"
    df.to_csv(path, index=False, lineterminator="\n", float_format=FLOAT_FORMAT)
    return path


def read_result(name: str, build: str | os.PathLike | None = None, **kwargs) -> pd.DataFrame:
    """Read ``<build>/results/<name>.csv`` (written by an earlier notebook)."""
    path = results_dir(build) / f"{name}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run the notebook that writes '{name}' first (make analysis)")
    return pd.read_csv(path, **kwargs)
