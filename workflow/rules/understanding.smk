# understanding: Understanding plasticity (Lyle et al. 2023). Train (with snapshots), probe the snapshots, plot. Wiring only.


rule train_understanding:
    output:
        metrics="results/runs/understanding/{variant}/seed={seed}/metrics.parquet",
        run="results/runs/understanding/{variant}/seed={seed}/run.json",
    params:
        run_config=run_config_arg("understanding"),
        device=config.get("device", "cpu"),
    log:
        "results/logs/understanding/{variant}/seed={seed}.log",
    benchmark:
        "results/benchmarks/understanding/{variant}/seed={seed}.tsv"
    threads: config.get("threads_per_run", 1)
    resources:
        mem_mb=2000,
        runtime=60,
        gpu=gpus_for_device,
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} train understanding --variant {wildcards.variant} --seed {wildcards.seed} "
        "--run-config {params.run_config} --device {params.device} --threads {threads} "
        "--out results/runs/understanding/{wildcards.variant}/seed={wildcards.seed}"


rule probe_understanding:
    input:
        "results/runs/understanding/{variant}/seed={seed}/metrics.parquet",
    output:
        "results/runs/understanding/{variant}/seed={seed}/probes.parquet",
    params:
        run_config=run_config_arg("understanding"),
        device=config.get("device", "cpu"),
    log:
        "results/logs/understanding/{variant}/seed={seed}.probe.log",
    benchmark:
        "results/benchmarks/understanding/{variant}/seed={seed}.probe.tsv"
    threads: config.get("threads_per_run", 1)
    resources:
        mem_mb=2000,
        runtime=60,
        gpu=gpus_for_device,
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} probe understanding --variant {wildcards.variant} --seed {wildcards.seed} "
        "--run-config {params.run_config} --device {params.device} --threads {threads} "
        "--out results/runs/understanding/{wildcards.variant}/seed={wildcards.seed}"


rule plot_understanding:
    input:
        "results/tables/understanding.csv",
    output:
        report(
            study_figures("understanding"),
            caption="../report/understanding.rst",
            category="understanding",
            subcategory="figures",
        ),
    log:
        "results/logs/understanding/plot.log",
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} plot understanding --table {input} --out-dir results/figures/understanding"


rule understanding:
    input:
        study_targets("understanding"),
