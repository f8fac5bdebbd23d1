# disentangle: Lyle et al. 2024. A variant is <stream>.<intervention>. Wiring only.


rule train_disentangle:
    output:
        metrics="results/runs/disentangle/{variant}/seed={seed}/metrics.parquet",
        run="results/runs/disentangle/{variant}/seed={seed}/run.json",
    params:
        run_config=run_config_arg("disentangle"),
        device=config.get("device", "cpu"),
    log:
        "results/logs/disentangle/{variant}/seed={seed}.log",
    benchmark:
        "results/benchmarks/disentangle/{variant}/seed={seed}.tsv"
    threads: config.get("threads_per_run", 1)
    resources:
        mem_mb=2000,
        runtime=60,
        gpu=gpus_for_device,
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} train disentangle --variant {wildcards.variant} --seed {wildcards.seed} "
        "--run-config {params.run_config} --device {params.device} --threads {threads} "
        "--out results/runs/disentangle/{wildcards.variant}/seed={wildcards.seed}"


rule plot_disentangle:
    input:
        "results/tables/disentangle.csv",
    output:
        report(
            study_figures("disentangle"),
            caption="../report/disentangle.rst",
            category="disentangle",
            subcategory="figures",
        ),
    log:
        "results/logs/disentangle/plot.log",
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} plot disentangle --table {input} --out-dir results/figures/disentangle"


rule disentangle:
    input:
        study_targets("disentangle"),
