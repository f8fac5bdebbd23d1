"""The workflow's view of the studies: which rules exist, what each job writes and asks for.

``workflow/rules/studies.smk`` generates every study's rules from these functions, the SLURM
profile only overrides what they ask for, and ``plasticlab dvc-stages`` writes ``dvc.yaml`` from
the same registry: one place says how a study runs, so a new study cannot be forgotten by one of
them. Everything here is plain Python over the config and the study registry (no Snakemake
import), so it is unit-tested like the rest of the package.

Two job layouts exist for a training rule:

- **per seed**: one job per ``seed=<s>`` run directory (wildcard ``{seed}``); tabular-style
  studies whose job runs a vectorised batch of seeds use it too (their ``seed=<first>``
  directory holds the batch);
- **per variant**: one job trains every seed of a variant (``Study.seeds_in_one_job``), paying
  the process start-up once; its outputs are still one directory per seed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plasticlab import config as plasticlab_config
from plasticlab import studies

AGGREGATE_RESOURCES = {"mem_mb": 4000, "runtime": 30}
# `snakemake --use-conda` runs every rule in this environment (relative to workflow/rules/).
CONDA_ENV = "../envs/plasticlab.yaml"
REPOSITORY_ROOT_VARIABLE = "PLASTICLAB_ROOT"
CONFIG_FILES_VARIABLE = "PLASTICLAB_CONFIG_FILES"
RUN_DIR = "results/runs/{study}/{variant}/seed={seed}"


@dataclass(frozen=True)
class JobShape:
    """What a study's training (and probe) jobs look like to Snakemake and to a scheduler."""

    rule: str
    studies: tuple[str, ...]
    per_variant_seeds: tuple[int, ...] | None  # seeds of a per-variant job; None: one job per seed
    threads: int
    mem_mb: int
    runtime: int  # minutes, for the whole job
    gpu: int
    group: str
    device: str

    @property
    def wildcard_seed(self) -> bool:
        return self.per_variant_seeds is None

    def run_files(self, name: str) -> list[str]:
        """Paths (with ``{study}``/``{variant}``, and ``{seed}`` per seed) of one run file per job seed."""
        if self.per_variant_seeds is None:
            return [f"{RUN_DIR}/{name}"]
        return [RUN_DIR.replace("{seed}", str(seed)) + f"/{name}" for seed in self.per_variant_seeds]

    def job_name(self) -> str:
        """The log/benchmark stem of a job: ``seed={seed}`` or ``seeds=<first>-<last>``."""
        if self.per_variant_seeds is None:
            return "seed={seed}"
        return f"seeds={self.per_variant_seeds[0]}-{self.per_variant_seeds[-1]}"

    def seed_param(self) -> Any:
        """The rule's ``seeds`` param: the job's seed (from the wildcard) or every seed of the variant."""
        if self.per_variant_seeds is None:
            return lambda wildcards: wildcards.seed
        return " ".join(str(seed) for seed in self.per_variant_seeds)


def command(step: str) -> str:
    """The shell command of a ``train`` or ``probe`` rule; everything that differs between rules is
    a param (a rule's shell code runs at job time, after the generating loop has moved on)."""
    return (
        f"plasticlab --log {{log}} {step} {{wildcards.study}} --variant {{wildcards.variant}} --seed {{params.seeds}} "
        "--run-config {params.run_config} --device {params.device} --threads {threads} "
        "--variant-dir results/runs/{wildcards.study}/{wildcards.variant}"
    )


def record_config_files(paths: list[str]) -> list[str]:
    """Publish the config files in force to the jobs this process starts (their provenance and the
    manifest read ``PLASTICLAB_CONFIG_FILES``). Paths inside the working directory are kept
    relative, so no machine's layout ends up in a result file."""
    cwd = Path.cwd().resolve()
    shown = []
    for path in paths:
        resolved = Path(path).resolve()
        shown.append(str(resolved.relative_to(cwd)) if resolved.is_relative_to(cwd) else str(path))
    os.environ[CONFIG_FILES_VARIABLE] = os.pathsep.join(shown)
    return shown


