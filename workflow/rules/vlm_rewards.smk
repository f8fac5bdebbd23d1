# vlm_rewards: VLM rewards (Baumli et al. 2023). One job per reward model (variant) runs a batch of
# seeds (seed=<batch>): contrastive training, reward accuracy, and the agent on that reward. Wiring only.


rule train_vlm_rewards:
    output:
        metrics="results/runs/vlm_rewards/{variant}/seed={seed}/metrics.parquet",
        run="results/runs/vlm_rewards/{variant}/seed={seed}/run.json",
    params:
        run_config=run_config_arg("vlm_rewards"),
        device=config.get("device", "cpu"),
    log:
        "results/logs/vlm_rewards/{variant}/seed={seed}.log",
    benchmark:
        "results/benchmarks/vlm_rewards/{variant}/seed={seed}.tsv"
    threads: config.get("threads_per_run", 1)
    resources:
        mem_mb=2000,
        runtime=60,
        gpu=gpus_for_device,
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} train vlm_rewards --variant {wildcards.variant} --seed {wildcards.seed} "
        "--run-config {params.run_config} --device {params.device} --threads {threads} "
        "--out results/runs/vlm_rewards/{wildcards.variant}/seed={wildcards.seed}"


rule plot_vlm_rewards:
    input:
        "results/tables/vlm_rewards.csv",
    output:
        report(
            study_figures("vlm_rewards"),
            caption="../report/vlm_rewards.rst",
            category="vlm_rewards",
            subcategory="figures",
        ),
    log:
        "results/logs/vlm_rewards/plot.log",
    conda:
        "../../environment.yml"
    shell:
        "plasticlab --log {log} plot vlm_rewards --table {input} --out-dir results/figures/vlm_rewards"


rule vlm_rewards:
    input:
        study_targets("vlm_rewards"),
