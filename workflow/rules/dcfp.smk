# dcfp: DCFP vs categorical / quantile DP (Rowland et al. 2024). One job per variant runs a vectorised batch of seeds (seed=<batch>). Wiring only.


rule train_dcfp:
    output:
        metrics="results/runs/dcfp/{variant}/seed={seed}/metrics.parquet",
        run="results/runs/dcfp/{variant}/seed={seed}/run.json",
    params:
        run_config=run_config_arg("dcfp"),
    log:
        "results/logs/dcfp/{variant}/seed={seed}.log",
    benchmark:
        "results/benchmarks/dcfp/{variant}/seed={seed}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} train dcfp --variant {wildcards.variant} --seed {wildcards.seed} "
        "--run-config {params.run_config} --device cpu --threads {threads} "
        "--out results/runs/dcfp/{wildcards.variant}/seed={wildcards.seed}"


rule plot_dcfp:
    input:
        "results/tables/dcfp.csv",
    output:
        report(
            study_figures("dcfp"),
            caption="../report/dcfp.rst",
            category="dcfp",
            subcategory="figures",
        ),
    log:
        "results/logs/dcfp/plot.log",
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} plot dcfp --table {input} --out-dir results/figures/dcfp"


rule dcfp:
    input:
        study_targets("dcfp"),
