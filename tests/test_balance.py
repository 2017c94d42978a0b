"""Table 1: p-value rule, SMDs, balance table, display tables and balance figures.

Known values come from the paper's Table 1 (counts, p-values and SMDs read
from the ledger, data/published.csv), from R 4.2.2 (each call quoted) and
from hand computation.
"""
from __future__ import annotations

import math
import shutil
import subprocess
from html.parser import HTMLParser

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from helpers.data.derive import TABLE1_VARIABLES, Table1Variable
from helpers.data.published import load_published, published_value
from helpers.data.schema import ARMS
from helpers.report.plots_balance import plot_love, plot_propensity_density
from helpers.report.table1 import table1_html, table1_layout, table1_markdown
from helpers.stats import balance
from helpers.stats.balance import (
    FISHER,
    NOT_TESTABLE_EMPTY_ARM,
    NOT_TESTABLE_ONE_LEVEL,
    PEARSON,
    YATES,
    balance_table,
    smd_binary,
    smd_categorical,
    table1_p_value,
)


# --------------------------------------------------------------------------
# The paper's Table 1, read from the ledger (data/published.csv): (SBRT
# counts, SBRT+TACE counts) per level in TABLE1_VARIABLES order (reference
# level first), the printed P, and the printed SMD (after matching only).
# Arm sizes: 109/43 before, 68/36 after.
# --------------------------------------------------------------------------
def _published_table1(cohort: str) -> dict[str, tuple]:
    """Per Table 1 variable: (control counts, treated counts, p[, smd]) as the paper prints them."""
    ledger = load_published()

    def value(quantity, **keys):
        return published_value(ledger, quantity, cohort=cohort, **keys)

    out = {}
    for v in TABLE1_VARIABLES:
        counts = tuple(tuple(int(value("table1_n", arm=arm, variable=v.column, level=lv)) for lv in v.levels)
                       for arm in ARMS)
        smd = (value("table1_smd", variable=v.column),) if cohort == "after" else ()
        out[v.column] = (*counts, value("table1_p", variable=v.column), *smd)
    return out


PUBLISHED_BEFORE = _published_table1("before")
PUBLISHED_AFTER = _published_table1("after")


def test_the_ledger_holds_the_whole_table1():
    """88 counts, 22 p-values and 11 SMDs, every one read above; the arms add up to the published sizes."""
    ledger = load_published()
    assert ledger["quantity"].value_counts()[["table1_n", "table1_p", "table1_smd"]].tolist() == [88, 22, 11]
    for table, sizes in ((PUBLISHED_BEFORE, (109, 43)), (PUBLISHED_AFTER, (68, 36))):
        assert len(table) == 11
        assert {(sum(c), sum(t)) for c, t, *_ in table.values()} == {sizes}
    assert PUBLISHED_BEFORE["bed_group"] == ((36, 73), (6, 37), 0.018)
    assert PUBLISHED_AFTER["sex_group"] == ((12, 56), (5, 31), 0.622, 0.103)


# Which branch of the rule each published table falls in (by its expected counts).
EXPECTED_TEST_BEFORE = {v: PEARSON for v in PUBLISHED_BEFORE} | {
    "child_pugh_class": YATES, "hepatitis_type": YATES, "pvtt_group": YATES}
EXPECTED_TEST_AFTER = {v: PEARSON for v in PUBLISHED_AFTER} | {
    "child_pugh_class": FISHER,  # smallest expected count 0.69 < 1
    "hepatitis_type": YATES, "bed_group": YATES, "pvtt_group": YATES, "diameter_group": YATES}

#: Published after-matching SMDs that |p1 - p0| / sqrt((p1 q1 + p0 q0) / 2)
#: does NOT reproduce to 3 decimals, with the value it gives. None: all 11
#: reproduce (checked below), so this stays empty; a discrepancy would be
#: listed here with its computed value rather than skipped.
KNOWN_SMD_DISCREPANCIES: dict[str, float] = {}


def _table(control_counts, treated_counts) -> np.ndarray:
    return np.array([control_counts, treated_counts])


# --------------------------------------------------------------------------
# table1_p_value
# --------------------------------------------------------------------------

@pytest.mark.parametrize("variable", list(PUBLISHED_BEFORE))
def test_rule_reproduces_published_p_before_matching(variable):
    c, t, published = PUBLISHED_BEFORE[variable]
    p, test = table1_p_value(_table(c, t))
    assert round(p, 3) == published
    assert test == EXPECTED_TEST_BEFORE[variable]


