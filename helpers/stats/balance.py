"""Table 1: baseline balance between the arms, before and after matching.

Three things are computed per categorical variable of ``TABLE1_VARIABLES``:

- counts and percentages per arm and level;
- a p-value, chosen by the rule that reproduces all 22 p-values of the
  paper's Table 1 from its counts (see :func:`table1_p_value`);
- the absolute standardized mean difference (SMD) of the variable (see
  :func:`smd_categorical`), which reproduces all 11 published after-matching
  SMDs.

:func:`balance_table` gives the machine-readable ``balance.csv``;
:mod:`helpers.report.table1` lays it out as the paper prints it.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import gammaln

from helpers.data.derive import TABLE1_VARIABLES, Table1Variable
from helpers.data.distinct import PerDistinct
from helpers.data.schema import CONTROL_ARM, TREATED_ARM

#: Test names returned by :func:`table1_p_value` (and stored in ``balance.csv``).
PEARSON = "Pearson chi-squared"
YATES = "Yates-corrected chi-squared"
FISHER = "Fisher's exact"
NOT_TESTABLE_EMPTY_ARM = "not testable: an arm has no observations"
NOT_TESTABLE_ONE_LEVEL = "not testable: only one level observed"

#: Label of the extra level row for patients whose value is missing.
MISSING_LEVEL = "Missing"

# R's fisher.test counts tables whose probability is within this relative
# tolerance of the observed one as "as extreme" (relErr in its source).
_FISHER_REL_TOL = 1e-7
# Above this many partial tables (~16 bytes each) the exact 2 x k enumeration
# is not attempted.
_FISHER_MAX_TABLES = 5_000_000


def arm_slug(arm: str) -> str:
    """The column-name form of an arm: lower case, runs of non-alphanumerics as ``_``.

    Examples
    --------
    >>> arm_slug("SBRT"), arm_slug("SBRT+TACE")
    ('sbrt', 'sbrt_tace')
    """
    return re.sub(r"[^0-9a-z]+", "_", arm.lower()).strip("_")


# --------------------------------------------------------------------------
# p-values
# --------------------------------------------------------------------------

def _fisher_enumeration_size(table: np.ndarray) -> int:
    """The largest number of partial first rows :func:`_fisher_exact_2xk` holds at once.

    Counted by dynamic programming over the partial sums (cheap), so the
    enumeration is only attempted when it fits in memory.
    """
    col_totals = table.sum(axis=0).astype(int)
    r1 = int(table[0].sum())
    ways = np.zeros(r1 + 1)
    ways[0] = 1.0
    remaining = int(col_totals.sum())
    largest = 1.0
    for c in col_totals:
        remaining -= c
        # ways[s] = number of partial rows summing to s (convolution with 1..1)
        ways = np.convolve(ways, np.ones(c + 1))[: r1 + 1]
        feasible = np.arange(r1 + 1) + remaining >= r1
        largest = max(largest, float(ways[feasible].sum()))
    return int(min(largest, 2**62))


def _fisher_exact_2xk(table: np.ndarray) -> float:
    r"""Two-sided Fisher exact p of a 2 x k table, as R's ``fisher.test``.

    With the margins fixed, the first row :math:`x` has probability
    :math:`\prod_j \binom{c_j}{x_j} / \binom{n}{r_1}`; the p-value sums the
    probabilities of all first rows no more probable than the observed one.
    """
    col_totals = table.sum(axis=0)
    r1 = int(table[0].sum())
    n = int(col_totals.sum())

    def log_choose(a, b):
        return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)

    log_p_obs = float(np.sum(log_choose(col_totals, table[0])))
    # Enumerate partial first rows column by column, pruning sums that cannot
    # reach r1 exactly.
    sums = np.zeros(1, dtype=np.int64)
    log_p = np.zeros(1)
    remaining = int(col_totals.sum())
    for c in col_totals.astype(int):
        remaining -= c
        x = np.arange(c + 1)
        new_sums = (sums[:, None] + x[None, :]).ravel()
        new_log_p = (log_p[:, None] + log_choose(c, x)[None, :]).ravel()
        keep = (new_sums <= r1) & (new_sums + remaining >= r1)
        sums, log_p = new_sums[keep], new_log_p[keep]
    log_total = log_choose(n, r1)
    probs = np.exp(log_p - log_total)
    p_obs = math.exp(log_p_obs - log_total)
    return float(min(1.0, probs[probs <= p_obs * (1 + _FISHER_REL_TOL)].sum()))


def table1_p_value(counts) -> tuple[float, str]:
    r"""p-value of a 2 x k table of counts, by the rule that reproduces the paper's Table 1.

    With :math:`n` the table total and :math:`E_{ij} = r_i c_j / n` the
    expected counts under independence:

    - Fisher's exact test when :math:`n < 40` or some :math:`E_{ij} < 1`;
    - otherwise Pearson's :math:`\chi^2 = \sum (O - E)^2 / E` *without*
      continuity correction when every :math:`E_{ij} \ge 5`;
    - otherwise (:math:`n \ge 40`, smallest :math:`E` in :math:`[1, 5)`) the
      Yates-corrected :math:`\chi^2 = \sum (\max(0, |O - E| - 0.5))^2 / E`
      (as R's ``chisq.test(correct = TRUE)``: the 0.5 is capped at
      :math:`|O - E|`).

    This is the textbook rule for 2 x 2 tables, and it gives every one of the
    22 published Table 1 p-values to the 3 decimals printed; no single test
    does (e.g. Child-Pugh before matching: Pearson 0.677, Yates 0.972 as
    published, Fisher 1.000).

    For k > 2 levels there is no continuity correction (R applies it to
    2 x 2 tables only), so the Yates branch becomes Fisher's exact test,
    computed exactly by enumeration like R's ``fisher.test`` (SciPy's r x c
    version is a permutation approximation).

    Degenerate tables do not raise: levels with no patient in either arm
    are dropped first (they carry no information); if an arm has no patient
    the p-value is NaN with test ``NOT_TESTABLE_EMPTY_ARM``; if only one level
    is left it is NaN with ``NOT_TESTABLE_ONE_LEVEL`` (R's ``chisq.test``
    also gives NaN, ``fisher.test`` an error).

    Parameters
    ----------
    counts : array-like of non-negative integers, shape (2, k)
        Rows are the two arms, columns the levels of the variable.

    Returns
    -------
    p : float
        Two-sided p-value (NaN when not testable).
    test : str
        ``PEARSON``, ``YATES``, ``FISHER`` or a "not testable: ..." reason.

    Raises
    ------
    ValueError
        If the table is not 2 x k with k >= 1, or has negative or
        non-integer entries.

    Examples
    --------
    Child-Pugh A/B before matching, SBRT 102/7 vs SBRT+TACE 41/2
    (smallest expected count 2.55, n = 152):

    >>> p, test = table1_p_value([[102, 7], [41, 2]])
    >>> round(p, 3), test
    (0.972, 'Yates-corrected chi-squared')

    BED < 100 / >= 100 Gy before matching, every expected count >= 5:

    >>> p, test = table1_p_value([[36, 73], [6, 37]])
    >>> round(p, 3), test
    (0.018, 'Pearson chi-squared')
    """
    table = np.asarray(counts, dtype=float)
    if table.ndim != 2 or table.shape[0] != 2 or table.shape[1] < 1:
        raise ValueError(f"expected a 2 x k table of counts, got shape {table.shape}")
    if np.any(table < 0) or np.any(table != np.round(table)):
        raise ValueError("counts must be non-negative integers")
    table = table[:, table.sum(axis=0) > 0]
    if np.any(table.sum(axis=1) == 0):
        return math.nan, NOT_TESTABLE_EMPTY_ARM
    if table.shape[1] < 2:
        return math.nan, NOT_TESTABLE_ONE_LEVEL

    n = table.sum()
    expected = stats.contingency.expected_freq(table)
    smallest = expected.min()
    if n < 40 or smallest < 1 or (smallest < 5 and table.shape[1] > 2):
        if table.shape[1] == 2:
            return float(stats.fisher_exact(table.astype(int)).pvalue), FISHER
        if _fisher_enumeration_size(table.astype(int)) > _FISHER_MAX_TABLES:
            # Too many tables to enumerate: Monte Carlo over random_table, seeded.
            res = stats.fisher_exact(table.astype(int),
                                     method=stats.MonteCarloMethod(n_resamples=99_999, rng=1))
            return float(res.pvalue), FISHER + " (Monte Carlo, 99,999 tables)"
        return _fisher_exact_2xk(table.astype(int)), FISHER
    if smallest >= 5:
        return float(stats.chi2_contingency(table, correction=False).pvalue), PEARSON
    return float(stats.chi2_contingency(table, correction=True).pvalue), YATES


# --------------------------------------------------------------------------
# Standardized mean differences
# --------------------------------------------------------------------------

def smd_binary(p_treated: float, p_control: float) -> float:
    r"""Absolute standardized mean difference of a binary variable.

    .. math::

        \mathrm{SMD} = \frac{|p_1 - p_0|}{\sqrt{\big(p_1(1 - p_1) + p_0(1 - p_0)\big) / 2}}

    with :math:`p_1, p_0` the proportions in the treated and control arms and
    the denominator the square root of the mean of the two (population,
    i.e. divided-by-n) variances. This is the formula that reproduces the
    paper's after-matching SMDs (``tableone``'s and Austin 2009's).

    When both variances are 0 the SMD is 0 if the proportions are equal and
    infinite otherwise (every patient of one arm has the level, none of the
    other).

    Examples
    --------
    Child-Pugh B after matching: 1/36 (SBRT+TACE) vs 1/68 (SBRT), published 0.091:

    >>> round(smd_binary(1 / 36, 1 / 68), 3)
    0.091
    >>> smd_binary(0.5, 0.5)
    0.0
    """
    p1, p0 = float(p_treated), float(p_control)
    for p in (p1, p0):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"a proportion must be in [0, 1], got {p}")
    diff = abs(p1 - p0)
    var = (p1 * (1 - p1) + p0 * (1 - p0)) / 2
    if var == 0:
        return 0.0 if diff == 0 else math.inf
    return diff / math.sqrt(var)


def smd_categorical(counts_treated, counts_control) -> float:
    r"""Absolute SMD of a k-level categorical variable (Yang & Dalton 2012).

    With :math:`T, C` the vectors of the proportions of levels 2..k (the first,
    reference level is left out) in the treated and control arms,

    .. math::

        \mathrm{SMD} = \sqrt{(T - C)^\top S^{-1} (T - C)}, \qquad
        S_{ll} = \frac{T_l(1 - T_l) + C_l(1 - C_l)}{2}, \quad
        S_{lm} = -\frac{T_l T_m + C_l C_m}{2} \ (l \ne m).

    For k = 2 this is exactly :func:`smd_binary` of the second level, so one
    formula serves every variable; for k > 2 it is a Mahalanobis distance
    and does not depend on which level is the reference. We chose it over
    "the largest per-level SMD" because it is one number per variable that
    summarises all levels jointly (it is what R's ``tableone`` reports).

    Levels with no patient in either arm are dropped (they would make
    :math:`S` singular). If :math:`S` is still singular (each arm entirely
    in one level) the SMD is 0 when the distributions are equal and
    infinite otherwise. Arms without patients give NaN.

    Parameters
    ----------
    counts_treated, counts_control : array-like of int, length k
        Counts per level, in the same level order.

    Examples
    --------
    Two levels, same as ``smd_binary(1/36, 1/68)`` (Child-Pugh, published 0.091):

    >>> round(smd_categorical([35, 1], [67, 1]), 3)
    0.091

    Three levels, proportions (0.5, 0.3, 0.2) vs (0.4, 0.4, 0.2):
    :math:`T - C = (-0.1, 0)`, :math:`S = [[0.225, -0.07], [-0.07, 0.16]]`,
    :math:`(S^{-1})_{11} = 0.16 / 0.0311`, SMD = :math:`\sqrt{0.01 \cdot 5.1447} = 0.2268`:

    >>> round(smd_categorical([5, 3, 2], [4, 4, 2]), 4)
    0.2268
    """
    t = np.asarray(counts_treated, dtype=float)
    c = np.asarray(counts_control, dtype=float)
    if t.shape != c.shape or t.ndim != 1:
        raise ValueError("counts_treated and counts_control must be 1-d and of the same length")
    if t.sum() == 0 or c.sum() == 0:
        return math.nan
    present = (t + c) > 0
    pt, pc = t[present] / t.sum(), c[present] / c.sum()
    if pt.size < 2:
        return 0.0
    pt, pc = pt[1:], pc[1:]
    diff = pt - pc
    cov = -(np.outer(pt, pt) + np.outer(pc, pc)) / 2
    np.fill_diagonal(cov, (pt * (1 - pt) + pc * (1 - pc)) / 2)
    try:
        # A singular S happens only when both arms are each wholly in one level.
        if np.linalg.matrix_rank(cov) < cov.shape[0]:
            raise np.linalg.LinAlgError
        d2 = float(diff @ np.linalg.solve(cov, diff))
    except np.linalg.LinAlgError:
        return 0.0 if np.allclose(diff, 0) else math.inf
    return math.sqrt(max(d2, 0.0))


# --------------------------------------------------------------------------
# The balance table (balance.csv)
# --------------------------------------------------------------------------

def _levels_in_order(observed: set[str], declared: Sequence[str]) -> list[str]:
    """Declared levels first, then any other observed level (sorted), so no patient is dropped."""
    extra = sorted(observed - set(declared))
    return list(declared) + extra


def _level_text(value) -> str | float:
    """A value as stripped text, missing as NaN: ``0`` and ``"0"`` are the same ECOG level, and a blank cell
    (a CSV read with ``keep_default_na=False``) is missing."""
    if pd.isna(value):
        return math.nan
    return str(value).strip() or math.nan


def _level_positions(values: pd.Series, declared: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The levels (:func:`_levels_in_order`) and each row's position among them (-1: missing); the text of
    each distinct value (:func:`_level_text`) is computed once."""
    distinct = PerDistinct(values)
    texts = distinct.uniq if distinct.codes is not None else list(values)  # cell by cell: objects not text
    texts = [_level_text(v) for v in texts]
    levels = _levels_in_order({t for t in texts if isinstance(t, str)}, declared)
    where = {lvl: j for j, lvl in enumerate(levels)}
    positions = np.asarray([*(where[t] if isinstance(t, str) else -1 for t in texts), -1], dtype=np.intp)
    return levels, positions[distinct.codes] if distinct.codes is not None else positions[:-1]


def _counts_by_arm(positions: np.ndarray, k: int, is_treated: np.ndarray) -> np.ndarray:
    """The 2 x k table: row 0 the control arm, row 1 the treated arm, one column per level position."""
    known = positions >= 0
    return np.array([np.bincount(positions[known & ~is_treated], minlength=k),
                     np.bincount(positions[known & is_treated], minlength=k)]).astype(int)


def balance_table(
    df: pd.DataFrame,
    variables: Sequence[Table1Variable] = TABLE1_VARIABLES,
    arm_col: str = "arm",
    control: str = CONTROL_ARM,
    treated: str = TREATED_ARM,
    cohort: str = "before",
) -> pd.DataFrame:
    """Counts, percentages, p-value and SMD of each Table 1 variable, one row per level.

    This is ``balance.csv``. For each variable the rows are its declared
    levels (reference first), then any undeclared level found in the data,
    then a ``"Missing"`` row only if some patient has no value.

    Columns (with ``<c>``/``<t>`` the :func:`arm_slug` of ``control`` and
    ``treated``, i.e. ``sbrt`` and ``sbrt_tace`` by default):

    ``variable, label, level, cohort``
        Column name, display label, level, and the ``cohort`` argument
        (e.g. ``"before"``/``"after"``).
    ``n_<c>, n_<t>``
        Patients of the arm at that level.
    ``n_arm_<c>, n_arm_<t>``
        Patients in the arm (the header n).
    ``pct_<c>, pct_<t>``
        ``100 * n / n_arm`` (the Missing row included, so a variable's
        percentages add up to 100).
    ``p_value, test``
        :func:`table1_p_value` of the arms x levels table of non-missing
        values. **Repeated on every row of the variable** so that any row
        filter keeps it; the display tables show it once.
    ``smd``
        :func:`smd_categorical` of the variable (treated vs control, non-missing
        values); also repeated on every row.
    ``smd_level``
        :func:`smd_binary` of the indicator "at this level" (NaN on the
        Missing row) -- per-level detail, not used by the paper.

    Raises
    ------
    KeyError
        If ``arm_col`` or a variable's column is absent (run
        ``helpers.data.derive.add_table1_categories`` first).
    ValueError
        If ``arm_col`` holds values other than ``control`` and ``treated``.

    Examples
    --------
    >>> from helpers.data.derive import Table1Variable
    >>> df = pd.DataFrame({"arm": ["SBRT"] * 3 + ["SBRT+TACE"] * 2,
    ...                    "sex_group": ["Male", "Male", "Female", "Male", "Male"]})
    >>> bt = balance_table(df, [Table1Variable("sex_group", "Gender", ("Female", "Male"))])
    >>> print(bt[["level", "n_sbrt", "n_sbrt_tace", "test"]].to_string(index=False))
     level  n_sbrt  n_sbrt_tace           test
    Female       1            0 Fisher's exact
      Male       2            2 Fisher's exact
    """
    if arm_col not in df.columns:
        raise KeyError(f"arm column {arm_col!r} not in the data")
    unexpected = set(df[arm_col].dropna().unique()) - {control, treated}
    if unexpected or df[arm_col].isna().any():
        raise ValueError(f"{arm_col!r} must hold only {control!r} and {treated!r}; found {sorted(map(str, unexpected)) or 'missing values'}")
    c_slug, t_slug = arm_slug(control), arm_slug(treated)
    is_treated = (df[arm_col] == treated).to_numpy()
    n_arm = {c_slug: int((~is_treated).sum()), t_slug: int(is_treated.sum())}

    rows: list[dict] = []
    for var in variables:
        if var.column not in df.columns:
            raise KeyError(f"column {var.column!r} ({var.label}) not in the data; run add_table1_categories first")
        levels, positions = _level_positions(df[var.column], var.levels)
        counts = _counts_by_arm(positions, len(levels), is_treated)
        p_value, test = table1_p_value(counts)
        smd = smd_categorical(counts[1], counts[0])
        arm_nonmissing = counts.sum(axis=1)

        def pct(n: int, slug: str) -> float:
            return 100.0 * n / n_arm[slug] if n_arm[slug] else math.nan

        level_rows = []
        for j, lvl in enumerate(levels):
            n_c, n_t = int(counts[0, j]), int(counts[1, j])
            smd_level = (smd_binary(n_t / arm_nonmissing[1], n_c / arm_nonmissing[0])
                         if arm_nonmissing.all() else math.nan)
            level_rows.append((lvl, n_c, n_t, smd_level))
        missing = positions < 0
        n_missing = np.array([int((missing & ~is_treated).sum()), int((missing & is_treated).sum())])
        if n_missing.sum():
            level_rows.append((MISSING_LEVEL, int(n_missing[0]), int(n_missing[1]), math.nan))
        for lvl, n_c, n_t, smd_level in level_rows:
            rows.append({
                "variable": var.column, "label": var.label, "level": lvl, "cohort": cohort,
                f"n_{c_slug}": n_c, f"n_{t_slug}": n_t,
                f"n_arm_{c_slug}": n_arm[c_slug], f"n_arm_{t_slug}": n_arm[t_slug],
                f"pct_{c_slug}": pct(n_c, c_slug), f"pct_{t_slug}": pct(n_t, t_slug),
                "p_value": p_value, "test": test, "smd": smd, "smd_level": smd_level,
            })
    return pd.DataFrame(rows)
