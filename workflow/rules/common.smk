# Config validation, the config files in force, and the targets: wiring over plasticlab.workflow.
import json
import shlex

from snakemake.utils import validate

from plasticlab import config as plasticlab_config
from plasticlab import studies as plasticlab_studies
from plasticlab import workflow as plan


validate(config, "../schemas/config.schema.yaml")
plasticlab_config.check_config(config, validate_schema=False)

# The config files in force, in merge order (the Snakefile's, then --configfile ones). Jobs record
# them in their provenance and the manifest; on a cluster each job re-reads the same files.
plan.export_repository_root(workflow.basedir)
CONFIG_FILES = plan.record_config_files(
    [*(f for f in workflow.configfiles if f not in workflow.overwrite_configfiles), *workflow.overwrite_configfiles]
)


wildcard_constraints:
    seed=r"\d+",
    variant=r"[A-Za-z0-9_+.-]+",
    study="|".join(plasticlab_studies.available()),


def run_config_arg(study):
    """Shell-quoted JSON of what one run depends on (params: a change re-runs only affected runs)."""
    return lambda wildcards: shlex.quote(
        json.dumps(plasticlab_config.run_config(config, wildcards.study, wildcards.variant), sort_keys=True)
    )


def study_config_arg(wildcards):
    return shlex.quote(json.dumps(config["studies"][wildcards.study], sort_keys=True))


def enabled_study_targets():
    return plan.enabled_targets(config)


CLAIMS_OUTPUTS = [plan.CLAIMS_TABLE, plan.CLAIMS_FIGURE]
