"""The parameters a build was made with, written next to its results.

Each notebook records the parameters it ran with (after papermill's
overrides) in ``results/parameters_<notebook>.csv``; the manuscript reads
them, so that "2:1 matching within 0.02 SD" or "censored at 30 September
2025" in the text is what the run did, not what the defaults were. Paths
(``build_dir``, input files) are not recorded: ``input_summary.csv`` names
the inputs by file name and checksum, and two runs into different folders
write the same bytes.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from helpers.paths import results_dir
from helpers.results import write_result


def write_parameters(notebook: str, build: str | os.PathLike | None = None, **params: object) -> Path:
    """Write ``params`` (JSON-encoded values) to ``results/parameters_<notebook>.csv``.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = write_parameters("02_matching", d, ratio=2, caliper_sd=0.02)
    >>> read_parameters(d)
    {'ratio': 2, 'caliper_sd': 0.02}
    """
    frame = pd.DataFrame({"notebook": notebook, "name": list(params),
                          "value": [json.dumps(v) for v in params.values()]}, columns=["notebook", "name", "value"])
    return write_result(frame, f"parameters_{notebook}", build)


def read_parameters(build: str | os.PathLike | None = None) -> dict[str, object]:
    """Every recorded parameter, by name (notebooks in order; a later notebook's value wins)."""
    out: dict[str, object] = {}
    for path in sorted(results_dir(build).glob("parameters_*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        out.update({n: json.loads(v) for n, v in zip(frame["name"], frame["value"])})
    return out
