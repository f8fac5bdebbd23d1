"""The ``plasticlab`` command: one entry point, one subcommand per workflow step.

Snakemake rules only call these subcommands; every step can also be run by hand::

    plasticlab studies
    plasticlab check-config config/config.yaml
    plasticlab train warmstart --variant warm --seed 0 --config config/config.yaml
    plasticlab probe understanding --variant layernorm --seed 0 --config config/config.yaml
    plasticlab aggregate warmstart results/runs/warmstart/*/seed=*/metrics.parquet --out results/tables/warmstart.csv
    plasticlab plot warmstart --table results/tables/warmstart.csv --out-dir results/figures/warmstart
    plasticlab manifest        # results/manifest.csv: every run, its status and config hashes
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd

if TYPE_CHECKING:  # imported lazily at run time: `plasticlab studies` should not pay for torch
    from plasticlab.studies.base import RunSpec

log = logging.getLogger("plasticlab")


def _load_run_config(args: argparse.Namespace) -> dict[str, Any]:
    from plasticlab import config as cfg

    if args.run_config is not None:
        return json.loads(args.run_config)
    if not args.config:
        raise SystemExit("train needs --config FILE [FILE ...] or --run-config JSON")
    return cfg.run_config(cfg.load_config(*args.config), args.study, args.variant)


def cmd_studies(args: argparse.Namespace) -> int:
    from plasticlab import studies

    for name in studies.available():
        study = studies.get(name)
        print(f"{name:<14} {study.summary}\n{'':<14} reproduces: {study.paper}")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    from plasticlab import config as cfg

    merged = cfg.load_config(*args.files)
    print(f"config OK: studies {', '.join(cfg.enabled_studies(merged)) or '(none enabled)'}")
    return 0


def _run_spec(args: argparse.Namespace) -> RunSpec:
    """The run a train/probe command names, with torch's thread count set for it."""
    import torch

    from plasticlab.studies.base import RunSpec

    out = Path(args.out or f"results/runs/{args.study}/{args.variant}/seed={args.seed}")
    torch.set_num_threads(args.threads)
    return RunSpec(study=args.study, variant=args.variant, seed=args.seed, config=_load_run_config(args), out_dir=out,
                   device=args.device, threads=args.threads)


def cmd_train(args: argparse.Namespace) -> int:
    from plasticlab import studies
    from plasticlab.runtime.provenance import provenance
    from plasticlab.runtime.results_io import write_json, write_parquet

    study = studies.get(args.study)
    run = _run_spec(args)
    crash = os.environ.get("PLASTICLAB_CRASH_AFTER_CHECKPOINTS")
    log.info("training %s/%s seed %d on %s -> %s", args.study, args.variant, args.seed, args.device, run.out_dir)
    started = time.time()
    metrics = study.train(run, crash_after_checkpoints=int(crash) if crash else None)
    record = provenance(config=run.config, seed=args.seed, device=args.device, study=args.study, variant=args.variant,
                        wall_seconds=round(time.time() - started, 3), status=_run_status(metrics))
    write_parquet(run.out_dir / "metrics.parquet", metrics, provenance=record)
    write_json(run.out_dir / "run.json", record)
    log.info("done in %.1f s: %d metric rows", time.time() - started, len(metrics))
    return 0


def _run_status(metrics: pd.DataFrame) -> str:
    """``diverged`` when the run recorded a non-finite loss (agent runs' summary row), else ``complete``."""
    if {"metric", "value"} <= set(metrics.columns):
        return "diverged" if ((metrics["metric"] == "diverged") & (metrics["value"] > 0)).any() else "complete"
    return "complete"