@pytest.mark.parametrize("variable", list(PUBLISHED_AFTER))
def test_rule_reproduces_published_p_after_matching(variable):
    c, t, published, _ = PUBLISHED_AFTER[variable]
    p, test = table1_p_value(_table(c, t))
    assert round(p, 3) == published
    assert test == EXPECTED_TEST_AFTER[variable]


def test_no_single_test_reproduces_table1():
    """Why a rule is needed: Child-Pugh before matching is 0.972 only with Yates."""
    from scipy import stats
    t = _table((102, 7), (41, 2))
    # R: chisq.test(matrix(c(102, 41, 7, 2), 2), correct = FALSE)$p.value = 0.676940221533219
    assert stats.chi2_contingency(t, correction=False).pvalue == pytest.approx(0.676940221533219, rel=1e-9)
    # R: fisher.test(matrix(c(102, 41, 7, 2), 2))$p.value = 1
    assert stats.fisher_exact(t).pvalue == pytest.approx(1.0)


@pytest.mark.parametrize("counts, r_value, test, r_call", [
    ([[102, 7], [41, 2]], 0.971969310474581, YATES,
     "chisq.test(matrix(c(102, 41, 7, 2), 2), correct = TRUE)$p.value"),
    ([[36, 73], [6, 37]], 0.0178557835224678, PEARSON,
     "chisq.test(matrix(c(36, 6, 73, 37), 2), correct = FALSE)$p.value"),
    ([[100, 9], [37, 6]], 0.447998914484445, YATES,
     "chisq.test(matrix(c(100, 37, 9, 6), 2), correct = TRUE)$p.value"),
    ([[62, 6], [32, 4]], 0.978546668191738, YATES,
     "chisq.test(matrix(c(62, 32, 6, 4), 2), correct = TRUE)$p.value"),
    ([[67, 1], [35, 1]], 1.0, FISHER,
     "fisher.test(matrix(c(67, 35, 1, 1), 2))$p.value"),
    ([[8, 3], [2, 7]], 0.0697785186949273, FISHER,  # n = 20 < 40
     "fisher.test(matrix(c(8, 2, 3, 7), 2))$p.value"),
    ([[40, 30, 30], [20, 30, 25]], 0.163348604027707, PEARSON,
     "chisq.test(matrix(c(40, 20, 30, 30, 30, 25), 2), correct = FALSE)$p.value"),
    ([[3, 5, 2], [10, 2, 8]], 0.0598155467720697, FISHER,
     "fisher.test(matrix(c(3, 10, 5, 2, 2, 8), 2))$p.value"),
    ([[70, 30, 9], [30, 10, 3]], 0.879088118626908, FISHER,  # 2 x 3, n >= 40, E < 5: no Yates
     "fisher.test(matrix(c(70, 30, 30, 10, 9, 3), 2))$p.value"),
    ([[18, 18, 18, 18, 18, 4], [2, 2, 2, 2, 2, 16]], 3.19126647608343e-08, FISHER,
     "fisher.test(matrix(c(18, 2, 18, 2, 18, 2, 18, 2, 18, 2, 4, 16), 2))$p.value"),
])
def test_p_value_matches_r(counts, r_value, test, r_call):
    p, name = table1_p_value(counts)
    assert name == test, r_call
    assert p == pytest.approx(r_value, rel=1e-8, abs=1e-12), r_call


def test_fisher_2xk_falls_back_to_monte_carlo_when_too_big(monkeypatch):
    monkeypatch.setattr(balance, "_FISHER_MAX_TABLES", 10)
    p, name = table1_p_value([[3, 5, 2], [10, 2, 8]])
    assert name.startswith(FISHER) and "Monte Carlo" in name
    # R's exact value is 0.0598; 99,999 Monte Carlo tables give it to about +-0.002.
    assert p == pytest.approx(0.0598155467720697, abs=0.005)


@pytest.mark.parametrize("counts, name", [
    ([[0, 0], [3, 4]], NOT_TESTABLE_EMPTY_ARM),
    ([[5, 0], [3, 0]], NOT_TESTABLE_ONE_LEVEL),
    ([[0, 0], [0, 0]], NOT_TESTABLE_EMPTY_ARM),
    ([[0], [5]], NOT_TESTABLE_EMPTY_ARM),
])
def test_degenerate_tables_do_not_crash(counts, name):
    p, test = table1_p_value(counts)
    assert math.isnan(p)
    assert test == name


