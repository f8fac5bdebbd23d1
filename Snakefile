# plasticlab workflow: one target rule per study (named after it); `rule all` builds every
# enabled study. Rules only wire files to the `plasticlab` CLI; all logic lives in the package.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/warmstart.smk"
include: "workflow/rules/disentangle.smk"
include: "workflow/rules/understanding.smk"
include: "workflow/rules/capacity.smk"
include: "workflow/rules/qtd.smk"
include: "workflow/rules/dcfp.smk"
include: "workflow/rules/discobax.smk"
include: "workflow/rules/vlm_rewards.smk"
include: "workflow/rules/agents.smk"


rule all:
    default_target: True
    input:
        enabled_study_targets(),
