"""The outcome model of the synthetic cohort and the search for its smallest effects.

The published counts and Kaplan-Meier rates fix, for each arm and matched /
unmatched group, how many deaths, progressions and in-field recurrences fall
in 0-12, 12-36, 36-60 and > 60 months (``helpers.synthetic.generator``). They
do not say *who* has them. That is drawn here from a proportional-hazards
model whose log-hazard ratios are the generator's parameters:

- death: hazard :math:`h_0(t)\\exp(\\beta_{CP}[\\text{Child-Pugh B}] + \\beta_{plt}[\\text{platelets} < 100]
  + \\beta_{sex}[\\text{male}])`;
- progression (of a patient who does not die): :math:`h_0(t)\\exp(\\beta_{plt}[\\text{platelets} < 100]
  + \\beta_{sex}[\\text{male}])`;
- in-field recurrence (of a liver progression in the scheduled interval): odds
  :math:`\\exp(\\beta_{HCV}[\\text{HCV}])`.

Within a group, every patient has a latent time :math:`E_i/\\exp(\\eta_i)` with
:math:`E_i` standard exponential, i.e. an exponential proportional-hazards
model; the patients with the earliest latent times receive the group's event
times in order, a monotone transformation of time that keeps the hazards
proportional and the calibrated counts exact. The :math:`E_i` are fixed by the
outcome seed, so two candidate effect sizes are compared on the same draws.

:func:`search` looks, seed by seed, for the smallest effects (on
:data:`HR_GRID`) that give the paper's Figure 3 significance pattern
(:data:`FIG3_PATTERN`) in the report's own Cox models
(``helpers.stats.survival.univariate_then_multivariate_cox`` with notebook
03's defaults) on the study's own matching, and records where it stopped
(``data/synthetic_effects.csv``, :func:`effects_table`).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

#: Hazard ratios the search tries, smallest first (1.0: no effect).
HR_GRID: tuple[float, ...] = (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0, 10.0, 13.0, 16.0)
#: Outcome seeds the search tries, in order, before giving up.
OUTCOME_SEEDS: tuple[int, ...] = tuple(range(12))
#: Two-sided level at which a Cox term counts as significant (the paper's).
ALPHA: float = 0.05
#: A univariate hazard ratio outside [1/PLAUSIBLE_HR, PLAUSIBLE_HR] is implausible unless a small group forces it.
PLAUSIBLE_HR: float = 4.0


@dataclass(frozen=True)
class Effect:
    """One effect of the outcome model: the covariate level it raises the hazard of, and of which event."""

    name: str
    column: str
    level: str
    hazard: str
    term: str  # the Cox term whose significance the effect is searched for (reference level: Table 1's first)
    endpoint: str


EFFECTS: tuple[Effect, ...] = (
    Effect("child_pugh_b", "child_pugh_class", "B", "death", "child_pugh_class[B]", "OS"),
    Effect("platelets_lt100", "platelets_group", "<100", "death and progression", "platelets_group[>=100]", "PFS"),
    Effect("male", "sex_group", "Male", "death and progression", "sex_group[Male]", "PFS"),
    Effect("hcv", "hepatitis_type", "HCV", "in-field recurrence", "hepatitis_type[HCV]", "LC"),
)
EFFECT_BY_NAME = {e.name: e for e in EFFECTS}


@dataclass(frozen=True)
class OutcomeModel:
    """Hazard ratios of the outcome model (by :data:`EFFECTS` name) and the seed of its draws."""

    hr: tuple[tuple[str, float], ...]
    outcome_seed: int

    def log_hr(self, name: str) -> float:
        return math.log(dict(self.hr)[name])

    def with_hr(self, name: str, value: float) -> OutcomeModel:
        return replace(self, hr=tuple((k, value if k == name else v) for k, v in self.hr))


def null_model(outcome_seed: int) -> OutcomeModel:
    """No effect at all (every hazard ratio 1)."""
    return OutcomeModel(tuple((e.name, 1.0) for e in EFFECTS), outcome_seed)


def linear_predictors(model: OutcomeModel, g: pd.DataFrame) -> dict[str, np.ndarray]:
    """Log relative hazards of death, progression and in-field recurrence of the patients of ``g``."""
    def x(name: str) -> np.ndarray:
        e = EFFECT_BY_NAME[name]
        return (g[e.column].to_numpy() == e.level).astype(float) * model.log_hr(name)
    shared = x("platelets_lt100") + x("male")
    return {"death": x("child_pugh_b") + shared, "progression": shared, "in_field": x("hcv")}


# --------------------------------------------------------------------------
# The paper's Figure 3 significance pattern
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Requirement:
    """One element of the pattern: a Cox term (or every term) of one model, significant or not.

    ``effect`` names the generator effect that makes a ``significant``
    requirement hold (raising it helps); ``None`` for requirements the effect
    sizes do not drive (the treatment, set by the calibrated event counts).
    """

    panel: str
    cohort: str
    endpoint: str
    model: str
    term: str  # "*": every term of the model
    significant: bool
    direction: int  # +1: HR > 1, -1: HR < 1, 0: either
    effect: str | None

    def describe(self) -> str:
        what = "every term" if self.term == "*" else self.term
        verdict = "significant" if self.significant else "not significant"
        side = {1: " (HR > 1)", -1: " (HR < 1)", 0: ""}[self.direction]
        return f"Fig. 3{self.panel}: {self.cohort} matching, {self.endpoint}, {self.model} {what} {verdict}{side}"


FIG3_PATTERN: tuple[Requirement, ...] = (
    Requirement("A", "before", "OS", "univariate", "child_pugh_class[B]", True, 1, "child_pugh_b"),
    Requirement("A", "before", "OS", "multivariate", "child_pugh_class[B]", True, 1, "child_pugh_b"),
    Requirement("B", "before", "PFS", "univariate", "platelets_group[>=100]", True, -1, "platelets_lt100"),
    Requirement("B", "before", "PFS", "multivariate", "platelets_group[>=100]", True, -1, "platelets_lt100"),
    Requirement("C", "before", "LC", "univariate", "hepatitis_type[HCV]", True, 1, "hcv"),
    Requirement("D", "after", "OS", "multivariate", "arm[SBRT+TACE]", True, -1, None),
    Requirement("D", "after", "OS", "univariate", "child_pugh_class[B]", True, 1, "child_pugh_b"),
    Requirement("D", "after", "OS", "multivariate", "child_pugh_class[B]", True, 1, "child_pugh_b"),
    Requirement("E", "after", "PFS", "univariate", "platelets_group[>=100]", True, -1, "platelets_lt100"),
    Requirement("E", "after", "PFS", "multivariate", "platelets_group[>=100]", True, -1, "platelets_lt100"),
    Requirement("E", "after", "PFS", "univariate", "sex_group[Male]", True, 0, "male"),
    Requirement("E", "after", "PFS", "multivariate", "sex_group[Male]", True, 0, "male"),
    Requirement("F", "after", "LC", "multivariate", "*", False, 0, "hcv"),
)


def check_pattern(cox: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Which requirements of :data:`FIG3_PATTERN` a Cox table meets.

    Parameters
    ----------
    cox : pandas.DataFrame
        Rows of ``results/cox.csv``: ``cohort, endpoint, model, term, hr, p_value``.

    Returns
    -------
    pandas.DataFrame
        One row per requirement: ``panel, cohort, endpoint, model, term, requirement, hr, p_value, ok``
        (for a "*" requirement, the term with the smallest p).
    """
    rows = []
    for req in FIG3_PATTERN:
        sel = cox[(cox["cohort"] == req.cohort) & (cox["endpoint"] == req.endpoint) & (cox["model"] == req.model)]
        if req.term != "*":
            sel = sel[sel["term"] == req.term]
        p = sel["p_value"].astype(float)
        if req.term == "*":
            worst = sel.loc[p.idxmin()] if p.notna().any() else None
            ok = worst is None or float(worst["p_value"]) >= alpha
            row = worst
        else:
            row = sel.iloc[0] if len(sel) else None
            hr = float(row["hr"]) if row is not None else math.nan
            pv = float(row["p_value"]) if row is not None else math.nan
            side = req.direction == 0 or (hr - 1.0) * req.direction > 0
            ok = bool(pv < alpha and side) if req.significant else not pv < alpha
        rows.append(dict(panel=req.panel, cohort=req.cohort, endpoint=req.endpoint, model=req.model,
                         term=req.term if row is None else row["term"], requirement=req.describe(),
                         hr=math.nan if row is None else float(row["hr"]),
                         p_value=math.nan if row is None else float(row["p_value"]), ok=bool(ok)))
    return pd.DataFrame(rows)


