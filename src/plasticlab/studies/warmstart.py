"""Warm-starting study (Ash & Adams 2020; revisited by Lee et al. 2024, Hare & Tortoise).

The training set arrives in *phases*. A protocol (``protocols.<name>`` in the config, chosen by
``protocol``) fixes, per phase, the share of the training set that arrives (``data``) and the
label noise of that phase (``label_noise``), how long each phase trains, and whether the
optimiser is rebuilt per phase. Phase k trains on everything that has arrived so far; at its end
the evaluated network is scored on the fixed test set. ``warm`` keeps training one network,
``fresh`` re-initialises it at every phase, the other variants apply interventions to the warm
network. Three protocols ship:

* ``reference`` (default): Hare & Tortoise's warm-start protocol (dojeon-ai/Hare-Tortoise,
  ``configs/_warm_start.yaml``): 2 phases, data [0.1, 0.9], label noise [0.5, 0.0];
  ``configs/trainer/base.yaml`` + ``src/trainers/base.py``: ``int(100 / data)`` epochs per phase
  (1,000 on the noisy 10 %, 111 after), no early stop, a new AdamW per phase (lr 1e-3, weight
  decay 1e-3, ``configs/w_*.yaml``), linear warm-up from 0 over 10 % of the phase's steps, batch
  256, gradient norm clipped at 0.5.
* ``continual``: the same code's continual protocol (``configs/_continual.yaml``): 10 phases of
  10 % each, noise 0.5, 0.4, 0.4, 0.3, 0.3, 0.2, 0.2, 0.1, 0.1, 0.0, 1,000 epochs each.
* ``ash_adams``: Ash & Adams' two-phase experiment (JordanAsh/warm_start ``run.py``): 50 % then
  all of the data, clean labels, Adam (lr 1e-3, no weight decay) rebuilt per phase, batch 128,
  each phase trained until 99 % training accuracy (an epoch budget bounds a phase that cannot).

Label noise follows the reference (``src/datasets/dataset.py``): in every phase exactly
``int(n · rate)`` of the phase's ``n`` samples, drawn afresh, get a wrong label drawn uniformly
from the other classes. Phase sizes are ``int(N · data)`` of the ``N`` training samples, new
samples drawn without replacement, all earlier samples kept.

The interventions' reference settings (``scripts/paper/warm_start_*``): shrink & perturb at the end
of each phase toward the stored initial weights, θ ← 0.2·θ + 0.8·θ₀; head reset = the head back to
an initialisation (the reference copies back the stored initial head; ``reset`` draws a fresh one,
from the same distribution); Hare & Tortoise with EMA 0.999 after every step and the Hare reset to
the Tortoise every 10 epochs of the current phase, the Tortoise being the reported network.

Deviations: Ash & Adams' MLP (100-100, ReLU) instead of the reference's MNIST MLP (512-256 with
batch norm), so that the default runs in seconds; no mixed precision; the reference's Hare reset
test ``epoch % 10 == 0`` on a 0-based epoch also resets after the first epoch of every phase, which
``reset_every_epochs`` does not copy; Ash & Adams score on a third of the training set held out,
we use the data set's test split.

Headline quantities (the table): test accuracy after each phase, paired differences to ``warm``
(``test_accuracy_minus_warm``; for ``fresh`` the warm-start gap) and the training-accuracy gap
warm − fresh (``train_accuracy_minus_fresh``, the claims' precondition that the warm network fits
its data as well).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pandas as pd

from plasticlab.analysis.claims import Claim, Estimate, Precondition, table_estimate
from plasticlab.studies import register
from plasticlab.studies.base import RunSpec, Study

def _last(variant: str, metric: str) -> Callable[[pd.DataFrame], Estimate | None]:
    """The table's estimate of ``metric`` for ``variant`` after the last phase (None if the
    variant was not run: the claim is then inconclusive, not an error)."""
    def statistic(table: pd.DataFrame) -> Estimate | None:
        try:
            return table_estimate(table, metric, variant)
        except KeyError:
            return None

    return statistic


def _fits_as_well(variant: str) -> Precondition:
    """The claims compare generalisation at equal fit (Ash & Adams: "the final training losses
    are similar"): a network that does not fit its training data is not a warm-start result."""
    return Precondition.by_ci(
        f"{variant}_fits_as_well_as_fresh",
        f"{variant}'s training accuracy on the last phase is within 1 point of fresh's "
        f"(paired CI of {variant} − fresh above −0.01)",
        _last(variant, "train_accuracy_minus_fresh"), "greater", null=-0.01)


def _gap_exists() -> Precondition:
    return Precondition.by_ci("warm_start_gap_exists", "fresh − warm test accuracy after the last phase > 0 (CI)",
                              _last("fresh", "test_accuracy_minus_warm"), "greater")


@register
class WarmStart(Study):
    name = "warmstart"
    paper = "Ash & Adams 2020, 'On warm-starting neural network training'; Lee et al. 2024, 'Slow and Steady Wins the Race: Maintaining Plasticity with Hare and Tortoise Networks' (ICML)"
    summary = "data arrives in phases; warm vs fresh vs interventions; test accuracy after each phase"
    figures = ("test_accuracy.png", "train_accuracy.png", "final_test_accuracy.png", "warmstart_gap.png")
    run_resources = {"mem_mb": 4000, "runtime": 120}
    batches_seeds = True
    claims = (
        Claim("warm_start_gap", "Warm-starting generalises worse than a fresh initialisation, though both fit the training data",
              "fresh − warm test accuracy after the last phase (paired by seed)", "greater",
              _last("fresh", "test_accuracy_minus_warm"), preconditions=(_fits_as_well("warm"),),
              paper="Ash & Adams 2020"),
        Claim("shrink_perturb_closes_gap", "Shrink & perturb recovers the generalisation of a fresh initialisation",
              "shrink_perturb − warm test accuracy after the last phase (paired by seed)", "greater",
              _last("shrink_perturb", "test_accuracy_minus_warm"),
              preconditions=(_fits_as_well("warm"), _fits_as_well("shrink_perturb"), _gap_exists()),
              paper="Ash & Adams 2020"),
        Claim("hare_tortoise_beats_warm", "Hare & Tortoise maintains generalisation: it beats the warm-started network",
              "hare_tortoise − warm test accuracy after the last phase (paired by seed)", "greater",
              _last("hare_tortoise", "test_accuracy_minus_warm"),
              preconditions=(_fits_as_well("warm"), _fits_as_well("hare_tortoise"), _gap_exists()),
              paper="Lee et al. 2024"),
    )

    def run_config(self, study_config: dict[str, Any], variant: str) -> dict[str, Any]:
        """Only the chosen protocol enters a run's config (editing another one retrains nothing)."""
        config = super().run_config(study_config, variant)
        config.pop("protocols", None)
        config["protocol"] = {"name": study_config["protocol"], **study_config["protocols"][study_config["protocol"]]}
        return config

    def check(self, study_config: dict[str, Any]) -> None:
        from plasticlab import nets

        nets.check_spec(study_config["model"])
        if "warm" not in study_config["variants"]:
            raise ValueError("studies.warmstart.variants must contain 'warm' (the baseline of the warm-start gap)")
        name, protocols = study_config["protocol"], study_config["protocols"]
        if name not in protocols:
            raise KeyError(f"studies.warmstart.protocol {name!r} is not defined; protocols: {', '.join(sorted(protocols))}")
        for key, protocol in protocols.items():
            total = sum(phase["data"] for phase in protocol["phases"])
            if total > 1 + 1e-9:
                raise ValueError(f"studies.warmstart.protocols.{key}: the phases' data shares add up to {total:g} > 1")
            if protocol.get("base_epochs") is None and protocol.get("max_epochs") is None:
                raise ValueError(f"studies.warmstart.protocols.{key}: set base_epochs (fixed budget) or max_epochs")

    def train(self, run: RunSpec, crash_after_checkpoints: int | None = None) -> pd.DataFrame:
        from plasticlab.studies.warmstart_runs import setup_run
        from plasticlab.supervised.seed_jobs import train_solo

        return _labelled(run, train_solo(run, setup_run, crash_after_checkpoints))

    def train_seeds(self, runs: Sequence[RunSpec], crash_after_checkpoints: int | None = None,
                    **options: Any) -> Iterator[tuple[RunSpec, pd.DataFrame]]:
        """All seeds of a variant in one network where exact (``supervised.seed_jobs``)."""
        from plasticlab.studies.warmstart_runs import setup_run
        from plasticlab.supervised.seed_jobs import train_runs

        for run, frame in train_runs(runs, setup_run, crash_after_checkpoints=crash_after_checkpoints, **options):
            yield run, _labelled(run, frame)

    def aggregate(self, metrics: pd.DataFrame, study_config: dict[str, Any]) -> pd.DataFrame:
        """Mean and bootstrap CI over seeds after every phase, and paired gaps to warm and fresh."""
        from plasticlab.analysis import paired_difference, summarise

        ends = metrics[metrics["phase"] == "task_end"].assign(phases_seen=lambda f: f["task"] + 1)
        table = summarise(ends, x="phases_seen")
        gaps = paired_difference(ends, x="phases_seen", metric="test_accuracy", baseline="warm",
                                 new_metric="test_accuracy_minus_warm")
        fits = paired_difference(ends, x="phases_seen", metric="train_accuracy", baseline="fresh",
                                 new_metric="train_accuracy_minus_fresh")
        return pd.concat([part for part in (table, gaps, fits) if not part.empty], ignore_index=True)

    def plot(self, table: pd.DataFrame, out_dir: Path, provenance: dict[str, Any]) -> list[Path]:
        from plasticlab.analysis import bars_at_x, line_with_bands  # matplotlib only where figures are drawn

        variants = _variant_order(table)
        return [
            line_with_bands(table, "test_accuracy", out_dir / "test_accuracy.png", xlabel="phases of training data seen",
                            ylabel="test accuracy", title="Warm-starting: test accuracy (95% bootstrap CI)",
                            variants=variants, provenance=provenance),
            line_with_bands(table, "train_accuracy", out_dir / "train_accuracy.png", xlabel="phases of training data seen",
                            ylabel="training accuracy (labels of that phase)",
                            title="Fit to the data seen so far (evaluated network)", variants=variants,
                            provenance=provenance),
            bars_at_x(table, "test_accuracy", out_dir / "final_test_accuracy.png", ylabel="final test accuracy",
                      title="After the last phase", variants=variants, provenance=provenance),
            line_with_bands(table, "test_accuracy_minus_warm", out_dir / "warmstart_gap.png",
                            xlabel="phases of training data seen", ylabel="test accuracy − warm (paired)",
                            title="Gain over warm-starting (fresh − warm = warm-start gap)",
                            variants=[v for v in variants if v != "warm"], provenance=provenance),
        ]


def _labelled(run: RunSpec, frame: pd.DataFrame) -> pd.DataFrame:
    frame.insert(0, "study", run.study)
    frame.insert(1, "variant", run.variant)
    frame.insert(2, "seed", run.seed)
    return frame


def _variant_order(table: pd.DataFrame) -> list[str]:
    """warm and fresh first (the paper's two reference lines), then the rest alphabetically."""
    present = sorted(set(table["variant"]))
    head = [v for v in ("warm", "fresh") if v in present]
    return head + [v for v in present if v not in head]
