"""The runs one trainer call trains: one seed (``Solo``), or several seeds stacked into one network
(``Stacked``), each member computing exactly what it would alone.

The trainer's loop is the same for both; what differs sits here: how a minibatch is gathered, how
each member's task loss is formed, gradient clipping (per member), evaluation, and how the
training state splits into one checkpoint per run, in the format a solo run writes (so either kind
of job resumes from the other's checkpoints). Each member keeps its own global-RNG stream: every
draw a solo run makes from torch's global generator (initialisation, fresh networks for resets)
is made under that member's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import torch
from torch import nn

from plasticlab.interventions import registry as intervention_registry
from plasticlab.losses import LOSSES, SCORES
from plasticlab.runtime.seeding import rng_state, set_rng_state
from plasticlab.supervised.stacking import member_state, stack_modules, stack_states

if TYPE_CHECKING:  # importing plasticlab.studies here would import every study (a cycle)
    from plasticlab.studies.base import RunSpec

# Interventions that change parameters only through the optimiser, exact copies, or plain
# products and sums (whose rounding does not depend on where a value sits in a tensor). Those that
# move parameters with fused multiply-adds on the whole stacked tensor (Hare & Tortoise's EMA,
# shrink & perturb) or draw noise in one call (ReDo, Gaussian perturbations) train one by one.
STACKABLE_INTERVENTIONS = {"layernorm", "weight_decay", "l2_init", "reset", "infer"}


def stackable_interventions(spec: Any) -> bool:
    """Whether a variant's interventions can train stacked (else its seeds train one by one)."""
    return all(item["name"] in STACKABLE_INTERVENTIONS for item in intervention_registry.normalise_spec(spec))


