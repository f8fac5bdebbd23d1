"""DiscoBAX vs experimental-design baselines (Lyle et al. 2023, "DiscoBAX: Discovery of optimal
intervention sets in genomic experiment design", ICML).

Claim: acquiring where the outcome is most informative about SubsetSelect's output (the best set of
interventions under noisy transfer to the phenotype) finds more of the top interventions *and* more
of their distinct mechanisms (clusters) per experiment than random, UCB, Thompson sampling, top-k
BAX and uncertainty sampling.

A variant is a data set (``datasets`` in the config: the synthetic sine1d / mog1d / sine2d with an
exact GP, scikit-learn's diabetes/digits or a GeneDisco-style CSV screen with an MC-dropout MLP);
its job runs every method on a batch of seeds (``seeds_per_job``, default all in ``seed=0``). The
data set, its feature clusters and the η draws of the expected-max-effect metric are built once per
job and shared by its seeds; per seed, the noisy measurements and the random first batch are shared
by all methods, so methods are compared on paired seeds. Random numbers are keyed by (seed, data
set, method), never by the job, so ``seeds_per_job`` changes only how work is split. One job per
method or per seed would mostly pay process start-ups (≈3 s each, more than a small campaign).
Metrics per cycle: top-K recall, diversity, overall = √(recall × diversity), and on synthetic sets
the expected max effect; the table adds each baseline's per-seed gap to DiscoBAX.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from plasticlab.studies import register
from plasticlab.studies.base import RunSpec, Study
from plasticlab.tabular.batches import batch_rng, batch_seeds, job_count

log = logging.getLogger(__name__)
METRICS = ("top_k_recall", "diversity", "overall", "expected_max_effect")
KEYS = ["variant", "dataset", "method", "metric"]
LABELS = {"top_k_recall": "top-K recall", "diversity": "diversity (share of top clusters hit)",
          "overall": "overall √(recall × diversity)", "expected_max_effect": "expected max effect"}


def shared_settings(config: dict[str, Any]) -> dict[str, Any]:
    """What the BAX acquisitions take from the study: SubsetSelect's settings and the sample count."""
    return {**config["subset_select"], "samples": int(config["posterior_samples"])}


def dataset_metrics(order: np.ndarray, context: dict[str, Any], batch: int, cycles: int) -> dict[str, np.ndarray]:
    from plasticlab.design import metrics

    data, top = context["data"], context["top"]
    recall = metrics.top_k_recall(order, top, data.size, batch, cycles)
    diversity = metrics.diversity(order, top, context["labels"], batch, cycles)
    values = {"top_k_recall": recall, "diversity": diversity, "overall": np.sqrt(recall * diversity)}
    if context["h"] is not None:
        values["expected_max_effect"] = metrics.expected_max_effect(order, context["h"], batch, cycles)
    return values


