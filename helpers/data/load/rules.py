"""Rules across columns and files: the identity of patients, the cohort's and the adverse events'.

``validate_cohort`` and ``validate_adverse_events`` type the cells
(``helpers.data.load.cells``) and then check what one cell cannot show: identifiers
unique and visible, dates in order (death vs last follow-up, events within
follow-up), progression vs subsequent therapy and sites, RILD spellings,
adverse events of known patients.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers.data.load.cells import _frame, _invisible, _row_numbers, _validate_cells
from helpers.data.load.problems import SOURCE_ROW, Problem, _Report
from helpers.data.load.read import _norm
from helpers.data.schema import ADVERSE_EVENT_COLUMNS, COHORT_COLUMNS, RILD_TERMS

# --- identity of patients ------------------------------------------------------------------

#: A number in scientific notation, as a spreadsheet shows a long numeric identifier.
_SCIENTIFIC = re.compile(r"[+-]?\d(?:[.,]\d+)?[eE]\+?\d+")
#: The same, as one of the identifiers joined by NUL characters (one search over the column).
_SCIENTIFIC_IN = re.compile(r"(?:^|\x00)" + _SCIENTIFIC.pattern + r"(?:\x00|$)")
_SCIENTIFIC_HINT = ("(the spreadsheet shows long numeric identifiers in scientific notation and "
                    "keeps only their first digits: format the patient_id column as Text, retype "
                    "or re-import the identifiers and export again)")


def _sci_value(pid: str) -> float | None:
    return float(pid.replace(",", ".")) if _SCIENTIFIC.fullmatch(pid) else None


class _IdHints:
    """Why an identifier is not among ``known``: case, leading zeros, scientific notation."""

    def __init__(self, known: Sequence[str], file: str):
        self.file = file
        self.loose = {_norm(str(p)): str(p) for p in known}
        self.zeros = {str(p).lstrip("0"): str(p) for p in known if str(p).isdigit()}
        self.numbers = {str(p): float(str(p)) for p in known if str(p).isdigit()}
        self.scientific = {str(p): v for p in known if (v := _sci_value(str(p))) is not None}

    def hint(self, pid: str) -> str:
        near = self.loose.get(_norm(pid))
        if near:
            return f"(did you mean '{near}'?)"
        if pid.isdigit() and pid.lstrip("0") in self.zeros:
            other = self.zeros[pid.lstrip("0")]
            return (f"({self.file} has '{other}': the leading zeros of one of them were lost, as "
                    "when a spreadsheet stores identifiers as numbers; format the patient_id "
                    "column as Text in both files)")
        v = _sci_value(pid)
        if v is not None:
            close = [p for p, x in self.numbers.items() if abs(x - v) <= 5e-6 * abs(v)]
            shown = f"{self.file} has '{close[0]}': " if len(close) == 1 else ""
            return (f"({shown}'{pid}' is a long number in scientific notation, of which the "
                    "spreadsheet keeps only the first digits; format the patient_id column as Text "
                    "and export again)")
        if pid.isdigit():
            close = [p for p, x in self.scientific.items() if abs(float(pid) - x) <= 5e-6 * abs(x)]
            if close:
                return (f"({self.file} has '{close[0]}', this identifier in scientific notation "
                        "with its last digits lost: format the patient_id column as Text there)")
        return ""


def _check_patient_ids(cells: dict[str, list[str]], rows: list[int], bad: dict[str, np.ndarray],
                       rep: _Report) -> set[str]:
    """Unique patients: exact duplicates, identifiers equal but for letter case, mangled numbers.

    Returns the identifiers (without their invisible characters) of rows whose
    identifier was rejected, so that the adverse-event file is not blamed for them.
    """
    ids = pd.Series(cells["patient_id"])
    ok = ~bad["patient_id"] & (ids != "").to_numpy(bool)
    rejected = set()
    for pid in ids[~ok]:  # the identifier without the invisible characters, or with spaces for them
        if pid:
            rejected.add("".join(ch for ch in pid if _invisible(ch) is None))
            rejected.add("".join(" " if _invisible(ch) and unicodedata.category(ch) == "Zs" else ch
                                 for ch in pid))
    valid = ids[ok]
    joined = "\x00".join(valid.tolist())
    sci = valid[valid.str.fullmatch(_SCIENTIFIC.pattern)] if _SCIENTIFIC_IN.search(joined) else valid[:0]
    dup = valid[valid.duplicated(keep=False)]
    for pid, group in dup.groupby(dup, sort=False):
        rep.add("patient_id", f"patient_id '{pid}' appears {len(group)} times; each patient "
                "must have exactly one row", [rows[i] for i in group.index],
                hint=_SCIENTIFIC_HINT if pid in set(sci) else "")
    # Identifiers equal after case-folding (SYN-0001, syn-0001): the same patient twice?
    distinct = valid.drop_duplicates() if len(dup) else valid
    folded = pd.Series("\x00".join(distinct.tolist()).casefold().split("\x00") if len(distinct) else [],
                       index=distinct.index, dtype=object)  # casefold keeps the separators
    clash = folded[folded.duplicated(keep=False)]
    others = [c for c in cells if c != "patient_id"]
    for _, group in clash.groupby(clash, sort=False):
        spellings = distinct[group.index].tolist()
        members = [i for i in valid.index if valid[i] in set(spellings)]
        at = ", ".join(f"'{valid[i]}' (row {rows[i]})" for i in members)
        same = len({tuple(cells[c][i] for c in others) for i in members}) == 1
        if same:
            rep.add("patient_id", f"patient_ids {at} differ only in letter case and the rows are "
                    "otherwise identical: the same patient entered twice", [rows[i] for i in members],
                    hint="(delete all but one of these rows)")
        else:
            rep.add("patient_id", f"patient_ids {at} differ only in letter case; they are analysed "
                    "as different patients", [rows[i] for i in members], severity="warning",
                    hint="(if they are one patient, keep one row and one spelling of the identifier)")
    if len(sci):
        rep.add("patient_id", "looks like a number in scientific notation, so its last digits "
                "may be lost", [rows[i] for i in sci.index], severity="warning",
                found=sci.tolist(), hint=_SCIENTIFIC_HINT)
    return rejected


def validate_cohort(raw: pd.DataFrame, *, file: str | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Check every cell and the rules across columns of the cohort table.

    ``raw`` is the output of ``read_table`` (or any frame of strings; without a
    ``source_row`` index the rows are numbered from 2). Returns the typed frame
    (cells that break a rule are NaN/NaT) and the problems. Missing columns
    are reported by ``read_table``; here the rules that need them are skipped.
    """
    file = file or raw.attrs.get("file", "cohort.csv")
    rep = _Report(file)
    rows = _row_numbers(raw)
    typed, cells, bad = _validate_cells(raw, COHORT_COLUMNS, rep, rows)
    n = len(rows)
    idx = np.arange(n)
    valid = {name: ~b for name, b in bad.items()}

    def where(mask, *columns: str) -> list[int]:
        """Rows where ``mask`` holds and every cell of ``columns`` is valid (no follow-on errors)."""
        mask = np.asarray(pd.Series(mask).fillna(False), dtype=bool)
        for c in columns:
            mask = mask & valid.get(c, np.ones(n, bool))
        return [rows[i] for i in idx[mask]]

    def filled(name: str) -> np.ndarray:
        return np.asarray(cells[name] != "", dtype=bool) if name in cells else np.zeros(n, bool)

    rejected_ids: set[str] = set()
    if "patient_id" in cells:
        rejected_ids = _check_patient_ids(cells, rows, bad, rep)

    t = typed
    # Every date of the dictionary other than these three is an event during follow-up.
    dates = [c.name for c in COHORT_COLUMNS if c.kind == "date" and c.name in t]
    events = [c for c in dates if c not in ("sbrt_start", "last_followup", "death_date")]
    if "sbrt_start" in t:
        for c in dates:
            if c != "sbrt_start":
                rep.add_if(c, f"{c} is before sbrt_start (the start of follow-up)",
                           where(t[c] < t["sbrt_start"]))
    if "last_followup" in t:
        for c in events:
            rep.add_if(c, f"{c} is after last_followup", where(t[c] > t["last_followup"]),
                       hint="(last_followup must be on or after every event)")
        if "death_date" in t:
            rep.add_if("death_date", "death_date is after last_followup",
                    where(t["death_date"] > t["last_followup"]),
                    hint="(for a patient who died, last_followup is the date of death: set it to "
                         "death_date, otherwise the death is not counted)")
            rep.add_if("death_date", "death_date is before last_followup (the dictionary expects them "
                    "equal); the death is analysed on death_date",
                    where(t["death_date"] < t["last_followup"]), severity="warning")
    if "death_date" in t:
        for c in events:
            if c in t:
                rep.add_if(c, f"{c} is after death_date", where(t[c] > t["death_date"]))

    if "local_progression_date" in cells and "progression_date" in cells:
        rep.add_if("local_progression_date",
                "local_progression_date is filled but progression_date is empty (a local "
                "progression is also a progression: progression_date is the first progression "
                "anywhere)", where(filled("local_progression_date") & ~filled("progression_date"),
                      "local_progression_date", "progression_date"))
        rep.add_if("local_progression_date", "local_progression_date is before progression_date "
                "(progression_date is the first progression anywhere)",
                where(t["local_progression_date"] < t["progression_date"]))

    if "arm" in t and "tace_date" in cells:
        arm = t["arm"]
        rep.add_if("tace_date", "must be empty in the SBRT arm (no TACE)",
                where((arm == "SBRT") & filled("tace_date"), "tace_date"))
        rep.add_if("tace_date", "is required in the SBRT+TACE arm",
                where((arm == "SBRT+TACE") & ~filled("tace_date"), "tace_date"))

    if "progression_date" in cells:
        prog = filled("progression_date")
        if "progression_sites" in cells:
            sites = filled("progression_sites")
            rep.add_if("progression_sites", "must be empty when progression_date is empty",
                    where(sites & ~prog, "progression_date"))
            rep.add_if("progression_sites", "is required when progression_date is filled",
                    where(~sites & prog, "progression_date"))
        if "subsequent_therapy" in cells:
            therapy = filled("subsequent_therapy")
            rep.add_if("subsequent_therapy", "must be empty when progression_date is empty",
                    where(therapy & ~prog, "progression_date"))
            rep.add_if("subsequent_therapy", "is empty although progression_date is filled "
                    "(treatment of the progression unknown?)", where(~therapy & prog, "progression_date"),
                    severity="warning")
        if {"progression_sites", "local_progression_date"} <= set(t):
            codes, sites = pd.factorize(t["progression_sites"])
            in_field = np.array([isinstance(v, str) and "in-field" in v.split(";") for v in sites] + [False],
                                dtype=bool)[codes]  # code -1 (no sites): False
            lp, p = t["local_progression_date"], t["progression_date"]
            same = (lp == p).to_numpy(bool)
            comparable = (lp.notna() & p.notna()).to_numpy(bool) | ~filled("local_progression_date")
            lp_ok = lp.notna().to_numpy(bool) | ~filled("local_progression_date")
            has_sites = t["progression_sites"].notna().to_numpy(bool)
            rep.add_if("progression_sites", "includes 'in-field' (the irradiated lesion) but "
                    "local_progression_date is not the same as progression_date",
                    where(in_field & comparable & ~same, "progression_sites", "progression_date",
                          "local_progression_date"), severity="warning")
            rep.add_if("progression_sites", "does not include 'in-field' although "
                    "local_progression_date is the same as progression_date",
                    where(has_sites & ~in_field & same & lp_ok, "progression_sites",
                          "progression_date", "local_progression_date"), severity="warning")

    out = _frame(raw, COHORT_COLUMNS, typed, rows, file)
    out.attrs["rejected_ids"] = sorted(rejected_ids)
    out.attrs["invalid_rows"] = {c: [rows[i] for i in np.flatnonzero(b)] for c, b in bad.items() if b.any()}
    return out, rep.problems()