def implausible_hrs(cox: pd.DataFrame, alpha: float = ALPHA, bound: float = PLAUSIBLE_HR) -> pd.DataFrame:
    """Significant univariate prognostic hazard ratios (not the treatment) outside [1/bound, bound]."""
    u = cox[(cox["model"] == "univariate") & (cox["variable"] != "arm")]
    hr, p = u["hr"].astype(float), u["p_value"].astype(float)
    return u[(p < alpha) & ((hr > bound) | (hr < 1.0 / bound))]


# --------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------

@dataclass
class SearchResult:
    """The model the search chose, its Cox table, and what one grid step less of each effect breaks."""

    model: OutcomeModel
    cox: pd.DataFrame
    below: dict[str, tuple[float, str]]  # effect -> (hazard ratio one step below, first requirement it fails)
    seeds_tried: int
    evaluations: int


def _step(value: float, by: int) -> float | None:
    i = HR_GRID.index(value) + by
    return HR_GRID[i] if 0 <= i < len(HR_GRID) else None


def search(evaluate: Callable[[OutcomeModel], pd.DataFrame], accept: Callable[[OutcomeModel], bool],
           seeds: tuple[int, ...] = OUTCOME_SEEDS) -> SearchResult:
    """The smallest effects on :data:`HR_GRID` that give :data:`FIG3_PATTERN`, seed by seed.

    For each outcome seed: start without effects; while a requirement fails,
    raise (one grid step) every effect that drives a failing ``significant``
    requirement; give up the seed when a requirement no effect drives fails
    alone, when an effect leaves the grid, or when a significant univariate
    hazard ratio of a factor the model has no effect for falls outside
    1/4-4. Once the pattern holds (and ``accept``, the calibration check,
    agrees), lower each effect while the pattern still holds.

    Parameters
    ----------
    evaluate : callable
        Model -> Cox table of the cohort it generates (``results/cox.csv`` rows).
    accept : callable
        Model -> whether its cohort still meets every published count and rate.

    Raises
    ------
    RuntimeError
        No seed gives the pattern.
    """
    n_eval = 0
    effect_terms = {e.term for e in EFFECTS}

    def run(model: OutcomeModel) -> tuple[pd.DataFrame, pd.DataFrame]:
        nonlocal n_eval
        n_eval += 1
        cox = evaluate(model)
        return cox, check_pattern(cox)

    for k, seed in enumerate(seeds, start=1):
        model = null_model(seed)
        while True:
            cox, status = run(model)
            stray = implausible_hrs(cox)
            if not stray["term"].isin(effect_terms).all():
                break
            failing = [r for r, ok in zip(FIG3_PATTERN, status["ok"]) if not ok]
            if not failing:
                if not accept(model):
                    break
                return _shrink(model, cox, run, accept, k, lambda: n_eval)
            raise_ = sorted({r.effect for r in failing if r.significant and r.effect})
            if not raise_:
                break
            stepped = {name: _step(dict(model.hr)[name], 1) for name in raise_}
            if any(v is None for v in stepped.values()):
                break
            for name, value in stepped.items():
                model = model.with_hr(name, value)
    raise RuntimeError(f"no outcome seed of {seeds} gives the paper's Figure 3 pattern with hazard ratios up to "
                       f"{HR_GRID[-1]}")


