"""The manuscript's numbers of local control with death as a competing event (notebook 06), read by key from
``results/numbers.csv`` (endpoint LC; rows of :func:`helpers.results.rows.competing_count_rows`,
``competing_rate_rows`` and ``competing_test_rows``).

:class:`CompetingRiskNumbers` extends :class:`~helpers.report.manuscript.ResultNumbers`; every method returns
linked text, and a number the run did not record reads "not estimable" with the reason.
"""
from __future__ import annotations

from helpers.data.schema import TREATED_ARM
from helpers.report import fmt
from helpers.report.manuscript import Linked, ResultNumbers, compose, join_linked

ENDPOINT = "LC"


class CompetingRiskNumbers(ResultNumbers):
    """Formatted numbers of the competing-risk view of local control."""

    def n_local_failure(self, cohort: str, arm: str) -> Linked:
        """Patients of ``arm`` with a local failure."""
        return self._count("n_local_failure", cohort=cohort, endpoint=ENDPOINT, arm=arm)

    def n_death_first(self, cohort: str, arm: str) -> Linked:
        """Patients of ``arm`` who died without a local failure before (the competing event)."""
        return self._count("n_death_competing", cohort=cohort, endpoint=ENDPOINT, arm=arm)

    def _rate(self, quantity: str, cohort: str, arm: str, months: float) -> Linked:
        n = self.get(quantity, cohort=cohort, endpoint=ENDPOINT, arm=arm, months=months)
        if n is None or n.missing:
            return Linked.number(fmt.not_estimable(n.note if n else ""), n)
        return Linked.number(fmt.pct(n.value), n)

    def _rates(self, quantity: str, cohort: str, arm: str) -> Linked:
        return join_linked([self._rate(quantity, cohort, arm, m) for m in self.time_points()])

    def cif_text(self, cohort: str, arm: str) -> Linked:
        """The cumulative incidence of local failure at the run's time points: '4.0%, 7.4% and 10.5%'."""
        return self._rates("cif_local_failure", cohort, arm)

    def km_failure_text(self, cohort: str, arm: str) -> Linked:
        """One minus the Kaplan-Meier curve that censors deaths, at the same time points."""
        return self._rates("km_local_failure", cohort, arm)

    def gray(self, cohort: str) -> Linked:
        """Gray's test p: 'p = 0.274', or 'p not estimable (no events of interest)'."""
        n = self.get("gray_test", cohort=cohort, endpoint=ENDPOINT)
        return Linked.number(fmt.p_text(float("nan") if n is None else n.p_value, n.note if n else ""), n)

    def shr(self, cohort: str) -> Linked:
        """The Fine-Gray subdistribution HR of SBRT+TACE: 'subdistribution HR 0.80, 95% CI 0.55–1.14, p = 0.217'."""
        n = self.get("fine_gray_shr", cohort=cohort, endpoint=ENDPOINT, arm=TREATED_ARM)
        if n is None or n.missing:
            return compose("subdistribution ", Linked.number(
                fmt.hr_text(float("nan"), float("nan"), float("nan"), n.note if n else ""), n))
        return compose("subdistribution ", Linked.number(fmt.hr_text(n.value, n.ci_lower, n.ci_upper), n), ", ",
                       Linked.number(fmt.p_text(n.p_value), n))
