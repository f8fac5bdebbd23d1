"""Several seeds' networks as one: parameters stacked along a leading member axis.

Small networks spend most of a training step in per-operation overhead, not arithmetic; a job
that trains the seeds of one variant together (``Study.train_seeds``) runs one batched operation
where it would run one per seed (``benchmarks/supervised_seeds.py``). Each member computes
exactly what it computes alone, bit for bit on CPU (tests/supervised/test_seed_jobs.py):

* a linear layer runs one batched matrix product, whose forward equals ``F.linear`` per member;
  its weight gradient is formed as gᵀ·x, which matches ``F.linear``'s backward (autograd's own
  ``baddbmm`` backward forms (xᵀ·g)ᵀ and rounds differently for narrow layers such as a 10-way
  head); at sizes where BLAS would still differ (checked once per shape) it runs member by member;
* parameter updates must act on each member's slice as a tensor of its own (``AdamW`` with
  ``member_axis``): fused element-wise kernels round a value differently in their vectorised body
  and their scalar tail, so a member's values must sit at the positions they have alone;
* layer normalisation (and group norm, its form for conv maps) runs member by member; element-wise activations (and the agents' uint8 →
  float ``ToFloat``) need nothing; ``Flatten`` keeps the member axis;
* a convolution runs member by member, in the memory format the solo network uses.

A grouped convolution (member m = group m, used where a once-per-shape check on random data found
it bit-exact) was removed after a comparison that was misread: a solo run shortened to 100k steps
left the 500k-step stacked tier job near step 92k, but at ``steps <= replay_capacity`` the loop
keeps every transition instead of wrapping its 100k-frame ring, which changes the run from the
wrap on. Against solo runs of 110k steps (ring as in the tier) the stacked tier jobs equal their
solo runs row for row through 110k, and on the machine they ran on the grouped path was never
taken (its check fails for MinAtar's channels-last batches there). So there is no evidence that
the grouped convolution was inexact, and none that it was exact over a whole run either; it stays
out until a long run on a machine that takes it shows it equal (``tests/agents/test_members.py``
has a stacked case whose replay ring wraps).

Anything else (batch norm, CReLU, parameters held directly by a container) raises
:class:`NotStackable`, and the caller trains those seeds one by one. The value-based agents use
these stacks too (``plasticlab.agents.members``) and register stackers of their own (noisy layers,
plasticity injection's network, Soft MoE: ``register_stacker``).
Stacked layers subclass the layer they stack, so interventions that look for "the last k
``Linear`` layers" (resets) find them unchanged.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from plasticlab.nets.mlp import ACTIVATIONS
from plasticlab.nets.qnets import ToFloat

class NotStackable(ValueError):
    """A module this file cannot stack (so the seeds are trained one by one)."""


def _stack_parameter(tensors: list[torch.Tensor | None]) -> nn.Parameter | None:
    """The members' parameters along a new first axis; frozen if the first member's is (frozen
    heads of plasticity injection must stay out of the gradient)."""
    if tensors[0] is None:
        return None
    return nn.Parameter(torch.stack([t.detach() for t in tensors]).clone(), requires_grad=tensors[0].requires_grad)


class _BatchedLinear(torch.autograd.Function):
    """y = x·Wᵀ + b per member; the weight gradient is gᵀ·x (see the module docstring)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        if bias is None:
            return torch.bmm(x, weight.transpose(1, 2))
        return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        grad_x = torch.bmm(grad, weight) if ctx.needs_input_grad[0] else None
        grad_weight = torch.bmm(grad.transpose(1, 2), x) if ctx.needs_input_grad[1] else None
        grad_bias = grad.sum(1) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_weight, grad_bias


_BATCHED_EXACT: dict[tuple[int, ...], bool] = {}


def batched_linear_is_exact(members: int, batch: int, inputs: int, outputs: int, bias: bool) -> bool:
    """Whether :class:`_BatchedLinear` reproduces ``F.linear`` per member, bit for bit, at these
    sizes (forward, input and weight gradients). BLAS picks its kernel by shape, so one check on
    random numbers per shape settles it; the answer is cached for the process."""
    key = (members, batch, inputs, outputs, bias, torch.get_num_threads())
    if key not in _BATCHED_EXACT:
        with torch.enable_grad():
            _BATCHED_EXACT[key] = _check_batched_linear(members, batch, inputs, outputs, bias)
    return _BATCHED_EXACT[key]


