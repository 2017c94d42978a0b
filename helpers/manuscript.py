"""Numbers for the manuscript's text, read from ``build/results/`` and formatted.

The article's hidden setup cell creates ``r = ResultNumbers()``; inline code
such as `` `{python} r.km("after", "OS", "SBRT", 60)` `` then prints a value
that a notebook wrote, never one typed into the text.
"""
from __future__ import annotations

import math
import os

import pandas as pd

from helpers import fmt
from helpers.balance import arm_slug
from helpers.fmt import NOT_ESTIMABLE, is_missing as _is_missing
from helpers.notes import join_words, logrank_reason, not_estimable_reason
from helpers.parameters import read_parameters
from helpers.published import load_published, published_value
from helpers.results import read_result
from helpers.schema import ARMS, CONTROL_ARM, TREATED_ARM
from helpers.survival import time_points_phrase



#: How the text names each Table 1 category column (the propensity and Cox covariates).
COVARIATE_WORDS = {
    "sex_group": "sex", "age_group": "age", "hepatitis_type": "hepatitis", "child_pugh_class": "Child-Pugh class",
    "diameter_group": "tumour diameter", "bed_group": "BED", "afp_group": "alpha-fetoprotein",
    "pvtt_group": "portal vein tumour thrombus", "prior_treatment_group": "previous treatment",
    "ecog_group": "ECOG performance status", "platelets_group": "platelet count",
}


def _first(df: pd.DataFrame, mask: pd.Series, col: str) -> float:
    """The value of ``col`` in the first row of ``mask``, NaN if there is none."""
    rows = df.loc[mask, col]
    return float(rows.iloc[0]) if len(rows) else float("nan")


