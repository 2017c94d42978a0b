"""The synthetic default cohort: patient-level data calibrated to the paper's aggregates.

The study's patient data were never published. This module writes a
**synthetic, de-identified** cohort (``data/cohort.csv``) and adverse-event
table (``data/adverse_events.csv``) that reproduce the published aggregates,
so that the report runs out of the box. Nothing in these files is a real
patient.

How it is built (one fixed seed, so the files are byte-for-byte reproducible):

1. **Covariates of the 152 eligible patients.** For each arm and each Table 1
   variable, exactly the published "before matching" count of patients gets the
   second level (e.g. 7 of 109 SBRT patients are Child-Pugh B). Which patient
   gets which level is then tuned by a deterministic local search that swaps
   a variable's values between two patients *of the same arm* (so every
   before-matching count stays exact) until the study's own propensity model
   and 2:1 caliper matching (``helpers.stats.matching``) land near the published
   68/36 matched patients and the published after-matching counts.
2. **Outcomes.** The matching splits each arm into matched and unmatched
   patients. For each of those four groups, the numbers of deaths,
   progression-or-death and in-field recurrences in 0-12, 12-36, 36-60 and
   > 60 months are fixed so that the Kaplan-Meier 1-, 3- and 5-year rates
   reproduce the published ones before *and* after matching; event times are
   drawn within those intervals. Platelets < 100 (not a propensity covariate)
   go at random to the published number of each group's patients. *Who* has
   the events is drawn from a proportional-hazards model with stated hazard
   ratios (``helpers.synthetic.effects``: Child-Pugh B on death, platelets
   < 100 and male sex on death and progression, HCV on in-field recurrence),
   the smallest on a grid that give the paper's Figure 3 significance pattern
   in the report's own Cox models (:func:`search_outcome_model`). They are
   written, with the search's provenance, to ``data/synthetic_effects.csv``,
   and the hazard ratios they give to ``data/synthetic_effects_hrs.csv``.
3. **Raw values** (age in years, platelet count, AFP, dose and fractions,
   diameter in cm, dates) are drawn inside the category each patient must be
   in, including values exactly on the cut-points (age 60, platelets 100,
   AFP 200, diameter 5.0 cm, 50 Gy in 5 fractions = BED 100 Gy).
4. **Screening.** Patients who fail one inclusion criterion each are added
   so that every criterion of the Methods excludes some patients.
5. **Toxicity** and **Table 2** (sites of first progression, subsequent
   therapy) with the published counts.

Run ``python -m helpers.synthetic --out data`` (or ``make data``; about a minute, most of it the search).
``generate(model=...)`` skips the search and uses a recorded model
(:func:`helpers.synthetic.effects.model_from_table`), as the byte-for-byte test does.
"""
from __future__ import annotations

import argparse
import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.data.derive import DAYS_PER_MONTH, PROPENSITY_COVARIATES, TABLE1_VARIABLES
from helpers.data.published import load_published, published_value
from helpers.data.schema import ADVERSE_EVENT_COLUMNS, ARMS, COHORT_COLUMNS
from helpers.paths import SYNTHETIC_EFFECTS_CSV, SYNTHETIC_EFFECTS_HRS_CSV
from helpers.synthetic.effects import (
    HR_GRID,
    OutcomeModel,
    SearchResult,
    effects_table,
    linear_predictors,
    realised_table,
    search,
)

SEED: int = 20260313
CUTOFF = pd.Timestamp("2025-09-30")
STUDY_START = pd.Timestamp("2011-12-01")
STUDY_END = pd.Timestamp("2020-12-31")
# The paper's matching design, as the ledger states it (the generator calibrates the matched cohort to it).
RATIO = int(published_value(load_published(), "matching_ratio"))
CALIPER_SD = published_value(load_published(), "matching_caliper_sd")

# Dose regimens (total Gy, fractions) inside the paper's 48-55 Gy in 5-8 fractions.
REGIMENS_BED_LT_100 = ((48, 8), (49, 7), (48, 6), (50, 6), (55, 7), (55, 8), (50, 7))
REGIMENS_BED_GE_100 = ((50, 5), (54, 6), (55, 6), (51, 5))

# Events per interval (0-12, 12-36, 36-60, >60 months) for the four groups
# (arm x matched). Chosen so that Kaplan-Meier rates reproduce the published
# ones before and after matching, e.g. OS after matching SBRT: 6 deaths in year
# one of 68 -> 62/68 = 91.2 %; before matching 8 of 109 -> 92.6 %.
GROUPS = ("SBRT matched", "SBRT unmatched", "SBRT+TACE matched", "SBRT+TACE unmatched")
DEATHS = {"SBRT matched": (6, 10, 10, 4), "SBRT unmatched": (2, 6, 4, 3),
          "SBRT+TACE matched": (0, 5, 3, 2), "SBRT+TACE unmatched": (1, 3, 1, 0)}
# Progression or death, whichever first (so including deaths without progression).
PFS_EVENTS = {"SBRT matched": (18, 15, 13, 5), "SBRT unmatched": (7, 14, 9, 2),
              "SBRT+TACE matched": (4, 11, 2, 8), "SBRT+TACE unmatched": (3, 3, 0, 0)}
