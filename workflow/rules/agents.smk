# Value-based agent studies (injection, softmoe, hare_tortoise): the same wiring for each, so one
# generic training rule keyed on the {study} wildcard and one plot/target rule per study from a loop.
# GPU runs (device: cuda) ask the scheduler for one GPU through resources.

AGENT_STUDIES = ["injection", "softmoe", "hare_tortoise"]


rule train_agent:
    output:
        metrics="results/runs/{study}/{variant}/seed={seed}/metrics.parquet",
        run="results/runs/{study}/{variant}/seed={seed}/run.json",
    wildcard_constraints:
        study="|".join(AGENT_STUDIES),
    params:
        run_config=lambda wildcards: run_config_arg(wildcards.study)(wildcards),
        device=config.get("device", "cpu"),
    log:
        "results/logs/{study}/{variant}/seed={seed}.log",
    benchmark:
        "results/benchmarks/{study}/{variant}/seed={seed}.tsv"
    threads: config.get("threads_per_run", 1)
    resources:
        mem_mb=8000,
        runtime=720,
        gpu=gpus_for_device,
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} train {wildcards.study} --variant {wildcards.variant} --seed {wildcards.seed} "
        "--run-config {params.run_config} --device {params.device} --threads {threads} "
        "--out results/runs/{wildcards.study}/{wildcards.variant}/seed={wildcards.seed}"


for _study in AGENT_STUDIES:

    rule:
        name:
            f"plot_{_study}"
        input:
            f"results/tables/{_study}.csv",
        output:
            report(
                study_figures(_study),
                caption=f"../report/{_study}.rst",
                category=_study,
                subcategory="figures",
            ),
        log:
            f"results/logs/{_study}/plot.log",
        params:
            study=_study,
        conda:
            "../../environment.yml"
        shell:
            "plasticlab --log {log} plot {params.study} --table {input} --out-dir results/figures/{params.study}"

    rule:
        name:
            _study
        input:
            study_targets(_study),
