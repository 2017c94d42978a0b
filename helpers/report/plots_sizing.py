"""Power against sample size for the trials of the sizing table (:func:`helpers.stats.sizing.sizing_table`)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from helpers.stats.sizing import power_at

_STYLES = {"published": "-", "reproduced": "--"}
#: How the figure names the source of a hazard ratio.
SOURCE_WORDS = {"published": "published", "reproduced": "this run's"}
_COLOURS = {"OS": "#1f77b4", "PFS": "#d62728"}


def plot_power(sizing: pd.DataFrame, alpha: float, power: float, allocation: float) -> Figure:
    """Power of the two-sided level-``alpha`` log-rank test against the total number of patients, one curve per
    sized row (published: solid, this run: dashed), the planned ``power`` as a dotted line and each trial's size
    marked on it. Rows that could not be sized are left out and named in the legend."""
    sized = sizing[sizing["patients"].notna()]
    top = float(np.nanmax(sized["patients"])) * 1.6 if len(sized) else 100.0
    n = np.linspace(1, top, 400)
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    for r in sizing.itertuples():
        source = SOURCE_WORDS.get(r.source, r.source)
        label = f"{r.endpoint}, {source} HR {r.hr:.3g}" if pd.notna(r.hr) else f"{r.endpoint}, {source}"
        if pd.isna(r.patients):
            ax.plot([], [], ls=_STYLES.get(r.source, ":"), color="0.6", label=f"{label}: not sized ({r.note})")
            continue
        ax.plot(n, power_at(n, r.hr, alpha, allocation, r.event_probability), ls=_STYLES.get(r.source, ":"),
                color=_COLOURS.get(r.endpoint, "0.3"), label=f"{label}: {int(r.patients_needed)} patients")
        ax.plot([r.patients], [power], "o", color=_COLOURS.get(r.endpoint, "0.3"), ms=4)
    ax.axhline(power, color="0.4", ls=":", lw=1)
    ax.set_xlim(0, top)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Patients randomised, both arms")
    ax.set_ylabel(f"Power (two-sided alpha = {alpha:g})")
    ax.legend(fontsize=8, loc="lower right", frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