def _shrink(model: OutcomeModel, cox: pd.DataFrame, run, accept, seeds_tried: int, n_eval) -> SearchResult:
    """Lower effects one grid step at a time while the pattern holds, in passes until a pass lowers none.

    The last pass tries one step less of each effect of the final model: what it breaks is recorded.
    """
    terms = {x.term for x in EFFECTS}
    while True:
        below: dict[str, tuple[float, str]] = {}
        lowered = False
        for e in EFFECTS:
            lower = _step(dict(model.hr)[e.name], -1)
            if lower is None:
                below[e.name] = (math.nan, "no smaller hazard ratio on the grid")
                continue
            candidate = model.with_hr(e.name, lower)
            c_cox, c_status = run(candidate)
            failed = list(c_status.loc[~c_status["ok"], "requirement"])
            if not failed and not implausible_hrs(c_cox)["term"].isin(terms).all():
                failed = ["a significant univariate HR outside 1/4-4 of a factor the model has no effect for"]
            if not failed and not accept(candidate):
                failed = ["the calibration to the published counts and rates"]
            if not failed:
                model, cox, lowered = candidate, c_cox, True
                continue
            below[e.name] = (lower, failed[0])
        if not lowered:
            return SearchResult(model, cox, below, seeds_tried, n_eval())


