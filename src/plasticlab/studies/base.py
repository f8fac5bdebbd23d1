"""What a study is: train one run, aggregate runs into a tidy table, plot the paper's figure.

Each study module subclasses :class:`Study` and registers an instance; the CLI and the Snakemake
rules only ever talk to this interface. A study also declares the *shape* of its jobs (torch or
not, memory and time per run, whether a job may run all seeds of a variant): the workflow
generates every study's rules, scheduler requests and DVC stage from these declarations
(:mod:`plasticlab.workflow`), so adding a study touches its module, its config and schema
sections and its report caption, and nothing in ``workflow/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterator, Sequence

import pandas as pd

if TYPE_CHECKING:
    from plasticlab.analysis.claims import Claim


@dataclass(frozen=True)
class RunSpec:
    """One training run: study × variant × seed, with its fully resolved config."""

    study: str
    variant: str
    seed: int
    config: dict[str, Any]
    out_dir: Path
    device: str = "cpu"
    threads: int = 1
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def checkpoint_dir(self) -> Path:
        return self.out_dir / "checkpoints"


class Study:
    """Base class; subclasses set the class attributes and implement the three steps."""

    name: ClassVar[str]
    paper: ClassVar[str]
    summary: ClassVar[str]
    figures: ClassVar[tuple[str, ...]]  # file names that ``plot`` writes into the figure directory
    aggregate_file: ClassVar[str] = "metrics.parquet"  # per-run file that ``aggregate`` reads
    claims: ClassVar[tuple["Claim", ...]] = ()  # the paper's headline claims, checked on the table

    # The shape of the study's jobs, read by plasticlab.workflow (rules, SLURM requests, DVC stage).
    train_rule: ClassVar[str | None] = None  # rule name (default train_<name>); studies naming one rule share it
    accelerated: ClassVar[bool] = True  # device and threads from the config (a GPU on cuda); else one CPU thread
    run_resources: ClassVar[dict[str, int]] = {"mem_mb": 2000, "runtime": 60}  # one run (seed); runtime in minutes
    job_group: ClassVar[str] = "runs"  # SLURM job group of the training and probe jobs
    batches_seeds: ClassVar[bool] = False  # a job may train every seed of a variant (outputs stay per seed)

    @property
    def has_probe(self) -> bool:
        """Whether the study measures saved snapshots in a separate ``probe`` step."""
        return callable(getattr(self, "probe", None))

    @property
    def train_rule_name(self) -> str:
        return self.train_rule or f"train_{self.name}"

    def seeds_in_one_job(self, study_config: dict[str, Any]) -> bool:
        """Whether one job trains all seeds of a variant (``seeds_per_job`` absent or >= seeds).

        Outputs stay one directory per seed either way; only the number of processes (and so the
        start-up paid per seed) changes. ``seeds_per_job: 1`` gives one job per seed (paper
        scale: long runs, one GPU each).
        """
        if not self.batches_seeds:
            return False
        per_job = study_config.get("seeds_per_job")
        return per_job is None or int(per_job) >= int(study_config["seeds"])

    def check_job_shape(self, study_config: dict[str, Any]) -> None:
        """``seeds_per_job`` of a study with per-seed outputs is 1 or covers all seeds."""
        per_job = study_config.get("seeds_per_job")
        if self.batches_seeds and per_job is not None and 1 < int(per_job) < int(study_config["seeds"]):
            raise ValueError(f"seeds_per_job must be 1 (a job per seed) or at least seeds={study_config['seeds']} "
                             f"(a job per variant), got {per_job}: each seed of {self.name} writes its own run "
                             "directory, so a job covers one seed or all of them")

    def job_mem_mb(self, study_config: dict[str, Any], runs_per_job: int) -> int:
        """Memory (MB) a training job of ``runs_per_job`` seeds asks for; seeds trained one after
        another need no more than one run does."""
        return int(self.run_resources["mem_mb"])

    def variants(self, study_config: dict[str, Any]) -> list[str]:
        """Names of the runs' variants (one run directory each, per seed)."""
        return list(study_config["variants"])

    def job_seeds(self, study_config: dict[str, Any]) -> list[int]:
        """The ``seed=<s>`` run directories of each variant, one job each. Default: one per seed;
        a study vectorised over seeds overrides this so one job runs a whole batch of seeds."""
        return list(range(int(study_config["seeds"])))

    def run_config(self, study_config: dict[str, Any], variant: str) -> dict[str, Any]:
        """The part of the study config one run depends on (and nothing else, so changing a
        plotting option does not retrain)."""
        config = {k: v for k, v in study_config.items() if k not in ("enabled", "seeds", "seeds_per_job", "variants", "plot")}
        config["variant"] = variant
        config["interventions"] = study_config["variants"][variant]
        return config

    def data_paths(self, study_config: dict[str, Any], data_dir: str) -> list[str]:
        """Files or directories on disk the study reads (versioned by DVC as its dependencies).

        Default: the directory of every on-disk dataset named by a ``dataset`` key anywhere in
        the section; data that ships with an installed package (digits) has none.
        """
        from plasticlab.data import on_disk_directory

        found: list[str] = []

        def visit(node: Any) -> None:
            if isinstance(node, dict):
                if isinstance(node.get("dataset"), str):
                    directory = on_disk_directory(node["dataset"], data_dir)
                    if directory is not None and str(directory) not in found:
                        found.append(str(directory))
                for value in node.values():
                    visit(value)
            elif isinstance(node, list):
                for value in node:
                    visit(value)

        visit(study_config)
        return found

    def check(self, study_config: dict[str, Any]) -> None:
        """Raise ValueError/KeyError naming what is wrong beyond what the JSON schema checks."""

    def train(self, run: RunSpec) -> pd.DataFrame:
        raise NotImplementedError

    def train_seeds(self, runs: Sequence[RunSpec], **options: Any) -> Iterator[tuple[RunSpec, pd.DataFrame]]:
        """Train several seeds of one variant in this process (one job start-up for all of them).

        Yields ``(run, metrics)`` as each run finishes, so the caller writes a seed's outputs as
        soon as they exist. Default: one seed after another; a study may vectorise over seeds
        as long as every seed's metrics equal what ``train`` gives for it alone.
        """
        for run in runs:
            yield run, self.train(run, **options)

    def aggregate(self, metrics: pd.DataFrame, study_config: dict[str, Any]) -> pd.DataFrame:
        raise NotImplementedError

    def plot(self, table: pd.DataFrame, out_dir: Path, provenance: dict[str, Any]) -> list[Path]:
        raise NotImplementedError
