"""The manuscript's numbers of the robustness analyses (notebook 06), read by key from ``results/numbers.csv``.

:class:`RobustnessNumbers` extends :class:`~helpers.report.manuscript.ResultNumbers` with the matched-data
analyses, the proportional-hazards test, the RMST, the E-values and the statement of whether the treatment
effect's direction and significance hold across the analyses; every method returns linked text.
"""
from __future__ import annotations

from helpers.data.schema import CONTROL_ARM, TREATED_ARM
from helpers.report import fmt
from helpers.report.manuscript import Linked, ResultNumbers, compose
from helpers.stats.robustness import MATCHED_ANALYSES


class RobustnessNumbers(ResultNumbers):
    """Formatted numbers of notebook 06; a number the run did not record reads "not estimable"."""

    def matched_hr(self, endpoint: str, analysis: str) -> Linked:
        """The matched cohort's treatment HR of ``analysis`` (a key of :data:`MATCHED_ANALYSES`), with CI and p."""
        n = self.get("matched_hr", cohort="after", endpoint=endpoint, arm=TREATED_ARM, level=analysis)
        if n is None or n.missing:
            return Linked.number(fmt.hr_text(float("nan"), float("nan"), float("nan"), n.note if n else ""), n)
        return compose(Linked.number(fmt.hr_text(n.value, n.ci_lower, n.ci_upper), n), ", ",
                       Linked.number(fmt.p_text(n.p_value), n))

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
