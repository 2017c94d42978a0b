"""Degenerate but valid inputs: each passes validation, and the analysis must still give a report.

Every case is derived from the default synthetic cohort by one edit a real
extract could show (an arm in which nothing happened, a covariate with one
level, ...). The edits work on the CSV cells as text, so what the pipeline
reads is exactly what a user's spreadsheet export would contain.
``tests/test_degenerate.py`` runs each case through the notebooks (papermill)
and the manuscript renderer and checks what the report says about it.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from helpers.paths import ADVERSE_EVENTS_CSV, COHORT_CSV

EVENT_DATES = ["death_date", "progression_date", "local_progression_date"]
PROGRESSION_DETAIL = ["progression_sites", "subsequent_therapy"]


def read_raw(path: Path) -> pd.DataFrame:
    """A CSV as text cells (empty cells stay empty strings), in file order."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def write_raw(df: pd.DataFrame, path: Path) -> Path:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def _censor(cohort: pd.DataFrame, rows: pd.Series) -> pd.DataFrame:
    """No death and no progression for ``rows``: alive and progression-free at last follow-up."""
    out = cohort.copy()
    out.loc[rows, EVENT_DATES + PROGRESSION_DETAIL] = ""
    return out


def no_events_in_combination_arm(cohort: pd.DataFrame, ae: pd.DataFrame):
    return _censor(cohort, cohort["arm"] == "SBRT+TACE"), ae


def all_censored(cohort: pd.DataFrame, ae: pd.DataFrame):
    return _censor(cohort, cohort["arm"].notna()), ae


def single_level_covariates(cohort: pd.DataFrame, ae: pd.DataFrame):
    """Every patient male, HBV and without PVTT: three covariates with one level.

    Two implausible but possible values (age 17 in spreadsheet row 3, 12
    fractions in row 5) are warnings that the data-quality appendix must list.
    """
    out = cohort.copy()
    out["sex"], out["hepatitis"], out["pvtt"] = "Male", "HBV", "0"
    out.loc[1, "age_years"] = "17"
    out.loc[3, "sbrt_fractions"] = "12"
    return out, ae


def treated_separated_from_controls(cohort: pd.DataFrame, ae: pd.DataFrame):
    """PVTT present in every SBRT+TACE patient and in no SBRT patient: the propensity model
    separates the arms completely, so no treated patient has a control inside the caliper."""
    out = cohort.copy()
    out["pvtt"] = (out["arm"] == "SBRT+TACE").map({True: "1", False: "0"})
    return out, ae


def deaths_only_in_child_pugh_b(cohort: pd.DataFrame, ae: pd.DataFrame):
    """Only Child-Pugh B patients die: the Cox coefficient of Child-Pugh class diverges
    (monotone likelihood), which must be reported as not estimable."""
    out = cohort.copy()
    out.loc[out["child_pugh"] != "B", "death_date"] = ""
    return out, ae


def tiny_arms(cohort: pd.DataFrame, ae: pd.DataFrame, n_control: int = 8, n_treated: int = 5):
    """The first eligible-looking patients of each arm only (a small centre's extract)."""
    keep = pd.concat([cohort[cohort["arm"] == "SBRT"].head(n_control * 2),
                      cohort[cohort["arm"] == "SBRT+TACE"].head(n_treated * 2)]).index
    out = cohort.loc[sorted(keep)].reset_index(drop=True)
    return out, ae[ae["patient_id"].isin(out["patient_id"])]


def no_eligible_combination_patient(cohort: pd.DataFrame, ae: pd.DataFrame):
    """Every SBRT+TACE patient has a 9 cm tumour (over the 7 cm criterion): one arm is left,
    and nothing can be compared or matched."""
    out = cohort.copy()
    out.loc[out["arm"] == "SBRT+TACE", "tumor_diameter_cm"] = "9"
    return out, ae


