"""What the value-based agent studies share (injection, softmoe, hare_tortoise).

A run's variant is ``<env>.<intervention>``: every intervention on every environment of the
study's ``envs`` mapping, per seed. An environment entry may override the study's agent, model,
agent options, protocol and intervention parameters (an Atari game needs the Nature torso and
fewer steps on a CPU than a MinAtar game, so also an earlier injection step). Aggregation follows
rliable (Agarwal et al. 2021): each run's score on a game is its final evaluation return,
normalised per game so that random play is 0 (Atari-100k: human-normalised with the published
random and human scores; MinAtar: the random-policy return we measured,
``reference_scores.MINATAR_RANDOM_SCORES``, -> 0 and the entry's fixed ``reference_score`` -> 1),
then IQM / median / mean / optimality gap with stratified-bootstrap 95% CIs over runs,
probability of improvement over the baseline, performance profiles, sample-efficiency curves and
per-game scores. A MinAtar entry without a ``reference_score`` falls back to the baseline
variant's mean as the reference (the baseline is then 1 by construction: a warning says so).

For the claims (``Study.claims``) the table also holds each intervention's IQM minus the
baseline's with a stratified-bootstrap CI paired by seed (``kind = difference``), and the
baseline's IQM measured from random play's score on every game (``kind = vs_random``, the
precondition "the plain agent beats random play"; random play is 0 on both scales). A game
without a known random-policy score (an Atari game outside the Atari-100k table, or a MinAtar
game under options other than those measured) makes that row NaN, naming the games, and every
claim of the study ``untestable``.

When the plain agent is not above random play by that CI, every figure's title says it is a
smoke test: ties between variants that never learned are not results.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar, Iterator, Sequence

import numpy as np
import pandas as pd

from plasticlab.analysis.claims import Estimate, Precondition
from plasticlab.studies.base import RunSpec, Study

log = logging.getLogger(__name__)
RUN_KEYS = ("agent", "agent_options", "model", "protocol")
SCORE_LABEL = "normalised score (0 = random play; 1 = human on Atari, the reference score on MinAtar)"
SMOKE_TITLE = "SMOKE TEST, the plain agent is not above random play: "
# Memory of an agent process besides its replay: torch, networks, optimiser, environments, metrics
# (a paper-config DER run on Atari peaked at 0.5 GB on the CPU; the rest is room for CUDA's host-side context).
PROCESS_MB = 3000


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``, recursively for mappings (no import of plasticlab.config,
    which imports the studies)."""
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


