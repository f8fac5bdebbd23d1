"""Stream studies whose analysis runs on saved snapshots (understanding, capacity).

Training saves the evaluated network before the first task and after every task
(``snapshots/ckpt_<tasks done>.pt``, checksummed). A separate ``probe`` step then measures each
snapshot (``plasticlab.metrics.battery``) on the inputs of the task it had just learnt, so the
measurements never slow training and can be recomputed from pulled checkpoints.

Torch and the training code are imported by the methods that train or probe, not by this module:
the jobs that only read results (aggregation, figures, claims) then start without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import pandas as pd

from plasticlab.studies.base import RunSpec, Study

if TYPE_CHECKING:
    import torch

SNAPSHOTS = "snapshots"


class ProbedStreamStudy(Study):
    """One stream, a few variants, snapshots at task ends, a probe step over the snapshots."""

    aggregate_file = "probes.parquet"
    run_resources = {"mem_mb": 4000, "runtime": 120}
    batches_seeds = True

    def run_config(self, study_config: dict[str, Any], variant: str) -> dict[str, Any]:
        config = super().run_config(study_config, variant)
        config["stream_options"] = config.pop("stream_options", {}) or {}
        return config

    def check(self, study_config: dict[str, Any]) -> None:
        from plasticlab import nets
        from plasticlab.supervised.streams import STREAMS

        nets.check_spec(study_config["model"])
        if study_config["stream"] not in STREAMS:
            raise KeyError(f"unknown stream {study_config['stream']!r}; available: {', '.join(sorted(STREAMS))}")

    def train(self, run: RunSpec, crash_after_checkpoints: int | None = None) -> pd.DataFrame:
        from plasticlab.studies.stream_runs import train_stream

        return train_stream(run, crash_after_checkpoints, on_task_end=_save_snapshot)

    def train_seeds(self, runs: Sequence[RunSpec], crash_after_checkpoints: int | None = None,
                    **options: Any) -> Iterator[tuple[RunSpec, pd.DataFrame]]:
        from plasticlab.studies.stream_runs import train_stream_seeds

        yield from train_stream_seeds(runs, crash_after_checkpoints, on_task_end=_save_snapshot, **options)

    def probe(self, run: RunSpec) -> pd.DataFrame:
        """Measure every snapshot of ``run`` on the inputs of the task it had just finished."""
        from plasticlab.runtime.checkpoint import list_checkpoints, read_checkpoint
        from plasticlab.runtime.seeding import seed_everything
        from plasticlab.studies.stream_runs import stream_setup

        config = run.config
        seed_everything(run.seed)
        tasks, make_net, intervention = stream_setup(config, run.seed)
        settings = config.get("probe", {})
        limit = settings.get("inputs", 256)

        def make_fresh() -> torch.nn.Module:
            return intervention.build(make_net())

        rows = []
        for path in list_checkpoints(run.out_dir / SNAPSHOTS):
            tasks_done = int(path.stem.split("_")[1])
            task = tasks[max(tasks_done - 1, 0)]
            net = make_fresh()
            net.load_state_dict(read_checkpoint(path)["net"])
            values = self.measure(run, net, make_fresh, make_net, task.x[:limit], task.y[:limit], task.loss, settings)
            rows += [(tasks_done, metric, float(value)) for metric, value in values.items()]
        frame = pd.DataFrame(rows, columns=["tasks_done", "metric", "value"])
        frame.insert(0, "study", run.study)
        frame.insert(1, "variant", run.variant)
        frame.insert(2, "seed", run.seed)
        return frame

    def measure(self, run: RunSpec, net: torch.nn.Module, make_fresh: Callable[[], torch.nn.Module],
                make_bare: Callable[[], torch.nn.Module], inputs: torch.Tensor, targets: torch.Tensor, loss: str,
                settings: dict[str, Any]) -> dict[str, float]:
        """The measurements of one snapshot (default: the whole battery with the 2023 probe)."""
        from plasticlab.metrics.battery import measure
        from plasticlab.metrics.probe import ProbeConfig

        probe = ProbeConfig(steps=settings.get("steps", 300), lr=settings.get("lr", 1e-3),
                            batch_size=settings.get("batch_size", 64), seed=run.seed)
        return measure(net, make_fresh, inputs, targets, loss, probe, lanczos_k=settings.get("lanczos_k", 10))


def _save_snapshot(run: RunSpec, tasks_done: int, net: torch.nn.Module) -> None:
    from plasticlab.runtime.checkpoint import save_checkpoint

    save_checkpoint(run.out_dir / SNAPSHOTS, tasks_done, {"net": net.state_dict()}, keep=0)