DEATHS_WITHOUT_PROGRESSION = {"SBRT matched": 2, "SBRT unmatched": 1, "SBRT+TACE matched": 1, "SBRT+TACE unmatched": 0}
IN_FIELD = {"SBRT matched": (2, 2, 3, 1), "SBRT unmatched": (0, 0, 1, 0),
            "SBRT+TACE matched": (0, 1, 0, 2), "SBRT+TACE unmatched": (1, 0, 0, 0)}
# Sites of first progression (Table 2), per group; in-field recurrences are
# liver-only progressions and are taken from the "liver" count.
SITES = {
    "SBRT matched": {"liver": 45, "bone": 1, "two": 2, "three": 1},
    "SBRT unmatched": {"liver": 22, "lymph node": 1, "two": 7, "three": 1},
    "SBRT+TACE matched": {"liver": 18, "bone": 2, "lung": 1, "pelvis": 1, "two": 2},
    "SBRT+TACE unmatched": {"liver": 5, "two": 1},
}
THERAPY = {"SBRT matched": (19, 17, 13), "SBRT unmatched": (16, 8, 7),
           "SBRT+TACE matched": (13, 6, 5), "SBRT+TACE unmatched": (2, 1, 3)}
PLATELETS_LT_100 = {"SBRT matched": 27, "SBRT unmatched": 23, "SBRT+TACE matched": 13, "SBRT+TACE unmatched": 5}
MIN_FOLLOWUP_MONTHS, MAX_FOLLOWUP_MONTHS = 6.0, 161.0
ALIVE_START_SKEW = 0.6
INTERVALS = ((1.0, 12.0), (12.0, 36.0), (36.0, 60.0), (60.0, 150.0))
# Toxicity (patients): acute grade 1-2, RILD; post-TACE epigastric pain and fever.
ACUTE_G12 = {"SBRT": 42, "SBRT+TACE": 14}
RILD = {"SBRT": 8, "SBRT+TACE": 3}
POST_TACE = {"Abdominal pain (epigastric)": 8, "Fever": 2}
ACUTE_TERMS = ("Fatigue", "Nausea", "Vomiting", "Anorexia", "Abdominal pain")
# Patients screened but ineligible, by the criterion they fail (in Methods order).
INELIGIBLE = (("multiple_tumors", 9), ("diameter_gt_7", 5), ("recent_treatment", 7),
              ("child_pugh_c", 4), ("liver_volume_lt_700", 6), ("outside_period", 7))


# --------------------------------------------------------------------------
# 1. Covariates
# --------------------------------------------------------------------------

def _published_table1(ledger: pd.DataFrame) -> dict[tuple[str, str, str], int]:
    """(cohort, arm, variable) -> count of the variable's second level."""
    out = {}
    for v in TABLE1_VARIABLES:
        rows = ledger[(ledger.quantity == "table1_n") & (ledger.variable == v.column) & (ledger.level == v.levels[1])]
        for _, r in rows.iterrows():
            out[(r.cohort, r.arm, v.column)] = int(r.value)
    return out


def _match(df: pd.DataFrame) -> np.ndarray:
    """Boolean 'matched' per row, by the study's propensity model and matching."""
    from helpers.stats.matching import fit_propensity, match_nearest_caliper

    fit = fit_propensity(df, PROPENSITY_COVARIATES, treatment="arm", treated_level="SBRT+TACE")
    m = match_nearest_caliper(fit.logit_ps.to_numpy(), (df["arm"] == "SBRT+TACE").to_numpy(),
                              np.arange(len(df)), ratio=RATIO, caliper_sd=CALIPER_SD)
    return m["matched"].to_numpy().astype(bool)


def _matching_loss(df: pd.DataFrame, matched: np.ndarray, table1: dict) -> float:
    """Distance of the matched cohort from the published one: sizes (weighted) plus Table 1 counts."""
    loss = 0.0
    arm = df["arm"].to_numpy()
    target_n = {"SBRT": 68, "SBRT+TACE": 36}
    for a in ARMS:
        sel = matched & (arm == a)
        loss += 3.0 * abs(int(sel.sum()) - target_n[a])
        for v in TABLE1_VARIABLES:
            if v.column == "platelets_group":
                continue  # not a propensity covariate: set exactly after matching
            got = int((df[v.column].to_numpy()[sel] == v.levels[1]).sum())
            loss += abs(got - table1[("after", a, v.column)])
    return loss


# The four treated patients who keep a single control: chosen so that the matched
# controls' counts (two per other treated patient) fall on the published ones.
SINGLE_SET_PATTERNS = (
    {"age_group": ">=60", "ecog_group": "1", "pvtt_group": "With", "child_pugh_class": "B"},
    {"age_group": ">=60", "ecog_group": "1", "afp_group": ">=200"},
    {"age_group": ">=60", "pvtt_group": "With", "bed_group": "<100"},
    {"age_group": ">=60", "diameter_group": ">=5"},
)