def _annotated(run: RunSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """A run's metrics with the columns aggregation groups by (env entry, intervention, game, suite)."""
    env_name, intervention = split_variant(run.variant)
    return frame.assign(env=env_name, intervention=intervention, game=run.config["env"]["game"],
                        suite=run.config["env"]["suite"])


def enabled_envs(study_config: dict[str, Any]) -> list[str]:
    """Environment names of the study, without those switched off with ``enabled: false``."""
    return [name for name, entry in study_config["envs"].items() if entry.get("enabled", True)]


def split_variant(variant: str) -> tuple[str, str]:
    env, _, intervention = variant.partition(".")
    return env, intervention


class AgentStudy(Study):
    """Base class: subclasses set name, paper, summary and the ``baseline`` intervention name."""

    baseline: ClassVar[str] = "none"
    train_rule = "train_agent"  # one rule trains every agent study (rule name kept for profiles and users)
    batches_seeds = True  # seeds of a variant one after another in one job (start-up paid once)
    run_resources = {"mem_mb": 16000, "runtime": 720}  # runtime: Atari-100k on one GPU is hours; memory: job_mem_mb
    # extra (variant, reference) IQM differences a claim needs besides "variant − baseline"
    comparisons: ClassVar[tuple[tuple[str, str], ...]] = ()
    figures = ("aggregates.png", "sample_efficiency.png", "per_game.png", "improvement.png",
               "performance_profile.png", "diagnostics.png")

    def variants(self, study_config: dict[str, Any]) -> list[str]:
        return [f"{env}.{intervention}" for env in enabled_envs(study_config) for intervention in study_config["variants"]]

    def run_config(self, study_config: dict[str, Any], variant: str) -> dict[str, Any]:
        env_name, intervention = split_variant(variant)
        entry = study_config["envs"][env_name]
        overrides = dict(entry.get("overrides", {}))
        variants = {**study_config["variants"], **overrides.pop("variants", {})}
        config = {k: v for k, v in study_config.items() if k in RUN_KEYS}
        config = _deep_merge(config, overrides)
        config.update(variant=variant, env=entry["env"], interventions=variants[intervention])
        return config

    def check(self, study_config: dict[str, Any]) -> None:
        from plasticlab import interventions, nets  # torch: the config check and training only
        from plasticlab.agents import get_agent
        from plasticlab.agents.loop import Protocol
        from plasticlab.envs import check_env_spec

        bad = [name for name in [*study_config["variants"], *study_config["envs"]] if "." in name]
        if bad:
            raise ValueError(f"variant and env names may not contain '.': {', '.join(bad)}")
        if self.baseline not in study_config["variants"]:
            raise KeyError(f"the {self.name} study compares against variant {self.baseline!r}; add it to variants")
        if not enabled_envs(study_config):
            raise ValueError("no enabled environment in envs")
        for env_name in enabled_envs(study_config):
            if "env" not in study_config["envs"][env_name]:
                raise KeyError(f"envs.{env_name}: needs an env: {{suite: ..., game: ...}}")
            config = self.run_config(study_config, f"{env_name}.{self.baseline}")
            where = f"envs.{env_name}"
            unknown = sorted(set(study_config["envs"][env_name].get("overrides", {}).get("variants", {}))
                             - set(study_config["variants"]))
            if unknown:
                raise KeyError(f"{where}.overrides.variants: {', '.join(map(repr, unknown))} not among the study's variants")
            try:
                for name in study_config["variants"]:
                    interventions.validate(self.run_config(study_config, f"{env_name}.{name}")["interventions"])
                check_env_spec(config["env"])
                nets.check_spec(config["model"])
                get_agent(config["agent"]).config_class.from_options(config.get("agent_options"))
                Protocol.from_config(config["protocol"])
            except TypeError as error:
                raise ValueError(f"{where}.protocol: {error}") from None
            except (KeyError, ValueError) as error:
                message = error.args[0] if error.args else str(error)
                raise type(error)(f"{where}: {message}") from None

    def job_mem_mb(self, study_config: dict[str, Any], runs_per_job: int) -> int:
        """The largest replay among the study's runs (``agents.memory``), twice (a resumed run
        holds its replay and the checkpoint it is read from), for every seed a job holds at once
        (all of them when it can stack them, else one), plus :data:`PROCESS_MB` for the process."""
        import dataclasses

        from plasticlab.agents import get_agent
        from plasticlab.agents.members import MIN_SEEDS
        from plasticlab.agents.memory import run_replay_bytes

        largest = 0
        for variant in self.variants(study_config):
            config = self.run_config(study_config, variant)
            defaults = {field.name: field.default for field in dataclasses.fields(get_agent(config["agent"]).config_class)}
            largest = max(largest, run_replay_bytes(config, defaults))
        held = runs_per_job if runs_per_job >= MIN_SEEDS else 1
        return PROCESS_MB + held * int(np.ceil(2 * largest / 2**20))

    def train(self, run: RunSpec, crash_after_checkpoints: int | None = None) -> pd.DataFrame:
        from plasticlab.agents.loop import train_agent

        return _annotated(run, train_agent(run, crash_after_checkpoints=crash_after_checkpoints))

    def train_seeds(self, runs: Sequence[RunSpec], crash_after_checkpoints: int | None = None,
                    **options: Any) -> Iterator[tuple[RunSpec, pd.DataFrame]]:
        """The seeds of one variant trained together, networks stacked
        (``plasticlab.agents.members``: each seed's metrics equal its solo run's), where the agent,
        environment and interventions allow and there are enough seeds for it to pay
        (``members.MIN_SEEDS``); else one after another."""
        from plasticlab.agents import members
        from plasticlab.agents.members import NotStackable, train_members

        runs = list(runs)
        try:
            if 1 < len(runs) < members.MIN_SEEDS:
                raise NotStackable(f"{len(runs)} seeds: stacking pays from {members.MIN_SEEDS} on")
            frames = train_members(runs, crash_after_checkpoints=crash_after_checkpoints)
        except NotStackable as reason:
            if len(runs) > 1:
                log.info("training the %d seeds one by one: %s", len(runs), reason)
        else:
            log.info("trained the %d seeds together (stacked networks)", len(runs))
            for run, frame in zip(runs, frames):
                frame = _annotated(run, frame)
                frame.attrs["trained_with_seeds"] = [other.seed for other in runs]  # for the run's provenance
                yield run, frame
            return
        for run in runs:
            yield run, self.train(run, crash_after_checkpoints=crash_after_checkpoints, **options)

    # aggregation ----------------------------------------------------------------------------
    def aggregate(self, metrics: pd.DataFrame, study_config: dict[str, Any]) -> pd.DataFrame:
        """One long table; ``kind`` says which figure a row belongs to."""
        from plasticlab.analysis import rl_stats

        plot = study_config.get("plot", {})
        n_boot = int(plot.get("bootstrap_samples", 2000))
        evals = metrics[metrics["phase"] == "eval"]
        envs = enabled_envs(study_config)
        interventions = list(study_config["variants"])
        evals = _with_progress(evals[evals["env"].isin(envs)])
        curves_raw = _eval_curves(evals, envs, interventions)            # {intervention: (runs, tasks, points)}
        steps = np.sort(evals["x"].unique())
        curves = _normalise(curves_raw, envs, study_config, self.baseline)
        finals = {name: curve[..., -1] for name, curve in curves.items()}
        taus = np.linspace(0.0, float(plot.get("profile_max", 2.0)), 41)
        stats_parts = [
            rl_stats.aggregate_table(finals, n_boot=n_boot).assign(kind="aggregate"),
            rl_stats.sample_efficiency_table(curves, steps, n_boot=n_boot).assign(kind="curve"),
            rl_stats.per_task_table(finals, envs, n_boot=n_boot).assign(kind="per_game"),
            rl_stats.improvement_table(finals, self.baseline, n_boot=n_boot).assign(kind="improvement"),
            rl_stats.profile_table(finals, taus, n_boot=n_boot).assign(kind="profile"),
            rl_stats.difference_table(finals, self.baseline, "iqm", n_boot=n_boot).assign(kind="difference"),
            *[rl_stats.difference_table({variant: finals[variant], reference: finals[reference]}, reference, "iqm",
                                        n_boot=n_boot).assign(kind="difference")
              for variant, reference in self.comparisons if variant in finals and reference in finals],
            _versus_random(finals[self.baseline], self.baseline, envs, study_config, n_boot),
        ]
        parts = [part.rename(columns={"variant": "intervention"}) for part in stats_parts]
        parts += [_diagnostics_table(metrics), _diverged_table(metrics)]
        return pd.concat([p for p in parts if len(p)], ignore_index=True)

    def plot(self, table: pd.DataFrame, out_dir: Path, provenance: dict[str, Any]) -> list[Path]:
        from plasticlab.analysis import line_panels, rl_plots

        def rows(kind: str) -> pd.DataFrame:
            return table[table["kind"] == kind].rename(columns={"intervention": "variant"})

        order = [self.baseline] + sorted(set(table["intervention"].dropna()) - {self.baseline})
        prefix = "" if plain_agent_above_random(table, self.baseline) else SMOKE_TITLE
        title = f"{prefix}{self.name}: {self.summary}"
        diagnostics = table[table["kind"] == "diagnostic"]
        curve_steps = rows("curve")["step"]
        curve_x = "fraction of each run (environment steps)" if curve_steps.max() <= 1 else "environment steps"
        return [
            rl_plots.interval_estimates_plot(rows("aggregate"), out_dir / "aggregates.png", variants=order,
                                             provenance=provenance, title=title, xlabel=SCORE_LABEL),
            rl_plots.sample_efficiency_plot(rows("curve"), out_dir / "sample_efficiency.png", variants=order,
                                            provenance=provenance, xlabel=curve_x,
                                            title=f"{prefix}IQM normalised score over training (95% CI)"),
            rl_plots.per_task_bars(rows("per_game"), out_dir / "per_game.png", variants=order, provenance=provenance,
                                   ylabel=SCORE_LABEL, title=f"{prefix}final score per game (95% CI over seeds)"),
            rl_plots.improvement_plot(rows("improvement"), out_dir / "improvement.png", variants=order,
                                      provenance=provenance, title=f"{prefix}probability of improvement"),
            rl_plots.performance_profile_plot(rows("profile"), out_dir / "performance_profile.png", variants=order,
                                              provenance=provenance, xlabel=r"normalised score ($\tau$)",
                                              title=f"{prefix}performance profile"),
        ] + ([] if diagnostics.empty else [  # a table rebuilt from a returns record has no diagnostics
            line_panels(diagnostics, "diagnostic", out_dir / "diagnostics.png", panel="panel", series="intervention",
                        series_order=order,
                        xlabel="environment steps", ylabel="mean over seeds",
                        title=f"{prefix}Plasticity diagnostics (95% bootstrap CI over seeds)", provenance=provenance),
        ])


def plain_agent_above_random(table: pd.DataFrame, baseline: str = "none") -> bool:
    """Whether the table's ``vs_random`` row shows the plain agent above random play by its CI."""
    rows = table[(table["kind"] == "vs_random") & (table["intervention"] == baseline)]
    return len(rows) == 1 and bool(rows["ci_low"].iloc[0] > 0)


def random_floor(env_spec: dict[str, Any]) -> float | None:
    """Random play's score on the game's normalised scale, or None where it is not known.

    Atari-100k games are human-normalised and MinAtar games are scaled from the measured
    random-policy return (``reference_scores.minatar_random_score``): random play is 0 on both.
    A game without a known random-policy score (or a MinAtar spec whose options differ from the
    measured protocol) gives None."""
    from plasticlab.analysis.reference_scores import ATARI_100K_GAMES, minatar_random_score

    if env_spec["suite"] == "ale":
        return 0.0 if env_spec["game"] in ATARI_100K_GAMES else None
    return 0.0 if minatar_random_score(env_spec) is not None else None


def _versus_random(scores: np.ndarray, baseline: str, envs: list[str], study_config: dict[str, Any],
                   n_boot: int) -> pd.DataFrame:
    """IQM of the baseline's normalised final scores minus random play's, per game, with a
    stratified-bootstrap CI (``kind = vs_random``); NaN, naming the games, where a floor is unknown."""
    from plasticlab.analysis import rl_stats

    floors = {env: random_floor(study_config["envs"][env]["env"]) for env in envs}
    unknown = [env for env, floor in floors.items() if floor is None]
    row = {"intervention": baseline, "statistic": "iqm", "n_runs": scores.shape[0], "n_tasks": scores.shape[1],
           "kind": "vs_random"}
    if unknown:
        return pd.DataFrame([{**row, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                              "note": f"no random-policy score for {', '.join(unknown)}"}])
    above = scores - np.array([floors[env] for env in envs])
    table = rl_stats.aggregate_table({baseline: above}, ("iqm",), n_boot=n_boot)
    return table.rename(columns={"variant": "intervention"}).assign(kind="vs_random", note="")


def agent_estimate(table: pd.DataFrame, kind: str, intervention: str, statistic: str = "iqm",
                   baseline: str | None = None) -> Estimate:
    """The one row of ``kind`` for ``intervention`` and ``statistic`` (and, for a difference, the
    ``baseline`` it is taken against) as an Estimate (n = runs per game); KeyError naming the
    selection when there is not exactly one."""
    rows = table[(table["kind"] == kind) & (table["intervention"] == intervention) & (table["statistic"] == statistic)]
    if baseline is not None:  # a table without any difference row has no baseline column
        rows = rows[rows["baseline"] == baseline] if "baseline" in rows else rows.iloc[:0]
    if len(rows) != 1:
        selection = {"kind": kind, "intervention": intervention, "statistic": statistic, "baseline": baseline}
        raise KeyError(f"table has {len(rows)} rows for {selection}; a claim needs exactly one")
    row = rows.iloc[0]
    return Estimate(float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"]), int(row["n_runs"]))


def iqm_gain(intervention: str, reference: str = "none") -> Any:
    """Statistic of a claim "``intervention`` beats ``reference``": its IQM difference row."""
    return lambda table: agent_estimate(table, "difference", intervention, baseline=reference)


def beats_random(baseline: str = "none") -> Precondition:
    """Precondition of every agent claim: the plain agent scores above random play (by its CI)."""
    return Precondition.by_ci(
        "plain_beats_random", "the plain agent scores above random play: IQM over games of its normalised score "
        "minus random play's (Atari-100k: published random scores; MinAtar: measured ones)",
        lambda table: agent_estimate(table, "vs_random", baseline), "greater")


def _with_progress(evals: pd.DataFrame) -> pd.DataFrame:
    """Add the curve's x: environment steps if every environment runs equally long, otherwise
    the fraction of its run (environments of different lengths share one curve)."""
    lengths = evals.groupby("env")["step"].transform("max")
    if lengths.nunique() <= 1:
        return evals.assign(x=evals["step"].astype(float))
    return evals.assign(x=(evals["step"] / lengths).round(6))


def _eval_curves(evals: pd.DataFrame, envs: list[str], interventions: list[str]) -> dict[str, np.ndarray]:
    """Raw evaluation returns as ``{intervention: (n_seeds, n_envs, n_points)}`` over ``x``.

    A diverged run stops early: its later points repeat its last evaluation (the score it ended
    with), so it counts in every aggregate instead of silently dropping out.
    """
    steps = np.sort(evals["x"].unique())
    curves: dict[str, np.ndarray] = {}
    for intervention in interventions:
        per_env = []
        for env in envs:
            rows = evals[(evals["intervention"] == intervention) & (evals["env"] == env)]
            wide = rows.pivot_table(index="seed", columns="x", values="value", aggfunc="mean").reindex(columns=steps)
            if wide.empty:
                raise ValueError(f"no evaluation returns for {env}.{intervention}")
            per_env.append(wide.ffill(axis=1).to_numpy())
        seeds = {a.shape[0] for a in per_env}
        if len(seeds) > 1:
            raise ValueError(f"{intervention}: different numbers of seeds per environment {sorted(seeds)}")
        curves[intervention] = np.stack(per_env, axis=1)
    return curves


def _normalise(curves: dict[str, np.ndarray], envs: list[str], study_config: dict[str, Any],
               baseline: str) -> dict[str, np.ndarray]:
    """Per environment: Atari-100k games human-normalised; MinAtar games from the measured
    random-policy return (0) to the entry's ``reference_score`` (1), or to the baseline's mean
    where no reference is fixed; anything else relative to the baseline."""
    from plasticlab.analysis.reference_scores import ATARI_100K_GAMES, minatar_random_score, normalise

    columns: dict[str, list[np.ndarray]] = {name: [] for name in curves}
    for index, env in enumerate(envs):
        entry = study_config["envs"][env]
        spec = entry["env"]
        single = {name: curve[:, index:index + 1] for name, curve in curves.items()}
        game = spec["game"]
        random_score = minatar_random_score(spec)
        floor = None if random_score is None else {game: random_score}
        reference = entry.get("reference_score")
        if spec["suite"] == "ale" and game in ATARI_100K_GAMES:
            method = "human"
        elif floor is not None and reference is not None:
            method = "reference"
        else:
            method = "baseline"
            log.warning("%s: no fixed reference_score (or no measured random-policy return): scores are relative to "
                        "the %s variant's mean, which is then 1 by construction", env, baseline)
        try:
            scaled = normalise(single, [game], method, baseline=baseline, floor=floor,
                               reference=None if reference is None else {game: float(reference)})
        except ValueError as error:
            log.warning("%s: %s; reporting raw returns for this environment", env, error)
            scaled = normalise(single, [spec["game"]], "raw")
        for name in curves:
            columns[name].append(scaled[name])
    return {name: np.concatenate(parts, axis=1) for name, parts in columns.items()}


def _diagnostics_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Dormant fractions and feature rank over training, mean and CI over seeds per variant."""
    from plasticlab.analysis import summarise

    diag = metrics[metrics["phase"] == "diagnostics"]
    if diag.empty:
        return diag.iloc[:, :0]
    table = summarise(diag, x="step")
    parts = table["variant"].map(split_variant)
    return table.assign(kind="diagnostic", env=parts.str[0], intervention=parts.str[1],
                        panel=parts.str[0] + ": " + table["metric"], quantity=table["metric"],
                        metric="diagnostic").drop(columns=["variant"])


def _diverged_table(metrics: pd.DataFrame) -> pd.DataFrame:
    summary = metrics[(metrics["phase"] == "summary") & (metrics["metric"] == "diverged")]
    counts = summary.groupby(["variant"], as_index=False)["value"].sum().rename(columns={"value": "diverged_runs"})
    parts = counts["variant"].map(split_variant)
    return counts.assign(kind="diverged", env=parts.str[0], intervention=parts.str[1]).drop(columns=["variant"])
