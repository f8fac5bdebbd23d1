"""Noisy layers: factorised noise, evaluation without noise, noise shared between two copies."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from plasticlab.nets.noisy import NoisyLinear, shared_noise


def test_a_copy_under_shared_noise_reproduces_the_source_output_exactly():
    torch.manual_seed(0)
    source = nn.Sequential(NoisyLinear(5, 4, 0.5), nn.ReLU(), NoisyLinear(4, 3, 0.5))
    twin = copy.deepcopy(source)
    x = torch.randn(6, 5)
    out = source(x)
    assert not torch.equal(twin(x), out)                  # independent draws differ
    with shared_noise(source, twin):
        torch.testing.assert_close(twin(x), out, rtol=0, atol=0)
    assert all(m.noise_source is None for m in twin.modules() if isinstance(m, NoisyLinear))
    assert "noise_source" not in dict(twin.named_modules())   # never registered as a submodule
    assert set(twin.state_dict()) == set(source.state_dict())


def test_noise_is_factorised_and_off_in_eval_mode():
    torch.manual_seed(1)
    layer = NoisyLinear(3, 2, sigma0=0.5)
    x = torch.randn(4, 3)
    torch.testing.assert_close(layer.eval()(x), x @ layer.weight.T + layer.bias)
    layer.train()
    out = layer(x)
    eps_in, eps_out = layer.last_noise
    weight = layer.weight + layer.weight_sigma * torch.outer(eps_out, eps_in)
    bias = layer.bias + layer.bias_sigma * eps_out
    torch.testing.assert_close(out, x @ weight.T + bias)


def test_shared_noise_refuses_mismatched_modules():
    with pytest.raises(ValueError, match="same noisy layers"):
        with shared_noise(NoisyLinear(3, 2), NoisyLinear(3, 4)):
            pass