def _fill_rows(rng: np.random.Generator, n: int, sums: dict[str, int], fixed: pd.DataFrame | None = None) -> pd.DataFrame:
    """``n`` rows of the propensity covariates with ``sums[v]`` rows at the second level of ``v``."""
    levels = {v.column: v.levels for v in TABLE1_VARIABLES if v.column in PROPENSITY_COVARIATES}
    out = pd.DataFrame({v: [lev[0]] * n for v, lev in levels.items()})
    for v, lev in levels.items():
        k = sums[v]
        if k < 0 or k > n:
            raise ValueError(f"cannot place {k} of {n} rows at {v}={lev[1]}")
        out.loc[rng.choice(n, size=k, replace=False), v] = lev[1]
    return out


def construct_covariates(rng: np.random.Generator, table1: dict, attempts: int = 400) -> pd.DataFrame:
    """Covariate patterns for which the study's matching gives (about) the published matched cohort.

    Matched sets on binary covariates are, almost always, patients with the same
    covariate pattern. So: 36 treated patterns with the published after-matching
    counts (4 of them, ``SINGLE_SET_PATTERNS``, keep one control, the other 32 two),
    68 controls copying them, 7 unmatched treated and 41 unmatched controls with
    the remaining counts and patterns that the matching cannot pair. Among
    ``attempts`` random constructions the one whose actual matching is closest
    to the published one (``_matching_loss``) is kept.
    """
    covs = [v for v in PROPENSITY_COVARIATES]
    first = {v.column: v.levels[0] for v in TABLE1_VARIABLES}
    second = {v.column: v.levels[1] for v in TABLE1_VARIABLES}
    t_after = {v: table1[("after", "SBRT+TACE", v)] for v in covs}
    # Levels not named in a single-set pattern take the commoner level (e.g. Male, BED >= 100).
    modal = {v: second[v] if 2 * t_after[v] > 36 else first[v] for v in covs}
    singles = pd.DataFrame([{v: p.get(v, modal[v]) for v in covs} for p in SINGLE_SET_PATTERNS])
    best = None
    for _ in range(attempts):
        t_m_rest = _fill_rows(rng, 32, {v: t_after[v] - int((singles[v] == second[v]).sum()) for v in covs})
        t_m = pd.concat([t_m_rest, singles], ignore_index=True)
        t_u = _fill_rows(rng, 7, {v: table1[("before", "SBRT+TACE", v)] - t_after[v] for v in covs})
        c_m = pd.concat([t_m_rest, t_m_rest, singles], ignore_index=True)
        c_u = _fill_rows(rng, 41, {v: table1[("before", "SBRT", v)] - int((c_m[v] == second[v]).sum()) for v in covs})

        def key(d):
            return set(map(tuple, d[covs].to_numpy()))
        if key(t_u) & (key(c_m) | key(c_u)) or key(c_u) & key(singles):
            continue
        treated = pd.concat([t_m, t_u], ignore_index=True).assign(arm="SBRT+TACE")
        control = pd.concat([c_m, c_u], ignore_index=True).assign(arm="SBRT")
        df = pd.concat([treated, control], ignore_index=True)
        df = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
        df["platelets_group"] = "<100"  # placeholder: set after matching, with the outcomes
        loss = _matching_loss(df, _match(df), table1)
        if best is None or loss < best[0]:
            best = (loss, df)
    if best is None:
        raise RuntimeError("no covariate construction satisfied the matching constraints")
    return best[1][["arm"] + [v.column for v in TABLE1_VARIABLES]]


# --------------------------------------------------------------------------
# 2. Outcomes
# --------------------------------------------------------------------------

def _draw_times(rng: np.random.Generator, counts: tuple[int, ...], first_lower: float = INTERVALS[0][0]) -> np.ndarray:
    """Event times (months) with ``counts[k]`` of them inside ``INTERVALS[k]``, sorted.

    ``first_lower`` raises the lower end of the first interval (no death
    before the published minimum follow-up of 6 months).
    """
    bounds = [(first_lower, INTERVALS[0][1])] + list(INTERVALS[1:])
    times = [rng.uniform(lo + 0.05, hi - 0.05, size=n) for (lo, hi), n in zip(bounds, counts)]
    return np.sort(np.concatenate(times)) if times else np.array([])


