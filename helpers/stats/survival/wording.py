"""Survival results in words: Kaplan-Meier time points (column labels, the text) and why a test or model
has no estimate."""
from __future__ import annotations


def time_point_label(months: float) -> str:
    """A Kaplan-Meier time point as a column label: whole years in years, else months.

    >>> [time_point_label(m) for m in (12, 36, 6, 18.5)]
    ['1 year', '3 years', '6 months', '18.5 months']
    """
    if months > 0 and months % 12 == 0:
        years = int(months // 12)
        return f"{years} year{'s' if years != 1 else ''}"
    return f"{months:g} month{'s' if months != 1 else ''}"


def time_points_phrase(months: list[float]) -> str:
    """Time points as an adjective for the text: '1-, 3- and 5-year', '6- and 18-month'.

    >>> time_points_phrase([12, 36, 60]), time_points_phrase([6, 18]), time_points_phrase([24])
    ('1-, 3- and 5-year', '6- and 18-month', '2-year')
    """
    if all(m > 0 and m % 12 == 0 for m in months):
        values, unit = [f"{int(m // 12)}" for m in months], "year"
    else:
        values, unit = [f"{m:g}" for m in months], "month"
    if len(values) == 1:
        return f"{values[0]}-{unit}"
    return ", ".join(f"{v}-" for v in values[:-1]) + f" and {values[-1]}-{unit}"


def logrank_reason(n: float, events: float) -> str:
    """Why a log-rank test has no p-value: 'no patients', 'no events' or 'a single arm'."""
    return "no patients" if n == 0 else ("no events" if events == 0 else "a single arm")

def not_estimable_reason(note: object) -> str:
    """A Cox note without its trailing ': not estimable' (the text says 'not estimable' itself).

    >>> not_estimable_reason("HR tends to zero (separation): not estimable"), not_estimable_reason(float("nan"))
    ('HR tends to zero (separation)', '')
    """
    return "" if not isinstance(note, str) else note.removesuffix(": not estimable")