class ResultNumbers:
    """Formatted numbers and data-driven phrases from one build's results.

    Every method returns text for the article; an estimate the data do not
    allow (no patient at risk, no events, nobody matched) reads "not
    estimable" with the reason where one is recorded, never "nan".
    """

    def __init__(self, build: str | os.PathLike | None = None):
        names = ("flow", "matching_summary", "km_rates", "logrank", "treatment_hr", "followup", "toxicity",
                 "progression_patterns", "published_vs_reproduced", "balance", "input_summary")
        self.t = {n: read_result(n, build) for n in names}
        self.parameters = read_parameters(build)
        self.ledger = load_published()

    # the parameters the notebooks ran with (results/parameters_*.csv)
    def param(self, name: str) -> object:
        """A parameter's value as the run used it; KeyError names the missing parameter."""
        if name not in self.parameters:
            raise KeyError(f"parameter {name!r} was not recorded by any notebook (results/parameters_*.csv)")
        return self.parameters[name]

    def number(self, name: str) -> str:
        """A numeric parameter for the text: ``7.0`` -> ``'7'``, ``0.02`` -> ``'0.02'``."""
        return f"{float(self.param(name)):g}"

    def ratio(self) -> str:
        """The matching ratio as '2:1'."""
        return f"{int(self.param('ratio'))}:1"

    def date(self, name: str, style: str = "day") -> str:
        """A date parameter: style 'day' -> '30 September 2025', 'month' -> 'December 2011'."""
        d = pd.Timestamp(str(self.param(name)))
        return f"{d.strftime('%B')} {d.year}" if style == "month" else f"{d.day} {d.strftime('%B')} {d.year}"

    def covariates(self, name: str = "covariates") -> str:
        """A covariate-list parameter in words, in the run's order: 'sex, age, ... and ECOG performance status'."""
        words = [COVARIATE_WORDS.get(c, c) for c in self.param(name)]
        return join_words(words)

    def time_points(self) -> list[float]:
        return [float(m) for m in self.param("time_points_months")]

    def time_points_phrase(self) -> str:
        """'1-, 3- and 5-year' for the default time points."""
        return time_points_phrase(self.time_points())

    # the data
    def is_synthetic(self) -> bool:
        return bool(self.t["input_summary"]["synthetic"].all())

    def data_source(self) -> str:
        """'the default synthetic cohort, calibrated ... (cohort.csv, 190 screened patients; ...)',
        'an edited copy of the synthetic cohort (...)' or 'user-supplied data (...)'."""
        i = self.t["input_summary"].set_index("input")
        if self.is_synthetic() and bool(i["default_input"].all()):
            what = "the default synthetic cohort, calibrated to the published aggregates"
        elif self.is_synthetic():
            what = "an edited copy of the synthetic cohort (not the calibrated default)"
        else:
            what = "user-supplied data"
        return (f"{what} ({i.loc['cohort', 'file']}, {int(i.loc['cohort', 'n_rows'])} screened patients; "
                f"{i.loc['adverse_events', 'file']}, {int(i.loc['adverse_events', 'n_rows'])} adverse events)")

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
        m = (k["cohort"] == cohort) & (k["endpoint"] == endpoint) & (k["arm"] == arm) & (k["months"] == months)
        return fmt.pct(_first(k, m, "survival"))

    def km_text(self, cohort: str, endpoint: str, arm: str) -> str:
        """The rates at the run's time points, e.g. 1, 3 and 5 years: '91.2%, 76.5% and 61.8%'."""
        rates = [self.km(cohort, endpoint, arm, m) for m in self.time_points()]
        if all(r == NOT_ESTIMABLE for r in rates):
            return "not estimable (no patients)"
        return join_words(rates)

    def logrank(self, cohort: str, endpoint: str) -> str:
        lr = self.t["logrank"]
        m = (lr["cohort"] == cohort) & (lr["endpoint"] == endpoint)
        p = _first(lr, m, "p_value")
        if _is_missing(p):
            return f"log-rank test {fmt.not_estimable(logrank_reason(_first(lr, m, 'n'), _first(lr, m, 'events')))}"
        return fmt.p_text(p)

    def _hr_row(self, cohort: str, endpoint: str) -> pd.Series | None:
        h = self.t["treatment_hr"]
        rows = h[(h["cohort"] == cohort) & (h["endpoint"] == endpoint)]
        return rows.iloc[0] if len(rows) else None

    def hr(self, cohort: str, endpoint: str) -> str:
        row = self._hr_row(cohort, endpoint)
        if row is None or _is_missing(row["hr"]):
            reason = "" if row is None else not_estimable_reason(row.get("note"))
            return fmt.hr_text(float("nan"), float("nan"), float("nan"), reason)
        return fmt.hr_text(row["hr"], row["ci_lower"], row["ci_upper"])

    def effect_statement(self, cohort: str, endpoint: str, treated: str = TREATED_ARM,
                         control: str = CONTROL_ARM, alpha: float = 0.05) -> str:
        """The direction and significance of the treatment HR, in words.

        E.g. 'a lower hazard with SBRT+TACE than with SBRT alone (HR 0.52, 95% CI 0.25–1.07, p = 0.074),
        not statistically significant at the 5% level'.
        """
        row = self._hr_row(cohort, endpoint)
        if row is None or _is_missing(row["hr"]):
            return f"no estimable treatment effect ({self.hr(cohort, endpoint)})"
        direction = "a lower" if row["hr"] < 1 else ("a higher" if row["hr"] > 1 else "the same")
        significant = row["p_value"] < alpha
        return (f"{direction} hazard with {treated} than with {control} alone ({self.hr(cohort, endpoint)}, "
                f"{fmt.p_text(row['p_value'])}), {'' if significant else 'not '}statistically significant "
                f"at the {100 * alpha:g}% level")

    def followup(self, measure: str = "median of observed times") -> str:
        f = self.t["followup"]
        v = _first(f, f["measure"] == measure, "months")
        return NOT_ESTIMABLE if _is_missing(v) else f"{v:.0f}"

    def events(self, key: str, arm: str, cohort: str = "before") -> int:
        t = self.t["progression_patterns"]
        v = _first(t, (t["cohort"] == cohort) & (t["group"] == arm) & (t["key"] == key), "n")
        return 0 if _is_missing(v) else int(v)

    def tox(self, key: str, arm: str, cohort: str = "before") -> int:
        t = self.t["toxicity"]
        col = f"n_{arm_slug(arm)}"
        v = _first(t, (t["cohort"] == cohort) & (t["key"] == key), col)
        return 0 if _is_missing(v) else int(v)

    def tox_p(self, key: str, cohort: str = "before") -> str:
        t = self.t["toxicity"]
        return fmt.p_text(_first(t, (t["cohort"] == cohort) & (t["key"] == key), "p_value"))

    def severe_toxicity_statement(self, cohort: str = "before") -> str:
        """'no acute toxicity of grade 3 or more' or 'acute toxicity of grade 3 or more in 2 SBRT and 1 ...'."""
        a, b = (self.tox("acute_grade_3_plus", arm, cohort) for arm in ARMS)
        if a + b == 0:
            return "no acute toxicity of grade 3 or more"
        return (f"acute toxicity of grade 3 or more in {a} {CONTROL_ARM} and {b} {TREATED_ARM} patients "
                f"({self.tox_p('acute_grade_3_plus', cohort)})")

    def max_smd_after(self) -> str:
        b = self.t["balance"]
        v = b.loc[b["cohort"] == "after", "smd"].max()
        return fmt.not_estimable("no matched patients") if _is_missing(float(v)) else fmt.number(v)

    def n_smd_above(self, threshold: float = 0.1) -> int:
        b = self.t["balance"]
        return int(b.loc[b["cohort"] == "after"].groupby("variable")["smd"].first().gt(threshold).sum())

    # the published values, from the ledger (never typed into the text)
    def published(self, quantity: str, fmt: str = "{:g}", **keys) -> str:
        return fmt.format(published_value(self.ledger, quantity, **keys))

    def published_km3(self, cohort: str, endpoint: str, arm: str) -> str:
        a, b, c = (fmt.pct(published_value(self.ledger, "km_survival", cohort=cohort, endpoint=endpoint, arm=arm, months=m))
                   for m in (12, 36, 60))
        return f"{a}, {b} and {c}"

    def n_reproduced_exactly(self) -> tuple[int, int]:
        c = self.t["published_vs_reproduced"]
        c = c[c["reproduced"].notna()]
        return int((c["difference"].abs() < 1e-9).sum()), len(c)
