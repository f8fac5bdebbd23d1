# Config loading, validation and target enumeration shared by every study's rules.
import json
import shlex

from snakemake.utils import validate

from plasticlab import config as plasticlab_config
from plasticlab import studies as plasticlab_studies


validate(config, "../schemas/config.schema.yaml")
plasticlab_config.check_config(config, validate_schema=False)


wildcard_constraints:
    seed=r"\d+",
    variant=r"[A-Za-z0-9_+.-]+",
    study="|".join(plasticlab_studies.available()),


def study_enabled(study):
    return study in plasticlab_config.enabled_studies(config)


def run_metrics(study):
    """The per-run file the study aggregates (metrics.parquet, or probes.parquet) of every variant × seed."""
    name = plasticlab_studies.get(study).aggregate_file
    return [
        f"results/runs/{study}/{variant}/seed={seed}/{name}"
        for variant in plasticlab_config.variants(config, study)
        for seed in plasticlab_config.seeds(config, study)
    ]


def run_config_arg(study):
    """Shell-quoted JSON of what one run depends on (params: a change re-runs only affected runs)."""
    return lambda wildcards: shlex.quote(
        json.dumps(plasticlab_config.run_config(config, study, wildcards.variant), sort_keys=True)
    )


def study_config_arg(wildcards):
    return shlex.quote(json.dumps(config["studies"][wildcards.study], sort_keys=True))


def study_figures(study):
    return [f"results/figures/{study}/{name}" for name in plasticlab_studies.get(study).figures]


def study_targets(study):
    return [f"results/tables/{study}.csv", *study_figures(study)]


def enabled_study_targets():
    return [path for study in plasticlab_config.enabled_studies(config) for path in study_targets(study)]


def gpus_for_device(wildcards):
    """GPUs a training job asks the scheduler for: one when the config's device is CUDA."""
    return 1 if str(config.get("device", "cpu")).startswith("cuda") else 0
