"""Numbers for the manuscript's text, read by key from ``results/numbers.csv`` and formatted.

The article's hidden setup cell creates ``r = ResultNumbers()``; inline code
such as `` `{python} r.km("after", "OS", "SBRT", 60)` `` then prints a value
that a notebook wrote, never one typed into the text.

Every value is a :class:`Linked` text: as a string it is the plain text
("61.8%"); as markdown (what Quarto and the pip renderer insert) each number
is a span ``[61.8%]{.result-number result="..." notebook="03_survival"
cell="km-logrank"}`` that the renderers turn into a link to the notebook page
and cell that computed it in HTML (``helpers/render/numbers.py``,
``helpers/render/lua/result-numbers.lua``), and into plain text elsewhere.
"""
from __future__ import annotations

import os
import re

import pandas as pd

from helpers.data.published import load_published, published_value
from helpers.data.schema import ARMS, CONTROL_ARM, TREATED_ARM
from helpers.parameters import parameter_notebooks, read_parameters
from helpers.report import fmt
from helpers.report.fmt import NOT_ESTIMABLE, join_words
from helpers.results import NumberTable, read_index, read_result, result_exists
from helpers.results.numbers import Number
from helpers.results.store import Origin
from helpers.stats.survival import time_points_phrase

#: How the text names each Table 1 category column (the propensity and Cox covariates).
COVARIATE_WORDS = {
    "sex_group": "sex", "age_group": "age", "hepatitis_type": "hepatitis", "child_pugh_class": "Child-Pugh class",
    "diameter_group": "tumour diameter", "bed_group": "BED", "afp_group": "alpha-fetoprotein",
    "pvtt_group": "portal vein tumour thrombus", "prior_treatment_group": "previous treatment",
    "ecog_group": "ECOG performance status", "platelets_group": "platelet count",
}

#: The class of the span around a number in the markdown (and of its link in HTML).
NUMBER_CLASS = "result-number"

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~^$@])")


def _escape(text: str) -> str:
    """Plain text as markdown that reads back as the same text."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _attribute(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class Linked(str):
    """Article text whose numbers link to the cells that computed them.

    ``str(x)`` is the plain text; ``x._repr_markdown_()`` the markdown with
    each number in a ``.result-number`` span naming its results row, notebook
    and cell.
    """

    markdown: str

    def __new__(cls, text: str, markdown: str | None = None) -> Linked:
        obj = super().__new__(cls, text)
        obj.markdown = _escape(text) if markdown is None else markdown
        return obj

    @classmethod
    def number(cls, text: str, n: Number | None, origin: Origin | None = None, what: str = "") -> Linked:
        """``text`` (a formatted number) linked to the row ``n`` (or to ``origin``, for a recorded parameter)."""
        origin = n.origin if n is not None else origin
        if origin is None or not origin.notebook or not origin.cell:
            return cls(text)
        what = n.describe() if n is not None else what
        md = (f'[{_escape(text)}]{{.{NUMBER_CLASS} result="{_attribute(what)}" '
              f'notebook="{_attribute(origin.notebook)}" cell="{_attribute(origin.cell)}"}}')
        return cls(text, md)

    def _repr_markdown_(self) -> str:
        return self.markdown


def compose(*parts: str) -> Linked:
    """Concatenate plain strings and :class:`Linked` texts, keeping every link."""
    return Linked("".join(str(p) for p in parts),
                  "".join(p.markdown if isinstance(p, Linked) else _escape(str(p)) for p in parts))


def join_linked(items: list[str]) -> Linked:
    """'a, b and c' (:func:`helpers.report.notes.join_words`) keeping each item's link."""
    if len(items) <= 1:
        return compose(*items)
    head = [p for item in items[:-1] for p in (item, ", ")][:-1]
    return compose(*head, " and ", items[-1])


