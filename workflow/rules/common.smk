# Config validation, the config files in force, and the targets: wiring over the workflow plan
# (plasticlab.workflow_plan: built from the study registry once per config and code version,
# then read back, so a Snakemake start-up imports no study and no torch).
import json
import shlex

from snakemake.utils import validate

from plasticlab import workflow_plan as plan


validate(config, "../schemas/config.schema.yaml")
# Checks the config (a ConfigError names the bad key) and describes every study's rules.
PLAN = plan.load_plan(config)

# The config files in force, in merge order (the Snakefile's, then --configfile ones). Jobs record
# them in their provenance and the manifest; on a cluster each job re-reads the same files.
plan.export_repository_root(workflow.basedir)
CONFIG_FILES = plan.record_config_files(
    [*(f for f in workflow.configfiles if f not in workflow.overwrite_configfiles), *workflow.overwrite_configfiles]
)


wildcard_constraints:
    seed=r"\d+",
    variant=r"[A-Za-z0-9_+.-]+",
    study="|".join(PLAN.available()),


def run_config_arg(wildcards):
    """Shell-quoted JSON of what one run depends on (params: a change re-runs only affected runs)."""
    return shlex.quote(json.dumps(PLAN.run_config(wildcards.study, wildcards.variant), sort_keys=True))


def study_config_arg(wildcards):
    return shlex.quote(json.dumps(config["studies"][wildcards.study], sort_keys=True))


CLAIMS_OUTPUTS = [plan.CLAIMS_TABLE, plan.CLAIMS_FIGURE]