def test_empty_level_is_dropped_before_testing():
    # A level nobody has: same as the 2 x 2 without it (R: fisher.test(matrix(c(8, 2, 3, 7), 2)) = 0.0698).
    p, test = table1_p_value([[8, 0, 3], [2, 0, 7]])
    assert test == FISHER
    assert p == pytest.approx(0.0697785186949273, rel=1e-8)


@pytest.mark.parametrize("bad", [[[1, 2], [3]], [[1, -2], [3, 4]], [[1.5, 2], [3, 4]], [[1, 2], [3, 4], [5, 6]], [1, 2]])
def test_invalid_tables_raise(bad):
    with pytest.raises(ValueError):
        table1_p_value(bad)


@pytest.mark.r_crosscheck
def test_all_22_published_tables_against_r():
    """Each table through the R function the rule picks (run with --run-r)."""
    assert shutil.which("Rscript")
    calls, expected = [], []
    for table in (PUBLISHED_BEFORE, PUBLISHED_AFTER):
        for c, t, *_ in table.values():
            p, test = table1_p_value(_table(c, t))
            m = f"matrix(c({c[0]}, {t[0]}, {c[1]}, {t[1]}), 2)"
            calls.append({PEARSON: f"chisq.test({m}, correct = FALSE)$p.value",
                          YATES: f"chisq.test({m}, correct = TRUE)$p.value",
                          FISHER: f"fisher.test({m})$p.value"}[test])
            expected.append(p)
    script = "suppressWarnings(cat(sprintf('%.15g', c(" + ", ".join(calls) + ")), sep = '\\n'))"
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True).stdout
    r_values = [float(x) for x in out.split()]
    assert r_values == pytest.approx(expected, rel=1e-9)


# --------------------------------------------------------------------------
# SMD
# --------------------------------------------------------------------------

@pytest.mark.parametrize("variable", list(PUBLISHED_AFTER))
def test_smd_reproduces_published_after_matching(variable):
    c, t, _, published = PUBLISHED_AFTER[variable]
    smd = smd_binary(t[1] / sum(t), c[1] / sum(c))
    if variable in KNOWN_SMD_DISCREPANCIES:
        assert round(smd, 3) != published
        assert smd == pytest.approx(KNOWN_SMD_DISCREPANCIES[variable], abs=5e-4)
    else:
        assert round(smd, 3) == published


def test_smd_by_hand():
    # Child-Pugh after: p1 = 1/36, p0 = 1/68;
    # |0.027778 - 0.014706| / sqrt((0.027006 + 0.014490) / 2) = 0.013072 / 0.144043 = 0.09075
    assert smd_binary(1 / 36, 1 / 68) == pytest.approx(0.0907510, abs=1e-6)
    assert smd_binary(0.5, 0.5) == 0.0
    assert smd_binary(0.0, 0.0) == 0.0
    assert smd_binary(1.0, 0.0) == math.inf
    # 0.5 vs 0.3: 0.2 / sqrt((0.25 + 0.21) / 2) = 0.2 / 0.479583 = 0.417029
    assert smd_binary(0.5, 0.3) == pytest.approx(0.417029, abs=1e-6)
    with pytest.raises(ValueError):
        smd_binary(1.2, 0.3)


def test_categorical_smd_two_levels_is_the_binary_smd():
    # Gender after matching, published 0.103; either level may be the reference.
    assert round(smd_categorical([5, 31], [12, 56]), 3) == 0.103
    assert round(smd_categorical([31, 5], [56, 12]), 3) == 0.103


def test_categorical_smd_three_levels_by_hand():
    # T = (0.5, 0.3, 0.2), C = (0.4, 0.4, 0.2); drop level 1: T - C = (-0.1, 0).
    # S = [[0.225, -0.07], [-0.07, 0.16]], det = 0.0311, (S^-1)_11 = 0.16 / 0.0311 = 5.144695
    # SMD = sqrt(0.01 * 5.144695) = 0.226819
    assert smd_categorical([5, 3, 2], [4, 4, 2]) == pytest.approx(0.226819, abs=1e-6)
    # Same with the last level as reference: T - C = (0.1, -0.1) on levels 1, 2.
    assert smd_categorical([2, 5, 3], [2, 4, 4]) == pytest.approx(0.226819, abs=1e-6)


def test_categorical_smd_degenerate():
    assert smd_categorical([5, 0], [7, 0]) == 0.0           # one level observed
    assert smd_categorical([5, 0, 0], [0, 0, 7]) == math.inf  # complete separation
    assert math.isnan(smd_categorical([0, 0], [3, 4]))       # empty arm


