"""One formatter for every number a reader sees: tables, figure annotations and text.

The rules (one each, used everywhere):

p-value
    ``"<0.001"`` below 0.001, else three decimals (``0.0691`` -> ``"0.069"``,
    ``0.0003`` -> ``"<0.001"``, never ``"0.000"``; Fisher's exact p of 1 is
    ``"1.000"``), the rule of the paper's tables. In a sentence:
    ``"p < 0.001"``, ``"p = 0.069"``.
hazard ratio
    two decimals with its 95% CI, bounds joined by an en dash:
    ``"0.52 (0.25–1.07)"``; in a sentence ``"HR 0.52, 95% CI 0.25–1.07"``.
percentage
    a proportion times 100 with one decimal and a per-cent sign: ``"91.2%"``.
count
    an integer, with its percentage when there is one: ``"12 (34.5%)"``.
missing value
    one word for every estimate that cannot be made: :data:`NOT_ESTIMABLE`
    (``"not estimable"``), followed by the reason in brackets when it is
    known: ``"not estimable (no events)"``; lists are joined as
    ``"a, b and c"`` (:func:`join_words`). The reasons are worded by the
    statistics (``helpers.stats.survival.wording``).
"""
from __future__ import annotations

import math

#: The one word for a value that cannot be estimated (no events, no patients, separation, ...).
NOT_ESTIMABLE = "not estimable"

#: The dash between the bounds of an interval.
EN_DASH = "\u2013"


def is_missing(x) -> bool:
    """True for None, NaN, infinities and pandas' NA.

    >>> is_missing(None), is_missing(float("nan")), is_missing(0.5)
    (True, True, False)
    """
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return True


def not_estimable(reason: str | None = "") -> str:
    """``"not estimable (reason)"``, or ``"not estimable"`` without a reason.

    >>> not_estimable("no events"), not_estimable("")
    ('not estimable (no events)', 'not estimable')
    """
    reason = (reason or "").strip()
    return f"{NOT_ESTIMABLE} ({reason})" if reason else NOT_ESTIMABLE


def p_value(p: float, reason: str | None = "") -> str:
    """A p-value for a table cell or a figure: ``"<0.001"``, ``"0.069"``, ``"1.000"``.

    >>> p_value(0.0003), p_value(0.0691), p_value(0.04567), p_value(1.0), p_value(float("nan"))
    ('<0.001', '0.069', '0.046', '1.000', 'not estimable')
    """
    if is_missing(p):
        return not_estimable(reason)
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def p_text(p: float, reason: str | None = "") -> str:
    """A p-value in a sentence: ``"p < 0.001"``, ``"p = 0.069"``, ``"p not estimable (reason)"``.

    >>> p_text(0.0003), p_text(0.0691), p_text(float("nan"), "no events")
    ('p < 0.001', 'p = 0.069', 'p not estimable (no events)')
    """
    s = p_value(p, reason)
    if s.startswith(NOT_ESTIMABLE):
        return f"p {s}"
    if s.startswith("<"):
        return f"p < {s[1:]}"
    return f"p = {s}"


def ci(lower: float, upper: float, digits: int = 2, scale: float = 1.0) -> str:
    """An interval ``"lower–upper"`` (times ``scale``), or ``"not estimable"``.

    >>> ci(0.2519, 1.0664), ci(0.8034, 0.9512, digits=1, scale=100), ci(float("nan"), 1)
    ('0.25–1.07', '80.3–95.1', 'not estimable')
    """
    if is_missing(lower) or is_missing(upper):
        return NOT_ESTIMABLE
    return f"{scale * lower:.{digits}f}{EN_DASH}{scale * upper:.{digits}f}"


def hr_ci(hr: float, lower: float, upper: float, reason: str | None = "", digits: int = 2) -> str:
    """A hazard ratio with its CI for a table or a forest plot: ``"0.52 (0.25–1.07)"``.

    >>> hr_ci(0.5184, 0.2519, 1.0664), hr_ci(float("nan"), 1, 2, "no events")
    ('0.52 (0.25–1.07)', 'not estimable (no events)')
    """
    if any(is_missing(v) or v <= 0 for v in (hr, lower, upper)):
        return not_estimable(reason)
    return f"{hr:.{digits}f} ({ci(lower, upper, digits)})"