def _group_trajectories(rng: np.random.Generator, group: str) -> list[dict]:
    """Event histories of one group: one dict per patient with a PFS event.

    Each has ``pfs`` (months), ``death`` (months or None) and ``progressed``
    (False for a death without progression, whose PFS event is the death).
    Deaths with progression are paired with an earlier progression.
    """
    for _attempt in range(1000):
        deaths = _draw_times(rng, DEATHS[group], first_lower=MIN_FOLLOWUP_MONTHS)
        pfs_counts = list(PFS_EVENTS[group])
        n_dwp = DEATHS_WITHOUT_PROGRESSION[group]
        dwp_idx = set(rng.choice(len(deaths), size=n_dwp, replace=False).tolist()) if n_dwp else set()
        for k in dwp_idx:  # a death without progression is itself a PFS event in its interval
            interval = next(i for i, (lo, hi) in enumerate(INTERVALS) if lo <= deaths[k] < hi)
            pfs_counts[interval] -= 1
        if min(pfs_counts) < 0:
            continue
        progressions = list(_draw_times(rng, tuple(pfs_counts)))
        trajectories: list[dict] = []
        ok = True
        for k, d in enumerate(deaths):
            if k in dwp_idx:
                trajectories.append(dict(pfs=d, death=d, progressed=False))
                continue
            # progression at least a month before death, chosen at random among those possible
            feasible = [p for p in progressions if p <= d - 1.0]
            if not feasible:
                ok = False
                break
            p = feasible[rng.integers(len(feasible))]
            progressions.remove(p)
            trajectories.append(dict(pfs=p, death=d, progressed=True))
        if not ok:
            continue
        trajectories += [dict(pfs=p, death=None, progressed=True) for p in progressions]
        return trajectories
    raise RuntimeError(f"could not draw coherent event histories for {group}")


def _interval_of(t: float) -> int:
    return next(i for i, (lo, hi) in enumerate(INTERVALS) if t < hi or i == len(INTERVALS) - 1)


def _assign_outcomes(rng: np.random.Generator, g: pd.DataFrame, group: str, model: OutcomeModel) -> pd.DataFrame:
    """Give each patient of one group a platelet group, a death/progression history, sites and therapy.

    Platelets < 100 go to exactly the published number of the group's patients, at
    random. Who has the group's events is drawn from the proportional-hazards model
    ``model`` (``helpers.synthetic.effects``): each patient has latent times
    ``E / exp(eta)`` (``E`` standard exponential) for death, progression and in-field
    recurrence; the earliest latent deaths receive the group's death histories in
    order, then, among the others, the earliest latent progressions the
    progressions without death, and in each interval the scheduled in-field
    recurrences go to the liver progressions with the earliest latent in-field time.
    Every draw is made before the model is used, so two models compare on one draw.
    """
    g = g.copy()
    n = len(g)
    plt = np.full(n, ">=100", dtype=object)
    plt[rng.choice(n, size=PLATELETS_LT_100[group], replace=False)] = "<100"
    g["platelets_group"] = plt
    traj = _group_trajectories(rng, group)
    latent = {k: rng.exponential(1.0, n) for k in ("death", "progression", "in_field")}
    eta = linear_predictors(model, g)
    key = {k: latent[k] / np.exp(eta[k]) for k in latent}
    dying = sorted((t for t in traj if t["death"] is not None), key=lambda t: t["death"])
    progressing = sorted((t for t in traj if t["death"] is None), key=lambda t: t["pfs"])
    by_death = np.argsort(key["death"], kind="stable")
    dead_rows = set(by_death[:len(dying)].tolist())
    rest = [r for r in np.argsort(key["progression"], kind="stable") if r not in dead_rows]
    pfs = np.full(n, np.nan)
    death = np.full(n, np.nan)
    progressed = np.zeros(n, bool)
    for t, row in list(zip(dying, by_death)) + list(zip(progressing, rest)):
        pfs[row] = t["pfs"]
        progressed[row] = t["progressed"]
        death[row] = np.nan if t["death"] is None else t["death"]
    g["_pfs"], g["_death"], g["_progressed"] = pfs, death, progressed

    # In-field recurrence: liver-only progressions in the scheduled intervals, earliest latent in-field time first.
    infield = np.zeros(n, bool)
    prog_rows = np.flatnonzero(progressed)
    for k, count in enumerate(IN_FIELD[group]):
        cands = sorted((r for r in prog_rows if _interval_of(pfs[r]) == k and not infield[r]),
                       key=lambda r: (key["in_field"][r], r))
        if len(cands) < count:
            raise RuntimeError(f"{group}: too few progressions in interval {k} for in-field recurrences")
        for r in cands[:count]:
            infield[r] = True
    # Sites of first progression.
    sites = np.full(n, "", dtype=object)
    spec = dict(SITES[group])
    n_liver_only = spec.pop("liver")
    for r in np.flatnonzero(infield):
        sites[r] = "liver;in-field"
    n_liver_only -= int(infield.sum())
    pool = [r for r in prog_rows if not infield[r]]
    pool = [pool[i] for i in rng.permutation(len(pool))]
    labels = ["liver"] * n_liver_only
    for key, count in spec.items():
        if key == "two":
            labels += [["liver;bone", "liver;lung", "liver;lymph node"][i % 3] for i in range(count)]
        elif key == "three":
            labels += ["liver;bone;lung"] * count
        else:
            labels += [key] * count
    if len(labels) != len(pool):
        raise RuntimeError(f"{group}: {len(labels)} site patterns for {len(pool)} progressions")
    for r, lab in zip(pool, labels):
        sites[r] = lab
    g["progression_sites"] = sites
    g["_infield"] = infield
    # Subsequent therapy: conservative first for those who died soonest after progression.
    therapy = np.full(n, "", dtype=object)
    single, multiple, conservative = THERAPY[group]
    gap = np.where(np.isnan(death), 999.0, death - pfs)
    prog_sorted = sorted(prog_rows, key=lambda r: (gap[r] + rng.normal(0, 12), r))
    labels = ["conservative"] * conservative + [None] * (single + multiple)
    rest = [r for r, lab in zip(prog_sorted, labels) if lab is None]
    for r, lab in zip(prog_sorted, labels):
        if lab:
            therapy[r] = lab
    rest = [rest[i] for i in rng.permutation(len(rest))]
    for i, r in enumerate(rest):
        therapy[r] = "single" if i < single else "multiple"
    g["subsequent_therapy"] = therapy
    return g


