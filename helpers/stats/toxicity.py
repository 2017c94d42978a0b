"""Adverse events by arm (the paper's toxicity paragraph): ``toxicity.csv``.

The paper reports toxicity in its text, not in a table; :func:`toxicity_table`
gives every count that paragraph quotes, per arm, each patient counted once
per row at the maximum grade of the events the row is about, with a
two-sided Fisher exact p comparing the arms. Table 2 (pattern of
progression) is in :mod:`helpers.stats.progression`.

Rows of ``toxicity.csv`` (``key``) against the published counts
(``tox_patients`` of ``data/published.csv``, by level) and R. For every row
compared, ``p_value`` (:func:`fisher_p`) is R's
``fisher.test(matrix(c(a, b, n_a - a, n_b - b), 2))$p.value`` for ``a`` of
``n_a`` vs ``b`` of ``n_b`` patients:

==========================  ==================================  ======================
``key``                     published level                     R
==========================  ==================================  ======================
``acute_grade_1_2``         ``acute_grade_1_2``                 ``fisher.test``
``acute_grade_3_plus``      ``acute_grade_3_plus``              ``fisher.test``
``rild_any``                ``rild``                            ``fisher.test``
``post_tace_term:<term>``   ``post_tace_<term>`` (TACE arm)     not compared (one arm)
==========================  ==================================  ======================

Phases and terms are those of ``helpers.data.schema`` (``phase`` is ``"SBRT"`` or
``"post-TACE"``; the two RILD terms are ``RILD_TERMS``); acute toxicity is
an SBRT-phase event other than RILD (see :func:`toxicity_table`).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from helpers.data.schema import ARMS, RILD_TERMS
from helpers.stats.balance import arm_slug

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
    """Events of the cohort's patients only, with stripped terms, integer grades and ``_patient``, the
    patient's position in ``patients`` (unique).

    Events of patients outside ``cohort`` are dropped: the same adverse-event
    file serves the full and the matched cohort.
    """
    at = patients.get_indexer(adverse_events["patient_id"])  # one hash look-up per event: -1 outside the cohort
    ae = adverse_events.loc[at >= 0, ["patient_id", "phase", "term", "grade"]].copy()
    ae["_patient"] = at[at >= 0]
    bad_phase = set(ae["phase"].unique()) - {SBRT_PHASE, POST_TACE_PHASE}
    if bad_phase:
        raise ValueError(f"unknown phase(s) {sorted(map(str, bad_phase))}; expected 'SBRT' or 'post-TACE'")
    ae["grade"] = pd.to_numeric(ae["grade"], errors="raise")
    if not ae["grade"].between(1, 5).all():
        raise ValueError("grade must be 1 to 5")
    ae["term"] = ae["term"].astype(str).str.strip()
    return ae


def _term_rows(events: pd.DataFrame, n_patients: int) -> list[tuple[str, np.ndarray]]:
    """(term, which patients have it) for each term, most frequent first.

    ``events["_patient"]`` is the patient's position among the ``n_patients`` of the cohort; the patients
    are a boolean array over those positions. Terms are grouped case-insensitively; the label is the most
    used spelling.
    """
    key = events["term"].str.casefold()
    rows = []
    for _, grp in events.groupby(key, sort=False):
        label = grp["term"].value_counts().sort_index().idxmax()
        rows.append((label, _having(grp["_patient"], n_patients)))
    return sorted(rows, key=lambda r: (-int(r[1].sum()), r[0].casefold()))


def _having(positions: pd.Series, n_patients: int) -> np.ndarray:
    """A boolean array over the cohort's patients: True at ``positions``."""
    mask = np.zeros(n_patients, dtype=bool)
    mask[positions.to_numpy(dtype=np.intp)] = True
    return mask


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
        ``patient_id, phase, term, grade`` (see ``helpers.data.schema``).
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
    n_everyone = len(everyone)
    # Patients by their position in `everyone` (both arms' patients in order): each row is a boolean array.
    in_arm = {control: np.arange(n_everyone) < len(patients[control]),
              combination: np.arange(n_everyone) >= len(patients[control])}
    ae = _clean_events(adverse_events, everyone)
    is_rild = ae["term"].isin(RILD_TERMS)
    acute = ae[(ae["phase"] == SBRT_PHASE) & ~is_rild]
    post_tace = ae[(ae["phase"] == POST_TACE_PHASE) & ~is_rild]
    acute_max = acute.groupby("_patient")["grade"].max().reindex(range(n_everyone), fill_value=0)

    def who(mask: pd.Series) -> np.ndarray:
        return mask.to_numpy(dtype=bool, na_value=False)

    def having(events: pd.DataFrame) -> np.ndarray:
        return _having(events["_patient"], n_everyone)

    rows: list[tuple[str, str, str, np.ndarray, bool]] = []  # section, key, label, patients, both arms?
    sec = "Acute toxicity (SBRT phase, RILD excluded)"
    rows.append((sec, "acute_any", "Any acute toxicity", who(acute_max >= 1), True))
    rows.append((sec, "acute_grade_1_2", "Acute toxicity, maximum grade 1-2", who(acute_max.between(1, 2)), True))
    rows.append((sec, "acute_grade_3_plus", "Acute toxicity, grade \u2265 3", who(acute_max >= 3), True))
    for g in range(6):
        label = "Maximum acute grade 0 (none)" if g == 0 else f"Maximum acute grade {g}"
        rows.append((sec, f"acute_max_grade_{g}", label, who(acute_max == g), True))
    for term, ids in _term_rows(acute, n_everyone):
        rows.append((sec, f"acute_term:{term}", f"Acute: {term}", ids, True))

    sec = "Radiation-induced liver disease"
    rild = ae[is_rild]
    rows.append((sec, "rild_any", "RILD (classic or non-classic)", having(rild), True))
    rows.append((sec, "rild_classic", "RILD, classic", having(rild[rild["term"] == RILD_CLASSIC]), True))
    rows.append((sec, "rild_non_classic", "RILD, non-classic", having(rild[rild["term"] == RILD_NON_CLASSIC]), True))

    sec = f"After TACE ({combination} arm only)"
    rows.append((sec, "post_tace_any", "Any post-TACE event", having(post_tace), False))
    for term, ids in _term_rows(post_tace, n_everyone):
        rows.append((sec, f"post_tace_term:{term}", f"Post-TACE: {term}", ids, False))

    rows.append(("Treatment-related death", "grade_5_any", "Grade 5 event (any phase)",
                 having(ae[ae["grade"] == 5]), True))

    n_arm = {arm: len(ids) for arm, ids in patients.items()}
    n_all = sum(n_arm.values())
    out = []
    for section, key, label, ids, both in rows:
        n = {arm: int((ids & in_arm[arm]).sum()) for arm in arms}
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