def hr_text(hr: float, lower: float, upper: float, reason: str | None = "", digits: int = 2) -> str:
    """A hazard ratio in a sentence: ``"HR 0.52, 95% CI 0.25–1.07"``.

    >>> hr_text(0.5184, 0.2519, 1.0664), hr_text(float("nan"), 1, 2, "no events")
    ('HR 0.52, 95% CI 0.25–1.07', 'HR not estimable (no events)')
    """
    s = hr_ci(hr, lower, upper, reason, digits)
    if s.startswith(NOT_ESTIMABLE):
        return f"HR {s}"
    return f"HR {hr:.{digits}f}, 95% CI {ci(lower, upper, digits)}"


def number(x: float, digits: int = 3) -> str:
    """A plain estimate (a coefficient, an SMD) with ``digits`` decimals, or ``"not estimable"``.

    >>> number(0.16574), number(-2.0846, 2), number(float("nan"))
    ('0.166', '-2.08', 'not estimable')
    """
    return NOT_ESTIMABLE if is_missing(x) else f"{x:.{digits}f}"


def pct(x: float, digits: int = 1) -> str:
    """A proportion (0-1) as a percentage: ``"91.2%"``; NaN -> ``"not estimable"``.

    >>> pct(0.9118), pct(1.0), pct(float("nan"))
    ('91.2%', '100.0%', 'not estimable')
    """
    return NOT_ESTIMABLE if is_missing(x) else f"{100 * x:.{digits}f}%"


def count(n, percent: float | None = None, digits: int = 1, sign: bool = True) -> str:
    """A count, with its percentage (already in %) when one is given: ``"12 (34.5%)"``.

    ``sign=False`` leaves out the per-cent sign (Table 1, whose header says "n (%)").
    A missing count is ``""`` (an empty cell, e.g. an arm with no patient).

    >>> count(12, 34.49), count(12, 34.49, sign=False), count(3), count(3, float("nan")), count(None)
    ('12 (34.5%)', '12 (34.5)', '3', '3', '')
    """
    if is_missing(n):
        return ""
    if percent is None or is_missing(percent):
        return f"{int(n)}"
    return f"{int(n)} ({percent:.{digits}f}{'%' if sign else ''})"


def rate_ci(rate: float, lower: float, upper: float, reason: str | None = "", digits: int = 1) -> str:
    """A survival rate (0-1) in % with its CI: ``"91.2 (80.3–95.1)"``.

    A rate without a CI (no event yet, rate 100%) keeps the rate.

    >>> rate_ci(0.9118, 0.8034, 0.9512), rate_ci(1.0, float("nan"), float("nan"))
    ('91.2 (80.3–95.1)', '100.0 (not estimable)')
    >>> rate_ci(float("nan"), 0, 0, "no patient at risk")
    'not estimable (no patient at risk)'
    """
    if is_missing(rate):
        return not_estimable(reason)
    return f"{100 * rate:.{digits}f} ({ci(lower, upper, digits, scale=100)})"


_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
          "seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


def count_words(n: int) -> str:
    """A count in words for the prose (which types no digits): 0-99 in words, larger counts as digits.

    >>> count_words(0), count_words(3), count_words(15), count_words(21), count_words(40), count_words(120)
    ('zero', 'three', 'fifteen', 'twenty-one', 'forty', '120')
    """
    n = int(n)
    if n < 20:
        return _UNITS[n]
    if n < 100:
        tens, units = divmod(n, 10)
        return _TENS[tens - 2] + (f"-{_UNITS[units]}" if units else "")
    return str(n)


# The words of the reasons and lists the report uses with these values.
def join_words(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'.

    >>> join_words(["OS"]), join_words(["OS", "PFS", "LC"])
    ('OS', 'OS, PFS and LC')
    """
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]




__all__ = ["NOT_ESTIMABLE", "EN_DASH", "is_missing", "not_estimable", "p_value", "p_text", "ci", "hr_ci",
           "hr_text", "number", "pct", "count", "rate_ci", "count_words", "join_words"]
