"""Disentangling the causes of plasticity loss (Lyle et al. 2024).

Every intervention is trained on every nonstationary stream (``plasticlab.supervised.streams``)
with a fixed step budget per task. Plasticity is the training score reached at the end of each
task (accuracy for classification streams, R² for the regression stream): a network that loses
plasticity fits later tasks worse. The paper's claim: no single intervention is enough on every
stream, while layer normalisation combined with weight decay is robust.

A run's variant is ``<stream>.<intervention>``, so each (stream, intervention, seed) is one run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from plasticlab import nets
from plasticlab.studies import register
from plasticlab.studies.base import RunSpec, Study
from plasticlab.studies.stream_runs import train_stream
from plasticlab.supervised.streams import STREAMS

SCORE_METRICS = {"train_accuracy": "accuracy", "train_r2": "R²"}


def split_variant(variant: str) -> tuple[str, str]:
    stream, _, intervention = variant.partition(".")
    return stream, intervention


@register
class Disentangle(Study):
    name = "disentangle"
    paper = "Lyle et al. 2024, 'Disentangling the causes of plasticity loss in neural networks'"
    summary = "nonstationary streams × interventions; training score at the end of each task"
    figures = ("plasticity_by_task.png", "summary.png")
    run_resources = {"mem_mb": 4000, "runtime": 120}
    batches_seeds = True

    def variants(self, study_config: dict[str, Any]) -> list[str]:
        return [f"{stream}.{intervention}" for stream in study_config["streams"] for intervention in study_config["variants"]]

    def run_config(self, study_config: dict[str, Any], variant: str) -> dict[str, Any]:
        stream, intervention = split_variant(variant)
        config = {k: v for k, v in study_config.items() if k not in ("enabled", "seeds", "seeds_per_job", "variants", "streams")}
        config.update(variant=variant, stream=stream, stream_options=study_config["streams"][stream],
                      interventions=study_config["variants"][intervention])
        return config

    def check(self, study_config: dict[str, Any]) -> None:
        nets.check_spec(study_config["model"])
        unknown = sorted(set(study_config["streams"]) - set(STREAMS))
        if unknown:
            raise KeyError(f"unknown stream(s) {', '.join(map(repr, unknown))}; available: {', '.join(sorted(STREAMS))}")
        bad = [name for name in study_config["variants"] if "." in name]
        if bad:
            raise ValueError(f"variant names may not contain '.': {', '.join(bad)}")

    def train(self, run: RunSpec, crash_after_checkpoints: int | None = None) -> pd.DataFrame:
        stream, intervention = split_variant(run.variant)
        frame = train_stream(run, crash_after_checkpoints=crash_after_checkpoints)
        return frame.assign(stream=stream, intervention=intervention)

    def aggregate(self, metrics: pd.DataFrame, study_config: dict[str, Any]) -> pd.DataFrame:
        """Training score per task (x = task number), and its mean over tasks (x = number of tasks)."""
        from plasticlab.analysis import summarise

        ends = metrics[(metrics["phase"] == "task_end") & metrics["metric"].isin(SCORE_METRICS)]
        ends = ends.assign(x=ends["task"] + 1, metric="train_score")
        per_task = summarise(ends, x="x")
        mean_over_tasks = (ends.groupby(["variant", "seed"], as_index=False)["value"].mean()
                           .assign(metric="train_score_mean_over_tasks", x=ends["x"].max()))
        table = pd.concat([per_task, summarise(mean_over_tasks, x="x")], ignore_index=True)
        parts = table["variant"].map(split_variant)
        return table.assign(stream=parts.str[0], intervention=parts.str[1])

    def plot(self, table: pd.DataFrame, out_dir: Path, provenance: dict[str, Any]) -> list[Path]:
        from plasticlab.analysis import grouped_bars, line_panels

        present = sorted(set(table["intervention"]))
        interventions_order = [v for v in ("none",) if v in present] + [v for v in present if v != "none"]
        return [
            line_panels(table, "train_score", out_dir / "plasticity_by_task.png", panel="stream", series="intervention",
                        xlabel="task", ylabel="training score at task end (accuracy or R²)",
                        title="Plasticity across tasks (95% bootstrap CI over seeds)",
                        series_order=interventions_order, provenance=provenance),
            grouped_bars(table, "train_score_mean_over_tasks", out_dir / "summary.png", group="stream",
                         series="intervention", ylabel="mean training score over tasks",
                         title="Which interventions keep plasticity, per stream", series_order=interventions_order,
                         provenance=provenance),
        ]