class ResultNumbers:
    """Formatted numbers and data-driven phrases from one build's results.

    Every method returns :class:`Linked` text for the article; an estimate
    the data do not allow (no patient at risk, no events, nobody matched)
    reads "not estimable" with the reason where one is recorded, never "nan".
    """

    def __init__(self, build: str | os.PathLike | None = None):
        self.numbers = NumberTable.read(build)
        self.inputs = read_result("input_summary", build).set_index("input")
        self.parameters = read_parameters(build)
        index = (read_index(build) if result_exists("index", build) else
                 pd.DataFrame(columns=["file", "notebook", "cell"])).set_index("file")
        self._file_origin = {f: Origin(index.loc[f, "notebook"], index.loc[f, "cell"]) for f in index.index}
        self._parameter_origin: dict[str, Origin] = {}
        for name, notebook in parameter_notebooks(build).items():
            cell = index.loc[f"parameters_{notebook}.csv", "cell"] if f"parameters_{notebook}.csv" in index.index else ""
            self._parameter_origin[name] = Origin(notebook, cell)
        self.ledger = load_published()

    def get(self, quantity: str, **keys: object) -> Number | None:
        """The numbers-table row, or None when the run recorded none (an empty cohort, a skipped model)."""
        try:
            return self.numbers.get(quantity, **keys)
        except KeyError:
            return None

    def _count(self, quantity: str, **keys: object) -> Linked:
        n = self.get(quantity, **keys)
        value = 0 if n is None or n.missing else int(n.value)
        return Linked.number(str(value), n)

    # the parameters the notebooks ran with (results/parameters_*.csv)
    def param(self, name: str) -> object:
        """A parameter's value as the run used it; KeyError names the missing parameter."""
        if name not in self.parameters:
            raise KeyError(f"parameter {name!r} was not recorded by any notebook (results/parameters_*.csv)")
        return self.parameters[name]

    def _param_text(self, name: str, text: str) -> Linked:
        origin = self._parameter_origin.get(name)
        what = (f"parameter {name} = {self.param(name)!r}, as run (results/parameters_{origin.notebook}.csv; "
                f"notebook {origin.notebook}, cell {origin.cell})") if origin else ""
        return Linked.number(text, None, origin, what)

    def number(self, name: str) -> Linked:
        """A numeric parameter for the text: ``7.0`` -> ``'7'``, ``0.02`` -> ``'0.02'``."""
        return self._param_text(name, f"{float(self.param(name)):g}")

    def text(self, name: str) -> Linked:
        """A text parameter as recorded (e.g. the confidence-interval type)."""
        return self._param_text(name, str(self.param(name)))

    def ratio(self) -> Linked:
        """The matching ratio as '2:1'."""
        return self._param_text("ratio", f"{int(self.param('ratio'))}:1")

    def date(self, name: str, style: str = "day") -> Linked:
        """A date parameter: style 'day' -> '30 September 2025', 'month' -> 'December 2011'."""
        d = pd.Timestamp(str(self.param(name)))
        return self._param_text(name, f"{d.strftime('%B')} {d.year}" if style == "month"
                                else f"{d.day} {d.strftime('%B')} {d.year}")

    def covariates(self, name: str = "covariates") -> Linked:
        """A covariate-list parameter in words, in the run's order: 'sex, age, ... and ECOG performance status'."""
        return self._param_text(name, join_words([COVARIATE_WORDS.get(c, c) for c in self.param(name)]))

    def time_points(self) -> list[float]:
        return [float(m) for m in self.param("time_points_months")]

    def time_points_phrase(self) -> Linked:
        """'1-, 3- and 5-year' for the default time points."""
        return self._param_text("time_points_months", time_points_phrase(self.time_points()))

    # the data
    def is_synthetic(self) -> bool:
        return bool(self.inputs["synthetic"].all())

    def data_source(self) -> Linked:
        """'the default synthetic cohort, calibrated ... (cohort.csv, 190 screened patients; ...)',
        'an edited copy of the synthetic cohort (...)' or 'user-supplied data (...)'."""
        i = self.inputs
        if self.is_synthetic() and bool(i["default_input"].all()):
            what = "the default synthetic cohort, calibrated to the published aggregates"
        elif self.is_synthetic():
            what = "an edited copy of the synthetic cohort (not the calibrated default)"
        else:
            what = "user-supplied data"
        return compose(f"{what} ({i.loc['cohort', 'file']}, ", self._count("input_rows", variable="cohort"),
                       f" screened patients; {i.loc['adverse_events', 'file']}, ",
                       self._count("input_rows", variable="adverse_events"), " adverse events)")

    # cohort sizes
    def n_screened(self) -> Linked:
        return self._count("n_screened")

    def n_eligible(self) -> Linked:
        return self._count("n_eligible")

    def n_arm(self, arm: str, cohort: str = "before") -> Linked:
        return self._count("n_patients", cohort=cohort, arm=arm)

    # survival
    def km(self, cohort: str, endpoint: str, arm: str, months: float) -> Linked:
        n = self.get("km_survival", cohort=cohort, endpoint=endpoint, arm=arm, months=months)
        return Linked.number(fmt.pct(float("nan") if n is None else n.value), n)

    def km_text(self, cohort: str, endpoint: str, arm: str) -> Linked:
        """The rates at the run's time points, e.g. 1, 3 and 5 years: '91.2%, 76.5% and 61.8%'."""
        rates = [self.km(cohort, endpoint, arm, m) for m in self.time_points()]
        if all(str(r) == NOT_ESTIMABLE for r in rates):
            return Linked("not estimable (no patients)")
        return join_linked(rates)

    def logrank(self, cohort: str, endpoint: str) -> Linked:
        n = self.get("logrank_p", cohort=cohort, endpoint=endpoint)
        if n is None or n.missing:
            return compose("log-rank test ", Linked.number(fmt.not_estimable(n.note if n else ""), n))
        return Linked.number(fmt.p_text(n.value), n)

    def _hr(self, cohort: str, endpoint: str) -> Number | None:
        return self.get("treatment_hr", cohort=cohort, endpoint=endpoint, arm=TREATED_ARM)

    def hr(self, cohort: str, endpoint: str) -> Linked:
        n = self._hr(cohort, endpoint)
        if n is None or n.missing:
            return Linked.number(fmt.hr_text(float("nan"), float("nan"), float("nan"), n.note if n else ""), n)
        return Linked.number(fmt.hr_text(n.value, n.ci_lower, n.ci_upper), n)

    def effect_statement(self, cohort: str, endpoint: str, treated: str = TREATED_ARM,
                         control: str = CONTROL_ARM, alpha: float = 0.05) -> Linked:
        """The direction and significance of the treatment HR, in words.

        E.g. 'a lower hazard with SBRT+TACE than with SBRT alone (HR 0.52, 95% CI 0.25–1.07, p = 0.074),
        not statistically significant at the 5% level'.
        """
        n = self._hr(cohort, endpoint)
        if n is None or n.missing:
            return compose("no estimable treatment effect (", self.hr(cohort, endpoint), ")")
        direction = "a lower" if n.value < 1 else ("a higher" if n.value > 1 else "the same")
        significant = n.p_value < alpha
        return compose(f"{direction} hazard with {treated} than with {control} alone (", self.hr(cohort, endpoint),
                       ", ", Linked.number(fmt.p_text(n.p_value), n),
                       f"), {'' if significant else 'not '}statistically significant at the {100 * alpha:g}% level")

    def followup(self, measure: str = "median") -> Linked:
        """Follow-up in whole months: measure 'median', 'min' or 'max' of the observed times."""
        n = self.get(f"followup_{measure}_months", cohort="before")
        return Linked.number(NOT_ESTIMABLE if n is None or n.missing else f"{n.value:.0f}", n)

    def events(self, key: str, arm: str, cohort: str = "before") -> Linked:
        """A row of Table 2 (progression patterns), e.g. 'died' or 'progressed', for one arm."""
        return self._count("table2_n", cohort=cohort, arm=arm, level=key)

    def tox(self, key: str, arm: str, cohort: str = "before") -> Linked:
        return self._count("tox_patients", cohort=cohort, arm=arm, level=key)

    def tox_p(self, key: str, cohort: str = "before") -> Linked:
        n = self.get("tox_p", cohort=cohort, level=key)
        return Linked.number(fmt.p_text(float("nan") if n is None else n.value), n)

    def severe_toxicity_statement(self, cohort: str = "before") -> Linked:
        """'no acute toxicity of grade 3 or more' or 'acute toxicity of grade 3 or more in 2 SBRT and 1 ...'."""
        a, b = (self.tox("acute_grade_3_plus", arm, cohort) for arm in ARMS)
        if int(a) + int(b) == 0:  # the phrase links to the counts (zero in each arm)
            return Linked.number("no acute toxicity of grade 3 or more",
                                 self.get("tox_patients", cohort=cohort, arm=ARMS[0], level="acute_grade_3_plus"))
        return compose("acute toxicity of grade 3 or more in ", a, f" {CONTROL_ARM} and ", b, f" {TREATED_ARM} "
                       "patients (", self.tox_p("acute_grade_3_plus", cohort), ")")

    def max_smd_after(self) -> Linked:
        n = self.get("table1_smd_max", cohort="after")
        if n is None or n.missing:
            return Linked.number(fmt.not_estimable(n.note if n else "no matched patients"), n)
        return Linked.number(fmt.number(n.value), n)

    def n_smd_above(self, threshold: float = 0.1) -> Linked:
        return self._count("n_smd_above", cohort="after", level=threshold)

    # the published values, from the ledger (never typed into the text)
    def _published(self, text: str, quantity: str, **keys: object) -> Linked:
        """A published value, linked to the cell that sets it beside the reproduced one (notebook 05)."""
        origin = self._file_origin.get("published_vs_reproduced.csv")
        what = ", ".join([f"quantity={quantity}", *(f"{k}={v}" for k, v in keys.items())])
        return Linked.number(text, None, origin, f"data/published.csv: {what} (published; set beside the "
                                                 f"reproduced value in notebook {origin.notebook if origin else ''})")

    def published(self, quantity: str, fmt: str = "{:g}", **keys) -> Linked:
        return self._published(fmt.format(published_value(self.ledger, quantity, **keys)), quantity, **keys)

    def published_km3(self, cohort: str, endpoint: str, arm: str) -> Linked:
        return join_linked([self._published(fmt.pct(published_value(self.ledger, "km_survival", cohort=cohort,
                                                                    endpoint=endpoint, arm=arm, months=m)),
                                            "km_survival", cohort=cohort, endpoint=endpoint, arm=arm, months=m)
                            for m in (12, 36, 60)])

    def reproduced_exactly(self) -> tuple[Linked, Linked]:
        """(reproduced exactly, compared), as counted by notebook 05."""
        return self._count("ledger_exact"), self._count("ledger_compared")

    def n_reproduced_exactly(self) -> tuple[int, int]:
        exact, compared = self.reproduced_exactly()
        return int(exact), int(compared)


    # the synthetic cohort's outcome model (notebook 00)
    def synthetic_effects(self) -> Linked:
        """'Child-Pugh B (vs A) on death 6, ... and HCV (vs HBV) on in-field recurrence 13' (generator HRs), or
        'none (the input is not the synthetic cohort)'."""
        rows = self.numbers.find("synthetic_generator_hr")
        if not len(rows):
            return Linked("none (the input is not the synthetic cohort)")
        return join_linked([Linked.number(f"{r.note} {r.value:g}", self.get("synthetic_generator_hr",
                                                                              variable=r.variable))
                            for r in rows.itertuples()])

    def synthetic_plausible_range(self) -> Linked:
        """The range of hazard ratios notebook 00 calls plausible, e.g. '1/4–4'."""
        n = self.get("synthetic_plausible_hr")
        if n is None or n.missing:
            return Linked("not stated (the input is not the synthetic cohort)")
        return Linked.number(f"1/{n.value:g}–{n.value:g}", n)

    def synthetic_forced(self) -> Linked:
        """Where a small group forces a resulting univariate HR outside 1/4-4, with the group sizes and HRs."""
        rows = self.numbers.find("synthetic_univariate_hr")
        rows = rows[rows["note"].str.startswith("forced")] if len(rows) else rows
        if not len(rows):
            return compose("no resulting univariate hazard ratio lies outside ", self.synthetic_plausible_range())
        parts = []
        for (effect, endpoint), g in rows.groupby(["variable", "endpoint"], sort=False):
            words = g["note"].iloc[0].removeprefix("forced: ")
            n = [self.get("synthetic_group_n", cohort=c, variable=effect) for c in ("before", "after")]
            hrs = [Linked.number(f"{self.get('synthetic_univariate_hr', cohort=c, endpoint=endpoint, variable=effect).value:.2f}",
                                 self.get("synthetic_univariate_hr", cohort=c, endpoint=endpoint, variable=effect))
                   for c in ("before", "after")]
            first = self.get("synthetic_univariate_hr", cohort="before", endpoint=endpoint, variable=effect)
            parts.append(compose(Linked.number(f"{words} for {endpoint}", first), " (",
                                 Linked.number(f"{int(n[0].value)}", n[0]),
                                 " patients before matching, ", Linked.number(f"{int(n[1].value)}", n[1]),
                                 " after; HR ", hrs[0], " and ", hrs[1], ")"))
        return join_linked(parts)

    def treatment_model_statement(self) -> Linked:
        """Which Cox model of the matched cohort the published matched HRs most likely come from, from the
        comparison of notebook 05 (``treatment_model_distance``, ``treatment_model_likely``)."""
        likely = [r.note for r in self.numbers.find("treatment_model_likely").itertuples() if r.value == 1]
        if not likely:
            return Linked("no Cox model of the matched cohort could be compared with the published hazard ratios")
        rows = self.numbers.find("treatment_model_distance")
        endpoints = sorted(dict.fromkeys(rows["endpoint"]), key=lambda e: ("OS", "PFS", "LC").index(e)
                           if e in ("OS", "PFS", "LC") else 3)
        models = list(dict.fromkeys(rows["level"]))

        def model_hrs(model: str) -> Linked:
            return join_linked([compose(f"{ep} ", self.cox_hr("after", ep, model)) for ep in endpoints])

        published = join_linked([compose(f"{ep} ", self.published("treatment_hr", "{:.3f}", cohort="after",
                                                                   arm=TREATED_ARM, endpoint=ep), ", 95% CI ",
                                         self.published("treatment_hr_ci_lower", "{:.3f}", cohort="after",
                                                        arm=TREATED_ARM, endpoint=ep), "–",
                                         self.published("treatment_hr_ci_upper", "{:.3f}", cohort="after",
                                                        arm=TREATED_ARM, endpoint=ep)) for ep in endpoints])
        others = [m for m in models if m != likely[0]]
        agree = (rows.loc[rows["level"] == likely[0], "note"] == "same significance").all()
        return compose("the published matched hazard ratios (", published, ") are closest to the treatment term of "
                       f"the {likely[0]} Cox model of the matched cohort (", model_hrs(likely[0]), ")",
                       *(compose(f" rather than the {m} one (", model_hrs(m), ")") for m in others),
                       f", and {'agree' if agree else 'do not agree'} with it on significance for every endpoint: "
                       f"they most likely come from a {likely[0]} model")

    def cox_hr(self, cohort: str, endpoint: str, model: str, term: str = f"arm[{TREATED_ARM}]") -> Linked:
        """A Cox term's hazard ratio with CI and p, e.g. 'HR 0.45, 95% CI 0.21–0.94, p = 0.033'."""
        n = self.get("cox_hr", cohort=cohort, endpoint=endpoint, variable=term, level=model)
        if n is None or n.missing:
            return Linked.number(fmt.hr_text(float("nan"), float("nan"), float("nan"), n.note if n else ""), n)
        return compose(Linked.number(fmt.hr_text(n.value, n.ci_lower, n.ci_upper), n), ", ",
                       Linked.number(fmt.p_text(n.p_value), n))

    # the trial the paper calls for (notebook 07)
    def trial(self, source: str, endpoint: str) -> Linked:
        """'44 events (210 patients)' for a sized trial (source 'published' or 'reproduced'), else
        'not sized (reason)'."""
        events = self.get("trial_events", variable=source, endpoint=endpoint)
        patients = self.get("trial_patients", variable=source, endpoint=endpoint)
        if events is None or events.missing or patients is None:
            return Linked.number(fmt.not_estimable(events.note if events else "no trial size recorded"), events)
        return compose(Linked.number(f"{int(events.value)}", events), " events (",
                       Linked.number(f"{int(patients.value)}", patients), " patients)")

    def trial_hr(self, source: str, endpoint: str) -> Linked:
        """The hazard ratio a trial was sized for, e.g. '0.429'."""
        n = self.get("trial_hr", variable=source, endpoint=endpoint)
        return Linked.number(fmt.number(float("nan") if n is None else n.value), n)

    def percent_parameter(self, name: str) -> Linked:
        """A probability parameter as a percentage: ``0.8`` -> ``'80%'``."""
        return self._param_text(name, f"{100 * float(self.param(name)):g}%")

    def ledger_verdict(self) -> Linked:
        """'207 of 207 published numbers with a stated tolerance were within it (0 outside); 45 have no ...'
        or why the ledger was not judged."""
        judged = self.get("ledger_judged")
        if judged is None or judged.missing:
            return Linked.number(judged.note if judged else "the ledger was not judged", judged)
        return compose(self._count("ledger_within"), " of ", self._count("ledger_judged"),
                       " published numbers with a stated tolerance were within it (", self._count("ledger_outside"),
                       " outside); ", self._count("ledger_no_bound"),
                       " have no stated bound (on the default cohort: p-values, SMDs and hazard ratios, which the "
                       "analysis re-derives)")

    def reporting_summary(self) -> Linked:
        """'21 of 45 findings of the reporting check are consistent with the paper's text' (notebook 07)."""
        return compose(self._count("reporting_consistent", level="all"), " of ",
                       self._count("reporting_checked", level="all"),
                       " findings of the check of the paper's reporting are consistent with its text")

    def strobe_summary(self) -> Linked:
        """'the paper answers 9 of the 22 STROBE items fully, 11 partly and 2 not at all'."""
        return compose("the paper answers ", self._count("strobe_paper", level="yes"), " of the ",
                       self._count("strobe_items"), " STROBE items fully, ", self._count("strobe_paper", level="partly"),
                       " partly and ", self._count("strobe_paper", level="no"), " not at all")

    def allocation(self) -> Linked:
        """The trial's allocation ratio as 'r:1' (SBRT+TACE to SBRT alone), e.g. '1:1'."""
        return self._param_text("trial_allocation", f"{float(self.param('trial_allocation')):g}:1")