# --------------------------------------------------------------------------
# 3. Raw values and dates
# --------------------------------------------------------------------------

def _raw_values(rng: np.random.Generator, df: pd.DataFrame) -> pd.DataFrame:
    """Draw raw measurements inside each patient's categories (with some exactly on cut-points)."""
    n = len(df)
    out = pd.DataFrame(index=df.index)
    lt60 = df["age_group"].to_numpy() == "<60"
    out["age_years"] = np.where(lt60, rng.integers(38, 60, n), rng.integers(60, 79, n))
    plt_low = df["platelets_group"].to_numpy() == "<100"
    out["platelets_1e9_per_l"] = np.where(plt_low, rng.integers(42, 100, n), rng.integers(100, 260, n)).astype(float)
    afp_low = df["afp_group"].to_numpy() == "<200"
    afp = np.where(afp_low, np.exp(rng.uniform(np.log(1.5), np.log(199.9), n)),
                   np.exp(rng.uniform(np.log(200), np.log(6000), n)))
    out["afp_ng_ml"] = np.round(afp, 1)
    diam_small = df["diameter_group"].to_numpy() == "<5"
    out["tumor_diameter_cm"] = np.where(diam_small, np.round(rng.uniform(1.0, 4.95, n), 1),
                                        np.round(rng.uniform(5.0, 7.0, n), 1))
    bed_low = df["bed_group"].to_numpy() == "<100"
    lo = [REGIMENS_BED_LT_100[i] for i in rng.integers(len(REGIMENS_BED_LT_100), size=n)]
    hi = [REGIMENS_BED_GE_100[i] for i in rng.integers(len(REGIMENS_BED_GE_100), size=n)]
    reg = [a if low else b for a, b, low in zip(lo, hi, bed_low)]
    out["sbrt_dose_gy"] = [float(r[0]) for r in reg]
    out["sbrt_fractions"] = [int(r[1]) for r in reg]
    once = df["prior_treatment_group"].to_numpy() == "Once"
    out["prior_treatments"] = np.where(once, 1, rng.choice([2, 2, 2, 3, 3, 4], size=n))
    # A few values exactly on the cut-points, inside the category they belong to (>= side).
    for col, value, cat_col, cat in (("age_years", 60, "age_group", ">=60"),
                                     ("platelets_1e9_per_l", 100.0, "platelets_group", ">=100"),
                                     ("afp_ng_ml", 200.0, "afp_group", ">=200"),
                                     ("tumor_diameter_cm", 5.0, "diameter_group", ">=5")):
        rows = np.flatnonzero(df[cat_col].to_numpy() == cat)[:2]
        out.iloc[rows, out.columns.get_loc(col)] = value
    return out


def _start_dates(rng: np.random.Generator, required_months: np.ndarray, dead: np.ndarray) -> np.ndarray:
    """SBRT start dates in the study period that leave room for each patient's follow-up.

    A patient who died at ``t`` months started at least ``t`` months before the
    cut-off. Patients alive at the cut-off started from ``MAX_FOLLOWUP_MONTHS``
    before it (the published maximum follow-up), later starts being more
    frequent (accrual grew over the decade), which puts the median follow-up
    near the published 76 months.
    """
    starts = np.empty(len(required_months), dtype=object)
    earliest_alive = CUTOFF - pd.Timedelta(days=int(round(MAX_FOLLOWUP_MONTHS * DAYS_PER_MONTH)))
    for i, (need, died) in enumerate(zip(required_months, dead)):
        latest = min(STUDY_END, CUTOFF - pd.Timedelta(days=int(math.ceil(need * DAYS_PER_MONTH)) + 1))
        earliest = STUDY_START if died else earliest_alive
        span = (latest - earliest).days
        if span < 0:
            raise RuntimeError("no start date leaves room for the follow-up")
        u = rng.uniform() ** (0.8 if died else ALIVE_START_SKEW)
        starts[i] = earliest + pd.Timedelta(days=int(round(u * span)))
    # The longest-followed survivor starts exactly at the published maximum follow-up.
    alive = np.flatnonzero(~dead)
    starts[alive[np.argmin([starts[i] for i in alive])]] = earliest_alive
    return starts


def _date(start: pd.Timestamp, months: float) -> pd.Timestamp:
    return start + pd.Timedelta(days=int(round(months * DAYS_PER_MONTH)))


