"""The CONSORT-style flow diagram, drawn from the flow table."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch


def _box(ax, x: float, y: float, text: str, width: float = 0.46, height: float = 0.075) -> None:
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.008", fc="white", ec="0.2", lw=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=8.5, wrap=True)


def plot_flow(flow: pd.DataFrame, arm_counts: pd.Series) -> Figure:
    """Flow diagram: screened box, one exclusion box per criterion, eligible box, one box per arm.

    ``flow`` has the columns of :func:`helpers.data.eligibility.flow_table`;
    ``arm_counts`` the number of eligible patients per arm.
    """
    steps = flow[flow["step"] > 0]
    n_rows = len(steps) + 2
    fig, ax = plt.subplots(figsize=(7.0, 1.0 + 0.75 * n_rows))
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ys = [1 - (i + 0.6) / (n_rows + 0.6) for i in range(n_rows + 1)]
    screened = int(flow.loc[flow["step"] == 0, "n_remaining"].iloc[0])
    _box(ax, 0.3, ys[0], f"Screened: recurrent HCC treated with SBRT\nn = {screened}")
    for i, (_, r) in enumerate(steps.iterrows(), start=1):
        ax.annotate("", xy=(0.3, ys[i] + 0.04), xytext=(0.3, ys[i - 1] - 0.04),
                    arrowprops=dict(arrowstyle="->", color="0.3"))
        ax.plot([0.3, 0.55], [ys[i] + 0.0, ys[i] + 0.0], color="0.3", lw=0.8)
        _box(ax, 0.77, ys[i], f"Excluded: not '{r['criterion']}'\nn = {int(r['n_excluded'])}", width=0.42)
        ax.text(0.3, ys[i], f"n = {int(r['n_remaining'])}", ha="center", va="center", fontsize=8,
                bbox=dict(fc="white", ec="none"))
    eligible = int(steps["n_remaining"].iloc[-1])
    y_el = ys[len(steps) + 1]
    ax.annotate("", xy=(0.3, y_el + 0.04), xytext=(0.3, ys[len(steps)] - 0.02), arrowprops=dict(arrowstyle="->", color="0.3"))
    arms = " | ".join(f"{arm}: {int(n)}" for arm, n in arm_counts.sort_index().items())
    _box(ax, 0.3, y_el, f"Eligible: n = {eligible}\n{arms}")
    fig.tight_layout()
    return fig