# --------------------------------------------------------------------------
# The effects file
# --------------------------------------------------------------------------

EFFECTS_COLUMNS = ("effect", "covariate", "level", "hazard", "term", "endpoint", "generator_hr", "generator_log_hr",
                   "hr_one_step_below", "fails_one_step_below", "n_level_before", "events_level_before",
                   "n_level_after", "events_level_after", "events_before", "events_after")
PROVENANCE_COLUMNS = ("outcome_seed", "seeds_tried", "evaluations", "source")

#: The endpoint whose events count the patients at an effect's level.
_EVENT_COLUMN = {"OS": "os_event", "PFS": "pfs_event", "LC": "lc_event"}


def effects_table(result: SearchResult, analysis: pd.DataFrame, source: str) -> pd.DataFrame:
    """``data/synthetic_effects.csv``: one row per effect, with the search's provenance and the group sizes.

    ``analysis`` is the eligible cohort with endpoints and the ``matched`` flag
    (``helpers.synthetic.check.analysis_frame``).
    """
    rows = []
    for e in EFFECTS:
        hr = dict(result.model.hr)[e.name]
        lower, fails = result.below[e.name]
        at = analysis[e.column] == e.level
        ev = analysis[_EVENT_COLUMN[e.endpoint]] == 1
        m = analysis["matched"].astype(bool)
        rows.append(dict(effect=e.name, covariate=e.column, level=e.level, hazard=e.hazard, term=e.term,
                         endpoint=e.endpoint, generator_hr=hr, generator_log_hr=round(math.log(hr), 6),
                         hr_one_step_below=lower, fails_one_step_below=fails,
                         n_level_before=int(at.sum()), events_level_before=int((at & ev).sum()),
                         n_level_after=int((at & m).sum()), events_level_after=int((at & ev & m).sum()),
                         events_before=int(ev.sum()), events_after=int((ev & m).sum()),
                         outcome_seed=result.model.outcome_seed, seeds_tried=result.seeds_tried,
                         evaluations=result.evaluations, source=source))
    return pd.DataFrame(rows, columns=list(EFFECTS_COLUMNS + PROVENANCE_COLUMNS))


REALISED_COLUMNS = ("effect", "cohort", "endpoint", "model", "term", "hr", "ci_lower", "ci_upper", "p_value")


def realised_table(cox: pd.DataFrame) -> pd.DataFrame:
    """``data/synthetic_effects_hrs.csv``: the hazard ratio of each effect's covariate in every Cox model of the report.

    One row per effect, cohort, endpoint and model (the rows of ``cox`` for the effect's term): what the effect
    sizes of ``synthetic_effects.csv`` give, on every endpoint (e.g. a death effect also shows in PFS, whose
    events include deaths).
    """
    by_term = {e.term: e.name for e in EFFECTS}
    out = cox[cox["term"].isin(list(by_term))].assign(effect=lambda d: d["term"].map(by_term))
    order = {e.name: k for k, e in enumerate(EFFECTS)}
    out = out.sort_values(["effect", "cohort", "endpoint", "model"], key=lambda c: c.map(order) if c.name == "effect"
                          else c.map({"before": 0, "after": 1, "OS": 0, "PFS": 1, "LC": 2, "univariate": 0,
                                      "multivariate": 1}), kind="stable")
    return out[list(REALISED_COLUMNS)].reset_index(drop=True)


def model_from_table(table: pd.DataFrame) -> OutcomeModel:
    """The outcome model recorded in ``data/synthetic_effects.csv``."""
    seeds = table["outcome_seed"].unique()
    if len(seeds) != 1:
        raise ValueError(f"synthetic_effects.csv: column 'outcome_seed' must hold one value; found {list(seeds)}")
    by = dict(zip(table["effect"], table["generator_hr"].astype(float)))
    missing = [e.name for e in EFFECTS if e.name not in by]
    if missing:
        raise ValueError(f"synthetic_effects.csv: no row for effect(s) {', '.join(missing)}; regenerate with "
                         "`make data`")
    return OutcomeModel(tuple((e.name, by[e.name]) for e in EFFECTS), int(seeds[0]))


# --------------------------------------------------------------------------
# What notebook 00 shows
# --------------------------------------------------------------------------

