"""The ``plasticlab`` command: one entry point, one subcommand per workflow step.

Snakemake rules only call these subcommands; every step can also be run by hand::

    plasticlab studies
    plasticlab check-config config/config.yaml
    plasticlab train warmstart --variant warm --seed 0 --config config/config.yaml
    plasticlab probe understanding --variant layernorm --seed 0 --config config/config.yaml
    plasticlab aggregate warmstart results/runs/warmstart/*/seed=*/metrics.parquet --out results/tables/warmstart.csv
    plasticlab plot warmstart --table results/tables/warmstart.csv --out-dir results/figures/warmstart
    plasticlab aggregate softmoe --returns docs/tier/minatar-returns.csv --config config/config.yaml config/minatar.yaml --out t/softmoe.csv
    plasticlab record-returns softmoe --out docs/tier/minatar-returns.csv   # keep finished runs' returns in git
    plasticlab manifest        # results/manifest.csv: every run, its status and config hashes
    plasticlab claims          # the papers' claims checked on the tables: the reproduction scoreboard
    plasticlab unlock-stale    # remove the lock of a killed Snakemake run (make run does this first)
    plasticlab dvc-stages      # write dvc.yaml from the study registry
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


def _set_threads(threads: int, accelerated: bool) -> None:
    """Use ``threads`` CPU threads: torch's for a study that trains with it (it is loaded now), and
    the BLAS/OpenMP pools NumPy already loaded, which a NumPy-only job needs no torch for. The pools
    are capped at run time (threadpoolctl), not through ``OMP_NUM_THREADS``: the libraries read that
    only when they load, and a changed environment would leak into every later subprocess of an
    in-process caller (e.g. ``nproc`` honours it)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    if accelerated or "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)


def _threads_in_use(requested: int) -> int:
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else requested


def _run_specs(args: argparse.Namespace) -> list[RunSpec]:
    """The runs a train/probe command names (one per ``--seed``), with the thread count set."""
    from plasticlab import studies
    from plasticlab.studies.base import RunSpec

    _set_threads(args.threads, studies.get(args.study).accelerated)
    allocated = os.environ.get("SLURM_CPUS_PER_TASK")
    if allocated and int(allocated) != args.threads:
        log.warning("SLURM allocated %s CPU(s) per task but the job runs %d torch thread(s): set the rule's "
                    "threads (threads_per_run) rather than cpus_per_task", allocated, args.threads)
    config = _load_run_config(args)
    if args.out is not None and len(args.seed) > 1:
        raise SystemExit(f"--out names one run directory but {len(args.seed)} seeds were given; use --variant-dir")
    variant_dir = Path(args.variant_dir or f"results/runs/{args.study}/{args.variant}")
    return [RunSpec(study=args.study, variant=args.variant, seed=seed, config=config,
                    out_dir=Path(args.out) if args.out else variant_dir / f"seed={seed}",
                    device=args.device, threads=args.threads)
            for seed in args.seed]


