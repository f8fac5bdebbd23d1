# capacity: Capacity loss and InFeR (Lyle et al. 2022; thesis). Train (with snapshots), probe the snapshots, plot. Wiring only.


rule train_capacity:
    output:
        metrics="results/runs/capacity/{variant}/seed={seed}/metrics.parquet",
        run="results/runs/capacity/{variant}/seed={seed}/run.json",
    params:
        run_config=run_config_arg("capacity"),
        device=config.get("device", "cpu"),
    log:
        "results/logs/capacity/{variant}/seed={seed}.log",
    benchmark:
        "results/benchmarks/capacity/{variant}/seed={seed}.tsv"
    threads: config.get("threads_per_run", 1)
    resources:
        mem_mb=2000,
        runtime=60,
        gpu=gpus_for_device,
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} train capacity --variant {wildcards.variant} --seed {wildcards.seed} "
        "--run-config {params.run_config} --device {params.device} --threads {threads} "
        "--out results/runs/capacity/{wildcards.variant}/seed={wildcards.seed}"


rule probe_capacity:
    input:
        "results/runs/capacity/{variant}/seed={seed}/metrics.parquet",
    output:
        "results/runs/capacity/{variant}/seed={seed}/probes.parquet",
    params:
        run_config=run_config_arg("capacity"),
        device=config.get("device", "cpu"),
    log:
        "results/logs/capacity/{variant}/seed={seed}.probe.log",
    benchmark:
        "results/benchmarks/capacity/{variant}/seed={seed}.probe.tsv"
    threads: config.get("threads_per_run", 1)
    resources:
        mem_mb=2000,
        runtime=60,
        gpu=gpus_for_device,
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} probe capacity --variant {wildcards.variant} --seed {wildcards.seed} "
        "--run-config {params.run_config} --device {params.device} --threads {threads} "
        "--out results/runs/capacity/{wildcards.variant}/seed={wildcards.seed}"


rule plot_capacity:
    input:
        "results/tables/capacity.csv",
    output:
        report(
            study_figures("capacity"),
            caption="../report/capacity.rst",
            category="capacity",
            subcategory="figures",
        ),
    log:
        "results/logs/capacity/plot.log",
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} plot capacity --table {input} --out-dir results/figures/capacity"


rule capacity:
    input:
        study_targets("capacity"),
