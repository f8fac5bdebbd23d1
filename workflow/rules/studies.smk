# The rules of every configured study, generated from its Study class through plasticlab.workflow:
#   train_<study> (agent studies share train_agent), probe_<study> (studies with a probe step),
#   aggregate (one rule, {study} wildcard), plot_<study>, the target rule <study>, and claims.
# A job runs one seed (wildcard {seed}) or every seed of a variant (Study.seeds_in_one_job);
# outputs stay one directory per seed. Aggregation, figures and claims are local rules: on a
# cluster they run in the submitting Snakemake (seconds each; a SLURM round trip would cost more).
# Threads, memory, runtime, GPUs and the SLURM group come
# from the study's declarations, so the profiles only override them. With --use-conda every rule
# runs in workflow/envs/plasticlab.yaml. Wiring only.


for _rule, _members in PLAN.train_rules().items():
    _shape = PLAN.job_shape(_rule)

    rule:
        name:
            _rule
        output:
            metrics=_shape.run_files("metrics.parquet"),
            run=_shape.run_files("run.json"),
        wildcard_constraints:
            study="|".join(_members),
        params:
            run_config=run_config_arg,
            seeds=_shape.seed_param(),
            device=_shape.device,
        log:
            f"results/logs/{{study}}/{{variant}}/{_shape.job_name()}.log",
        benchmark:
            f"results/benchmarks/{{study}}/{{variant}}/{_shape.job_name()}.tsv"
        threads: _shape.threads
        resources:
            mem_mb=_shape.mem_mb,
            runtime=_shape.runtime,
            gpu=_shape.gpu,
        group:
            _shape.group
        conda:
            plan.CONDA_ENV
        shell:
            plan.command("train")


for _study in PLAN.configured_studies():
    if PLAN.has_probe(_study):
        _probe = PLAN.probe_shape(_study)

        rule:
            name:
                _probe.rule
            input:
                _probe.run_files("metrics.parquet"),
            output:
                _probe.run_files("probes.parquet"),
            wildcard_constraints:
                study=_study,
            params:
                run_config=run_config_arg,
                seeds=_probe.seed_param(),
                device=_probe.device,
            log:
                f"results/logs/{{study}}/{{variant}}/{_probe.job_name()}.probe.log",
            benchmark:
                f"results/benchmarks/{{study}}/{{variant}}/{_probe.job_name()}.probe.tsv"
            threads: _probe.threads
            resources:
                mem_mb=_probe.mem_mb,
                runtime=_probe.runtime,
                gpu=_probe.gpu,
            group:
                _probe.group
            conda:
                plan.CONDA_ENV
            shell:
                plan.command("probe")

    rule:
        name:
            f"plot_{_study}"
        localrule: True
        input:
            plan.table(_study),
        output:
            report(
                PLAN.figures(_study),
                caption=f"../report/{_study}.rst",
                category=_study,
                subcategory="figures",
            ),
        log:
            f"results/logs/{_study}/plot.log",
        params:
            study=_study,
        resources:
            **plan.AGGREGATE_RESOURCES,
        conda:
            plan.CONDA_ENV
        shell:
            "plasticlab --log {log} plot {params.study} --table {input} --out-dir results/figures/{params.study}"

    rule:
        name:
            _study
        localrule: True
        input:
            PLAN.targets(_study),


rule aggregate:
    localrule: True
    input:
        lambda wildcards: PLAN.run_files(wildcards.study),
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
    resources:
        **plan.AGGREGATE_RESOURCES,
    conda:
        plan.CONDA_ENV
    shell:
        "plasticlab --log {log} aggregate {wildcards.study} {input} "
        "--out {output.table} --study-config {params.study_config}"


rule claims:
    localrule: True
    input:
        [plan.table(study) for study in PLAN.enabled_studies()],
    output:
        table=report(plan.CLAIMS_TABLE, caption="../report/claims.rst", category="claims"),
        provenance=plan.CLAIMS_TABLE.replace(".csv", ".provenance.json"),
        figure=report(plan.CLAIMS_FIGURE, caption="../report/claims.rst", category="claims"),
    params:
        config_files=" ".join(shlex.quote(str(path)) for path in CONFIG_FILES),
    log:
        "results/logs/claims.log",
    resources:
        **plan.AGGREGATE_RESOURCES,
    conda:
        plan.CONDA_ENV
    shell:
        "plasticlab --log {log} claims --tables results/tables --config {params.config_files} "
        "--out {output.table} --figure {output.figure}"