def cmd_manifest(args: argparse.Namespace) -> int:
    from plasticlab.runtime.manifest import build_manifest
    from plasticlab.runtime.results_io import write_csv

    manifest = build_manifest(args.runs)
    write_csv(args.out, manifest)
    counts = manifest["status"].value_counts().to_dict()
    log.info("wrote %s: %d runs (%s)", args.out, len(manifest), ", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from plasticlab import studies
    from plasticlab.runtime.provenance import provenance
    from plasticlab.runtime.results_io import write_parquet

    study = studies.get(args.study)
    if not hasattr(study, "probe"):
        raise KeyError(f"study {args.study!r} has no probe step")
    run = _run_spec(args)
    started = time.time()
    probes = study.probe(run)
    write_parquet(run.out_dir / "probes.parquet", probes,
                  provenance=provenance(config=run.config, seed=args.seed, device=args.device, study=args.study,
                                        variant=args.variant, wall_seconds=round(time.time() - started, 3)))
    log.info("probed %d snapshots in %.1f s", probes["tasks_done"].nunique(), time.time() - started)
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    from plasticlab import studies
    from plasticlab.runtime.provenance import provenance
    from plasticlab.runtime.results_io import read_parquet_provenance, write_csv

    study = studies.get(args.study)
    study_config = json.loads(args.study_config) if args.study_config else {}
    frames = [pd.read_parquet(path) for path in args.metrics]
    if not frames:
        raise SystemExit(f"aggregate {args.study}: no metrics files given")
    table = study.aggregate(pd.concat(frames, ignore_index=True), study_config)
    table.insert(0, "study", args.study)
    sources = {str(p): (read_parquet_provenance(p) or {}).get("git", {}).get("commit") for p in args.metrics}
    write_csv(args.out, table, provenance=provenance(config=study_config, inputs=sources))
    log.info("wrote %s (%d rows from %d runs)", args.out, len(table), len(frames))
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from plasticlab import studies
    from plasticlab.runtime.provenance import provenance

    study = studies.get(args.study)
    table = pd.read_csv(args.table)
    written = study.plot(table, Path(args.out_dir), provenance(inputs=[args.table]))
    for path in written:
        log.info("wrote %s", path)
    return 0


def cmd_claims(args: argparse.Namespace) -> int:
    """The scoreboard: each study's paper claims checked on its table (or read from a claims CSV)."""
    from plasticlab import config as cfg
    from plasticlab import studies
    from plasticlab.analysis import scoreboard, scoreboard_text

    names = [studies.get(name).name for name in args.study] if args.study else studies.available()
    if args.source:
        board = scoreboard.read_scoreboard(args.source)
        board = board[board["study"].isin(names)]
        merged, config_files = None, []
    else:
        config_files = args.config if args.config is not None else (
            ["config/config.yaml"] if Path("config/config.yaml").exists() else [])
        merged = cfg.load_config(*config_files) if config_files else None
        enabled = cfg.enabled_studies(merged) if merged is not None else None
        board = scoreboard.build_scoreboard(args.tables, names, enabled, merged, config_files)
    if args.out:
        scoreboard.write_scoreboard(args.out, board, scoreboard.scoreboard_provenance(args.tables, names, merged,
                                                                                      config_files))
        log.info("wrote %s (%d claims: %s)", args.out, len(board),
                 ", ".join(f"{n} {v}" for v, n in board["verdict"].value_counts().items()))
    if args.figure:
        from plasticlab.analysis.claims_plot import claims_forest_plot
        from plasticlab.runtime.provenance import provenance

        claims_forest_plot(board, args.figure, provenance=provenance(
            inputs=[args.source or args.out or args.tables], config_files=[str(p) for p in config_files]))
        log.info("wrote %s", args.figure)
    if args.update_readme:
        source = args.source or args.out
        if not source:
            raise SystemExit("claims --update-readme needs --from CSV (or --out CSV): the README cites its source")
        changed = scoreboard_text.update_readme(args.update_readme, board, source)
        log.info("%s %s", "updated" if changed else "unchanged:", args.update_readme)
    if args.markdown:
        print(scoreboard_text.to_markdown(board), end="")
    elif not (args.out or args.update_readme):
        print(scoreboard_text.to_text(board), end="")
    return 0


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """What identifies one run: study, variant, seed, its config, where it lives, what it runs on."""
    parser.add_argument("study")
    parser.add_argument("--variant", required=True)
    parser.add_argument("--seed", type=int, required=True)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", nargs="+", help="config file(s), merged in order")
    source.add_argument("--run-config", help="resolved run config as JSON (what the Snakemake rules pass)")
    parser.add_argument("--out", help="run directory (default results/runs/<study>/<variant>/seed=<seed>)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plasticlab", description=__doc__.split("\n")[0])
    parser.add_argument("--log", help="also append log lines to this file")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("studies", help="list registered studies and the paper each reproduces").set_defaults(func=cmd_studies)

    check = sub.add_parser("check-config", help="validate config files (merged in order)")
    check.add_argument("files", nargs="+")
    check.set_defaults(func=cmd_check_config)

    train = sub.add_parser("train", help="train one run (study × variant × seed); resumes from checkpoints")
    _add_run_arguments(train)
    train.set_defaults(func=cmd_train)

    probe = sub.add_parser("probe", help="measure a run's saved snapshots (plasticity probe, curvature, rank, ...)")
    _add_run_arguments(probe)
    probe.set_defaults(func=cmd_probe)

    aggregate = sub.add_parser("aggregate", help="aggregate runs over seeds into the study's tidy table")
    aggregate.add_argument("study")
    aggregate.add_argument("metrics", nargs="*", help="metrics.parquet files of the runs")
    aggregate.add_argument("--out", required=True)
    aggregate.add_argument("--study-config", help="the study's config section as JSON")
    aggregate.set_defaults(func=cmd_aggregate)

    manifest = sub.add_parser("manifest", help="list the runs under results/runs (status, config hashes) as CSV")
    manifest.add_argument("--runs", default="results/runs", help="runs directory (default results/runs)")
    manifest.add_argument("--out", default="results/manifest.csv", help="CSV to write (default results/manifest.csv)")
    manifest.set_defaults(func=cmd_manifest)

    plot = sub.add_parser("plot", help="draw the study's figures from its table")
    plot.add_argument("study")
    plot.add_argument("--table", required=True)
    plot.add_argument("--out-dir", required=True)
    plot.set_defaults(func=cmd_plot)

    claims = sub.add_parser("claims", help="check each study's paper claims on its table: the reproduction scoreboard")
    claims.add_argument("--tables", default="results/tables", help="directory of <study>.csv tables (default results/tables)")
    claims.add_argument("--config", nargs="+", help="config file(s), merged in order: which studies are enabled "
                        "(default config/config.yaml if present)")
    claims.add_argument("--study", nargs="+", action="extend", help="only these studies (default: every registered one)")
    claims.add_argument("--out", help="write the scoreboard CSV here (e.g. results/tables/claims.csv) instead of printing it")
    claims.add_argument("--figure", help="draw the one-page claims figure (PNG) here")
    claims.add_argument("--markdown", action="store_true", help="print the scoreboard as a Markdown table")
    claims.add_argument("--from", dest="source", help="read a claims CSV instead of checking the tables")
    claims.add_argument("--update-readme", metavar="README", help="rewrite the README's claims block from the scoreboard")
    claims.set_defaults(func=cmd_claims)
    return parser


def main(argv: list[str] | None = None) -> int:
    from plasticlab.runtime.logs import setup_logging

    args = build_parser().parse_args(argv)
    setup_logging(args.log)
    handler: Callable[[argparse.Namespace], int] = args.func
    from plasticlab.config import ConfigError
    from plasticlab.runtime import preemption

    preemption.install()
    try:
        return handler(args)
    except preemption.Preempted as stop:
        # SLURM preemption / time limit: the checkpoint (if any) is written; a retry resumes from it.
        log.warning("%s %s: %s; exit code %d", args.command, getattr(args, "study", ""), stop,
                    preemption.EXIT_PREEMPTED)
        return preemption.EXIT_PREEMPTED
    except (ConfigError, KeyError, FileNotFoundError) as error:
        # Bad user input (config, study/intervention name, missing data): one clear line, no traceback.
        message = error.args[0] if error.args else str(error)
        log.error("%s", message)
        return 2


if __name__ == "__main__":
    sys.exit(main())
