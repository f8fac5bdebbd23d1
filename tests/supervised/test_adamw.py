"""Our AdamW against torch.optim.AdamW: same arithmetic, same state layout, exact resume."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from plasticlab.nets import make_mlp
from plasticlab.optim import AdamW, make_adamw


def _train(optimizer_factory, steps: int, seed: int = 0):
    torch.manual_seed(seed)
    net = make_mlp((5,), [7], 3)
    optimizer = optimizer_factory(net.parameters())
    generator = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x, y = torch.randn(8, 5, generator=generator), torch.randint(0, 3, (8,), generator=generator)
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        optimizer.step()
    return net, optimizer


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_matches_torch_adamw_step_for_step(weight_decay):
    kwargs = {"lr": 3e-3, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": weight_decay}
    ours, our_opt = _train(lambda p: AdamW(p, **kwargs), steps=20)
    theirs, their_opt = _train(lambda p: torch.optim.AdamW(p, foreach=False, **kwargs), steps=20)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        for key in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(our_opt.state[a][key], their_opt.state[b][key], rtol=0, atol=1e-9)
        assert float(our_opt.state[a]["step"]) == float(their_opt.state[b]["step"]) == 20


def test_state_dict_round_trip_continues_identically():
    whole, _ = _train(lambda p: AdamW(p, lr=1e-2), steps=6)
    torch.manual_seed(0)
    net, optimizer = _train(lambda p: AdamW(p, lr=1e-2), steps=3)
    saved = optimizer.state_dict()
    # a new optimiser over the same tensors, restored from the state dict, continues the same way
    restored = AdamW(net.parameters(), lr=0.5)
    restored.load_state_dict(saved)
    assert restored.param_groups[0]["lr"] == 1e-2
    torch.manual_seed(0)
    reference, ref_opt = _train(lambda p: AdamW(p, lr=1e-2), steps=3)
    generator = torch.Generator().manual_seed(1)
    for _ in range(3):  # skip the draws of the first three steps
        torch.randn(8, 5, generator=generator), torch.randint(0, 3, (8,), generator=generator)
    for _ in range(3):
        x, y = torch.randn(8, 5, generator=generator), torch.randint(0, 3, (8,), generator=generator)
        restored.zero_grad()
        F.cross_entropy(net(x), y).backward()
        restored.step()
    for a, b in zip(net.parameters(), whole.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7)
    with pytest.raises(ValueError, match="implementation"):
        make_adamw(net.parameters(), "sgd")


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_fused_path_matches_torch_fused_adamw(weight_decay):
    """``fused=True`` calls the same kernel as torch.optim.AdamW(fused=True), without torch.optim."""
    kwargs = {"lr": 3e-3, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": weight_decay}
    ours, our_opt = _train(lambda p: AdamW(p, fused=True, **kwargs), steps=20)
    theirs, _ = _train(lambda p: torch.optim.AdamW(p, fused=True, **kwargs), steps=20)
    loop, _ = _train(lambda p: AdamW(p, **kwargs), steps=20)
    for a, b, c in zip(ours.parameters(), theirs.parameters(), loop.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
        torch.testing.assert_close(a, c, rtol=0, atol=1e-6)
    assert all(float(s["step"]) == 20 for s in our_opt.state.values())


def test_fused_state_round_trip_continues_identically():
    whole, _ = _train(lambda p: AdamW(p, lr=1e-2, fused=True), steps=6)
    net, optimizer = _train(lambda p: AdamW(p, lr=1e-2, fused=True), steps=3)
    restored = AdamW(net.parameters(), lr=1e-2, fused=True)
    restored.load_state_dict(optimizer.state_dict())
    generator = torch.Generator().manual_seed(1)
    for _ in range(3):  # skip the batches the first three steps used
        torch.randn(8, 5, generator=generator), torch.randint(0, 3, (8,), generator=generator)
    for _ in range(3):
        x, y = torch.randn(8, 5, generator=generator), torch.randint(0, 3, (8,), generator=generator)
        restored.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        restored.step()
    for a, b in zip(net.parameters(), whole.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("fused", [False, True])
def test_member_axis_updates_each_slice_exactly_as_its_own_tensor(fused):
    """Stacked seeds: member m's slice after steps equals a separate tensor updated alone, bit for
    bit, even for sizes that put members at different vector/tail positions (a 10-element bias)."""
    generator = torch.Generator().manual_seed(0)
    stacked = torch.nn.Parameter(torch.randn(3, 10, generator=generator))
    alone = [torch.nn.Parameter(stacked.detach()[m].clone()) for m in range(3)]
    ours = AdamW([stacked], lr=1e-2, weight_decay=0.1, fused=fused, member_axis=True)
    separate = [AdamW([p], lr=1e-2, weight_decay=0.1, fused=fused) for p in alone]
    for _ in range(30):
        grad = torch.randn(3, 10, generator=generator)
        stacked.grad = grad.clone()
        ours.step()
        for m, (p, opt) in enumerate(zip(alone, separate)):
            p.grad = grad[m].clone()
            opt.step()
    for m, p in enumerate(alone):
        assert torch.equal(stacked.detach()[m], p.detach())
        assert torch.equal(ours.state[stacked]["exp_avg_sq"][m], separate[m].state[p]["exp_avg_sq"])
    with pytest.raises(ValueError, match="slice by slice"):
        make_adamw([stacked], "torch", member_axis=True)
