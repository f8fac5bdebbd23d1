"""Seeds trained together (``Study.train_seeds``): stacked where exact, one by one otherwise, and
every seed's metrics bit for bit those of ``Study.train`` for that seed alone."""

from __future__ import annotations

import copy
import signal

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from plasticlab import config as cfg
from plasticlab import studies
from plasticlab.interventions import Intervention
from plasticlab.runtime import preemption
from plasticlab.studies.base import RunSpec
from plasticlab.supervised import seed_jobs
from plasticlab.supervised.members import stackable_interventions
from plasticlab.supervised.stacking import StackedLinear, batched_linear_is_exact, stack_modules


def _runs(config, study_name, variant, root, seeds=(0, 1, 2)):
    return [RunSpec(study_name, variant, seed, cfg.run_config(config, study_name, variant), root / f"seed={seed}")
            for seed in seeds]


def _equal_to_solo(study_name, config, variant, tmp_path, seeds=(0, 1, 2)):
    study = studies.get(study_name)
    together = dict((run.seed, frame) for run, frame in study.train_seeds(_runs(config, study_name, variant, tmp_path / "job", seeds)))
    assert sorted(together) == list(seeds)
    for run in _runs(config, study_name, variant, tmp_path / "solo", seeds):
        pd.testing.assert_frame_equal(together[run.seed], study.train(run), check_exact=True)


@pytest.fixture
def warmstart_config(default_config):
    """The default reference protocol (noise, clipping, warm-up, optimiser rebuilt per phase), shortened."""
    config = copy.deepcopy(default_config)
    section = config["studies"]["warmstart"]
    section["protocols"]["reference"].update({"base_epochs": 3, "checkpoint_every_epochs": 7})
    section["model"]["hidden"] = [24, 24]
    return config


@pytest.mark.parametrize("variant", ["warm", "fresh", "reset", "layernorm", "weight_decay"])
def test_stacked_warmstart_seeds_equal_solo_runs(tmp_path, warmstart_config, variant, monkeypatch):
    stacked_calls = []
    real = seed_jobs._train_stacked
    monkeypatch.setattr(seed_jobs, "_train_stacked", lambda *a: stacked_calls.append(1) or real(*a))
    _equal_to_solo("warmstart", warmstart_config, variant, tmp_path)
    assert stacked_calls  # these variants do train stacked


@pytest.mark.parametrize("variant", ["hare_tortoise", "shrink_perturb"])
def test_variants_that_cannot_stack_train_one_by_one(tmp_path, warmstart_config, variant):
    assert not stackable_interventions(warmstart_config["studies"]["warmstart"]["variants"][variant])
    _equal_to_solo("warmstart", warmstart_config, variant, tmp_path, seeds=(0, 1))


@pytest.mark.parametrize("variant", ["random_labels.none", "random_labels.layernorm+weight_decay",
                                     "random_labels.l2_init", "growing_targets.layernorm"])
def test_stacked_stream_seeds_equal_solo_runs(tmp_path, default_config, variant):
    config = copy.deepcopy(default_config)
    section = config["studies"]["disentangle"]
    section["protocol"].update({"tasks": 2, "steps_per_task": 45})
    section["model"]["hidden"] = [16, 16]
    section["streams"]["random_labels"]["subset"] = 40  # batches of 32 and 8: both BLAS regimes
    section["variants"]["l2_init"] = [{"name": "l2_init", "coef": 1.0e-3}]
    _equal_to_solo("disentangle", config, variant, tmp_path)


@pytest.mark.parametrize("study_name, variant", [("capacity", "infer"), ("understanding", "layernorm")])
def test_stacked_snapshots_equal_solo_snapshots(tmp_path, default_config, study_name, variant):
    """InFeR's heads and frozen copy (fused AdamW), and understanding's layer norms with the
    per-tensor AdamW loop: stacked seeds write the snapshots solo runs write, byte for byte."""
    config = copy.deepcopy(default_config)
    section = config["studies"][study_name]
    section["protocol"].update({"tasks": 2, "steps_per_task": 20})
    section["model"]["hidden"] = [16]
    section["stream_options"]["subset"] = 64
    _equal_to_solo(study_name, config, variant, tmp_path, seeds=(0, 1))
    for seed in (0, 1):
        job = sorted((tmp_path / "job" / f"seed={seed}" / "snapshots").iterdir())
        solo = sorted((tmp_path / "solo" / f"seed={seed}" / "snapshots").iterdir())
        assert [p.name for p in job] == [p.name for p in solo] and len(job) == 3
        for a, b in zip(job, solo):
            assert a.read_bytes()[:100].startswith(b"plasticlab-checkpoint/2 ") and a.read_bytes() == b.read_bytes()


