"""The workflow's view of the studies: which rules exist, what each job writes and asks for.

``workflow/rules/studies.smk`` generates every study's rules from these functions, the SLURM
profile only overrides what they ask for, and ``plasticlab dvc-stages`` writes ``dvc.yaml`` from
the same registry: one place says how a study runs, so a new study cannot be forgotten by one of
them. Everything here is plain Python over the config and the study registry (no Snakemake
import), so it is unit-tested like the rest of the package. The Snakefile reads it through
:func:`build_plan`'s JSON document, cached by :mod:`plasticlab.workflow_plan` (which also holds
the light parts: job shapes, paths, the rule command), so most Snakemake start-ups import no study.

Two job layouts exist for a training rule:

- **per seed**: one job per ``seed=<s>`` run directory (wildcard ``{seed}``); tabular-style
  studies whose job runs a vectorised batch of seeds use it too (their ``seed=<first>``
  directory holds the batch);
- **per variant**: one job trains every seed of a variant (``Study.seeds_in_one_job``), paying
  the process start-up once; its outputs are still one directory per seed.
"""

from __future__ import annotations

from typing import Any

from plasticlab import config as plasticlab_config
from plasticlab import studies
from plasticlab.workflow_plan import FORMAT as PLAN_FORMAT
from plasticlab.workflow_plan import JobShape, table


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
        mem_mb=max(studies.get(name).job_mem_mb(config["studies"][name], runs_per_job) for name in members),
        runtime=int(first.run_resources["runtime"]) * runs_per_job,
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


def targets(study: str) -> list[str]:
    """What the study's target rule builds: its table and figures."""
    return [table(study), *figures(study)]


def enabled_targets(config: dict[str, Any]) -> list[str]:
    return [path for study in plasticlab_config.enabled_studies(config) for path in targets(study)]


def build_plan(config: dict[str, Any]) -> dict[str, Any]:
    """Check ``config`` and compute everything the Snakefile needs from it, as a JSON document
    (:class:`plasticlab.workflow_plan.WorkflowPlan` reads it; the Snakefile caches it)."""
    plasticlab_config.check_config(config)
    rules = train_rules(config)
    shapes = {rule: job_shape(config, rule) for rule in rules}
    described = {}
    for study in configured_studies(config):
        section = config["studies"][study]
        described[study] = {
            "enabled": bool(section.get("enabled", True)),
            "probe": probe_shape(config, study).to_json() if studies.get(study).has_probe else None,
            "run_files": run_files(config, study),
            "run_configs": {variant: plasticlab_config.run_config(config, study, variant)
                            for variant in plasticlab_config.variants(config, study)},
            "figures": figures(study),
        }
    return {
        "format": PLAN_FORMAT,
        "available": studies.available(),
        "train_rules": {rule: list(members) for rule, members in rules.items()},
        "shapes": {rule: shape.to_json() for rule, shape in shapes.items()},
        "studies": described,
    }