def _check_batched_linear(members: int, batch: int, inputs: int, outputs: int, bias: bool) -> bool:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(members, batch, inputs, generator=generator)
    weight = torch.randn(members, outputs, inputs, generator=generator)
    b = torch.randn(members, outputs, generator=generator) if bias else None
    grad = torch.randn(members, batch, outputs, generator=generator)
    xs, ws = x.clone().requires_grad_(), weight.clone().requires_grad_()
    out = _BatchedLinear.apply(xs, ws, b)
    out.backward(grad)
    for m in range(members):
        xm, wm = x[m].clone().requires_grad_(), weight[m].clone().requires_grad_()
        solo = F.linear(xm, wm, None if b is None else b[m])
        solo.backward(grad[m])
        if not (torch.equal(solo, out[m]) and torch.equal(xm.grad, xs.grad[m]) and torch.equal(wm.grad, ws.grad[m])):
            return False
    return True


class StackedLinear(nn.Linear):
    """S linear layers of one shape; input (S, B, in) → output (S, B, out).

    One batched product at the sizes where that is exact (:func:`batched_linear_is_exact`; in
    practice every full minibatch), else ``F.linear`` member by member (e.g. an epoch's last,
    short minibatch, where BLAS switches kernels).
    """

    def __init__(self, layers: list[nn.Linear]):
        nn.Module.__init__(self)
        self.members = len(layers)
        self.in_features, self.out_features = layers[0].in_features, layers[0].out_features
        self.weight = _stack_parameter([layer.weight for layer in layers])
        self.bias = _stack_parameter([layer.bias for layer in layers])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return stacked_linear(x, self.weight, self.bias)


def stacked_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``F.linear`` per member: x (S, B, in), weight (S, out, in), bias (S, out) or None."""
    members, outputs, inputs = weight.shape
    if batched_linear_is_exact(members, x.shape[1], inputs, outputs, bias is not None):
        return _BatchedLinear.apply(x, weight, bias)
    # member by member, each slice copied to memory of its own: BLAS can round a product
    # differently when a matrix does not start on an aligned address, as a slice need not
    biases = bias.unbind(0) if bias is not None else [None] * members
    return torch.stack([F.linear(xm.clone(), wm.clone(), None if bm is None else bm.clone())
                        for xm, wm, bm in zip(x.unbind(0), weight.unbind(0), biases)])


class StackedLayerNorm(nn.LayerNorm):
    """S layer norms over the last dimension, member by member (each equals its own kernel)."""

    def __init__(self, norms: list[nn.LayerNorm]):
        nn.Module.__init__(self)
        first = norms[0]
        self.members = len(norms)
        self.normalized_shape, self.eps, self.elementwise_affine = first.normalized_shape, first.eps, first.elementwise_affine
        self.weight = _stack_parameter([norm.weight for norm in norms])
        self.bias = _stack_parameter([norm.bias for norm in norms])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # unbind (one backward node per tensor) rather than indexing member by member
        weights = self.weight.unbind(0) if self.weight is not None else [None] * self.members
        biases = self.bias.unbind(0) if self.bias is not None else [None] * self.members
        return torch.stack([F.layer_norm(xm, self.normalized_shape, wm, bm, self.eps)
                            for xm, wm, bm in zip(x.unbind(0), weights, biases)])


class StackedGroupNorm(nn.GroupNorm):
    """S group norms (layer norm's form for conv maps) member by member, each member's map in the
    memory format its solo network computes in (the kernel, and so the rounding, depends on it;
    set by the stacked agent, contiguous by default)."""

    def __init__(self, norms: list[nn.GroupNorm]):
        nn.Module.__init__(self)
        first = norms[0]
        self.members = len(norms)
        self.num_groups, self.num_channels = first.num_groups, first.num_channels
        self.eps, self.affine = first.eps, first.affine
        self.weight = _stack_parameter([norm.weight for norm in norms])
        self.bias = _stack_parameter([norm.bias for norm in norms])
        self.memory_format = torch.contiguous_format

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = [w.clone() for w in self.weight.unbind(0)] if self.weight is not None else [None] * self.members
        biases = [b.clone() for b in self.bias.unbind(0)] if self.bias is not None else [None] * self.members
        return torch.stack([F.group_norm(xm.contiguous(memory_format=self.memory_format), self.num_groups, wm, bm,
                                         self.eps) for xm, wm, bm in zip(x.unbind(0), weights, biases)])


class StackedFlatten(nn.Flatten):
    """``Flatten`` shifted by one dimension, so the member axis stays in front."""

    def __init__(self, flattens: list[nn.Flatten]):
        first = flattens[0]
        super().__init__(first.start_dim + 1 if first.start_dim >= 0 else first.start_dim,
                         first.end_dim if first.end_dim < 0 else first.end_dim + 1)


def _conv_member(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, conv: nn.Conv2d,
                 memory_format: torch.memory_format) -> torch.Tensor:
    """One member's convolution as its solo network computes it: operands in their own memory,
    in the solo network's memory format (the oneDNN kernel, and so the rounding, depends on it)."""
    return F.conv2d(x.contiguous(memory_format=memory_format), weight.contiguous(memory_format=memory_format),
                    None if bias is None else bias.clone(), conv.stride, conv.padding, conv.dilation, conv.groups)


class StackedConv2d(nn.Conv2d):
    """S convolutions of one shape; input (S, B, C, H, W) → output (S, B, O, H', W').

    ``memory_format`` is the one the solo network computes in (the agents run channels-last).
    """

    def __init__(self, convs: list[nn.Conv2d], memory_format: torch.memory_format | None = None):
        nn.Module.__init__(self)
        first = convs[0]
        if first.padding_mode != "zeros" or isinstance(first.padding, str):
            raise NotStackable("only zero-padded convolutions with numeric padding stack")
        self.members = len(convs)
        for name in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
                     "padding_mode", "transposed", "output_padding"):
            setattr(self, name, getattr(first, name))
        if memory_format is None:
            memory_format = torch.channels_last if first.weight.is_contiguous(memory_format=torch.channels_last) \
                and not first.weight.is_contiguous() else torch.contiguous_format
        self.memory_format = memory_format
        self.weight = _stack_parameter([conv.weight for conv in convs])
        self.bias = _stack_parameter([conv.bias for conv in convs])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        biases = self.bias.unbind(0) if self.bias is not None else [None] * self.members
        return torch.stack([_conv_member(xm, wm, bm, self, self.memory_format)
                            for xm, wm, bm in zip(x.unbind(0), self.weight.unbind(0), biases)])


