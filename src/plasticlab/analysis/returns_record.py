"""A versioned record of agent runs' evaluation returns (``docs/tier/minatar-returns.csv``).

Why: the MinAtar tier is CPU-hours of training, done a few runs at a time on whatever machine is
free, and a run directory lives only where it ran (``results/`` is not in git; DVC shares it only
through a shared remote). The claims need much less than a run directory: each run's evaluation
returns. The record keeps exactly that, one row per evaluation, with what makes a number
checkable: the hash of the run's resolved config (``config_sha256``, as in the manifest), the
commit of the code that trained it and where the number comes from. Runs done on different days
and machines then add up to one tier, and ``plasticlab aggregate <study> --returns <record>``
rebuilds the study's table (so ``plasticlab claims`` its verdicts) without retraining.

A row whose ``config_sha256`` differs from the run config the given config files resolve to is
refused: it was trained under other settings. A row without a hash (a number re-entered from a
log after its run files were lost) is used and named in a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

COLUMNS = ["study", "variant", "seed", "step", "eval_return", "config_sha256", "git_commit", "source"]
RUN_KEY = ["study", "variant", "seed"]
FROM_RUN = "run directory"


def read_record(path: str | Path) -> pd.DataFrame:
    """The record at ``path``, checked: the columns of ``COLUMNS`` and one row per (run, step)."""
    frame = pd.read_csv(path, dtype={"config_sha256": str, "git_commit": str, "source": str})
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"{path}: not a returns record, missing column(s) {', '.join(missing)}")
    duplicated = frame[frame.duplicated(RUN_KEY + ["step"], keep=False)]
    if len(duplicated):
        first = duplicated.iloc[0]
        raise ValueError(f"{path}: {len(duplicated)} rows repeat a (study, variant, seed, step), e.g. "
                         f"{first['study']} {first['variant']} seed {first['seed']} step {first['step']}")
    return frame[COLUMNS].fillna({"config_sha256": "", "git_commit": "", "source": ""})


def export_runs(runs_root: str | Path, study: str) -> pd.DataFrame:
    """Evaluation returns of every finished run of ``study`` under ``runs_root``, in record form,
    with the config hash and commit the manifest reads from its ``run.json``; an unfinished run
    (checkpoints only) is left out."""
    from plasticlab.runtime.manifest import build_manifest

    manifest = build_manifest(runs_root)
    finished = manifest[(manifest["study"] == study) & (manifest["status"] != "partial")]
    frames = []
    for run in finished.itertuples(index=False):
        metrics = pd.read_parquet(Path(runs_root) / study / run.variant / f"seed={run.seed}" / "metrics.parquet")
        evals = metrics[(metrics["phase"] == "eval") & (metrics["metric"] == "eval_return")]
        frames.append(pd.DataFrame({
            "study": study, "variant": run.variant, "seed": int(run.seed), "step": evals["step"].astype(int),
            "eval_return": evals["value"].astype(float), "config_sha256": run.config_sha256,
            "git_commit": run.git_commit or "", "source": FROM_RUN}))
    return pd.concat(frames, ignore_index=True)[COLUMNS] if frames else pd.DataFrame(columns=COLUMNS)


def merge_records(existing: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``existing`` with every run of ``new`` replacing that run's rows (a rerun replaces its
    whole curve), sorted by study, variant, seed, step."""
    runs = set(map(tuple, new[RUN_KEY].itertuples(index=False)))
    kept = existing[[key not in runs for key in map(tuple, existing[RUN_KEY].itertuples(index=False))]]
    merged = pd.concat([kept, new], ignore_index=True) if len(kept) else new.copy()
    return merged.sort_values(RUN_KEY + ["step"], ignore_index=True)[COLUMNS]


def write_record(path: str | Path, record: pd.DataFrame) -> None:
    """Write atomically, returns at full precision (the record is the only copy of a lost run's)."""
    from plasticlab.runtime.atomic import atomic_path

    with atomic_path(Path(path)) as tmp:
        record[COLUMNS].to_csv(tmp, index=False)