def export_repository_root(workflow_dir: str | Path) -> str:
    """Tell pip where this checkout is when Snakemake builds the --use-conda environment from its
    copy of ``workflow/envs/plasticlab.yaml`` (``-e ${PLASTICLAB_ROOT}``): the workflow's parent."""
    root = str(Path(workflow_dir).resolve().parent)
    os.environ[REPOSITORY_ROOT_VARIABLE] = root
    return root


def configured_studies(config: dict[str, Any]) -> list[str]:
    """Studies with a config section (enabled or not): each gets its rules."""
    return [name for name in config.get("studies", {}) if name in studies.available()]


def train_rules(config: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Training rule name → the configured studies it trains (agent studies share ``train_agent``)."""
    rules: dict[str, list[str]] = {}
    for name in configured_studies(config):
        rules.setdefault(studies.get(name).train_rule_name, []).append(name)
    return {rule: tuple(members) for rule, members in rules.items()}


def job_shape(config: dict[str, Any], rule: str) -> JobShape:
    """The shape of the jobs of training rule ``rule``; its studies must agree on it."""
    members = train_rules(config)[rule]
    instances = [studies.get(name) for name in members]
    first = instances[0]
    for study in instances[1:]:
        same = (study.accelerated, study.run_resources, study.job_group, study.batches_seeds)
        if same != (first.accelerated, first.run_resources, first.job_group, first.batches_seeds):
            raise ValueError(f"studies {', '.join(members)} share rule {rule} but declare different job shapes")
    per_variant = {first.seeds_in_one_job(config["studies"][name]) for name in members}
    seed_counts = {int(config["studies"][name]["seeds"]) for name in members}
    if len(per_variant) > 1 or (per_variant == {True} and len(seed_counts) > 1):
        raise ValueError(shared_rule_problem(rule, members))
    seeds = tuple(range(seed_counts.pop())) if per_variant == {True} else None
    device = str(config.get("device", "cpu")) if first.accelerated else "cpu"
    runs_per_job = len(seeds) if seeds else 1
    return JobShape(
        rule=rule, studies=tuple(members), per_variant_seeds=seeds,
        threads=int(config.get("threads_per_run", 1)) if first.accelerated else 1,
        mem_mb=int(first.run_resources["mem_mb"]), runtime=int(first.run_resources["runtime"]) * runs_per_job,
        gpu=1 if device.startswith("cuda") else 0, group=first.job_group, device=device,
    )


def shared_rule_problem(rule: str, members: tuple[str, ...] | list[str]) -> str:
    return (f"studies {', '.join(members)} share the rule {rule}, whose jobs either run every seed of a "
            "variant (then the studies need the same seeds) or one seed each (seeds_per_job: 1 in all of them)")


def probe_shape(config: dict[str, Any], study: str) -> JobShape:
    """A probe job has the shape of its study's training job, under rule ``probe_<study>``."""
    shape = job_shape(config, studies.get(study).train_rule_name)
    return JobShape(**{**shape.__dict__, "rule": f"probe_{study}", "studies": (study,)})


def run_files(config: dict[str, Any], study: str, name: str | None = None) -> list[str]:
    """Every run's ``name`` file (default: the one the study aggregates) of every variant × seed."""
    name = name or studies.get(study).aggregate_file
    return [
        f"results/runs/{study}/{variant}/seed={seed}/{name}"
        for variant in plasticlab_config.variants(config, study)
        for seed in plasticlab_config.seeds(config, study)
    ]


def figures(study: str) -> list[str]:
    return [f"results/figures/{study}/{name}" for name in studies.get(study).figures]


def table(study: str) -> str:
    return f"results/tables/{study}.csv"


def targets(study: str) -> list[str]:
    """What the study's target rule builds: its table and figures."""
    return [table(study), *figures(study)]


def enabled_targets(config: dict[str, Any]) -> list[str]:
    return [path for study in plasticlab_config.enabled_studies(config) for path in targets(study)]


CLAIMS_TABLE = "results/tables/claims.csv"
CLAIMS_FIGURE = "results/figures/claims/claims.png"