def late_events(cohort: pd.DataFrame, ae: pd.DataFrame):
    """An extract pulled after the data cut-off (2025-09-30), as in issue 10: 4 deaths and 3 progressions
    (one of the irradiated lesion) in 2026 among eligible patients followed up into 2026.

    Censored at the cut-off it is the default cohort: every count, table and
    comparison must be the same as the clean file's, and the analysis notes
    must say "4 deaths, 3 progressions and 1 local progression" were after it.
    Not one of ``CASES``: ``tests/test_pipeline.py`` runs it in an existing run.
    """
    from helpers.data.eligibility import add_eligibility
    from helpers.data.load import load_cohort

    typed = add_eligibility(load_cohort(COHORT_CSV))
    alive = typed[typed["eligible"] & typed["death_date"].isna()]
    progress = alive[alive["progression_date"].isna() & (alive["arm"] == "SBRT")].index[:3]
    die = alive[alive["progression_date"].notna()].index[:4]
    out = cohort.copy()
    out.loc[progress, ["progression_date", "last_followup", "subsequent_therapy"]] = ["2026-01-15", "2026-03-31",
                                                                                      "single"]
    out.loc[progress, "progression_sites"] = ["in-field;liver", "bone", "bone"]
    out.loc[progress[0], "local_progression_date"] = "2026-01-15"
    out.loc[die, ["death_date", "last_followup"]] = "2026-02-20"
    return out, ae


@dataclass(frozen=True)
class DegenerateCase:
    name: str
    edit: Callable[[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]
    parameters: dict[str, object] = field(default_factory=dict)

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write the case's cohort.csv and adverse_events.csv into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        cohort, ae = self.edit(read_raw(COHORT_CSV), read_raw(ADVERSE_EVENTS_CSV))
        return write_raw(cohort, folder / "cohort.csv"), write_raw(ae, folder / "adverse_events.csv")


CASES: tuple[DegenerateCase, ...] = (
    DegenerateCase("no_events_in_combination_arm", no_events_in_combination_arm),
    DegenerateCase("all_censored", all_censored),
    DegenerateCase("single_level_covariates", single_level_covariates),
    DegenerateCase("treated_separated_from_controls", treated_separated_from_controls),
    DegenerateCase("deaths_only_in_child_pugh_b", deaths_only_in_child_pugh_b),
    DegenerateCase("tiny_arms", tiny_arms),
    DegenerateCase("no_eligible_combination_patient", no_eligible_combination_patient),
)


DATE_COLUMNS = ["sbrt_start", "sbrt_end", "tace_date", "last_followup", "death_date", "progression_date",
                "local_progression_date"]


def private_values(cohort_csv: Path, data_cutoff: str = "2025-09-30") -> tuple[set[str], set[str]]:
    """The patient identifiers and individual dates of a cohort file, which no report may show.

    The data cut-off is a parameter of the analysis, not an individual date
    (though many patients are censored on it), so it is left out.
    """
    raw = read_raw(cohort_csv)
    dates = {d for c in DATE_COLUMNS for d in raw[c] if d and d != data_cutoff}
    return set(raw["patient_id"]), dates


def find_private_values(text: str, ids: set[str], dates: set[str]) -> list[str]:
    r"""Identifiers and dates (ISO, or day/month/year as a table might print them) found in ``text``.

    One pass per kind, by shape, then a look-up (a page with embedded images is megabytes long; a
    search per value took seconds per page, one alternation of every value 1.7 s per report): an
    identifier is a whole run of word characters and hyphens that is one of ``ids`` (as the
    alternation ``(?<![\w-])(id...)(?![\w-])`` finds it); a date is any substring shaped like one of
    its spellings that is one of them, overlapping matches included.

    Examples
    --------
    >>> find_private_values("SYN-0001 on 03/02/2024; XSYN-0002, 2024-02-030", {"SYN-0001", "SYN-0002"},
    ...                     {"2024-02-03", "2024-02-04"})
    ['2024-02-03', 'SYN-0001']
    """
    import re

    found: set[str] = set()
    plain = {i for i in ids if re.fullmatch(r"[\w-]+", i)}
    found |= plain & set(re.findall(r"[\w-]+", text))
    if ids - plain:  # an identifier with other characters: searched for as it is
        pattern = "|".join(re.escape(i) for i in sorted(ids - plain, key=len, reverse=True))
        found |= set(re.findall(rf"(?<![\w-])({pattern})(?![\w-])", text))
    spellings = {}
    for d in dates:
        y, m, day = d.split("-")
        for s in (d, f"{day}/{m}/{y}", f"{day}.{m}.{y}"):
            spellings[s] = d
    if spellings:
        shapes = re.findall(r"(?=(\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}|\d{2}\.\d{2}\.\d{4}))", text)
        found |= {spellings[s] for s in shapes if s in spellings}
    return sorted(found)