# --------------------------------------------------------------------------
# 4. Assembly
# --------------------------------------------------------------------------

def skeleton(seed: int = SEED, n_iter: int = 400) -> pd.DataFrame:
    """The eligible patients' propensity covariates, their matching and group (arm x matched)."""
    skel = construct_covariates(np.random.default_rng(seed), _published_table1(load_published()), attempts=n_iter)
    matched = _match(skel)
    skel["_matched"] = matched
    skel["_group"] = [f"{a} {'matched' if m else 'unmatched'}" for a, m in zip(skel["arm"], matched)]
    return skel


def _eligible_patients(skel: pd.DataFrame, model: OutcomeModel, seed: int, rng: np.random.Generator) -> pd.DataFrame:
    """Outcomes (drawn with their own generator, seeded by ``seed`` and the model's outcome seed), raw values, starts."""
    out_rng = np.random.default_rng([seed, 1, model.outcome_seed])
    parts = []
    for group in GROUPS:
        g = skel[skel["_group"] == group]
        parts.append(_assign_outcomes(out_rng, g, group, model))
    df = pd.concat(parts).sort_index()
    raw = _raw_values(rng, df)
    df = pd.concat([df, raw], axis=1)
    df["sex"] = df["sex_group"]
    df["hepatitis"] = df["hepatitis_type"]
    df["child_pugh"] = df["child_pugh_class"]
    df["pvtt"] = (df["pvtt_group"] == "With").astype(int)
    df["ecog"] = df["ecog_group"].astype(int)
    n = len(df)
    df["n_tumors"] = 1
    df["months_since_last_treatment"] = np.round(rng.uniform(3.0, 48.0, n), 1)
    df["residual_liver_volume_cc"] = np.round(rng.uniform(720, 1600, n), 0)
    # Dates.
    dead = df["_death"].notna().to_numpy()
    last_event = np.fmax(df["_death"].fillna(0).to_numpy(), df["_pfs"].fillna(0).to_numpy())
    required = np.where(dead, df["_death"].fillna(0).to_numpy(), last_event + 1.0)
    df["_start"] = _start_dates(rng, required, dead)
    return df