# --------------------------------------------------------------------------
# balance_table on cohorts rebuilt from the published counts
# --------------------------------------------------------------------------

def _cohort_from_counts(published: dict) -> pd.DataFrame:
    """One row per patient; each variable's levels assigned to reproduce the published counts."""
    n_c = sum(next(iter(published.values()))[0])
    n_t = sum(next(iter(published.values()))[1])
    df = pd.DataFrame({"arm": ["SBRT"] * n_c + ["SBRT+TACE"] * n_t})
    for var in TABLE1_VARIABLES:
        c, t = published[var.column][:2]
        values = []
        for counts in (c, t):
            for level, k in zip(var.levels, counts):
                values += [level] * k
        df[var.column] = values
    return df


@pytest.fixture(scope="module")
def published_balance():
    before = balance_table(_cohort_from_counts(PUBLISHED_BEFORE), cohort="before")
    after = balance_table(_cohort_from_counts(PUBLISHED_AFTER), cohort="after")
    return before, after


def test_balance_table_columns_and_rows(published_balance):
    before, after = published_balance
    required = {"variable", "level", "cohort", "n_sbrt", "n_sbrt_tace", "p_value", "smd"}
    assert required <= set(before.columns)
    assert len(before) == len(after) == 22  # 11 variables x 2 levels
    assert set(before["cohort"]) == {"before"} and set(after["cohort"]) == {"after"}
    assert list(before["variable"].drop_duplicates()) == [v.column for v in TABLE1_VARIABLES]


def test_balance_table_reproduces_published_table1(published_balance):
    before, after = published_balance
    for bt, published in ((before, PUBLISHED_BEFORE), (after, PUBLISHED_AFTER)):
        for var, (c, t, p, *smd) in published.items():
            rows = bt[bt["variable"] == var]
            assert rows["n_sbrt"].tolist() == list(c)
            assert rows["n_sbrt_tace"].tolist() == list(t)
            assert (rows["p_value"].round(3) == p).all(), var  # repeated on every row
            if smd:
                assert (rows["smd"].round(3) == smd[0]).all(), var


def test_balance_table_percentages_as_printed(published_balance):
    before, after = published_balance
    cp = before[before["variable"] == "child_pugh_class"].set_index("level")
    # Paper: A 102 (93.578) vs 41 (95.349); B 7 (6.422) vs 2 (4.651)
    assert cp.loc["A", "pct_sbrt"] == pytest.approx(93.578, abs=5e-4)
    assert cp.loc["A", "pct_sbrt_tace"] == pytest.approx(95.349, abs=5e-4)
    assert cp.loc["B", "pct_sbrt"] == pytest.approx(6.422, abs=5e-4)
    prior = after[after["variable"] == "prior_treatment_group"].set_index("level")
    # Paper: Twice or more 19 (27.941) vs 9 (25.000)
    assert prior.loc["Twice or more", "pct_sbrt"] == pytest.approx(27.941, abs=5e-4)
    assert prior.loc["Twice or more", "pct_sbrt_tace"] == pytest.approx(25.0, abs=5e-4)
    assert (before["n_arm_sbrt"] == 109).all() and (after["n_arm_sbrt_tace"] == 36).all()


def test_balance_table_keeps_undeclared_levels_and_missing():
    # ECOG 0/1/2 in the matched cohort, plus one SBRT patient without ECOG.
    ecog = ["0"] * 50 + ["1"] * 16 + ["2"] * 2 + [np.nan] + ["0"] * 26 + ["1"] * 8 + ["2"] * 2
    df = pd.DataFrame({"arm": ["SBRT"] * 69 + ["SBRT+TACE"] * 36, "ecog_group": ecog})
    bt = balance_table(df, [Table1Variable("ecog_group", "ECOG PS score", ("0", "1"))])
    assert bt["level"].tolist() == ["0", "1", "2", "Missing"]
    assert bt["n_sbrt"].tolist() == [50, 16, 2, 1]
    assert bt["pct_sbrt"].sum() == pytest.approx(100.0)
    # Tested on the 2 x 3 non-missing table:
    # R: fisher.test(matrix(c(50, 26, 16, 8, 2, 2), 2))$p.value = 0.791187589956879
    assert (bt["test"] == FISHER).all()
    assert bt["p_value"].iloc[0] == pytest.approx(0.791187589956879, rel=1e-8)
    assert math.isnan(bt["smd_level"].iloc[-1])


