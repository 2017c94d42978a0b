"""The manuscript's numbers of the robustness analyses (notebook 06), read by key from ``results/numbers.csv``.

:class:`RobustnessNumbers` extends :class:`~helpers.report.manuscript.ResultNumbers` with the matched-data
analyses, the proportional-hazards test, the RMST, the E-values, the weighted Kaplan-Meier rates, weighting
instead of matching (IPTW), the matching-settings grid and the statements of whether the treatment effect's
direction and significance hold across the analyses; every method returns linked text.
"""
from __future__ import annotations

from helpers.data.schema import CONTROL_ARM, TREATED_ARM
from helpers.report import fmt
from helpers.report.manuscript import Linked, ResultNumbers, compose
from helpers.results.numbers import KEY_COLUMNS
from helpers.stats.robustness import MATCHED_ANALYSES
from helpers.stats.survival import time_points_phrase
from helpers.stats.weighting import ESTIMANDS


class RobustnessNumbers(ResultNumbers):
    """Formatted numbers of notebook 06; a number the run did not record reads "not estimable"."""

    def _hr(self, quantity: str, **keys: object) -> Linked:
        n = self.get(quantity, arm=TREATED_ARM, **keys)
        if n is None or n.missing:
            return Linked.number(fmt.hr_text(float("nan"), float("nan"), float("nan"), n.note if n else ""), n)
        return compose(Linked.number(fmt.hr_text(n.value, n.ci_lower, n.ci_upper), n), ", ",
                       Linked.number(fmt.p_text(n.p_value), n))

    def matched_hr(self, endpoint: str, analysis: str) -> Linked:
        """The matched cohort's treatment HR of ``analysis`` (a key of :data:`MATCHED_ANALYSES`), with CI and p."""
        return self._hr("matched_hr", cohort="after", endpoint=endpoint, level=analysis)

    def iptw_hr(self, estimand: str, endpoint: str) -> Linked:
        """The weighted Cox treatment HR (robust variance) of ``estimand`` ('ATT' or 'ATE'), with CI and p."""
        return self._hr("iptw_hr", cohort="before", endpoint=endpoint, level=estimand)

    def iptw_ess(self, estimand: str, arm: str) -> Linked:
        """Kish's effective sample size of an arm under the estimand's weights, e.g. '81.8'."""
        n = self.get("iptw_ess", arm=arm, level=estimand)
        if n is None or n.missing:
            return Linked.number(fmt.not_estimable(n.note if n else ""), n)
        return Linked.number(f"{n.value:.1f}", n)

    def iptw_smd_max(self, estimand: str) -> Linked:
        """The largest absolute SMD over the covariates, ``estimand`` 'unweighted', 'ATT' or 'ATE'."""
        n = self.get("iptw_smd_max", level=estimand)
        return Linked.number(fmt.number(float("nan") if n is None else n.value) if n is None or n.missing
                             else f"{n.value:.3f}", n)

    def weighted_km(self, analysis: str, endpoint: str, arm: str, months: float) -> Linked:
        """A weighted Kaplan-Meier rate: '61.1% (95% CI 48.1–71.8)'; ``analysis`` 'matching weights', 'ATT' or 'ATE'."""
        cohort = "after" if analysis == "matching weights" else "before"
        n = self.get("weighted_km_survival", cohort=cohort, endpoint=endpoint, arm=arm, months=months, level=analysis)
        if n is None or n.missing:
            return Linked.number(fmt.not_estimable(n.note if n else ""), n)
        return Linked.number(f"{100 * n.value:.1f}% (95% CI {fmt.ci(n.ci_lower, n.ci_upper, 1, scale=100)})", n)

    def last_time_point(self) -> Linked:
        """The last Kaplan-Meier time point of the run in words, e.g. '5-year'."""
        return self._param_text("time_points_months", time_points_phrase([self.time_points()[-1]]))

    def _grid(self, endpoint: str) -> list:
        rows = self.numbers.find("grid_hr", endpoint=endpoint)
        return [self.get("grid_hr", cohort="after", endpoint=endpoint, arm=TREATED_ARM, level=cell)
                for cell in rows["level"]]

    def grid_range(self, endpoint: str) -> Linked:
        """The smallest and the largest treatment HR across the matching-settings grid, each with its cell:
        'from HR 0.39 (0.02 SD; 1:1) to HR 0.80 (no caliper; 2:1)'."""
        ok = [n for n in self._grid(endpoint) if n is not None and not n.missing]
        if not ok:
            return Linked("not estimable in any cell of the grid")
        low, high = min(ok, key=lambda n: n.value), max(ok, key=lambda n: n.value)
        level = KEY_COLUMNS.index("level")
        return compose("from ", Linked.number(f"HR {low.value:.2f} ({low.key[level]})", low), " to ",
                       Linked.number(f"HR {high.value:.2f} ({high.key[level]})", high))

    def grid_settings(self) -> Linked:
        """The grid of the run in words: 'calipers of 0.02, 0.05, 0.1 and 0.2 SD of the logit and none, and
        ratios 1:1, 2:1 and 3:1' (linked to the parameters)."""
        calipers = [float(c) for c in self.param("grid_calipers_sd")]
        words = [f"{c:g}" for c in calipers if c > 0]
        text = (f"calipers of {fmt.join_words(words)} SD of the logit" if words else "no caliper")
        if words and len(words) < len(calipers):
            text += " and none"
        ratios = fmt.join_words([f"{int(r)}:1" for r in self.param("grid_ratios")])
        return compose(self._param_text("grid_calipers_sd", text), ", and ratios ",
                       self._param_text("grid_ratios", ratios))

    def _statement(self, rows: list, what: str, alpha: float) -> Linked:
        """'the hazard ratio favoured SBRT+TACE in all fifteen <what> and its 95% CI excluded 1 in three of
        them' (counts in words; a row that is None or missing is not estimable)."""
        ok = [n for n in rows if n is not None and not n.missing]
        if not ok:
            return Linked(f"no hazard ratio of the {what} was estimable")
        lower = sum(n.value < 1 for n in ok)
        direction = (f"favoured {TREATED_ARM}" if lower == len(ok) else
                     f"favoured {CONTROL_ARM} alone" if lower == 0 else
                     f"favoured {TREATED_ARM} in {fmt.count_words(lower)} and {CONTROL_ARM} alone in "
                     f"{fmt.count_words(len(ok) - lower)}, so changed direction,")
        significant = sum(n.p_value < alpha for n in ok)
        counted = (f"all {fmt.count_words(len(rows))}" if len(ok) == len(rows) else
                   f"{fmt.count_words(len(ok))} estimable of the {fmt.count_words(len(rows))}")
        where = f" in {counted} {what}" if lower in (0, len(ok)) else f" of {counted} {what}"
        level = f"at the {100 * alpha:g}% level"
        how_many = ("none" if significant == 0 else "all" if significant == len(ok) and len(ok) > 1
                    else fmt.count_words(significant))
        return Linked(f"the hazard ratio {direction}{where} and was statistically significant {level} in "
                      f"{how_many} of them")

    def overall_statement(self, endpoint: str, alpha: float = 0.05) -> Linked:
        """Whether the direction and significance of the treatment HR hold across every analysis of notebook 06:
        the matched cohort's three, the two weighted (IPTW) and each cell of the matching-settings grid."""
        rows = [self.get("matched_hr", cohort="after", endpoint=endpoint, arm=TREATED_ARM, level=a)
                for a in MATCHED_ANALYSES]
        rows += [self.get("iptw_hr", cohort="before", endpoint=endpoint, arm=TREATED_ARM, level=e) for e in ESTIMANDS]
        rows += self._grid(endpoint)
        return self._statement(rows, "analyses (matched cohort, weighting and matching settings)", alpha)

    def grid_statement(self, endpoint: str, alpha: float = 0.05) -> Linked:
        """:meth:`_statement` over the cells of the matching-settings grid."""
        return self._statement(self._grid(endpoint), "matching settings", alpha)

    def stratified_logrank(self, endpoint: str) -> Linked:
        n = self.get("stratified_logrank_p", cohort="after", endpoint=endpoint)
        return Linked.number(fmt.p_text(float("nan") if n is None else n.value, n.note if n else ""), n)

    def ph_test(self, cohort: str, endpoint: str) -> Linked:
        """The cox.zph p of the treatment term."""
        n = self.get("ph_test", cohort=cohort, endpoint=endpoint, variable="arm")
        return Linked.number(fmt.p_text(float("nan") if n is None else n.p_value, n.note if n else ""), n)

    def _rmst(self, cohort: str, endpoint: str, arm: str):
        return self.get("rmst", cohort=cohort, endpoint=endpoint, arm=arm, months=self.param("rmst_tau_months"))

    def rmst(self, cohort: str, endpoint: str, arm: str) -> Linked:
        """One arm's RMST in months, e.g. '54.0 months'."""
        n = self._rmst(cohort, endpoint, arm)
        if n is None or n.missing:
            return Linked.number(fmt.not_estimable(n.note if n else ""), n)
        return Linked.number(f"{n.value:.1f} months", n)

    def rmst_difference(self, cohort: str, endpoint: str) -> Linked:
        """'5.1 months (95% CI −0.8 to 11.1, p = 0.091)' for SBRT+TACE minus SBRT alone."""
        n = self._rmst(cohort, endpoint, "difference")
        if n is None or n.missing:
            return Linked.number(fmt.not_estimable(n.note if n else ""), n)
        return compose(Linked.number(f"{n.value:.1f} months (95% CI {n.ci_lower:.1f} to {n.ci_upper:.1f}", n),
                       ", ", Linked.number(fmt.p_text(n.p_value), n), ")")

    def evalue(self, cohort: str, endpoint: str, level: str = "estimate") -> Linked:
        """The E-value of the treatment HR (``level`` 'estimate') or of its CI limit closer to 1 ('ci')."""
        n = self.get("evalue", cohort=cohort, endpoint=endpoint, level=level)
        if n is None or n.missing:
            return Linked.number(fmt.not_estimable(n.note if n else ""), n)
        return Linked.number(f"{n.value:.2f}", n)

    def robustness_statement(self, endpoint: str, alpha: float = 0.05) -> Linked:
        """Whether the treatment HR's direction and significance hold across the analyses of the matched cohort.

        E.g. 'the hazard ratio favoured SBRT+TACE in all 3 analyses of the matched cohort and was statistically
        significant in one of them (stratified on matched sets)'.
        """
        rows = [(a, self.get("matched_hr", cohort="after", endpoint=endpoint, arm=TREATED_ARM, level=a))
                for a in MATCHED_ANALYSES]
        ok = [(a, n) for a, n in rows if n is not None and not n.missing]
        if not ok:
            return Linked("no analysis of the matched cohort gave an estimable hazard ratio")
        lower = sum(n.value < 1 for _, n in ok)
        direction = (f"favoured {TREATED_ARM}" if lower == len(ok) else
                     f"favoured {CONTROL_ARM} alone" if lower == 0 else "changed direction")
        significant = [a for a, n in ok if n.p_value < alpha]
        which = f" ({', '.join(significant)})" if significant and len(significant) < len(ok) else ""
        words = {0: "none", 1: "one", 2: "two", 3: "three"}
        counted = "all" if len(ok) == len(rows) else f"{words.get(len(ok), len(ok))} estimable of the"
        return Linked(f"the hazard ratio {direction} in {counted} {words.get(len(rows), len(rows))} analyses of the "
                      f"matched cohort and was statistically significant in {words.get(len(significant))} of them"
                      f"{which}")