#: How the text names each effect's level (vs the reference) and the event whose hazard it raises.
EFFECT_WORDS = {"child_pugh_b": "Child-Pugh B (vs A)", "platelets_lt100": "platelets < 100 (vs ≥ 100)",
                "male": "male (vs female)", "hcv": "HCV (vs HBV)"}


def effects_overview(table: pd.DataFrame, hrs: pd.DataFrame, alpha: float = ALPHA,
                     bound: float = PLAUSIBLE_HR) -> pd.DataFrame:
    """One row per effect and endpoint of a significant univariate HR of the effect's covariate: what forced it.

    Joins ``synthetic_effects.csv`` (``table``) and ``synthetic_effects_hrs.csv`` (``hrs``): for each
    effect, on every endpoint where a univariate HR of its covariate is significant (before or after
    matching), the generator HR, the HR one grid step below and the requirement it fails, the group
    sizes and the resulting univariate HRs (the reference level's HR is inverted, so that every HR is
    that of the effect's level), and ``forced``: a resulting HR outside [1/bound, bound].
    """
    rows = []
    for _, e in table.iterrows():
        invert = e["term"].split("[", 1)[1].rstrip("]") != e["level"]  # the term names the reference level
        for endpoint in ("OS", "PFS", "LC"):
            uni = hrs[(hrs["effect"] == e["effect"]) & (hrs["endpoint"] == endpoint) & (hrs["model"] == "univariate")]
            if not (uni["p_value"].astype(float) < alpha).any() and endpoint != e["endpoint"]:
                continue
            row = dict(effect=e["effect"], words=EFFECT_WORDS.get(e["effect"], e["effect"]), hazard=e["hazard"],
                       endpoint=endpoint, searched_for=endpoint == e["endpoint"], generator_hr=e["generator_hr"],
                       hr_one_step_below=e["hr_one_step_below"], fails_one_step_below=e["fails_one_step_below"],
                       n_level_before=e["n_level_before"], n_level_after=e["n_level_after"],
                       events_level_before=e["events_level_before"] if endpoint == e["endpoint"] else math.nan,
                       events_level_after=e["events_level_after"] if endpoint == e["endpoint"] else math.nan,
                       events_before=e["events_before"] if endpoint == e["endpoint"] else math.nan,
                       events_after=e["events_after"] if endpoint == e["endpoint"] else math.nan)
            for cohort in ("before", "after"):
                r = uni[uni["cohort"] == cohort]
                hr, lo, hi, p = (r[["hr", "ci_lower", "ci_upper", "p_value"]].iloc[0].astype(float).tolist()
                                 if len(r) else [math.nan] * 4)
                if invert:
                    hr, lo, hi = 1 / hr, 1 / hi, 1 / lo
                row |= {f"hr_{cohort}": hr, f"ci_lower_{cohort}": lo, f"ci_upper_{cohort}": hi, f"p_{cohort}": p}
            row["forced"] = any(row[f"p_{c}"] < alpha and not (1 / bound <= row[f"hr_{c}"] <= bound)
                                for c in ("before", "after"))
            rows.append(row)
    return pd.DataFrame(rows)


def forced_sentences(overview: pd.DataFrame, digits: int = 2) -> list[str]:
    """In words, each effect whose resulting HR lies outside 1/4-4: the group size that forces it, from the numbers."""
    out = []
    for _, r in overview[overview["forced"]].iterrows():
        hrs = ", ".join(f"{r[f'hr_{c}']:.{digits}f} {c} matching" for c in ("before", "after")
                        if not math.isnan(r[f"hr_{c}"]))
        if r["searched_for"]:
            why = (f"{r['events_level_before']:.0f} and {r['events_level_after']:.0f} of them with an event, of "
                   f"{r['events_before']:.0f} and {r['events_after']:.0f} {r['endpoint']} events in all; the "
                   f"generator needs an effect of {r['generator_hr']:g} on {r['hazard']} for significance; "
                   f"at {r['hr_one_step_below']:g}, one grid step less, {r['fails_one_step_below']} fails")
        else:
            why = (f"it follows from the {r['hazard']} effect of {r['generator_hr']:g} searched for "
                   f"{EFFECT_BY_NAME[r['effect']].endpoint}")
        out.append(f"{r['words']}, {r['endpoint']}: {r['n_level_before']} patients before matching and "
                   f"{r['n_level_after']} after; {why}; resulting univariate HR {hrs}.")
    return out