def test_balance_table_blank_text_is_missing():
    df = pd.DataFrame({"arm": ["SBRT", "SBRT", "SBRT+TACE"], "sex_group": ["Male", " ", "Female"]})
    bt = balance_table(df, [Table1Variable("sex_group", "Gender", ("Female", "Male"))])
    assert bt["level"].tolist() == ["Female", "Male", "Missing"]
    assert bt["n_sbrt"].tolist() == [0, 1, 1]


def test_balance_table_numeric_levels_match_string_levels():
    df = pd.DataFrame({"arm": ["SBRT", "SBRT", "SBRT+TACE"], "ecog_group": [0, 1, 1]})
    bt = balance_table(df, [Table1Variable("ecog_group", "ECOG", ("0", "1"))])
    assert bt["n_sbrt"].tolist() == [1, 1] and bt["n_sbrt_tace"].tolist() == [0, 1]


def test_balance_table_rejects_other_arms_and_missing_columns():
    df = pd.DataFrame({"arm": ["SBRT", "TACE"], "sex_group": ["Male", "Male"]})
    var = [Table1Variable("sex_group", "Gender", ("Female", "Male"))]
    with pytest.raises(ValueError):
        balance_table(df, var)
    with pytest.raises(KeyError):
        balance_table(df.assign(arm="SBRT"), [Table1Variable("age_group", "Age", ("<60", ">=60"))])


def test_balance_table_empty_arm_gives_nan_not_crash():
    df = pd.DataFrame({"arm": ["SBRT", "SBRT"], "sex_group": ["Male", "Female"]})
    bt = balance_table(df, [Table1Variable("sex_group", "Gender", ("Female", "Male"))])
    assert bt["test"].iloc[0] == NOT_TESTABLE_EMPTY_ARM
    assert bt["p_value"].isna().all() and bt["smd"].isna().all()
    assert bt["pct_sbrt_tace"].isna().all()


# --------------------------------------------------------------------------
# Display tables
# --------------------------------------------------------------------------

def _cell(groups, row, group, column):
    """The cell of ``row`` under (``group``, ``column``) of :func:`table1_layout`'s output."""
    flat = [(g, col) for g, cols in groups for col in cols]
    return row[2][flat.index((group, column))]


def test_table1_layout(published_balance):
    before, after = published_balance
    groups, rows = table1_layout(before, after)
    assert len(rows) == 33  # 11 variable rows + 22 level rows
    assert [kind for kind, _, _ in rows].count("variable") == 11
    assert groups == [
        ("Before matching", ["SBRT (n = 109)", "SBRT+TACE (n = 43)", "P"]),
        ("After matching", ["SBRT (n = 68)", "SBRT+TACE (n = 36)", "P", "SMD"]),
    ]
    assert all(len(cells) == 7 for _, _, cells in rows)
    first = rows[0]
    assert first[:2] == ("variable", "Child-Pugh classification, n (%)")
    assert _cell(groups, first, "Before matching", "P") == "0.972"
    assert _cell(groups, first, "After matching", "P") == "1.000"
    assert _cell(groups, first, "After matching", "SMD") == "0.091"
    level_a = rows[1]
    assert level_a[:2] == ("level", "A")
    assert _cell(groups, level_a, "Before matching", "SBRT (n = 109)") == "102 (93.6)"
    assert _cell(groups, level_a, "After matching", "SBRT+TACE (n = 36)") == "35 (97.2)"
    assert rows[5][1] == "\u2265100"  # platelets ">=100" printed as in the paper
    bed = next(r for r in rows if r[1].startswith("BED"))
    assert _cell(groups, bed, "Before matching", "P") == "0.018"
    groups3, rows3 = table1_layout(before, after, pct_decimals=3)
    assert _cell(groups3, rows3[1], "Before matching", "SBRT (n = 109)") == "102 (93.578)"


def test_table1_layout_before_only(published_balance):
    before, _ = published_balance
    groups, rows = table1_layout(before)
    assert [g for g, _ in groups] == ["Before matching"]
    assert len(rows) == 33 and all(len(cells) == 3 for _, _, cells in rows)