def cmd_train(args: argparse.Namespace) -> int:
    """Train the named seeds of one variant in this process, writing each seed's files as it ends."""
    from plasticlab import studies
    from plasticlab.runtime.provenance import provenance
    from plasticlab.runtime.results_io import write_json, write_parquet

    study = studies.get(args.study)
    runs = _run_specs(args)
    crash = os.environ.get("PLASTICLAB_CRASH_AFTER_CHECKPOINTS")
    log.info("training %s/%s seed(s) %s on %s with %d thread(s)", args.study, args.variant,
             " ".join(map(str, args.seed)), args.device, _threads_in_use(args.threads))
    started = last = time.time()
    for run, metrics in study.train_seeds(runs, crash_after_checkpoints=int(crash) if crash else None):
        now = time.time()
        # seeds trained together (stacked) share one wall time: the whole batch's, with the seeds named
        together = metrics.attrs.get("trained_with_seeds")
        batch = {"trained_with_seeds": list(together)} if together else {}
        record = provenance(config=run.config, seed=run.seed, device=args.device, study=args.study,
                            variant=args.variant, wall_seconds=round(now - (started if together else last), 3),
                            status=_run_status(metrics), threads=_threads_in_use(args.threads), **batch)
        write_parquet(run.out_dir / "metrics.parquet", metrics, provenance=record)
        write_json(run.out_dir / "run.json", record)
        log.info("seed %d done in %.1f s: %d metric rows -> %s", run.seed, now - last, len(metrics), run.out_dir)
        last = now
    log.info("done in %.1f s", time.time() - started)
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
    if not study.has_probe:
        raise KeyError(f"study {args.study!r} has no probe step")
    for run in _run_specs(args):
        started = time.time()
        probes = study.probe(run)
        write_parquet(run.out_dir / "probes.parquet", probes,
                      provenance=provenance(config=run.config, seed=run.seed, device=args.device, study=args.study,
                                            variant=args.variant, wall_seconds=round(time.time() - started, 3)))
        log.info("seed %d: probed %d snapshots in %.1f s", run.seed, probes["tasks_done"].nunique(),
                 time.time() - started)
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    from plasticlab import studies
    from plasticlab.runtime.provenance import provenance
    from plasticlab.runtime.results_io import read_parquet_provenance, write_csv

    study = studies.get(args.study)
    if args.returns:
        return _aggregate_record(args)
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


def _aggregate_record(args: argparse.Namespace) -> int:
    """``aggregate --returns``: the study's table from a returns record instead of run directories."""
    from plasticlab import config as cfg
    from plasticlab import studies
    from plasticlab.analysis.returns_record import read_record, recorded_metrics
    from plasticlab.runtime.provenance import provenance
    from plasticlab.runtime.results_io import write_csv

    if args.metrics or args.study_config or not args.config:
        raise SystemExit("aggregate --returns reads the runs from the record: give --config (the config files the "
                         "runs belong to), and neither metrics files nor --study-config")
    config = cfg.load_config(*args.config)
    try:
        metrics, section = recorded_metrics(read_record(args.returns), config, args.study)
    except ValueError as error:
        raise SystemExit(f"aggregate {args.study}: {error}") from None
    table = studies.get(args.study).aggregate(metrics, section)
    table.insert(0, "study", args.study)
    # provenance holds the study's whole section (the config the runs belong to, as the claims check
    # expects); the variants the table could hold are named beside it
    write_csv(args.out, table, provenance=provenance(config=config["studies"][args.study], inputs=[args.returns],
                                                     merged_config_files=list(args.config),
                                                     recorded_variants=list(section["variants"])))
    log.info("wrote %s (%d rows from %d recorded runs)", args.out, len(table),
             len(metrics.drop_duplicates(["variant", "seed"])))
    return 0


def cmd_record_returns(args: argparse.Namespace) -> int:
    """Merge the evaluation returns of a study's finished runs into a returns record."""
    from plasticlab.analysis.returns_record import COLUMNS, export_runs, merge_records, read_record, write_record

    new = export_runs(args.runs, args.study)
    if new.empty:
        raise SystemExit(f"record-returns: no finished runs of {args.study} under {args.runs}")
    existing = read_record(args.out) if Path(args.out).exists() else pd.DataFrame(columns=COLUMNS)
    write_record(args.out, merge_records(existing, new))
    log.info("recorded %d run(s) of %s in %s", len(new.drop_duplicates(["variant", "seed"])), args.study, args.out)
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


def cmd_unlock_stale(args: argparse.Namespace) -> int:
    """Remove a killed Snakemake run's lock (``make run`` calls this first); refuse if anything still runs."""
    from plasticlab.runtime.workflow_lock import WorkflowBusy, release_stale_lock

    try:
        removed = release_stale_lock(args.directory)
    except WorkflowBusy as busy:
        log.error("%s", busy)
        return 3
    if removed:
        log.warning("removed the lock of a Snakemake run that no longer runs (%d lock file(s)); "
                    "its interrupted jobs resume from their checkpoints", len(removed))
    return 0