def recorded_metrics(record: pd.DataFrame, config: dict[str, Any], study: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The record's rows of ``study`` as the metrics rows aggregation reads, and the study's config
    section narrowed to the interventions recorded on every enabled environment (the others are
    named in a warning: a partly run tier still gives the claims it has the runs for).

    ``config`` is the merged config the runs belong to (e.g. ``config/config.yaml`` +
    ``config/minatar.yaml``); rows of a variant the config does not have are ignored, rows trained
    under another run config are an error."""
    from plasticlab.config import run_config
    from plasticlab.runtime.manifest import config_sha256
    from plasticlab.studies.agent_runs import enabled_envs, split_variant

    section = config["studies"][study]
    envs = enabled_envs(section)
    rows = record[(record["study"] == study)
                  & record["variant"].map(lambda v: split_variant(v)[0] in envs and split_variant(v)[1] in section["variants"])]
    if rows.empty:
        raise ValueError(f"the record has no returns of {study} on its enabled environments ({', '.join(envs)})")
    _check_hashes(rows, {variant: config_sha256(run_config(config, study, variant)) for variant in rows["variant"].unique()})
    recorded = {intervention for intervention in section["variants"]
                if all(f"{env}.{intervention}" in set(rows["variant"]) for env in envs)}
    baseline = _baseline(study)
    if baseline not in recorded:
        raise ValueError(f"the record lacks {study}'s baseline {baseline!r} on some of {', '.join(envs)}: "
                         "nothing can be compared")
    left_out = [name for name in section["variants"] if name not in recorded]
    if left_out:
        log.warning("%s: no recorded returns of %s on every environment: left out", study, ", ".join(left_out))
    rows = _common_steps(rows[rows["variant"].map(lambda v: split_variant(v)[1] in recorded)])
    parts = rows["variant"].map(split_variant)
    metrics = pd.DataFrame({
        "study": study, "variant": rows["variant"], "seed": rows["seed"].astype(int), "step": rows["step"].astype(int),
        "phase": "eval", "metric": "eval_return", "value": rows["eval_return"].astype(float),
        "env": parts.str[0], "intervention": parts.str[1],
        "game": parts.str[0].map(lambda env: section["envs"][env]["env"]["game"]),
        "suite": parts.str[0].map(lambda env: section["envs"][env]["env"]["suite"]),
    }).reset_index(drop=True)
    narrowed = {**section, "variants": {name: spec for name, spec in section["variants"].items() if name in recorded}}
    return metrics, narrowed


def _common_steps(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows as they are when every run has the same evaluation steps; otherwise each run's last
    evaluation only (its final return, what the claims use), since curves with holes do not average."""
    steps = rows.groupby(RUN_KEY)["step"].apply(lambda s: tuple(sorted(s)))
    if steps.nunique() <= 1:
        return rows
    log.warning("the recorded runs have different evaluation steps (some keep their final return only): "
                "aggregating final returns, without learning curves")
    return rows.sort_values("step").groupby(RUN_KEY, as_index=False).tail(1)


def _check_hashes(rows: pd.DataFrame, expected: dict[str, str]) -> None:
    hashed = rows[rows["config_sha256"] != ""]
    wrong = hashed[hashed["config_sha256"] != hashed["variant"].map(expected)]
    if len(wrong):
        runs = sorted({f"{v} seed {s}" for v, s in zip(wrong["variant"], wrong["seed"])})
        raise ValueError(f"{len(runs)} recorded run(s) were trained under another run config than the one given "
                         f"(config_sha256 differs): {', '.join(runs[:5])}{' ...' if len(runs) > 5 else ''}")
    unverified = rows[rows["config_sha256"] == ""].drop_duplicates(["variant", "seed"])
    if len(unverified):
        log.warning("%d recorded run(s) carry no config hash (re-entered numbers): %s", len(unverified),
                    ", ".join(f"{v} seed {s}" for v, s in zip(unverified["variant"], unverified["seed"])))


def _baseline(study: str) -> str:
    from plasticlab import studies

    return studies.get(study).baseline
