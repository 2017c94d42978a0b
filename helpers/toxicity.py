"""Toxicity (the paper's toxicity paragraph) and the pattern of progression (Table 2).

:func:`toxicity_table` gives ``toxicity.csv``: per arm the patients with an
event (each patient counted once per row, at their maximum grade) and a
two-sided Fisher exact p comparing the arms.

:func:`progression_pattern_table` gives Table 2: patients with progression,
single- vs multiple-organ progression, subsequent therapy and deaths, per
arm and in total; :func:`format_table2` lays out before/after matching like
the paper.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from helpers import fmt
from helpers.balance import arm_slug
from helpers.schema import ARMS, RILD_TERMS

SBRT_PHASE, POST_TACE_PHASE = "SBRT", "post-TACE"
RILD_CLASSIC, RILD_NON_CLASSIC = RILD_TERMS
FISHER_TEST = "Fisher's exact (two-sided)"


def fisher_p(events_a: int, n_a: int, events_b: int, n_b: int) -> float:
    """Two-sided Fisher exact p of events_a/n_a vs events_b/n_b.

    The 2 x 2 table is ``[[events_a, n_a - events_a], [events_b, n_b - events_b]]``;
    as R's ``fisher.test``, a row with no events in either arm gives p = 1.

    Examples
    --------
    The paper's acute grade 1-2 toxicity, 42/109 vs 14/43
    (R: ``fisher.test(matrix(c(42, 14, 67, 29), 2))$p.value`` = 0.576933322775072):

    >>> round(fisher_p(42, 109, 14, 43), 4)
    0.5769
    """
    if n_a == 0 or n_b == 0:
        return math.nan
    table = [[events_a, n_a - events_a], [events_b, n_b - events_b]]
    return float(stats.fisher_exact(table, alternative="two-sided").pvalue)


def _patients_by_arm(cohort: pd.DataFrame, arms: Sequence[str], arm_col: str) -> dict[str, pd.Index]:
    unexpected = set(cohort[arm_col].dropna().unique()) - set(arms)
    if unexpected or cohort[arm_col].isna().any():
        raise ValueError(f"{arm_col!r} must hold only {list(arms)}; found {sorted(map(str, unexpected)) or 'missing values'}")
    if cohort["patient_id"].duplicated().any():
        raise ValueError("patient_id is not unique in the cohort")
    return {arm: pd.Index(cohort.loc[cohort[arm_col] == arm, "patient_id"]) for arm in arms}


def _clean_events(adverse_events: pd.DataFrame, patients: pd.Index) -> pd.DataFrame:
    """Events of the cohort's patients only, with stripped terms and integer grades.

    Events of patients outside ``cohort`` are dropped: the same adverse-event
    file serves the full and the matched cohort.
    """
    ae = adverse_events.loc[adverse_events["patient_id"].isin(patients), ["patient_id", "phase", "term", "grade"]].copy()
    bad_phase = set(ae["phase"].unique()) - {SBRT_PHASE, POST_TACE_PHASE}
    if bad_phase:
        raise ValueError(f"unknown phase(s) {sorted(map(str, bad_phase))}; expected 'SBRT' or 'post-TACE'")
    ae["grade"] = pd.to_numeric(ae["grade"], errors="raise")
    if not ae["grade"].between(1, 5).all():
        raise ValueError("grade must be 1 to 5")
    ae["term"] = ae["term"].astype(str).str.strip()
    return ae


def _term_rows(events: pd.DataFrame) -> list[tuple[str, pd.Index]]:
    """(term, patients with that term) for each term, most frequent first.

    Terms are grouped case-insensitively; the label is the most used spelling.
    """
    key = events["term"].str.casefold()
    rows = []
    for _, grp in events.groupby(key, sort=False):
        label = grp["term"].value_counts().sort_index().idxmax()
        rows.append((label, pd.Index(grp["patient_id"].unique())))
    return sorted(rows, key=lambda r: (-len(r[1]), r[0].casefold()))


def toxicity_table(
    cohort: pd.DataFrame,
    adverse_events: pd.DataFrame,
    arms: Sequence[str] = ARMS,
    arm_col: str = "arm",
) -> pd.DataFrame:
    """Patients with each kind of adverse event, per arm, with Fisher's exact p (``toxicity.csv``).

    Each patient counts at most once per row; grade rows use the patient's
    **maximum** grade among the events the row is about. Patients of
    ``cohort`` without any event count as having none (grade 0). Events of
    patients not in ``cohort`` are ignored (so the matched cohort can be
    passed with the full event file).

    Rows (``key``: meaning):

    Acute toxicity = ``phase == "SBRT"`` events **other than RILD** (RILD is
    reported separately, as in the paper; its non-classic form is grade >= 3
    by definition and would otherwise contradict "no acute grade >= 3"):

    - ``acute_any``: any acute event;
    - ``acute_grade_1_2``: maximum acute grade 1 or 2 (the paper's "acute
      grade 1-2 toxicities", 42 vs 14);
    - ``acute_grade_3_plus``: maximum acute grade >= 3;
    - ``acute_max_grade_0`` ... ``acute_max_grade_5``: distribution of the
      maximum acute grade (0 = no acute event); each row is tested on its own;
    - ``acute_term:<term>``: patients with that term, any grade.

    RILD, by term whatever the phase: ``rild_any``, ``rild_classic``,
    ``rild_non_classic``.

    Post-TACE (``phase == "post-TACE"``, RILD terms excluded), TACE arm only:
    ``post_tace_any`` and ``post_tace_term:<term>``; the other arm's n, % and
    the p-value are NA (``test`` says why).

    ``grade_5_any``: a grade 5 (fatal) event of any phase or term.

    Columns: ``section, key, label``, then for each arm (``<a>`` its
    ``arm_slug``) ``n_<a>, pct_<a>`` (% of the arm's patients) and
    ``n_arm_<a>``; ``n_total, pct_total`` (both arms); ``p_value, test``.
    Counts are nullable integers (``Int64``).

    Parameters
    ----------
    cohort : DataFrame
        ``patient_id`` (unique) and ``arm_col``, one row per patient.
    adverse_events : DataFrame
        ``patient_id, phase, term, grade`` (see ``helpers.schema``).
    arms : pair of str
        (control, combination) arms; the second is the one that had TACE.

    Examples
    --------
    >>> cohort = pd.DataFrame({"patient_id": ["a", "b", "c"], "arm": ["SBRT", "SBRT", "SBRT+TACE"]})
    >>> ae = pd.DataFrame({"patient_id": ["a", "a", "c"], "phase": ["SBRT", "SBRT", "post-TACE"],
    ...                    "term": ["Fatigue", "Nausea", "Fever"], "grade": [1, 2, 1]})
    >>> t = toxicity_table(cohort, ae).set_index("key")
    >>> print(t.loc[["acute_grade_1_2", "post_tace_term:Fever"], ["n_sbrt", "n_sbrt_tace"]].to_string(index_names=False))
                          n_sbrt  n_sbrt_tace
    acute_grade_1_2            1            0
    post_tace_term:Fever    <NA>            1
    """
    if len(arms) != 2:
        raise ValueError("toxicity_table compares exactly two arms")
    control, combination = arms
    patients = _patients_by_arm(cohort, arms, arm_col)
    everyone = patients[control].append(patients[combination])
    ae = _clean_events(adverse_events, everyone)
    is_rild = ae["term"].isin(RILD_TERMS)
    acute = ae[(ae["phase"] == SBRT_PHASE) & ~is_rild]
    post_tace = ae[(ae["phase"] == POST_TACE_PHASE) & ~is_rild]
    acute_max = acute.groupby("patient_id")["grade"].max().reindex(everyone, fill_value=0)

    def who(mask: pd.Series) -> pd.Index:
        return pd.Index(mask[mask].index)

    rows: list[tuple[str, str, str, pd.Index, bool]] = []  # section, key, label, patients, both arms?
    sec = "Acute toxicity (SBRT phase, RILD excluded)"
    rows.append((sec, "acute_any", "Any acute toxicity", who(acute_max >= 1), True))
    rows.append((sec, "acute_grade_1_2", "Acute toxicity, maximum grade 1-2", who(acute_max.between(1, 2)), True))
    rows.append((sec, "acute_grade_3_plus", "Acute toxicity, grade \u2265 3", who(acute_max >= 3), True))
    for g in range(6):
        label = "Maximum acute grade 0 (none)" if g == 0 else f"Maximum acute grade {g}"
        rows.append((sec, f"acute_max_grade_{g}", label, who(acute_max == g), True))
    for term, ids in _term_rows(acute):
        rows.append((sec, f"acute_term:{term}", f"Acute: {term}", ids, True))

    sec = "Radiation-induced liver disease"
    rild = ae[is_rild]
    rows.append((sec, "rild_any", "RILD (classic or non-classic)", pd.Index(rild["patient_id"].unique()), True))
    rows.append((sec, "rild_classic", "RILD, classic", pd.Index(rild.loc[rild["term"] == RILD_CLASSIC, "patient_id"].unique()), True))
    rows.append((sec, "rild_non_classic", "RILD, non-classic", pd.Index(rild.loc[rild["term"] == RILD_NON_CLASSIC, "patient_id"].unique()), True))

    sec = f"After TACE ({combination} arm only)"
    rows.append((sec, "post_tace_any", "Any post-TACE event", pd.Index(post_tace["patient_id"].unique()), False))
    for term, ids in _term_rows(post_tace):
        rows.append((sec, f"post_tace_term:{term}", f"Post-TACE: {term}", ids, False))

    rows.append(("Treatment-related death", "grade_5_any", "Grade 5 event (any phase)",
                 pd.Index(ae.loc[ae["grade"] == 5, "patient_id"].unique()), True))

    n_arm = {arm: len(ids) for arm, ids in patients.items()}
    n_all = sum(n_arm.values())
    out = []
    for section, key, label, ids, both in rows:
        n = {arm: int(patients[arm].isin(ids).sum()) for arm in arms}
        rec: dict = {"section": section, "key": key, "label": label}
        for arm in arms:
            shown = both or arm == combination
            s = arm_slug(arm)
            rec[f"n_{s}"] = n[arm] if shown else pd.NA
            rec[f"pct_{s}"] = (100.0 * n[arm] / n_arm[arm] if n_arm[arm] else math.nan) if shown else math.nan
            rec[f"n_arm_{s}"] = n_arm[arm]
        rec["n_total"] = sum(n.values()) if both else pd.NA
        rec["pct_total"] = 100.0 * sum(n.values()) / n_all if both and n_all else math.nan
        rec["p_value"] = fisher_p(n[control], n_arm[control], n[combination], n_arm[combination]) if both else math.nan
        rec["test"] = FISHER_TEST if both else f"not compared ({combination} arm only)"
        out.append(rec)
    table = pd.DataFrame(out)
    for col in table.columns:
        if col.startswith("n_"):
            table[col] = table[col].astype("Int64")
    return table


# --------------------------------------------------------------------------
# Table 2: pattern of progression
# --------------------------------------------------------------------------

#: Sites reported as their own single-organ row; anything else is "Other".
SINGLE_ORGAN_ROWS: tuple[tuple[str, str], ...] = (
    ("liver", "Liver"), ("bone", "Bone"), ("lung", "Lung"),
    ("lymph node", "Lymph node"), ("pelvis", "Pelvis"),
)
IN_FIELD = "in-field"
THERAPIES: tuple[tuple[str, str], ...] = (
    ("single", "Single treatment"), ("multiple", "Multiple treatments (\u2265 2 sessions)"),
    ("conservative", "Conservative treatment"),
)


def parse_sites(value) -> list[str]:
    """The sites of a ``progression_sites`` cell: ``;``-separated, stripped, lower case.

    >>> parse_sites("liver; In-field"), parse_sites(float("nan")), parse_sites("")
    (['liver', 'in-field'], [], [])
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return []
    return [s.strip().lower() for s in str(value).split(";") if s.strip()]


def organs_of(sites: Sequence[str]) -> set[str]:
    """The organs involved: each site is its own organ, except ``in-field`` which is liver.

    The irradiated lesion is in the liver, so in-field recurrence with or
    without other liver recurrence is one organ, not two.

    >>> sorted(organs_of(["in-field"])), sorted(organs_of(["in-field", "liver"]))
    (['liver'], ['liver'])
    >>> sorted(organs_of(["liver", "bone"]))
    ['bone', 'liver']
    """
    return {"liver" if s == IN_FIELD else s for s in sites}


def _is_true(series: pd.Series) -> pd.Series:
    """Death indicator: a 0/1 or boolean column (also as text), else a date/text column (non-empty)."""
    text = series.astype("string").str.strip().fillna("").replace({"True": "1", "False": "0"})
    as_number = pd.to_numeric(text.where(text != ""), errors="coerce")
    if (as_number.notna() | (text == "")).all():
        return (as_number == 1).fillna(False).astype(bool)
    return text != ""


def progression_pattern_table(
    cohort: pd.DataFrame,
    group_col: str = "arm",
    groups: Sequence[str] | None = None,
    include_total: bool = True,
    sites_col: str = "progression_sites",
    therapy_col: str = "subsequent_therapy",
    death_col: str = "death_date",
) -> pd.DataFrame:
    """The paper's Table 2 (pattern of progression, subsequent therapy, deaths), in long form.

    A patient has progressed when ``sites_col`` is not empty. The number of
    organs is the number of distinct organs of :func:`organs_of` (in-field =
    liver). Rows (``key``; ``indent`` is the display depth):

    - ``progressed``: patients with progression;
    - ``single_organ``: progression in one organ, split into ``single_liver``
      (with ``single_liver_in_field``: of those, the ones whose sites include
      the irradiated lesion -- a subset of the liver row, as in the paper),
      ``single_bone``, ``single_lung``, ``single_lymph_node``,
      ``single_pelvis`` and ``single_other`` (any other site: adrenal,
      peritoneum, brain, other);
    - ``multiple_organ``: two or more organs, split into ``two_organs`` and
      ``three_plus_organs``;
    - ``therapy_single``, ``therapy_multiple``, ``therapy_conservative``
      (``therapy_col`` among progressed patients), plus
      ``therapy_not_recorded`` only if some progressed patient has none;
    - ``died``: ``death_col`` non-empty (a date) or equal to 1 (e.g.
      ``os_event`` to count deaths up to the data cut-off only).

    Percentages: the paper mixes denominators (its Total column gives the
    metastasis and therapy rows as % of recurrent cases, the arm columns as
    % of the arm's n; in-field as % of single-organ cases in the arm
    columns; deaths in the Total column as 60/110 = 54.55%, deaths per
    progressed patient). We give both well-defined ones for every row:
    ``pct_of_group`` = ``100 * n / group_n`` and ``pct_of_progressed`` =
    ``100 * n / n_progressed`` (NA for ``died``, which is not a subset of the
    progressed patients).

    Returns
    -------
    DataFrame
        Long form, one row per (item, group): ``order, section, key, label,
        indent, group, group_n, n, pct_of_group, n_progressed,
        pct_of_progressed``. Groups are ``groups`` (default: the two standard
        arms if that is what ``group_col`` holds, else its sorted values)
        then ``"Total"`` if ``include_total``.

    Examples
    --------
    >>> df = pd.DataFrame({"arm": ["SBRT", "SBRT", "SBRT+TACE"],
    ...                    "progression_sites": ["in-field;liver", "liver;bone", None],
    ...                    "subsequent_therapy": ["single", "conservative", None],
    ...                    "death_date": [None, "2020-01-01", None]})
    >>> t = progression_pattern_table(df)
    >>> t[t.group == "SBRT"].set_index("key").loc[["single_liver", "single_liver_in_field", "two_organs"], "n"].tolist()
    [1, 1, 1]
    """
    if groups is None:
        present = list(pd.unique(cohort[group_col].dropna()))
        groups = list(ARMS) if set(present) <= set(ARMS) else sorted(map(str, present))
    organs = cohort[sites_col].map(parse_sites)
    n_organs = organs.map(lambda s: len(organs_of(s)))
    progressed = n_organs > 0
    single = n_organs == 1
    only_organ = organs.map(lambda s: next(iter(organs_of(s))) if len(organs_of(s)) == 1 else None)
    named = {site for site, _ in SINGLE_ORGAN_ROWS}
    therapy = cohort[therapy_col].where(cohort[therapy_col].notna(), "").astype(str).str.strip().str.lower() \
        if therapy_col in cohort.columns else pd.Series("", index=cohort.index)
    died = _is_true(cohort[death_col])

    items: list[tuple[str, str, str, int, pd.Series, bool]] = []  # section, key, label, indent, mask, subset of progressed?
    items.append(("Progression", "progressed", "Patients with progression", 0, progressed, True))
    sec = "Progression pattern"
    items.append((sec, "single_organ", "Single-organ progression", 1, single, True))
    for site, label in SINGLE_ORGAN_ROWS:
        items.append((sec, f"single_{site.replace(' ', '_')}", label, 2, single & (only_organ == site), True))
        if site == "liver":
            in_field = organs.map(lambda s: IN_FIELD in s)
            items.append((sec, "single_liver_in_field", "In-field recurrence", 3, single & (only_organ == "liver") & in_field, True))
    items.append((sec, "single_other", "Other site", 2, single & ~only_organ.isin(named), True))
    items.append((sec, "multiple_organ", "Multiple-organ progression", 1, n_organs >= 2, True))
    items.append((sec, "two_organs", "Two organs", 2, n_organs == 2, True))
    items.append((sec, "three_plus_organs", "Three or more organs", 2, n_organs >= 3, True))
    sec = "Subsequent therapy"
    for code, label in THERAPIES:
        items.append((sec, f"therapy_{code}", label, 1, progressed & (therapy == code), True))
    not_recorded = progressed & ~therapy.isin([code for code, _ in THERAPIES])
    if not_recorded.any():
        items.append((sec, "therapy_not_recorded", "Not recorded", 1, not_recorded, True))
    items.append(("Deaths", "died", "Patients who died", 0, died, False))

    group_masks = [(g, (cohort[group_col] == g).to_numpy()) for g in groups]
    if include_total:
        group_masks.append(("Total", np.ones(len(cohort), dtype=bool)))
    out = []
    for order, (section, key, label, indent, mask, subset) in enumerate(items):
        for g, in_group in group_masks:
            group_n = int(in_group.sum())
            n_prog = int((progressed.to_numpy() & in_group).sum())
            n = int((mask.to_numpy() & in_group).sum())
            out.append({
                "order": order, "section": section, "key": key, "label": label, "indent": indent,
                "group": g, "group_n": group_n, "n": n,
                "pct_of_group": 100.0 * n / group_n if group_n else math.nan,
                "n_progressed": n_prog,
                "pct_of_progressed": 100.0 * n / n_prog if subset and n_prog else math.nan,
            })
    return pd.DataFrame(out)


def format_table2(
    before: pd.DataFrame,
    after: pd.DataFrame | None = None,
    pct: str = "pct_of_group",
    decimals: int = 2,
) -> pd.DataFrame:
    """Table 2 laid out as in the paper: Total, then the arms before and after PSM.

    Cells are ``n (x%)`` with ``pct`` (``"pct_of_group"`` or
    ``"pct_of_progressed"``) as the percentage; labels are indented with em
    spaces by ``indent``; a section whose rows are all indented ("Progression
    pattern", "Subsequent therapy") gets a heading row with empty cells. Columns are a two-level index: ``("", "Variable")``,
    ``("", "Total (n = N)")`` (from ``before``), ``("Before PSM", "<arm> (n = N)")``
    and ``("After PSM", ...)``.

    Parameters
    ----------
    before, after : DataFrame
        Outputs of :func:`progression_pattern_table` on the full and the
        matched cohort (``before`` must include the Total group).
    """
    if pct not in ("pct_of_group", "pct_of_progressed"):
        raise ValueError("pct must be 'pct_of_group' or 'pct_of_progressed'")

    def cell(r) -> str:
        value = r[pct]
        return fmt.count(r["n"], value, decimals)

    blocks = [("", before[before["group"] == "Total"])] if (before["group"] == "Total").any() else []
    blocks.append(("Before PSM", before[before["group"] != "Total"]))
    if after is not None:
        blocks.append(("After PSM", after[after["group"] != "Total"]))
    items = before.drop_duplicates("key").sort_values("order")
    # A section whose rows are all indented gets a heading row, as in the paper
    # ("Subsequent therapies"); keys of None mark the heading rows.
    keys, labels = [], []
    for section, part in items.groupby("section", sort=False):
        if (part["indent"] > 0).all():
            keys.append(None)
            labels.append(section)
        keys += list(part["key"])
        labels += ["\u2003" * int(i) + lbl for i, lbl in zip(part["indent"], part["label"])]
    columns = [("", "Variable")]
    data = {("", "Variable"): labels}
    for title, part in blocks:
        for g in pd.unique(part["group"]):
            rows = part[part["group"] == g].set_index("key")
            col = (title, f"{g} (n = {int(rows['group_n'].iloc[0])})")
            columns.append(col)
            data[col] = [cell(rows.loc[k]) if k in rows.index else "" for k in keys]
    return pd.DataFrame(data, columns=pd.MultiIndex.from_tuples(columns))
