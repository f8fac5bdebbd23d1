# discobax: DiscoBAX vs baselines (Lyle et al. 2023). One job per data set runs every method on a batch of seeds (seed=<batch>). Wiring only.


rule train_discobax:
    output:
        metrics="results/runs/discobax/{variant}/seed={seed}/metrics.parquet",
        run="results/runs/discobax/{variant}/seed={seed}/run.json",
    params:
        run_config=run_config_arg("discobax"),
    log:
        "results/logs/discobax/{variant}/seed={seed}.log",
    benchmark:
        "results/benchmarks/discobax/{variant}/seed={seed}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} train discobax --variant {wildcards.variant} --seed {wildcards.seed} "
        "--run-config {params.run_config} --device cpu --threads {threads} "
        "--out results/runs/discobax/{wildcards.variant}/seed={wildcards.seed}"


rule plot_discobax:
    input:
        "results/tables/discobax.csv",
    output:
        report(
            study_figures("discobax"),
            caption="../report/discobax.rst",
            category="discobax",
            subcategory="figures",
        ),
    log:
        "results/logs/discobax/plot.log",
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} plot discobax --table {input} --out-dir results/figures/discobax"


rule discobax:
    input:
        study_targets("discobax"),
