"""Disentangling the causes of plasticity loss (Lyle et al. 2024).

Every intervention is trained on every nonstationary stream (``plasticlab.supervised.streams``)
with a fixed step budget per task. Plasticity is the training score reached at the end of each
task (accuracy for classification streams, R² for the regression stream): a network that loses
plasticity fits later tasks worse. The paper's claim: no single intervention is enough on every
stream, while layer normalisation combined with weight decay is robust.

A run's variant is ``<stream>.<intervention>``, so each (stream, intervention, seed) is one run.

Settings. The paper trains many long tasks (e.g. CIFAR-10 with random labels, tasks of 100k
steps) with Adam; here, scaled to digits on a CPU core: Adam lr 1e-3, batch 32, 8 tasks of 1,500
steps, an MLP 64-64; random labels on a fixed subset of 256 inputs, and the large-target stream
with targets ×10 per task. These were chosen, by the plain network's behaviour alone, as the
cheapest settings of this family on which it first fits its tasks (≥ 0.97 accuracy / R²) and then
declines, the condition both claims are about; input and label permutations of digits
never make it decline at this scale (README). Table rows beside the per-task scores:
``score_last_minus_first`` (per run, last-task minus first-task score) and, per stream, the paired
differences ``train_score_minus_none`` and ``train_score_minus_layernorm+weight_decay``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Sequence

import pandas as pd

from plasticlab.analysis.claims import Claim, Estimate, Precondition, table_estimate
from plasticlab.studies import register
from plasticlab.studies.base import RunSpec, Study

SCORE_METRICS = {"train_accuracy": "accuracy", "train_r2": "R²"}
COMBINATION = "layernorm+weight_decay"


def split_variant(variant: str) -> tuple[str, str]:
    stream, _, intervention = variant.partition(".")
    return stream, intervention


def _streams(table: pd.DataFrame) -> list[str]:
    return sorted(set(table.loc[table["metric"] == "train_score", "stream"]))


def _plain_declines(table: pd.DataFrame) -> dict[str, Estimate]:
    return {stream: table_estimate(table, "score_last_minus_first", f"{stream}.none") for stream in _streams(table)}


def _plain_loses_plasticity(table: pd.DataFrame) -> tuple[bool, Estimate | None]:
    """Holds when the plain network's last-task score is below its first-task score (CI below 0)
    on at least two streams (on every stream if there are fewer)."""
    declines = _plain_declines(table)
    losing = [stream for stream, value in declines.items() if value.has_interval and value.ci_high < 0]
    weakest = max(declines.values(), key=lambda v: v.estimate) if declines else None
    return len(losing) >= min(2, len(declines)) and bool(declines), weakest


def _combination_minus_plain(table: pd.DataFrame) -> dict[str, Estimate]:
    return {stream: table_estimate(table, "train_score_minus_none", f"{stream}.{COMBINATION}") for stream in _streams(table)}


def _combination_minus_best_other(table: pd.DataFrame) -> dict[str, Estimate]:
    """LN+WD − the other intervention with the highest mean last-task score (paired by seed)."""
    out = {}
    rows = table[(table["metric"] == f"train_score_minus_{COMBINATION}")]
    for stream in _streams(table):
        last = rows[rows["stream"] == stream]
        last = last[pd.to_numeric(last["x"]) == pd.to_numeric(last["x"]).max()]
        last = last[last["intervention"] != "none"]
        if last.empty:
            continue
        best = last.loc[last["mean"].idxmax()]  # the strongest rival: X − LN+WD largest
        out[f"{stream} vs {best['intervention']}"] = Estimate(-float(best["mean"]), -float(best["ci_high"]),
                                                              -float(best["ci_low"]), int(best["n_seeds"]))
    return out


_PLAIN_LOSES = Precondition("plain_loses_plasticity",
                            "the plain network's last-task training score is below its first-task score (CI) "
                            "on at least two streams", _plain_loses_plasticity)


@register
class Disentangle(Study):
    name = "disentangle"
    paper = "Lyle et al. 2024, 'Disentangling the causes of plasticity loss in neural networks'"
    summary = "nonstationary streams × interventions; training score at the end of each task"
    figures = ("plasticity_by_task.png", "summary.png")
    run_resources = {"mem_mb": 4000, "runtime": 120}
    batches_seeds = True
    claims = (
        Claim("ln_wd_mitigates", "Layer normalisation with weight decay maintains plasticity",
              "LN+WD − plain training score on the last task, per stream (paired by seed)", "greater",
              _combination_minus_plain, preconditions=(_PLAIN_LOSES,)),
        Claim("ln_wd_beats_single_interventions",
              "No single intervention suffices everywhere; layer normalisation with weight decay is the robust choice",
              "LN+WD − the best other intervention's last-task training score, per stream (paired by seed)", "greater",
              _combination_minus_best_other, preconditions=(_PLAIN_LOSES,)),
    )

    def variants(self, study_config: dict[str, Any]) -> list[str]:
        return [f"{stream}.{intervention}" for stream in study_config["streams"] for intervention in study_config["variants"]]

    def run_config(self, study_config: dict[str, Any], variant: str) -> dict[str, Any]:
        stream, intervention = split_variant(variant)
        config = {k: v for k, v in study_config.items() if k not in ("enabled", "seeds", "seeds_per_job", "variants", "streams")}
        config.update(variant=variant, stream=stream, stream_options=study_config["streams"][stream],
                      interventions=study_config["variants"][intervention])
        return config

    def check(self, study_config: dict[str, Any]) -> None:
        from plasticlab import nets
        from plasticlab.supervised.streams import STREAMS

        nets.check_spec(study_config["model"])
        unknown = sorted(set(study_config["streams"]) - set(STREAMS))
        if unknown:
            raise KeyError(f"unknown stream(s) {', '.join(map(repr, unknown))}; available: {', '.join(sorted(STREAMS))}")
        bad = [name for name in study_config["variants"] if "." in name]
        if bad:
            raise ValueError(f"variant names may not contain '.': {', '.join(bad)}")

    def train(self, run: RunSpec, crash_after_checkpoints: int | None = None) -> pd.DataFrame:
        from plasticlab.studies.stream_runs import train_stream  # torch: only where a run trains

        stream, intervention = split_variant(run.variant)
        frame = train_stream(run, crash_after_checkpoints=crash_after_checkpoints)
        return frame.assign(stream=stream, intervention=intervention)

    def train_seeds(self, runs: Sequence[RunSpec], crash_after_checkpoints: int | None = None,
                    **options: Any) -> Iterator[tuple[RunSpec, pd.DataFrame]]:
        """All seeds of a (stream, intervention) in one network where exact (``supervised.seed_jobs``)."""
        from plasticlab.studies.stream_runs import train_stream_seeds

        for run, frame in train_stream_seeds(runs, crash_after_checkpoints, **options):
            stream, intervention = split_variant(run.variant)
            yield run, frame.assign(stream=stream, intervention=intervention)

    def aggregate(self, metrics: pd.DataFrame, study_config: dict[str, Any]) -> pd.DataFrame:
        """Training score per task (x = task number), and its mean over tasks (x = number of tasks)."""
        from plasticlab.analysis import paired_difference, summarise

        ends = metrics[(metrics["phase"] == "task_end") & metrics["metric"].isin(SCORE_METRICS)]
        ends = ends.assign(x=ends["task"] + 1, metric="train_score")
        last_x = ends["x"].max()
        per_task = summarise(ends, x="x")
        by_run = ends.groupby(["variant", "seed"])
        mean_over_tasks = by_run["value"].mean().reset_index().assign(metric="train_score_mean_over_tasks", x=last_x)
        ordered = ends.sort_values("x")
        lost = (ordered.groupby(["variant", "seed"])["value"].agg(lambda v: v.iloc[-1] - v.iloc[0]).reset_index()
                .assign(metric="score_last_minus_first", x=last_x))
        parts = [per_task, summarise(mean_over_tasks, x="x"), summarise(lost, x="x")]
        streams = ends["variant"].map(lambda v: split_variant(v)[0])
        for stream in sorted(set(streams)):
            runs = ends[streams == stream]
            for baseline in ("none", COMBINATION):
                parts.append(paired_difference(runs, x="x", metric="train_score", baseline=f"{stream}.{baseline}",
                                               new_metric=f"train_score_minus_{baseline}"))
        table = pd.concat([part for part in parts if not part.empty], ignore_index=True)
        names = table["variant"].map(split_variant)
        return table.assign(stream=names.str[0], intervention=names.str[1])

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