class _StopAt(Intervention):
    """Asks the run to stop (as SIGTERM would) after a given step."""

    name = "stop_at"

    def __init__(self, step: int):
        self.stop_step = step

    def after_step(self, ctx) -> None:
        if ctx.step == self.stop_step:
            preemption._handle(signal.SIGTERM, None)


def test_a_preempted_stacked_job_resumes_stacked_or_solo_to_the_same_metrics(tmp_path, warmstart_config, monkeypatch):
    study = studies.get("warmstart")
    expected = {run.seed: study.train(run) for run in _runs(warmstart_config, "warmstart", "warm", tmp_path / "whole", (0, 1))}
    build = seed_jobs.interventions.build

    def preempted_job(root):
        runs = _runs(warmstart_config, "warmstart", "warm", root, seeds=(0, 1))
        monkeypatch.setattr(seed_jobs.interventions, "build", lambda spec: _StopAt(5) if spec == "none" else build(spec))
        try:
            with pytest.raises(preemption.Preempted):
                list(study.train_seeds(runs))
        finally:
            preemption._requested = None  # the restarted job (and every later test) starts without a pending signal
        monkeypatch.setattr(seed_jobs.interventions, "build", build)
        assert all(list(run.checkpoint_dir.glob("ckpt_*.pt")) for run in runs)
        return runs

    runs = preempted_job(tmp_path / "stacked")
    for run, frame in study.train_seeds(runs):  # the job restarted: both seeds resume stacked
        pd.testing.assert_frame_equal(frame, expected[run.seed], check_exact=True)
    runs = preempted_job(tmp_path / "solo")
    for run in runs:  # or each seed alone, from the stacked job's checkpoints
        pd.testing.assert_frame_equal(study.train(run), expected[run.seed], check_exact=True)


def test_stacked_linear_equals_each_member_at_every_batch_size():
    torch.manual_seed(0)
    layers = [torch.nn.Linear(7, 10) for _ in range(3)]
    stacked = stack_modules(layers)
    assert isinstance(stacked, StackedLinear) and stacked.weight.shape == (3, 10, 7)
    for batch in (1, 3, 32):
        x = torch.randn(3, batch, 7)
        out = stacked(x)
        out.backward(torch.ones_like(out))
        assert isinstance(batched_linear_is_exact(3, batch, 7, 10, True), bool)
        for m, layer in enumerate(layers):
            layer.zero_grad()
            alone = F.linear(x[m].clone(), layer.weight, layer.bias)  # a solo run's input is a tensor of its own
            alone.backward(torch.ones_like(alone))
            assert torch.equal(alone, out[m])
            assert torch.equal(layer.weight.grad, stacked.weight.grad[m])
        stacked.zero_grad()


@pytest.mark.parametrize("memory_format", [torch.channels_last, torch.contiguous_format], ids=["nhwc", "nchw"])
def test_stacked_group_norm_equals_each_member_in_its_memory_format(memory_format):
    """Layer norm's form after a convolution (``interventions.layernorm``), forward and backward."""
    torch.manual_seed(0)
    norms = [torch.nn.GroupNorm(1, 8) for _ in range(3)]
    for norm in norms:
        torch.nn.init.normal_(norm.weight)
        torch.nn.init.normal_(norm.bias)
    stacked = stack_modules(norms)
    stacked.memory_format = memory_format
    x = torch.randn(3, 5, 8, 6, 6, requires_grad=True)
    grad = torch.randn(3, 5, 8, 6, 6)
    stacked(x).backward(grad)
    for m, norm in enumerate(norms):
        alone_x = x[m].detach().contiguous(memory_format=memory_format).requires_grad_()
        alone = norm(alone_x)
        alone.backward(grad[m].contiguous(memory_format=memory_format))
        assert torch.equal(alone, stacked(x)[m])
        assert torch.equal(alone_x.grad, x.grad[m])
        assert torch.equal(norm.weight.grad, stacked.weight.grad[m]) and torch.equal(norm.bias.grad, stacked.bias.grad[m])