def build_context(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The data set, its top-K set, its clusters and (synthetic) the true h draws: once per job."""
    from plasticlab.design import metrics
    from plasticlab.design.data import SYNTHETIC, build_dataset
    from plasticlab.design.subset_select import noise_model

    spec = config["dataset"]
    data = build_dataset(spec, config.get("data_dir", "."))
    clusters = config["clusters"]
    labels = metrics.cluster_labels(data.features, clusters["components"], clusters["pca_components"])
    h = None
    if spec["name"] in SYNTHETIC:
        select = config["subset_select"]
        noise = noise_model(select["noise"], select["scale"])
        eta = noise.draw(batch_rng(0, name, "effect"), (int(config["effect_draws"]), data.size), noise.scale)
        h = noise.apply(data.outcome[None, :], eta)
    return {"data": data, "labels": labels, "top": metrics.top_indices(data.outcome, data.top_k), "h": h}


@register
class DiscoBAXStudy(Study):
    name = "discobax"
    accelerated = False  # small models on the CPU
    run_resources = {"mem_mb": 2000, "runtime": 30}
    paper = "Lyle et al. 2023, 'DiscoBAX: Discovery of optimal intervention sets in genomic experiment design'"
    summary = "top-K recall, cluster diversity and their geometric mean per acquisition cycle, DiscoBAX vs baselines"
    figures = ("top_k_recall.png", "diversity.png", "overall.png", "expected_max_effect.png")

    def variants(self, study_config: dict[str, Any]) -> list[str]:
        return list(study_config["datasets"])

    def job_seeds(self, study_config: dict[str, Any]) -> list[int]:
        return list(range(job_count(study_config)))

    def data_paths(self, study_config: dict[str, Any], data_dir: str) -> list[str]:
        """The feature and target files of GeneDisco-style CSV screens (relative to ``data_dir``)."""
        return [str(Path(data_dir) / spec[key]) for spec in study_config["datasets"].values()
                if spec.get("name") == "csv" for key in ("features", "targets")]

    def run_config(self, study_config: dict[str, Any], variant: str) -> dict[str, Any]:
        from plasticlab.design.data import SYNTHETIC

        config = {k: v for k, v in study_config.items() if k not in ("enabled", "datasets", "plot")}
        dataset = dict(study_config["datasets"][variant])
        model = dataset.pop("model", None) or study_config["models"]["synthetic" if dataset["name"] in SYNTHETIC else "real"]
        config.update(variant=variant, dataset=dataset, model=model)
        config.pop("models", None)
        return config

    def check(self, study_config: dict[str, Any]) -> None:
        from plasticlab.design import build_acquisition, build_model
        from plasticlab.design.data import DATASETS, build_dataset
        from plasticlab.design.subset_select import noise_model

        select = study_config["subset_select"]
        noise_model(select["noise"], select["scale"])
        for method, spec in study_config["methods"].items():
            try:
                build_acquisition(spec, shared_settings(study_config))
            except (KeyError, ValueError) as error:
                raise type(error)(f"methods.{method}: {error.args[0]}") from None
        for variant in self.variants(study_config):
            spec = study_config["datasets"][variant]
            where = f"datasets.{variant}"
            if spec["name"] not in DATASETS:
                raise KeyError(f"{where}: unknown data set {spec['name']!r}; available: {', '.join(sorted(DATASETS))}")
            data_keys = {k: v for k, v in spec.items() if k != "model"}
            try:
                size = build_dataset(data_keys).size if spec["name"] != "csv" else None  # a CSV is read by the job
            except (KeyError, ValueError) as error:
                raise type(error)(f"{where}: {error.args[0]}") from None
            try:
                build_model(self.run_config(study_config, variant)["model"])
            except (KeyError, ValueError) as error:
                raise type(error)(f"{where}.model: {error.args[0]}") from None
            if size is not None and study_config["cycles"] * study_config["batch_size"] > size:
                raise ValueError(f"{where}: {study_config['cycles']} cycles × batch_size {study_config['batch_size']} "
                                 f"exceed its {size} candidates")

    def train(self, run: RunSpec, crash_after_checkpoints: int | None = None) -> pd.DataFrame:
        from threadpoolctl import threadpool_limits

        from plasticlab.design import build_acquisition, run_campaign

        config, cycles, batch = run.config, int(run.config["cycles"]), int(run.config["batch_size"])
        rows = []
        with threadpool_limits(run.threads):  # BLAS threads beyond the job's share only fight each other
            context = build_context(config, run.variant)
            for seed in batch_seeds(config, run.seed):
                shared = batch_rng(seed, run.variant, "measure")
                measured = context["data"].measure(shared)
                first = shared.choice(context["data"].size, batch, replace=False)
                for method, spec in config["methods"].items():
                    started = time.perf_counter()
                    order = run_campaign(context["data"], measured, first, config["model"],
                                         build_acquisition(spec, shared_settings(config)), cycles, batch,
                                         batch_rng(seed, run.variant, method), run.device)
                    values = dataset_metrics(order, context, batch, cycles)
                    for metric, series in values.items():
                        rows.append(pd.DataFrame({"seed": seed, "method": method, "metric": metric,
                                                  "cycle": np.arange(1, cycles + 1), "value": series}))
                    log.info("%s seed %d %s: %.1f s, final recall %.2f diversity %.2f", run.variant, seed, method,
                             time.perf_counter() - started, values["top_k_recall"][-1], values["diversity"][-1])
        frame = pd.concat(rows, ignore_index=True)
        return frame.assign(variant=run.variant, dataset=context["data"].name, acquired=frame["cycle"] * batch)

    def aggregate(self, metrics: pd.DataFrame, study_config: dict[str, Any]) -> pd.DataFrame:
        """Mean and 95% bootstrap CI over seeds per data set × method × metric × cycle, plus each
        baseline's per-seed gap to DiscoBAX (``<metric>_discobax_minus_baseline``; > 0: DiscoBAX ahead)."""
        from plasticlab.analysis import summarise

        tables = [summarise(metrics, x="cycle", group=KEYS)]
        if "discobax" in set(metrics["method"]):
            keys = ["variant", "dataset", "metric", "cycle", "seed"]
            ours = metrics.loc[metrics["method"] == "discobax", [*keys, "value"]].rename(columns={"value": "ours"})
            paired = metrics[metrics["method"] != "discobax"].merge(ours, on=keys)
            gaps = paired.assign(value=paired["ours"] - paired["value"], metric=paired["metric"] + "_discobax_minus_baseline")
            tables.append(summarise(gaps, x="cycle", group=KEYS))
        return pd.concat(tables, ignore_index=True)

    def plot(self, table: pd.DataFrame, out_dir: Path, provenance: dict[str, Any]) -> list[Path]:
        from plasticlab.analysis import line_panels

        out_dir.mkdir(parents=True, exist_ok=True)
        order = [m for m in ("discobax", "topk_bax", "thompson", "ucb", "max_variance", "random")
                 if m in set(table["method"])]
        order += sorted(set(table["method"]) - set(order))
        written = []
        for metric, name in zip(METRICS, self.figures):
            written.append(line_panels(table, metric, out_dir / name, panel="variant", series="method",
                                       xlabel="acquisition cycle", ylabel=LABELS[metric], series_order=order,
                                       panel_order=list(dict.fromkeys(table.loc[table["metric"] == metric, "variant"])),
                                       title=f"{LABELS[metric]} per cycle (mean, 95% CI over seeds)",
                                       provenance=provenance, columns=3))
        return written
