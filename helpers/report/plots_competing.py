"""The competing-risk figure of notebook 06: the cumulative incidence of local failure per arm (Aalen-Johansen,
death as a competing event) beside one minus the Kaplan-Meier curve that censors deaths.

All numbers come from :mod:`helpers.stats.competing_risks`; this module only draws.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from helpers.report import fmt
from helpers.report.plots_survival import OKABE_ITO, km_ticks


def plot_competing_risks(panels: Sequence[Mapping], arms: Sequence[str], max_months: float,
                         figsize: tuple[float, float] | None = None) -> Figure:
    """One panel per cohort: per arm, the cumulative incidence of local failure (solid) and 1 - KM (dashed).

    Parameters
    ----------
    panels : sequence of mapping
        Each: ``title``, ``curves`` (arm -> frame with ``time``, ``cif``, ``km_failure``, from
        :func:`helpers.stats.competing_risks.competing_risk_curves`), ``counts`` (arm -> (patients, local
        failures, deaths without local failure)), and the test row ``tests`` (a row of
        :func:`~helpers.stats.competing_risks.competing_risk_tests`: ``gray_p``, ``gray_note``, ``shr``,
        ``ci_lower``, ``ci_upper``, ``shr_note``).
    arms : sequence of str
        Control arm, treated arm (the colours of the report's Kaplan-Meier figures).
    max_months : float
        The time axis ends here (the Kaplan-Meier figures' ``km_max_months``).
    """
    fig, axes = plt.subplots(1, len(panels), figsize=figsize or (4.3 * len(panels), 3.9), squeeze=False,
                             sharey=True)
    colors = {arm: OKABE_ITO[i] for i, arm in enumerate(arms)}
    shown = [c.loc[c["time"] <= max_months, ["cif", "km_failure"]] for p in panels for c in p["curves"].values()]
    top = max([float(c.max().max()) for c in shown if len(c)] + [0.05])
    for ax, panel in zip(axes[0], panels):
        lines = []
        for arm in arms:
            c = panel["curves"].get(arm, pd.DataFrame())
            n, lf, dead = panel["counts"][arm]
            lines.append(f"{arm}: n = {n}, {lf} local failures, {dead} deaths first")
            if not len(c):
                continue
            ax.step(c["time"], c["cif"], where="post", color=colors[arm], lw=1.6,
                    label=f"{arm}, cumulative incidence (death competing)")
            ax.step(c["time"], c["km_failure"], where="post", color=colors[arm], lw=1.1, ls="--",
                    label=f"{arm}, 1 - Kaplan-Meier (deaths censored)")
        t = panel["tests"]
        gray = f"Gray's test {fmt.p_text(t['gray_p'], t['gray_note'])}"
        shr = ("Fine-Gray s" + fmt.hr_text(t["shr"], t["ci_lower"], t["ci_upper"])
               if not fmt.is_missing(t["shr"]) else f"Fine-Gray sHR {fmt.not_estimable(t['shr_note'])}")
        ax.text(0.02, 0.97, "\n".join([*lines, gray, shr]), transform=ax.transAxes, va="top", fontsize=7)
        ax.set_title(panel["title"], fontsize=9)
        ax.set_xlim(0, max_months)
        ax.set_xticks(km_ticks(max_months))
        ax.set_ylim(0, min(1.0, 1.8 * top))
        ax.set_xlabel("Months since SBRT")
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    axes[0][0].set_ylabel("Local failure")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=7, frameon=False)
    return fig