def test_table1_markdown(published_balance):
    before, after = published_balance
    md = table1_markdown(before, after)
    lines = md.strip().splitlines()
    assert len(lines) == 2 + 33
    assert lines[0] == ("| Variable | Before: SBRT (n = 109) | Before: SBRT+TACE (n = 43) | Before: P "
                        "| After: SBRT (n = 68) | After: SBRT+TACE (n = 36) | After: P | After: SMD |")
    assert lines[2].startswith("| **Child-Pugh classification, n (%)** |")
    assert lines[3].startswith("| \u2003A | 102 (93.6) |")  # levels indented with an em space
    assert all(line.count("|") == 9 for line in lines)
    assert "&lt;100" in md  # "<" escaped so that renderers do not take it for HTML


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.header_rows, self.body_rows, self._in, self._in_cell = [], [], None, False

    def handle_starttag(self, tag, attrs):
        if tag in ("thead", "tbody"):
            self._in = tag
        elif tag == "tr":
            (self.header_rows if self._in == "thead" else self.body_rows).append([])
        elif tag in ("th", "td"):
            rows = self.header_rows if self._in == "thead" else self.body_rows
            rows[-1].append([dict(attrs), ""])
            self._in_cell = True

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self._in_cell = False

    def handle_data(self, data):
        rows = self.header_rows if self._in == "thead" else self.body_rows
        if self._in_cell:
            rows[-1][-1][1] += data


def test_table1_html_two_level_header(published_balance):
    before, after = published_balance
    parser = _Cells()
    parser.feed(table1_html(before, after))
    top, second = parser.header_rows
    assert [(c[0].get("colspan"), c[0].get("rowspan"), c[1]) for c in top] == [
        (None, "2", "Variables"), ("3", None, "Before matching"), ("4", None, "After matching")]
    assert [c[1] for c in second] == ["SBRT (n = 109)", "SBRT+TACE (n = 43)", "P",
                                      "SBRT (n = 68)", "SBRT+TACE (n = 36)", "P", "SMD"]
    assert len(parser.body_rows) == 33
    assert all(len(r) == 8 for r in parser.body_rows)
    sex = next(r for r in parser.body_rows if r[0][1].startswith("Gender"))
    assert [c[1] for c in sex][3] == "0.517" and [c[1] for c in sex][7] == "0.103"
    assert "&lt;100" in table1_html(before, after)


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------

def test_plot_propensity_density_two_panels():
    rng = np.random.default_rng(1)
    before = pd.DataFrame({"arm": ["SBRT"] * 30 + ["SBRT+TACE"] * 12,
                           "propensity_score": np.r_[rng.beta(2, 5, 30), rng.beta(4, 3, 12)]})
    after = before.iloc[list(range(20)) + list(range(30, 40))]
    fig = plot_propensity_density(before, after)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Before matching", "After matching"]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["SBRT (n = 30)", "SBRT+TACE (n = 12)"]
    legend_after = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert legend_after == ["SBRT (n = 20)", "SBRT+TACE (n = 10)"]
    # A density integrates to ~1 over [0, 1] (a little mass spills over the edges).
    x, y = fig.axes[0].lines[0].get_data()
    assert 0.85 < np.trapezoid(y, x) <= 1.0 + 1e-9
    matplotlib.pyplot.close(fig)


def test_plot_density_arm_with_one_patient_does_not_crash():
    df = pd.DataFrame({"arm": ["SBRT", "SBRT", "SBRT+TACE"], "propensity_score": [0.2, 0.4, 0.6]})
    fig = plot_propensity_density(df, df)
    assert "no density" in fig.axes[0].get_legend().get_texts()[1].get_text()
    matplotlib.pyplot.close(fig)


def test_plot_love(published_balance):
    before, after = published_balance
    fig = plot_love(before, after)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [v.label for v in TABLE1_VARIABLES]
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert len(dashed) == 1 and list(dashed[0].get_xdata()) == [0.1, 0.1]
    # The filled ("After matching") points are the published SMDs, top to bottom.
    after_line = next(ln for ln in ax.lines if ln.get_label() == "After matching")
    x, y = after_line.get_data()
    by_y = dict(zip(y, x))
    published = [PUBLISHED_AFTER[v.column][3] for v in TABLE1_VARIABLES]
    assert [round(by_y[k], 3) for k in sorted(by_y, reverse=True)] == published
    matplotlib.pyplot.close(fig)


def test_plot_love_subset_of_variables(published_balance):
    from helpers.data.derive import PROPENSITY_COVARIATES
    before, after = published_balance
    fig = plot_love(before, after, variables=PROPENSITY_COVARIATES)
    assert len(fig.axes[0].get_yticklabels()) == 10
    matplotlib.pyplot.close(fig)
