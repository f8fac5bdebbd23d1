# Aggregation over seeds, shared by every study: runs -> results/tables/<study>.csv


rule aggregate:
    input:
        lambda wildcards: run_metrics(wildcards.study),
    output:
        table=report(
            "results/tables/{study}.csv",
            caption="../report/table.rst",
            category="{study}",
            subcategory="table",
        ),
        provenance="results/tables/{study}.provenance.json",
    params:
        study_config=study_config_arg,
    log:
        "results/logs/{study}/aggregate.log",
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} aggregate {wildcards.study} {input} "
        "--out {output.table} --study-config {params.study_config}"
