"""Capacity loss and InFeR (Lyle et al. 2022; Lyle's thesis).

The probe's ability to fit fresh targets from each snapshot, over a stream of tasks, for a plain
network and one trained with InFeR (auxiliary heads regressing their initial outputs). The claim:
without InFeR the fitting ability decays as training goes on; InFeR preserves it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from plasticlab.studies import register
from plasticlab.studies.probed import ProbedStreamStudy

SHOWN = ("probe_regression_loss", "regression_loss_ratio", "probe_relabel_accuracy", "srank")


@register
class Capacity(ProbedStreamStudy):
    name = "capacity"
    paper = "Lyle 2022, 'Learning dynamics and generalization in deep reinforcement learning' (PhD thesis; InFeR: Lyle et al. 2022)"
    summary = "fitting ability of the plasticity probe over training, with and without InFeR"
    figures = ("probe_fit_over_tasks.png",)

    def aggregate(self, metrics: pd.DataFrame, study_config: dict[str, Any]) -> pd.DataFrame:
        from plasticlab.analysis import summarise

        return summarise(metrics.rename(columns={"tasks_done": "x"}), x="x")

    def plot(self, table: pd.DataFrame, out_dir: Path, provenance: dict[str, Any]) -> list[Path]:
        from plasticlab.analysis import line_panels

        shown = table[table["metric"].isin(SHOWN)].assign(panel=lambda t: t["metric"], metric="value")
        return [line_panels(shown, "value", out_dir / "probe_fit_over_tasks.png", panel="panel", series="variant",
                            xlabel="tasks learnt", ylabel="value", panel_order=list(SHOWN),
                            title="Fitting ability of a probe from each snapshot (95% CI over seeds)",
                            provenance=provenance)]
