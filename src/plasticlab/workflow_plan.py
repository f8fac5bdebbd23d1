"""The Snakefile's view of a config, computed once per config and code version and then read back.

Parsing the Snakefile needs every configured study's rules, job shapes, variants, seeds and run
configs. Computing them (:func:`plasticlab.workflow.build_plan`) checks the config and imports
every study module, torch among them: about 7 s of a Snakemake start-up that otherwise takes 1.5 s.
And Snakemake starts often: every SLURM job parses the workflow again, ``dvc repro`` starts one
Snakemake per study stage, a user dry-runs before running. So the plan, a JSON document, is cached
under ``.snakemake/plasticlab/plans/`` (Snakemake's own directory in the working directory) and a
later start with the same config and the same package sources reads it back without importing
torch, pandas or any study.

The cache key is the SHA-256 of the config, the plan format, the Python version and the bytes of
every source file of the package, so an edited study, schema or intervention makes a new plan. A
config that fails its check raises before anything is written, so a bad config fails at every
parse. ``PLASTICLAB_PLAN_CACHE=0`` turns the cache off; a corrupt cache file is rebuilt. A plan
holds no absolute path, so checkouts may share one directory of plans (``PLASTICLAB_PLAN_DIR``).

This module imports nothing heavy: it is what the Snakefile imports.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

FORMAT = 1
CACHE_DIR = Path(".snakemake") / "plasticlab" / "plans"
CACHE_VARIABLE = "PLASTICLAB_PLAN_CACHE"
CACHE_DIR_VARIABLE = "PLASTICLAB_PLAN_DIR"  # another directory for the plans (several checkouts can share one)
CACHE_KEEP = 32  # newest plans kept; older ones are deleted when a new one is written

AGGREGATE_RESOURCES = {"mem_mb": 4000, "runtime": 30}
# `snakemake --use-conda` runs every rule in this environment (relative to workflow/rules/).
CONDA_ENV = "../envs/plasticlab.yaml"
REPOSITORY_ROOT_VARIABLE = "PLASTICLAB_ROOT"
CONFIG_FILES_VARIABLE = "PLASTICLAB_CONFIG_FILES"
RUN_DIR = "results/runs/{study}/{variant}/seed={seed}"
CLAIMS_TABLE = "results/tables/claims.csv"
CLAIMS_FIGURE = "results/figures/claims/claims.png"

log = logging.getLogger(__name__)


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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobShape:
        seeds = data["per_variant_seeds"]
        return cls(**{**data, "studies": tuple(data["studies"]),
                      "per_variant_seeds": None if seeds is None else tuple(seeds)})


def command(step: str) -> str:
    """The shell command of a ``train`` or ``probe`` rule; everything that differs between rules is
    a param (a rule's shell code runs at job time, after the generating loop has moved on)."""
    return (
        f"plasticlab --log {{log}} {step} {{wildcards.study}} --variant {{wildcards.variant}} --seed {{params.seeds}} "
        "--run-config {params.run_config} --device {params.device} --threads {threads} "
        "--variant-dir results/runs/{wildcards.study}/{wildcards.variant}"
    )


def table(study: str) -> str:
    return f"results/tables/{study}.csv"


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


class WorkflowPlan:
    """Read-only queries over a plan document (what :func:`plasticlab.workflow.build_plan` returns)."""

    def __init__(self, document: dict[str, Any]):
        self.document = document

    def available(self) -> list[str]:
        return list(self.document["available"])

    def configured_studies(self) -> list[str]:
        return list(self.document["studies"])

    def enabled_studies(self) -> list[str]:
        return [name for name, study in self.document["studies"].items() if study["enabled"]]

    def train_rules(self) -> dict[str, tuple[str, ...]]:
        return {rule: tuple(members) for rule, members in self.document["train_rules"].items()}

    def job_shape(self, rule: str) -> JobShape:
        return JobShape.from_json(self.document["shapes"][rule])

    def has_probe(self, study: str) -> bool:
        return self.document["studies"][study]["probe"] is not None

    def probe_shape(self, study: str) -> JobShape:
        return JobShape.from_json(self.document["studies"][study]["probe"])

    def run_files(self, study: str) -> list[str]:
        return list(self.document["studies"][study]["run_files"])

    def run_config(self, study: str, variant: str) -> dict[str, Any]:
        run_configs = self.document["studies"][study]["run_configs"]
        if variant not in run_configs:
            raise ValueError(f"study {study!r} has no variant {variant!r}; variants: {', '.join(run_configs)}")
        return run_configs[variant]

    def figures(self, study: str) -> list[str]:
        return list(self.document["studies"][study]["figures"])

    def targets(self, study: str) -> list[str]:
        """What the study's target rule builds: its table and figures."""
        return [table(study), *self.figures(study)]

    def enabled_targets(self) -> list[str]:
        return [path for study in self.enabled_studies() for path in self.targets(study)]


def source_digest() -> str:
    """SHA-256 over the package's source files (path and bytes): any edit makes new plans."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in {".py", ".yaml", ".json"} and path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def plan_key(config: dict[str, Any]) -> str:
    text = json.dumps(config, sort_keys=True, default=str)
    parts = [str(FORMAT), sys.version, source_digest(), text]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _cache_enabled() -> bool:
    return os.environ.get(CACHE_VARIABLE, "1").strip().lower() not in {"0", "false", "no", "off"}


def _read(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("ignoring unreadable workflow plan %s (%s); building it again", path, error)
        return None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        log.warning("ignoring workflow plan %s of another format; building it again", path)
        return None
    return document


def _write(path: Path, document: dict[str, Any]) -> None:
    """Atomic (SLURM jobs parse the workflow at the same time), then keep the newest CACHE_KEEP."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(document))  # key order is rule order: kept
    os.replace(partial, path)
    plans = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in plans[CACHE_KEEP:]:
        old.unlink(missing_ok=True)


def load_plan(config: dict[str, Any], cache_dir: str | Path | None = None,
              build: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> WorkflowPlan:
    """The plan of ``config``: from the cache when this config and code made one before, else built
    (which checks the config and raises ``ConfigError`` naming the problem) and cached."""
    cache_dir = cache_dir or os.environ.get(CACHE_DIR_VARIABLE) or CACHE_DIR
    path = Path(cache_dir) / f"{plan_key(config)}.json"
    if _cache_enabled():
        document = _read(path)
        if document is not None:
            return WorkflowPlan(document)
    if build is None:
        from plasticlab.workflow import build_plan as build
    document = json.loads(json.dumps(build(config)))  # what a cache hit would read: lists, not tuples
    if _cache_enabled():
        try:
            _write(path, document)
        except OSError as error:  # a read-only working directory still runs, uncached
            log.warning("cannot cache the workflow plan at %s: %s", path, error)
    return WorkflowPlan(document)
