"""A column's values computed once per distinct value, then spread to every row.

A registry-sized cohort has 10^6 rows but a category, a site list or a
therapy code column holds a handful of distinct values; computing on those
and spreading the results by integer codes gives what a per-row
``Series.map`` gives, without a Python call per row.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd


class PerDistinct:
    """``PerDistinct(series)(func)`` is ``series.map(func)`` as a numpy array, ``func`` called once per distinct
    value.

    Missing cells (None, NaN, NA) all get ``func(nan)``. Distinct means: the same text, the same integer or
    boolean, the same float bits (``-0.0`` is not ``0.0``). An object column holding anything but text (``1``,
    ``1.0`` and ``True`` hash alike), or a column of another dtype (dates, categories), is mapped cell by cell.

    Examples
    --------
    >>> PerDistinct(pd.Series(["a;b", None, "a;b", "c"]))(lambda v: 0 if pd.isna(v) else len(v.split(";"))).tolist()
    [2, 0, 2, 1]
    >>> PerDistinct(pd.Series([0.0, -0.0, math.nan]))(str).tolist()
    ['0.0', '-0.0', 'nan']
    """

    def __init__(self, series: pd.Series):
        self.series = series
        self.codes: np.ndarray | None = None
        values = series.to_numpy()
        kind = values.dtype.kind if isinstance(series.dtype, np.dtype) else ""
        if kind == "f" and values.dtype.itemsize == 8:
            self.codes, bits = pd.factorize(values.view(np.int64))
            self.uniq = list(bits.view(np.float64))
        elif kind in ("i", "u", "b"):
            self.codes, uniq = pd.factorize(values)
            self.uniq = list(uniq)
        elif kind == "O":
            codes, uniq = pd.factorize(series.to_numpy(dtype=object, na_value=np.nan))
            if all(isinstance(u, str) for u in uniq):
                self.codes, self.uniq = codes, list(uniq)

    def __call__(self, func: Callable) -> np.ndarray:
        if self.codes is None:
            return np.asarray(self.series.map(func).to_numpy())
        return np.asarray([*map(func, self.uniq), func(math.nan)])[self.codes]
