"""The warm-start study's run: determinism and the phase protocol (data shares, label noise, epoch
budgets, an optimiser rebuilt per phase with a warm-up), checked against the reference's rules."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from plasticlab import config as cfg
from plasticlab import studies
from plasticlab.data import load_dataset
from plasticlab.interventions import Intervention, TrainContext
from plasticlab.nets import make_mlp
from plasticlab.studies.base import RunSpec
from plasticlab.studies.warmstart_runs import build_tasks, noisy_labels, phase_epochs
from plasticlab.supervised import Task, TrainerConfig, train_on_tasks
from plasticlab.supervised.trainer import warmup_lr


def _run(tmp_path, tiny_config, variant: str, seed: int, name: str) -> pd.DataFrame:
    spec = RunSpec(study="warmstart", variant=variant, seed=seed,
                   config=cfg.run_config(tiny_config, "warmstart", variant), out_dir=tmp_path / name)
    return studies.get("warmstart").train(spec)


def test_same_seed_same_metrics_other_seed_differs(tmp_path, tiny_config):
    first = _run(tmp_path, tiny_config, "warm", 0, "a")
    again = _run(tmp_path, tiny_config, "warm", 0, "b")
    other = _run(tmp_path, tiny_config, "warm", 1, "c")
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    assert not first["value"].equals(other["value"])


def test_each_phase_is_scored_once_on_the_test_set(tmp_path, tiny_config):
    frame = _run(tmp_path, tiny_config, "fresh", 0, "a")
    ends = frame[frame["phase"] == "task_end"]
    phases = len(tiny_config["studies"]["warmstart"]["protocols"]["tiny"]["phases"])
    assert sorted(ends.loc[ends["metric"] == "test_accuracy", "task"]) == list(range(phases))
    assert ends["value"][ends["metric"] == "test_accuracy"].between(0.5, 1.0).all()


def test_phases_follow_the_reference_data_shares_and_epoch_budgets():
    data = load_dataset("digits")
    n = len(data.y_train)
    protocol = {"phases": [{"data": 0.1, "label_noise": 0.5}, {"data": 0.9, "label_noise": 0.0}], "base_epochs": 100}
    assert phase_epochs(protocol) == [1000, 111]  # int(100 / 0.1), int(100 / 0.9): the reference's budgets
    tasks = build_tasks(data, protocol, seed=3)
    assert [len(t.y) for t in tasks] == [int(n * 0.1), int(n * 0.1) + int(n * 0.9)]
    assert [t.epochs for t in tasks] == [1000, 111]
    first, second = tasks[0].x.numpy(), tasks[1].x.numpy()
    assert np.array_equal(second[: len(first)], first)  # everything that arrived stays
    assert len(np.unique(second, axis=0)) == len(np.unique(data.x_train, axis=0)) - (n - len(second))
    assert phase_epochs({"phases": [{"data": 0.5}, {"data": 0.5}]}) == [None, None]  # max_epochs then decides


def test_label_noise_is_exact_wrong_redrawn_per_phase_and_the_last_phase_is_clean():
    data = load_dataset("digits")
    protocol = {"phases": [{"data": 0.3, "label_noise": 0.5}, {"data": 0.3, "label_noise": 0.5}, {"data": 0.4}],
                "base_epochs": 1}
    tasks = build_tasks(data, protocol, seed=0)
    noisy = [(t.y != t.eval_sets["train_clean"][1]).numpy() for t in tasks]
    assert [int(m.sum()) for m in noisy] == [int(len(tasks[0].y) * 0.5), int(len(tasks[1].y) * 0.5), 0]
    first = len(tasks[0].y)
    assert not np.array_equal(noisy[1][:first], noisy[0])  # drawn afresh each phase, as the reference does
    rng = np.random.default_rng(0)
    labels = np.arange(10).repeat(20)
    out = noisy_labels(labels, 0.3, 10, rng)
    changed = out != labels
    assert changed.sum() == 60 and out.min() >= 0 and out.max() <= 9  # wrong, and still a class


class _Recorder(Intervention):
    """Records the optimiser object, its step counts and learning rate at every step."""

    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[tuple[int, int, float, float]] = []

    def after_step(self, ctx: TrainContext) -> None:
        step = min(float(s["step"]) for s in ctx.optimizer.state.values())
        self.seen.append((ctx.task, id(ctx.optimizer), step, ctx.optimizer.param_groups[0]["lr"]))


def test_the_optimiser_is_rebuilt_per_phase_with_a_linear_warmup(tmp_path):
    torch.manual_seed(0)
    x, y = torch.randn(40, 5), torch.randint(0, 3, (40,))
    tasks = [Task(x[:8], y[:8], epochs=10), Task(x, y, epochs=3)]  # 10 × 1 then 3 × 5 steps at batch 8
    recorder = _Recorder()
    config = TrainerConfig(batch_size=8, target_train_accuracy=None, lr=0.01, warmup_fraction=0.4,
                           rebuild_optimizer_each_task=True, checkpoint_every_epochs=100)
    run = RunSpec("warmstart", "x", 0, {}, tmp_path / "run")
    [frame] = train_on_tasks(run, tasks, lambda member: make_mlp((5,), [4], 3), recorder, config)
    first = [s for s in recorder.seen if s[0] == 0]
    second = [s for s in recorder.seen if s[0] == 1]
    assert len(first) == 10 and len(second) == 15
    assert len({s[1] for s in first}) == 1 and {s[1] for s in second}.isdisjoint({first[0][1]})  # a new AdamW
    assert [s[2] for s in first] == list(range(1, 11)) and [s[2] for s in second] == list(range(1, 16))
    # lr = lr · k / int(0.4 · steps) for the first int(0.4 · steps) steps of a phase (k from 0), then lr
    assert [s[3] for s in first] == pytest.approx([0.01 * k / 4 for k in range(4)] + [0.01] * 6)
    assert [s[3] for s in second] == pytest.approx([0.01 * k / 6 for k in range(6)] + [0.01] * 9)
    assert warmup_lr(1.0, 0, 10, 0.0) == 1.0
    ends = frame[(frame.phase == "task_end") & (frame.metric == "epochs")]
    assert list(ends["value"]) == [10, 3]


def test_run_config_carries_only_the_chosen_protocol_and_bad_protocols_are_named(tiny_config):
    section = tiny_config["studies"]["warmstart"]
    section["protocols"]["other"] = {"phases": [{"data": 1.0}], "max_epochs": 1}
    run = cfg.run_config(tiny_config, "warmstart", "warm")
    assert run["protocol"]["name"] == "tiny" and "protocols" not in run
    study = studies.get("warmstart")
    missing = copy.deepcopy(section)
    missing["protocol"] = "nosuch"
    with pytest.raises(KeyError, match="nosuch"):
        study.check(missing)
    overfull = copy.deepcopy(section)
    overfull["protocols"]["other"]["phases"] = [{"data": 0.7}, {"data": 0.6}]
    with pytest.raises(ValueError, match="1.3"):
        study.check(overfull)