_LEAVES = {nn.Linear: StackedLinear, nn.LayerNorm: StackedLayerNorm, nn.GroupNorm: StackedGroupNorm,
           nn.Flatten: StackedFlatten, nn.Conv2d: StackedConv2d}
_ELEMENTWISE = tuple(ACTIVATIONS.values()) + (nn.Identity, ToFloat)


def register_stacker(layer: type[nn.Module], stacker: Any) -> None:
    """Stack ``layer`` with ``stacker(members)`` (an exact subclass match, as for the built-ins);
    the agents register their noisy layers this way."""
    _LEAVES[layer] = stacker


def stack_modules(members: list[nn.Module]) -> nn.Module:
    """One module running every member at once (inputs and outputs carry a leading member axis).

    Containers (``Sequential``, wrappers such as InFeR's auxiliary heads) are copied from the
    first member with every child replaced by the stack of the members' children.
    """
    first = members[0]
    if any(type(member) is not type(first) for member in members):
        raise NotStackable(f"members differ in architecture: {sorted({type(m).__name__ for m in members})}")
    stacker = _LEAVES.get(type(first))
    if stacker is not None:
        return stacker(members)
    if type(first) in _ELEMENTWISE:
        return copy.deepcopy(first)
    if list(first.parameters(recurse=False)) or list(first.buffers(recurse=False)):
        raise NotStackable(f"cannot stack {type(first).__name__}: it holds parameters or buffers of its own")
    children = list(first.named_children())
    if not children:
        raise NotStackable(f"cannot stack {type(first).__name__}")
    stacked = copy.deepcopy(first)
    stacked._modules = {name: stack_modules([member._modules[name] for member in members]) for name, _ in children}
    return stacked


def member_state(state: dict[str, torch.Tensor], member: int) -> dict[str, torch.Tensor]:
    """The state dict member ``member`` would have alone (copies: later steps do not change it)."""
    return {name: value[member].clone() for name, value in state.items()}


def stack_states(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The stacked network's state dict from its members' (inverse of :func:`member_state`)."""
    return {name: torch.stack([state[name] for state in states]) for name in states[0]}