def _is_rild(term: str) -> bool:
    t = term.casefold()
    return "rild" in t or "radiation-induced liver" in t or "radiation induced liver" in t


def validate_adverse_events(raw: pd.DataFrame, cohort: pd.DataFrame | None, *,
                            file: str | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Check every cell of the adverse-event table, and its agreement with the cohort.

    ``cohort`` is the typed cohort (from ``validate_cohort``); ``None`` or an
    empty frame skips the checks across files.
    """
    file = file or raw.attrs.get("file", "adverse_events.csv")
    rep = _Report(file)
    rows = _row_numbers(raw)
    typed, cells, bad = _validate_cells(raw, ADVERSE_EVENT_COLUMNS, rep, rows)

    rows_arr = np.asarray(rows, dtype=np.int64)
    if "term" in cells:
        codes, terms = pd.factorize(cells["term"])
        wrong = np.array([bool(t) and _is_rild(t) and t not in RILD_TERMS for t in terms], dtype=bool)
        for k in np.flatnonzero(wrong):  # in order of first appearance, as a row-by-row loop adds them
            rep.add("term", "radiation-induced liver disease must be recorded exactly as "
                    f"{' or '.join(repr(x) for x in RILD_TERMS)}", rows_arr[codes == k].tolist(), found=terms[k])

    if {"patient_id", "phase", "term", "grade"} <= set(cells):
        keys = pd.DataFrame({c: cells[c] for c in ("patient_id", "phase", "term", "grade")})
        dup = keys.duplicated(keep=False).to_numpy()
        rep.add_if("", "identical rows (same patient_id, phase, term and grade): entered twice?",
                rows_arr[dup].tolist(), severity="warning")

    usable = (cohort is not None and len(cohort) > 0 and "patient_id" in cohort.columns)
    if usable and "patient_id" in cells:
        cohort_file = cohort.attrs.get("file", "cohort.csv")
        # The cohort's columns the events are checked against, only (not a copy of the whole cohort).
        used = [c for c in ("arm", "death_date", SOURCE_ROW) if c in cohort.columns]
        known = cohort[["patient_id", *used]].dropna(subset=["patient_id"]).drop_duplicates("patient_id") \
            .set_index("patient_id")
        rejected = set(cohort.attrs.get("rejected_ids", ()))
        twice = set(cohort["patient_id"][cohort["patient_id"].duplicated()].dropna())
        ids = pd.Series(np.where(bad["patient_id"], "", cells["patient_id"]), dtype=object)
        at = known.index.get_indexer(ids)  # each event's patient in ``known`` (-1: none)
        in_known = at >= 0

        def of_patient(column: str) -> pd.Series:
            """``column`` of each event's patient (NaN for an unknown patient)."""
            values = known[column].to_numpy()
            taken = pd.Series(values[np.where(in_known, at, 0)] if len(values) else np.full(len(at), np.nan))
            return taken.where(in_known)

        not_twice = ~ids.isin(twice).to_numpy(bool) if twice else np.ones(len(ids), bool)
        hints = None
        unknown = (ids != "").to_numpy(bool) & ~in_known
        if rejected:
            unknown &= ~ids.isin(rejected).to_numpy(bool)
        for i in np.flatnonzero(unknown):
            hints = hints or _IdHints(list(known.index), cohort_file)
            rep.add("patient_id", f"patient is not in {cohort_file}", rows[i], found=ids.iat[i],
                    hint=hints.hint(ids.iat[i]))
        if "arm" in known.columns and "phase" in typed:
            post_tace = ((typed["phase"] == "post-TACE") & (of_patient("arm") == "SBRT")).to_numpy(bool) & not_twice
            for i in np.flatnonzero(post_tace):
                rep.add("phase", f"post-TACE event, but patient '{ids.iat[i]}' is in the SBRT arm "
                        f"in {cohort_file} (no TACE)", rows[i])
        if "death_date" in known.columns and "grade" in typed:
            unsure = set(cohort.attrs.get("invalid_rows", {}).get("death_date", ()))
            fatal = (typed["grade"] == 5).fillna(False).to_numpy(bool)
            no_death = of_patient("death_date").isna().to_numpy(bool)
            sure = ~of_patient(SOURCE_ROW).isin(unsure).to_numpy(bool) if unsure else np.ones(len(ids), bool)
            for i in np.flatnonzero(in_known & not_twice & fatal & no_death & sure):
                rep.add("grade", f"grade 5 (fatal) event, but patient '{ids.iat[i]}' has no "
                        f"death_date in {cohort_file}", rows[i], severity="warning")

    return _frame(raw, ADVERSE_EVENT_COLUMNS, typed, rows, file), rep.problems()
