# qtd: QTD vs TD (Rowland et al. 2023). One job per variant runs a vectorised batch of seeds (seed=<batch>). Wiring only.


rule train_qtd:
    output:
        metrics="results/runs/qtd/{variant}/seed={seed}/metrics.parquet",
        run="results/runs/qtd/{variant}/seed={seed}/run.json",
    params:
        run_config=run_config_arg("qtd"),
    log:
        "results/logs/qtd/{variant}/seed={seed}.log",
    benchmark:
        "results/benchmarks/qtd/{variant}/seed={seed}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} train qtd --variant {wildcards.variant} --seed {wildcards.seed} "
        "--run-config {params.run_config} --device cpu --threads {threads} "
        "--out results/runs/qtd/{wildcards.variant}/seed={wildcards.seed}"


rule plot_qtd:
    input:
        "results/tables/qtd.csv",
    output:
        report(
            study_figures("qtd"),
            caption="../report/qtd.rst",
            category="qtd",
            subcategory="figures",
        ),
    log:
        "results/logs/qtd/plot.log",
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} plot qtd --table {input} --out-dir results/figures/qtd"


rule qtd:
    input:
        study_targets("qtd"),
