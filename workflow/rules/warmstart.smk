# warmstart: Ash & Adams 2020 / Hare & Tortoise (Lee et al. 2024). Wiring only.


rule train_warmstart:
    output:
        metrics="results/runs/warmstart/{variant}/seed={seed}/metrics.parquet",
        run="results/runs/warmstart/{variant}/seed={seed}/run.json",
    params:
        run_config=run_config_arg("warmstart"),
        device=config.get("device", "cpu"),
    log:
        "results/logs/warmstart/{variant}/seed={seed}.log",
    benchmark:
        "results/benchmarks/warmstart/{variant}/seed={seed}.tsv"
    threads: config.get("threads_per_run", 1)
    resources:
        mem_mb=2000,
        runtime=60,
        gpu=gpus_for_device,
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} train warmstart --variant {wildcards.variant} --seed {wildcards.seed} "
        "--run-config {params.run_config} --device {params.device} --threads {threads} "
        "--out results/runs/warmstart/{wildcards.variant}/seed={wildcards.seed}"


rule plot_warmstart:
    input:
        "results/tables/warmstart.csv",
    output:
        report(
            study_figures("warmstart"),
            caption="../report/warmstart.rst",
            category="warmstart",
            subcategory="figures",
        ),
    log:
        "results/logs/warmstart/plot.log",
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} plot warmstart --table {input} --out-dir results/figures/warmstart"


rule warmstart:
    input:
        study_targets("warmstart"),
