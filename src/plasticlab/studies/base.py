"""What a study is: train one run, aggregate runs into a tidy table, plot the paper's figure.

Each study module subclasses :class:`Study` and registers an instance; the CLI and the Snakemake
rules only ever talk to this interface, so adding a study touches no shared code beyond its own
module, its ``workflow/rules/<study>.smk`` and its config/schema sections.
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
        config = {k: v for k, v in study_config.items() if k not in ("enabled", "seeds", "variants", "plot")}
        config["variant"] = variant
        config["interventions"] = study_config["variants"][variant]
        return config

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
