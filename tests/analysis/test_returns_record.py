"""The returns record: runs' evaluation returns kept in git, aggregated as the runs would be."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from plasticlab import cli, studies
from plasticlab.analysis.reference_scores import MINATAR_RANDOM_SCORES
from plasticlab.analysis.returns_record import (COLUMNS, export_runs, merge_records, read_record, recorded_metrics,
                                                write_record)
from plasticlab.config import load_config, run_config

STEPS = (0, 250000, 500000)


@pytest.fixture(scope="module")
def tier_config(repo_root):
    config = load_config(repo_root / "config/config.yaml", repo_root / "config/minatar.yaml")
    config["studies"]["injection"]["plot"] = {"bootstrap_samples": 200}
    return config


def final_return(env: str, intervention: str, seed: int) -> float:
    return {"minatar_breakout": 8.0, "minatar_space_invaders": 30.0}[env] + 2.0 * seed + (1.0 if intervention == "injection" else 0.0)


def write_runs(root, config, study="injection", seeds=(0, 1, 2)) -> pd.DataFrame:
    """Run directories as the workflow leaves them; returns their metrics as aggregation reads them."""
    frames = []
    for variant in studies.get(study).variants(config["studies"][study]):
        env, intervention = variant.split(".")
        for seed in seeds:
            run_dir = root / study / variant / f"seed={seed}"
            run_dir.mkdir(parents=True)
            final = final_return(env, intervention, seed)
            frame = pd.DataFrame({"step": list(STEPS), "phase": "eval", "metric": "eval_return",
                                  "value": [0.5, final / 2, final], "seed": seed, "variant": variant})
            frame = pd.concat([frame, frame.assign(phase="diagnostics", metric="dormant_fraction", value=0.1)])
            frame = frame.assign(env=env, intervention=intervention,
                                 game=config["studies"][study]["envs"][env]["env"]["game"], suite="minatar")
            frame.to_parquet(run_dir / "metrics.parquet")
            (run_dir / "run.json").write_text(json.dumps({"config": run_config(config, study, variant),
                                                         "git": {"commit": "c0ffee"}, "seed": seed}))
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_the_record_aggregates_to_the_runs_own_table(tmp_path, tier_config):
    metrics = write_runs(tmp_path / "runs", tier_config)
    record = export_runs(tmp_path / "runs", "injection")
    assert len(record) == 2 * 2 * 3 * len(STEPS) and set(record["git_commit"]) == {"c0ffee"}
    from_record, section = recorded_metrics(record, tier_config, "injection")
    study, expected_section = studies.get("injection"), tier_config["studies"]["injection"]
    by_record = study.aggregate(from_record, section)
    by_runs = study.aggregate(metrics, expected_section)
    scores = ["aggregate", "per_game", "difference", "vs_random", "curve", "improvement"]

    def score_rows(table: pd.DataFrame) -> pd.DataFrame:  # the runs' table also has diagnostics columns
        return table[table["kind"].isin(scores)].dropna(axis=1, how="all").reset_index(drop=True)

    pd.testing.assert_frame_equal(score_rows(by_record), score_rows(by_runs), check_dtype=False)
    # and the numbers are the closed form: MinAtar random play -> 0, the config's reference -> 1
    per_game = by_record[by_record["kind"] == "per_game"].set_index(["intervention", "task"])["estimate"]
    entry = expected_section["envs"]["minatar_breakout"]
    random_score = MINATAR_RANDOM_SCORES["breakout"]
    mean_final = np.mean([final_return("minatar_breakout", "none", s) for s in range(3)])
    assert per_game[("none", "minatar_breakout")] == pytest.approx(
        (mean_final - random_score) / (entry["reference_score"] - random_score))


def test_a_record_written_and_read_back_is_unchanged(tmp_path, tier_config):
    write_runs(tmp_path / "runs", tier_config)
    record = export_runs(tmp_path / "runs", "injection")
    write_record(tmp_path / "record.csv", record)
    pd.testing.assert_frame_equal(read_record(tmp_path / "record.csv"), record, check_dtype=False)


def test_a_rerun_replaces_its_run_and_keeps_the_others():
    def rows(variant, seed, value, steps=(0, 10)):
        return pd.DataFrame([{"study": "s", "variant": variant, "seed": seed, "step": step, "eval_return": value,
                              "config_sha256": "", "git_commit": "", "source": ""} for step in steps], columns=COLUMNS)

    existing = pd.concat([rows("e.none", 0, 1.0), rows("e.none", 1, 2.0)], ignore_index=True)
    merged = merge_records(existing, rows("e.none", 1, 5.0, steps=(0,)))
    assert merged.groupby("seed")["eval_return"].apply(list).to_dict() == {0: [1.0, 1.0], 1: [5.0]}


def test_a_run_trained_under_another_config_is_refused(tmp_path, tier_config):
    write_runs(tmp_path / "runs", tier_config)
    record = export_runs(tmp_path / "runs", "injection")
    other = {**tier_config, "studies": {**tier_config["studies"],
                                        "injection": {**tier_config["studies"]["injection"],
                                                      "agent_options": {**tier_config["studies"]["injection"]["agent_options"],
                                                                        "lr": 1e-3}}}}
    with pytest.raises(ValueError, match="another run config.*minatar_breakout.injection seed 0"):
        recorded_metrics(record, other, "injection")


def test_unverified_rows_are_used_and_named(tmp_path, tier_config, caplog):
    write_runs(tmp_path / "runs", tier_config)
    record = export_runs(tmp_path / "runs", "injection")
    record.loc[record["variant"] == "minatar_breakout.none", "config_sha256"] = ""
    with caplog.at_level(logging.WARNING):
        metrics, _ = recorded_metrics(record, tier_config, "injection")
    assert len(metrics) == len(record)
    assert "3 recorded run(s) carry no config hash" in caplog.text and "minatar_breakout.none seed 2" in caplog.text


def test_a_variant_missing_on_a_game_is_left_out_and_the_baseline_is_required(tmp_path, tier_config, caplog):
    write_runs(tmp_path / "runs", tier_config)
    record = export_runs(tmp_path / "runs", "injection")
    partial = record[record["variant"] != "minatar_space_invaders.injection"]
    with caplog.at_level(logging.WARNING):
        metrics, section = recorded_metrics(partial, tier_config, "injection")
    assert list(section["variants"]) == ["none"] and set(metrics["intervention"]) == {"none"}
    assert "injection: no recorded returns of injection on every environment" in caplog.text
    with pytest.raises(ValueError, match="lacks injection's baseline 'none'"):
        recorded_metrics(record[record["variant"] != "minatar_breakout.none"], tier_config, "injection")


def test_runs_with_different_evaluation_steps_keep_their_final_return(tmp_path, tier_config):
    write_runs(tmp_path / "runs", tier_config)
    record = export_runs(tmp_path / "runs", "injection")
    lost = (record["variant"] == "minatar_breakout.none") & (record["seed"] == 0) & (record["step"] < 500000)
    metrics, _ = recorded_metrics(record[~lost], tier_config, "injection")
    assert set(metrics["step"]) == {500000} and len(metrics) == 12


def test_bad_records_are_named(tmp_path):
    (tmp_path / "a.csv").write_text("study,variant,seed\ns,v,0\n")
    with pytest.raises(ValueError, match="missing column.*step"):
        read_record(tmp_path / "a.csv")
    row = "s,e.none,0,10,1.0,,,x\n"
    (tmp_path / "b.csv").write_text(",".join(COLUMNS) + "\n" + row + row)
    with pytest.raises(ValueError, match="2 rows repeat.*seed 0 step 10"):
        read_record(tmp_path / "b.csv")


def test_the_commands_record_runs_and_rebuild_the_claims(tmp_path, tier_config, repo_root):
    write_runs(tmp_path / "runs", tier_config)
    record, tables = tmp_path / "record.csv", tmp_path / "tables"
    assert cli.main(["record-returns", "injection", "--runs", str(tmp_path / "runs"), "--out", str(record)]) == 0
    configs = [str(repo_root / "config/config.yaml"), str(repo_root / "config/minatar.yaml")]
    assert cli.main(["aggregate", "injection", "--returns", str(record), "--config", *configs,
                     "--out", str(tables / "injection.csv")]) == 0
    assert cli.main(["claims", "--tables", str(tables), "--config", *configs, "--study", "injection",
                     "--out", str(tables / "claims.csv")]) == 0
    assert cli.main(["plot", "injection", "--table", str(tables / "injection.csv"), "--out-dir", str(tmp_path / "fig")]) == 0
    drawn = {path.name for path in (tmp_path / "fig").iterdir()}
    assert "aggregates.png" in drawn and "diagnostics.png" not in drawn  # a record holds no diagnostics
    board = pd.read_csv(tables / "claims.csv").set_index("claim_id")
    # injection is +1 on every run: a gain of 1 / (reference - random) per game, on both games
    assert board.loc["injection_improves_return", "verdict"] == "reproduced"
    with pytest.raises(SystemExit, match="give --config"):
        cli.main(["aggregate", "injection", "--returns", str(record), "--out", str(tables / "x.csv")])