def cmd_dvc_stages(args: argparse.Namespace) -> int:
    """Write (or check) dvc.yaml for the tier given by the config files."""
    from plasticlab.dvc_stages import render

    text = render(list(args.config))
    if args.check:
        current = Path(args.out).read_text() if Path(args.out).exists() else ""
        if current != text:
            log.error("%s is out of date with the study registry and %s: run `plasticlab dvc-stages%s`", args.out,
                      " ".join(args.config), "" if args.config == ["config/config.yaml"] else " --config " +
                      " ".join(args.config))
            return 1
        print(f"{args.out} is up to date")
        return 0
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text)
        log.info("wrote %s (%d studies)", args.out, text.count("cmd: snakemake --cores all "))
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
        # the tables were made under a checked config: the schema check is enough to read them (the
        # registry check would import torch and every study for nothing)
        merged = cfg.load_config(*config_files, registries=False) if config_files else None
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
    parser.add_argument("--seed", type=int, nargs="+", required=True,
                        help="seed(s); several seeds run one after another in this process")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", nargs="+", help="config file(s), merged in order")
    source.add_argument("--run-config", help="resolved run config as JSON (what the Snakemake rules pass)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", help="run directory of the one seed given")
    where.add_argument("--variant-dir", help="directory holding the runs' seed=<s> directories "
                                             "(default results/runs/<study>/<variant>)")
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
    aggregate.add_argument("--returns", help="a returns record (docs/tier/minatar-returns.csv) instead of metrics files; "
                           "needs --config")
    aggregate.add_argument("--config", nargs="+", help="with --returns: the config files the recorded runs belong to")
    aggregate.set_defaults(func=cmd_aggregate)

    record = sub.add_parser("record-returns", help="merge a study's finished runs' evaluation returns into a "
                                                   "returns record (a rerun replaces the run's rows)")
    record.add_argument("study")
    record.add_argument("--runs", default="results/runs", help="runs directory (default results/runs)")
    record.add_argument("--out", required=True, help="the record CSV (created if absent)")
    record.set_defaults(func=cmd_record_returns)

    manifest = sub.add_parser("manifest", help="list the runs under results/runs (status, config hashes) as CSV")
    manifest.add_argument("--runs", default="results/runs", help="runs directory (default results/runs)")
    manifest.add_argument("--out", default="results/manifest.csv", help="CSV to write (default results/manifest.csv)")
    manifest.set_defaults(func=cmd_manifest)

    unlock = sub.add_parser("unlock-stale", help="remove the lock a killed Snakemake run left behind "
                                                 "(refuses while a Snakemake or plasticlab process runs there)")
    unlock.add_argument("--directory", default=".", help="workflow working directory (default .)")
    unlock.set_defaults(func=cmd_unlock_stale)

    dvc = sub.add_parser("dvc-stages", help="write dvc.yaml from the study registry for a config tier")
    dvc.add_argument("--config", nargs="+", default=["config/config.yaml"],
                     help="config files of the tier, merged in order (default config/config.yaml)")
    dvc.add_argument("--out", default="dvc.yaml", help="file to write, - for stdout (default dvc.yaml)")
    dvc.add_argument("--check", action="store_true", help="only check that --out is up to date (exit 1 if not)")
    dvc.set_defaults(func=cmd_dvc_stages)

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
    except Exception:
        # Anything else is a bug or a broken environment: the whole traceback goes to the log file
        # too (the rule's log), not only to stderr, so a failed job can be read after the fact.
        log.exception("%s %s failed with an unexpected error", args.command, getattr(args, "study", "") or "")
        return 1


if __name__ == "__main__":
    sys.exit(main())
