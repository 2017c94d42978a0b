"""Numbers for the manuscript's text, read from ``build/results/`` and formatted.

The article's hidden setup cell creates ``r = ResultNumbers()``; inline code
such as `` `{python} r.km("after", "OS", "SBRT", 60)` `` then prints a value
that a notebook wrote, never one typed into the text.
"""
from __future__ import annotations

import os

import pandas as pd

from helpers.published import load_published, published_value
from helpers.results import read_result


def pct(x: float, digits: int = 1) -> str:
    """A proportion as a percentage: ``pct(0.9118)`` -> ``'91.2%'``."""
    return f"{100 * x:.{digits}f}%"


def p_value(p: float) -> str:
    """``p = 0.069`` style; ``p < 0.001`` for small values."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


class ResultNumbers:
    """Formatted numbers from one build's results."""

    def __init__(self, build: str | os.PathLike | None = None):
        names = ("flow", "matching_summary", "km_rates", "logrank", "treatment_hr", "followup", "toxicity",
                 "progression_patterns", "published_vs_reproduced", "balance")
        self.t = {n: read_result(n, build) for n in names}
        self.ledger = load_published()

    # cohort sizes
    def n_screened(self) -> int:
        return int(self.t["flow"]["n_remaining"].iloc[0])

    def n_eligible(self) -> int:
        return int(self.t["flow"]["n_remaining"].iloc[-1])

    def n_arm(self, arm: str, cohort: str = "before") -> int:
        s = self.t["matching_summary"]
        return int(s.loc[s["quantity"] == f"n {arm} {cohort}", "value"].iloc[0])

    # survival
    def km(self, cohort: str, endpoint: str, arm: str, months: int) -> str:
        k = self.t["km_rates"]
        row = k[(k["cohort"] == cohort) & (k["endpoint"] == endpoint) & (k["arm"] == arm) & (k["months"] == months)]
        return pct(float(row["survival"].iloc[0]))

    def km3(self, cohort: str, endpoint: str, arm: str) -> str:
        """The 1-, 3- and 5-year rates as '91.2%, 76.5% and 61.8%'."""
        a, b, c = (self.km(cohort, endpoint, arm, m) for m in (12, 36, 60))
        return f"{a}, {b} and {c}"

    def logrank(self, cohort: str, endpoint: str) -> str:
        lr = self.t["logrank"]
        return p_value(float(lr.loc[(lr["cohort"] == cohort) & (lr["endpoint"] == endpoint), "p_value"].iloc[0]))

    def hr(self, cohort: str, endpoint: str) -> str:
        h = self.t["treatment_hr"]
        row = h[(h["cohort"] == cohort) & (h["endpoint"] == endpoint)].iloc[0]
        return f"HR = {row['hr']:.3f}, 95% CI {row['ci_lower']:.3f}-{row['ci_upper']:.3f}"

    def followup(self, measure: str = "median of observed times") -> str:
        f = self.t["followup"]
        return f"{float(f.loc[f['measure'] == measure, 'months'].iloc[0]):.0f}"

    def events(self, key: str, arm: str, cohort: str = "before") -> int:
        t = self.t["progression_patterns"]
        return int(t.loc[(t["cohort"] == cohort) & (t["group"] == arm) & (t["key"] == key), "n"].iloc[0])

    def tox(self, key: str, arm: str, cohort: str = "before") -> int:
        t = self.t["toxicity"]
        col = "n_sbrt" if arm == "SBRT" else "n_sbrt_tace"
        return int(t.loc[(t["cohort"] == cohort) & (t["key"] == key), col].iloc[0])

    def tox_p(self, key: str, cohort: str = "before") -> str:
        t = self.t["toxicity"]
        return p_value(float(t.loc[(t["cohort"] == cohort) & (t["key"] == key), "p_value"].iloc[0]))

    def max_smd_after(self) -> str:
        b = self.t["balance"]
        return f"{b.loc[b['cohort'] == 'after', 'smd'].max():.3f}"

    def n_smd_above(self, threshold: float = 0.1) -> int:
        b = self.t["balance"]
        return int(b.loc[b["cohort"] == "after"].groupby("variable")["smd"].first().gt(threshold).sum())

    # the published values, from the ledger (never typed into the text)
    def published(self, quantity: str, fmt: str = "{:g}", **keys) -> str:
        return fmt.format(published_value(self.ledger, quantity, **keys))

    def published_km3(self, cohort: str, endpoint: str, arm: str) -> str:
        a, b, c = (pct(published_value(self.ledger, "km_survival", cohort=cohort, endpoint=endpoint, arm=arm, months=m))
                   for m in (12, 36, 60))
        return f"{a}, {b} and {c}"

    def n_reproduced_exactly(self) -> tuple[int, int]:
        c = self.t["published_vs_reproduced"]
        c = c[c["reproduced"].notna()]
        return int((c["difference"].abs() < 1e-9).sum()), len(c)