def _dates_from_months(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    out = df.copy()
    start = out["_start"]
    out["sbrt_start"] = start
    death = [(_date(s, m) if not np.isnan(m) else pd.NaT) for s, m in zip(start, out["_death"])]
    prog = [(_date(s, m) if (p and not np.isnan(m)) else pd.NaT)
            for s, m, p in zip(start, out["_pfs"], out["_progressed"])]
    out["death_date"] = death
    out["progression_date"] = prog
    out["local_progression_date"] = [p if inf else pd.NaT for p, inf in zip(prog, out["_infield"])]
    out["last_followup"] = [d if not pd.isna(d) else CUTOFF for d in death]
    # A death and a progression rounded to the same day: keep progression strictly earlier.
    # TACE: 1-5 days after the last SBRT fraction (median 2); fractions given on consecutive working days.
    tace = []
    for s, arm, nfx in zip(start, out["arm"], out["sbrt_fractions"]):
        if arm != "SBRT+TACE":
            tace.append(pd.NaT)
            continue
        end = pd.bdate_range(s, periods=int(nfx))[-1]
        gap = int(rng.choice([1, 1, 2, 2, 2, 2, 3, 3, 4, 5]))
        tace.append(end + pd.Timedelta(days=gap))
    out["tace_date"] = tace
    out["sbrt_end"] = [pd.bdate_range(s, periods=int(n))[-1] for s, n in zip(start, out["sbrt_fractions"])]
    return out


def _ineligible_patients(rng: np.random.Generator) -> pd.DataFrame:
    """Screened patients who each fail one inclusion criterion (with plausible outcomes)."""
    rows = []
    for reason, count in INELIGIBLE:
        for _ in range(count):
            start = STUDY_START + pd.Timedelta(days=int(rng.integers(0, (STUDY_END - STUDY_START).days)))
            r = dict(arm=ARMS[int(rng.random() < 0.25)], sex="Male" if rng.random() < 0.8 else "Female",
                     age_years=int(rng.integers(40, 78)), hepatitis="HBV" if rng.random() < 0.9 else "HCV",
                     child_pugh="A" if rng.random() < 0.9 else "B",
                     platelets_1e9_per_l=float(rng.integers(50, 250)),
                     afp_ng_ml=round(float(np.exp(rng.uniform(np.log(2), np.log(2000)))), 1),
                     pvtt=int(rng.random() < 0.1), ecog=int(rng.random() < 0.3),
                     prior_treatments=int(rng.choice([1, 1, 2, 3])),
                     months_since_last_treatment=round(float(rng.uniform(3, 40)), 1), n_tumors=1,
                     tumor_diameter_cm=round(float(rng.uniform(1.5, 6.5)), 1),
                     residual_liver_volume_cc=float(round(rng.uniform(720, 1500))))
            reg = REGIMENS_BED_GE_100[int(rng.integers(len(REGIMENS_BED_GE_100)))]
            r["sbrt_dose_gy"], r["sbrt_fractions"] = float(reg[0]), int(reg[1])
            if reason == "multiple_tumors":
                r["n_tumors"] = int(rng.integers(2, 4))
            elif reason == "diameter_gt_7":
                r["tumor_diameter_cm"] = round(float(rng.uniform(7.2, 11.0)), 1)
            elif reason == "recent_treatment":
                r["months_since_last_treatment"] = round(float(rng.uniform(0.5, 2.9)), 1)
            elif reason == "child_pugh_c":
                r["child_pugh"] = "C"
            elif reason == "liver_volume_lt_700":
                r["residual_liver_volume_cc"] = float(round(rng.uniform(480, 690)))
            elif reason == "outside_period":
                before = rng.random() < 0.5
                start = (STUDY_START - pd.Timedelta(days=int(rng.integers(20, 200)))) if before else \
                        (STUDY_END + pd.Timedelta(days=int(rng.integers(20, 150))))
            r["_start"] = start
            horizon = (CUTOFF - start).days / DAYS_PER_MONTH
            t_death = float(rng.exponential(60.0))
            t_prog = float(rng.exponential(20.0))
            r["_death"] = t_death if t_death < horizon - 0.5 else np.nan
            prog = t_prog < min(horizon - 1.0, t_death - 1.0 if t_death < horizon else horizon)
            r["_pfs"] = t_prog if prog else np.nan
            r["_progressed"] = bool(prog)
            r["_infield"] = False
            r["progression_sites"] = "liver" if prog else ""
            r["subsequent_therapy"] = str(rng.choice(["single", "multiple", "conservative"])) if prog else ""
            rows.append(r)
    return pd.DataFrame(rows)


def _adverse_events(rng: np.random.Generator, cohort: pd.DataFrame) -> pd.DataFrame:
    """Adverse events of the eligible patients with the published patient counts."""
    rows = []
    for arm in ARMS:
        ids = cohort.loc[cohort["eligible_"] & (cohort["arm"] == arm), "patient_id"].to_numpy()
        for pid in sorted(rng.choice(ids, size=ACUTE_G12[arm], replace=False)):
            n_terms = int(rng.choice([1, 1, 2, 2, 3]))
            for term in sorted(rng.choice(ACUTE_TERMS, size=n_terms, replace=False)):
                rows.append(dict(patient_id=pid, phase="SBRT", term=term, grade=int(rng.choice([1, 1, 1, 2]))))
        for pid in sorted(rng.choice(ids, size=RILD[arm], replace=False)):
            term = "RILD (classic)" if rng.random() < 0.35 else "RILD (non-classic)"
            rows.append(dict(patient_id=pid, phase="SBRT", term=term, grade=2))
        if arm == "SBRT+TACE":
            for term, count in POST_TACE.items():
                for pid in sorted(rng.choice(ids, size=count, replace=False)):
                    rows.append(dict(patient_id=pid, phase="post-TACE", term=term, grade=1 if term == "Fever" else int(rng.choice([1, 2]))))
    ae = pd.DataFrame(rows)
    return ae.sort_values(["patient_id", "phase", "term"], kind="stable").reset_index(drop=True)


def assemble(skel: pd.DataFrame, model: OutcomeModel, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cohort and adverse-event tables for one outcome model (everything but the outcomes: seeded by ``seed``)."""
    rng = np.random.default_rng([seed, 2])
    eligible = _eligible_patients(skel, model, seed, rng)
    eligible["eligible_"] = True
    inel = _ineligible_patients(rng)
    inel["eligible_"] = False
    # Screened patients in one order; eligible ones keep their relative order (the matching depends on it).
    n_total = len(eligible) + len(inel)
    slots = np.sort(rng.choice(n_total, size=len(inel), replace=False))
    order, e, i = [], 0, 0
    for pos in range(n_total):
        if i < len(slots) and slots[i] == pos:
            order.append(("inel", i))
            i += 1
        else:
            order.append(("elig", e))
            e += 1
    frames = {"elig": eligible.reset_index(drop=True), "inel": inel.reset_index(drop=True)}
    df = pd.DataFrame([frames[k].iloc[j].to_dict() for k, j in order])
    df = _dates_from_months(df, rng)
    df["patient_id"] = [f"SYN-{k:04d}" for k in range(1, len(df) + 1)]
    ae = _adverse_events(rng, df)
    cohort = _to_file_layout(df)
    return cohort, ae


@functools.lru_cache(maxsize=1)
def _survival_defaults() -> dict[str, object]:
    from helpers.parameters import notebook_parameters
    from helpers.paths import notebook_sources

    return {p.name: p.default for p in notebook_parameters(notebook_sources(("03_survival",)))}


def report_cox(cohort: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The eligible cohort with endpoints and matching, and its Cox table as notebook 03 computes it by default.

    The models are notebook 03's with its default parameters (``candidate_covariates``, ``entry_p``), read from
    the notebook, so the search judges the cohort by the tables the report shows.
    """
    from helpers.data.derive import TABLE1_VARIABLES
    from helpers.stats.survival import univariate_then_multivariate_cox
    from helpers.synthetic.check import ENDPOINTS, analysis_frame

    defaults = _survival_defaults()
    df = analysis_frame(_parsed(cohort), cutoff=str(CUTOFF.date()))
    levels = {v.column: list(v.levels) for v in TABLE1_VARIABLES} | {"arm": list(ARMS)}
    tables = []
    for cohort_name, sub in (("before", df), ("after", df[df["matched"]].reset_index(drop=True))):
        for ep, (tcol, ecol) in ENDPOINTS.items():
            t = univariate_then_multivariate_cox(sub, tcol, ecol, defaults["candidate_covariates"], levels=levels,
                                                 entry_p=defaults["entry_p"], forced=("arm",))
            tables.append(t.assign(cohort=cohort_name, endpoint=ep))
    return df, pd.concat(tables, ignore_index=True)


def _parsed(cohort: pd.DataFrame) -> pd.DataFrame:
    """The file-layout cohort with its date columns as dates (as the loader reads them)."""
    out = cohort.copy()
    for col in COHORT_COLUMNS:
        if col.kind == "date":
            out[col.name] = pd.to_datetime(out[col.name].replace("", np.nan))
    return out


def _calibrated(cohort: pd.DataFrame, ae: pd.DataFrame) -> bool:
    from helpers.synthetic.check import compare_to_published

    return bool(compare_to_published(_parsed(cohort), ae)["ok"].all())


def search_outcome_model(skel: pd.DataFrame, seed: int = SEED) -> SearchResult:
    """The smallest effects giving the paper's Figure 3 pattern (``helpers.synthetic.effects.search``)."""
    def evaluate(model: OutcomeModel) -> pd.DataFrame:
        return report_cox(assemble(skel, model, seed)[0])[1]

    def accept(model: OutcomeModel) -> bool:
        return _calibrated(*assemble(skel, model, seed))

    return search(evaluate, accept)


def generate(seed: int = SEED, n_iter: int = 400, model: OutcomeModel | None = None
             ) -> tuple[pd.DataFrame, pd.DataFrame, tuple[pd.DataFrame, pd.DataFrame] | None]:
    """Build the synthetic cohort and adverse-event tables (in the input files' column layout).

    Without ``model`` the outcome model is searched (:func:`search_outcome_model`) and the third item is
    the content of ``data/synthetic_effects.csv`` and ``data/synthetic_effects_hrs.csv``; with ``model``
    (e.g. read from the first, :func:`helpers.synthetic.effects.model_from_table`) it is used as given and
    the third item is None.
    """
    skel = skeleton(seed, n_iter)
    if model is not None:
        cohort, ae = assemble(skel, model, seed)
        return cohort, ae, None
    result = search_outcome_model(skel, seed)
    cohort, ae = assemble(skel, result.model, seed)
    analysis, cox = report_cox(cohort)
    source = (f"helpers/synthetic/generator.py, seed {seed}: smallest hazard ratios on the grid "
              f"{'/'.join(f'{h:g}' for h in HR_GRID)} giving the paper's Figure 3 pattern")
    return cohort, ae, (effects_table(result, analysis, source), realised_table(cox))


def _to_file_layout(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame()
    for col in COHORT_COLUMNS:
        out[col.name] = df[col.name]
    for c in ("sbrt_start", "sbrt_end", "tace_date", "last_followup", "death_date", "progression_date", "local_progression_date"):
        out[c] = pd.to_datetime(out[c]).dt.strftime("%Y-%m-%d").fillna("")
    return out


def write(out_dir: Path, seed: int = SEED, model: OutcomeModel | None = None) -> tuple[Path, ...]:
    """Write ``cohort.csv``, ``adverse_events.csv`` and (when the model is searched) the two effects files."""
    return write_tables(out_dir, *generate(seed, model=model))


def write_tables(out_dir: Path, cohort: pd.DataFrame, ae: pd.DataFrame,
                 effects: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> tuple[Path, ...]:
    """Write the tables of :func:`generate` in the files' byte layout."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    p1, p2 = out_dir / "cohort.csv", out_dir / "adverse_events.csv"
    cohort.to_csv(p1, index=False, lineterminator="\n", float_format="%.10g")
    ae[[c.name for c in ADVERSE_EVENT_COLUMNS]].to_csv(p2, index=False, lineterminator="\n")
    if effects is None:
        return p1, p2
    p3, p4 = out_dir / SYNTHETIC_EFFECTS_CSV.name, out_dir / SYNTHETIC_EFFECTS_HRS_CSV.name
    effects[0].to_csv(p3, index=False, lineterminator="\n", float_format="%.10g")
    effects[1].to_csv(p4, index=False, lineterminator="\n", float_format="%.10g")
    return p1, p2, p3, p4


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the synthetic default cohort (fixed seed).")
    parser.add_argument("--out", default="data", help="output folder (default: data)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for p in write(Path(args.out), args.seed):
        print(f"wrote {p} (SYNTHETIC data)")


if __name__ == "__main__":
    main()