class Solo:
    """One run: the plain network."""

    size = 1
    member_axis = False

    def __init__(self, run: RunSpec):
        self.runs = [run]

    def build(self, build_member: Callable[[int], nn.Module]) -> nn.Module:
        return build_member(0)

    def gather(self, x: torch.Tensor, index: list[torch.Tensor]) -> torch.Tensor:
        return x[index[0]]

    def task_loss(self, outputs: torch.Tensor, targets: torch.Tensor, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(the sum over members to backpropagate, each member's loss)."""
        value = LOSSES[loss](outputs, targets)
        return value, value.detach().reshape(1)

    def clip(self, net: nn.Module, max_norm: float) -> None:
        nn.utils.clip_grad_norm_(net.parameters(), max_norm)

    def evaluate(self, net: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str) -> list[dict[str, float]]:
        return [scores(outputs(net, x), y, loss)]

    def member_net(self, net: nn.Module, template: nn.Module | None, member: int) -> nn.Module:
        return net

    def split(self, state: dict[str, Any]) -> list[dict[str, Any]]:
        """One solo-format training state per member (the trainer keeps per-run fields in lists)."""
        return [_member_fields(state, 0)]

    def merge(self, states: list[dict[str, Any]]) -> dict[str, Any]:
        return _merged_fields(states)

    def rng_states(self) -> list[dict[str, Any]]:
        return [rng_state()]

    def set_rng_states(self, states: list[dict[str, Any]]) -> None:
        set_rng_state(states[0])


class Stacked(Solo):
    """Several runs of one variant, parameters stacked along a leading member axis.

    Task tensors carry the member axis too: inputs (S, N, ...), targets (S, N, ...).
    ``setup_rng`` is each member's RNG state right after its run was set up (seeded, data drawn),
    as a solo run has it when the trainer starts.
    """

    member_axis = True

    def __init__(self, runs: list[RunSpec], setup_rng: list[dict[str, Any]]):
        self.runs = list(runs)
        self.size = len(runs)
        self.set_rng_states(setup_rng)

    def under_member_rng(self, member: int, draw: Callable[[], Any]) -> Any:
        """Run ``draw`` with torch's global generator in member ``member``'s state, advancing it."""
        saved = torch.get_rng_state()
        torch.set_rng_state(self._torch[member])
        try:
            return draw()
        finally:
            self._torch[member] = torch.get_rng_state()
            torch.set_rng_state(saved)

    def build(self, build_member: Callable[[int], nn.Module]) -> nn.Module:
        return stack_modules([self.under_member_rng(m, lambda m=m: build_member(m)) for m in range(self.size)])

    def gather(self, x: torch.Tensor, index: list[torch.Tensor]) -> torch.Tensor:
        """Member m's rows ``index[m]`` of ``x[m]``, as one (S, B, ...) tensor (one index_select)."""
        n = x.shape[1]
        offsets = torch.arange(0, self.size * n, n, device=x.device)[:, None]
        flat = (torch.stack(index) + offsets).view(-1)
        return x.reshape(self.size * n, *x.shape[2:]).index_select(0, flat).view(self.size, -1, *x.shape[2:])

    def task_loss(self, outputs: torch.Tensor, targets: torch.Tensor, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
        # each member's slice copied into memory of its own: a reduction over a view at an offset
        # can round differently (in the last bit) from the same reduction over a tensor of its own
        values = torch.stack([LOSSES[loss](out.clone(), target.clone())
                              for out, target in zip(outputs.unbind(0), targets.unbind(0))])
        return values.sum(), values.detach()

    def clip(self, net: nn.Module, max_norm: float) -> None:
        """Each member's gradient clipped by its own total norm, as ``clip_grad_norm_`` would: the
        norm of each member's slice of each gradient, their norm per member, then one product."""
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        with torch.no_grad():
            norms = torch._foreach_norm([g[m] for m in range(self.size) for g in grads], 2.0)
            totals = torch.stack([torch.linalg.vector_norm(torch.stack(norms[m * len(grads):(m + 1) * len(grads)]), 2.0)
                                  for m in range(self.size)])
            coefficients = torch.clamp(max_norm / (totals + 1e-6), max=1.0)
            for g in grads:
                g.mul_(coefficients.view(-1, *([1] * (g.dim() - 1))))

    def evaluate(self, net: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str) -> list[dict[str, float]]:
        values = outputs(net, x, member_axis=True)
        return [scores(values[m].clone(), y[m].clone(), loss) for m in range(self.size)]

    def member_net(self, net: nn.Module, template: nn.Module | None, member: int) -> nn.Module:
        """A solo network holding member ``member``'s current weights (``template``: its architecture)."""
        template.load_state_dict(member_state(net.state_dict(), member))
        return template

    def split(self, state: dict[str, Any]) -> list[dict[str, Any]]:
        """One solo-format training state per member."""
        return [{**_member_fields(state, m),
                 "net": member_state(state["net"], m),
                 "optimizer": _split_optimizer(state["optimizer"], m),
                 "intervention": _split_tree(state["intervention"], m)}
                for m in range(self.size)]

    def merge(self, states: list[dict[str, Any]]) -> dict[str, Any]:
        return {**_merged_fields(states),
                "net": stack_states([s["net"] for s in states]),
                "optimizer": _stack_optimizer([s["optimizer"] for s in states]),
                "intervention": _stack_tree([s["intervention"] for s in states])}

    def rng_states(self) -> list[dict[str, Any]]:
        return [{**setup, "torch": torch_state.clone()} for setup, torch_state in zip(self._setup, self._torch)]

    def set_rng_states(self, states: list[dict[str, Any]]) -> None:
        self._setup = [dict(state) for state in states]
        self._torch = [state["torch"].clone() for state in states]


@torch.no_grad()
def outputs(net: nn.Module, x: torch.Tensor, batch_size: int = 1024, member_axis: bool = False) -> torch.Tensor:
    """``net``'s outputs on ``x`` in eval mode, in chunks along the sample axis."""
    was_training = net.training
    net.eval()
    axis = 1 if member_axis else 0
    n = x.shape[axis]
    chunks = [net(x.narrow(axis, start, min(batch_size, n - start))) for start in range(0, n, batch_size)]
    net.train(was_training)
    return torch.cat(chunks, dim=axis)


def scores(values: torch.Tensor, y: torch.Tensor, loss: str) -> dict[str, float]:
    """The task loss and its score (accuracy or R²) of outputs ``values`` against ``y``."""
    score_name, score = SCORES[loss]
    return {"loss": float(LOSSES[loss](values, y)), score_name: score(values, y)}


def _split_tree(value: Any, member: int) -> Any:
    """Member ``member``'s part of a nested state: every tensor indexed on its member axis."""
    if isinstance(value, torch.Tensor):
        return value[member].clone()
    if isinstance(value, dict):
        return {key: _split_tree(item, member) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_split_tree(item, member) for item in value)
    return value


def _stack_tree(values: list[Any]) -> Any:
    first = values[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(values)
    if isinstance(first, dict):
        return {key: _stack_tree([value[key] for value in values]) for key in first}
    if isinstance(first, (list, tuple)):
        return type(first)(_stack_tree(list(items)) for items in zip(*values))
    return first


def _split_optimizer(state: dict[str, Any], member: int) -> dict[str, Any]:
    """AdamW's state of one member; the step count is shared (every member steps together)."""
    per_param = {index: {key: (value.clone() if key == "step" else value[member].clone()) for key, value in entry.items()}
                 for index, entry in state["state"].items()}
    return {"state": per_param, "param_groups": [dict(group) for group in state["param_groups"]]}


def _stack_optimizer(states: list[dict[str, Any]]) -> dict[str, Any]:
    first = states[0]
    per_param = {index: {key: (value.clone() if key == "step" else torch.stack([s["state"][index][key] for s in states]))
                         for key, value in entry.items()}
                 for index, entry in first["state"].items()}
    return {"state": per_param, "param_groups": [dict(group) for group in first["param_groups"]]}


PER_RUN_FIELDS = ("rng", "batch_generator", "rows", "fingerprint")  # lists with one entry per member


def _member_fields(state: dict[str, Any], member: int) -> dict[str, Any]:
    return {**state, **{key: state[key][member] for key in PER_RUN_FIELDS}}


def _merged_fields(states: list[dict[str, Any]]) -> dict[str, Any]:
    return {**states[0], **{key: [s[key] for s in states] for key in PER_RUN_FIELDS}}
