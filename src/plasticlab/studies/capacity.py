"""Capacity loss and InFeR (Lyle et al. 2022, "Understanding and preventing capacity loss in
reinforcement learning"; Lyle's thesis).

A plain network and one trained with InFeR (auxiliary heads regressing β × their initial outputs,
weight α) learn a stream of tasks; a snapshot is saved before the first task and after each. The
probe step measures each snapshot's *target-fitting capacity* as the 2022 paper defines it: a copy
regresses the outputs of a randomly initialised network (same architecture, no interventions) for
a fixed budget, and its final MSE is the capacity (lower is better); the same target networks are
used for every snapshot and every variant of a seed, so differences are paired. A fresh network
fitting the same targets is the reference. The 2023 probe, sin(10⁵·f(x)), stays with
``understanding``: its targets behave like noise, which no network state fits better than another.

Claims: without InFeR the fitting loss grows with the tasks learnt (capacity loss) and InFeR keeps
it lower; InFeR keeps the feature rank (srank, Kumar et al.) from collapsing. Table rows: every
probe metric per tasks learnt; ``capacity_loss`` and ``srank_change`` (after t tasks minus before
training, per run); ``capacity_probe_loss_minus_none`` and ``srank_minus_none`` (paired by seed).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import pandas as pd

from plasticlab.analysis.claims import Claim, Precondition, table_estimate
from plasticlab.studies import register
from plasticlab.studies.base import RunSpec
from plasticlab.studies.probed import ProbedStreamStudy

if TYPE_CHECKING:
    import torch

SHOWN = ("capacity_probe_loss", "capacity_loss", "capacity_normalised_loss", "srank")
TARGET_SEED_OFFSET = 1_000_003  # target network k of seed s is initialised from seed s · offset + k


def change_since_start(probes: pd.DataFrame, metric: str, new_metric: str) -> pd.DataFrame:
    """``metric`` after t tasks minus its value before training, per run (rows named ``new_metric``)."""
    values = probes[probes["metric"] == metric]
    initial = values[values["tasks_done"] == 0].set_index(["variant", "seed"])["value"]
    later = values[values["tasks_done"] > 0]
    before = initial.reindex(pd.MultiIndex.from_frame(later[["variant", "seed"]])).to_numpy()
    return later.assign(metric=new_metric, value=later["value"].to_numpy() - before)


def capacity_loss(probes: pd.DataFrame) -> pd.DataFrame:
    """Probe loss after t tasks minus before training, per run, as rows with metric ``capacity_loss``."""
    return change_since_start(probes, "capacity_probe_loss", "capacity_loss")


def _at_last(variant: str, metric: str) -> Callable[[pd.DataFrame], Any]:
    return lambda table: table_estimate(table, metric, variant)


@register
class Capacity(ProbedStreamStudy):
    name = "capacity"
    paper = "Lyle et al. 2022, 'Understanding and preventing capacity loss in reinforcement learning' (ICLR; InFeR); Lyle 2022 (PhD thesis)"
    summary = "target-fitting capacity (random-network targets) of snapshots over training, with and without InFeR"
    figures = ("probe_fit_over_tasks.png",)
    # (run, inputs, settings) → the fresh network's losses, shared by the snapshots of a run
    _fresh_losses: ClassVar[dict[tuple, dict[int, float]]] = {}
    claims = (
        Claim("infer_preserves_feature_rank",
              "InFeR keeps the rank of the learnt features from collapsing as the plain network's does",
              "InFeR − plain srank of the penultimate features after the last task (paired by seed)", "greater",
              _at_last("infer", "srank_minus_none"),
              preconditions=(Precondition.by_ci(
                  "plain_loses_rank", "the plain network's srank after the last task is below its initial srank (CI)",
                  _at_last("none", "srank_change"), "less"),)),
        Claim("infer_preserves_capacity",
              "InFeR mitigates capacity loss: its network fits new random-network targets better than the plain one",
              "InFeR − plain target-fitting MSE after the last task (paired by seed)", "less",
              _at_last("infer", "capacity_probe_loss_minus_none"),
              preconditions=(Precondition.by_ci(
                  "plain_loses_capacity",
                  "the plain network's target-fitting MSE after the last task exceeds its MSE before training (CI)",
                  _at_last("none", "capacity_loss"), "greater"),)),
    )

    def measure(self, run: RunSpec, net: torch.nn.Module, make_fresh: Callable[[], torch.nn.Module],
                make_bare: Callable[[], torch.nn.Module], inputs: torch.Tensor, targets: torch.Tensor, loss: str,
                settings: dict[str, Any]) -> dict[str, float]:
        import torch

        from plasticlab.metrics.capacity import CapacityConfig, capacity_probe
        from plasticlab.metrics.representation import penultimate_features, srank

        config = CapacityConfig(steps=settings.get("steps", 500), lr=settings.get("lr", 1e-3),
                                batch_size=settings.get("batch_size", 64), targets=settings.get("targets", 1),
                                seed=run.seed)

        def make_target(k: int) -> torch.nn.Module:
            torch.manual_seed(run.seed * TARGET_SEED_OFFSET + k)
            return make_bare()

        key = (str(run.out_dir), hashlib.sha256(inputs.numpy().tobytes()).hexdigest(), config)
        values = capacity_probe(net, make_fresh, make_target, inputs, config, self._fresh_losses.setdefault(key, {}))
        values["srank"] = float(srank(penultimate_features(net, inputs)))
        return values

    def aggregate(self, metrics: pd.DataFrame, study_config: dict[str, Any]) -> pd.DataFrame:
        from plasticlab.analysis import paired_difference, summarise

        changes = [capacity_loss(metrics), change_since_start(metrics, "srank", "srank_change")]
        probes = pd.concat([metrics, *changes], ignore_index=True).rename(columns={"tasks_done": "x"})
        table = summarise(probes, x="x")
        paired = [paired_difference(probes, x="x", metric=metric, baseline="none", new_metric=f"{metric}_minus_none")
                  for metric in ("capacity_probe_loss", "srank")]
        return pd.concat([part for part in (table, *paired) if not part.empty], ignore_index=True)

    def plot(self, table: pd.DataFrame, out_dir: Path, provenance: dict[str, Any]) -> list[Path]:
        from plasticlab.analysis import line_panels

        shown = table[table["metric"].isin(SHOWN)].assign(panel=lambda t: t["metric"], metric="value")
        return [line_panels(shown, "value", out_dir / "probe_fit_over_tasks.png", panel="panel", series="variant",
                            xlabel="tasks learnt", ylabel="value", panel_order=list(SHOWN),
                            title="Target-fitting capacity of each snapshot (random-network targets; 95% CI over seeds)",
                            provenance=provenance)]
