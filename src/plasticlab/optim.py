"""AdamW (Loshchilov & Hutter 2019) without ``torch.optim``'s start-up cost.

Constructing any ``torch.optim`` optimiser imports torch's compiler stack (~1.3 s). The default
workflow runs hundreds of short jobs, where that import would be a third of each job; this class
does the same arithmetic with the same state layout (``step``, ``exp_avg``, ``exp_avg_sq`` per
parameter, ``param_groups``, ``state_dict``), so interventions that edit optimiser state (ReDo,
resets) work on either. It is tested step for step against ``torch.optim.AdamW``.
Set ``optimizer.implementation: torch`` in a config to use torch's (fused on GPU) instead.
``fused=True`` (``implementation: fused``) runs the same update with torch's fused AdamW kernel
(``torch._fused_adamw_``, one call for all parameters, CPU or GPU): ~4× faster steps for large
networks, still without importing ``torch.optim``.

``member_axis=True`` is for the stacked seeds of ``plasticlab.supervised.stacking``: every
parameter's first axis indexes independent runs, and each run's slice is updated as a tensor of
its own. The arithmetic is the same either way, but fused element-wise kernels round a value
differently in their vectorised body and their scalar tail, so only slice-by-slice updates give
each run bit for bit the values of a solo run. State stays stacked (one tensor per parameter).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import torch


class AdamW:
    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, fused: bool = False, member_axis: bool = False):
        self.fused = fused
        self.member_axis = member_axis
        self.param_groups = [{"params": list(params), "lr": lr, "betas": tuple(betas), "eps": eps,
                              "weight_decay": weight_decay}]
        self.state: dict[torch.Tensor, dict[str, Any]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none:
                    param.grad = None
                elif param.grad is not None:
                    param.grad.zero_()

    def _state(self, param: torch.Tensor) -> dict[str, Any]:
        state = self.state.get(param)
        if not state:
            step = torch.tensor(0.0, device=param.device if self.fused else "cpu")
            state = self.state[param] = {"step": step, "exp_avg": torch.zeros_like(param),
                                         "exp_avg_sq": torch.zeros_like(param)}
        return state

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            if self.fused:
                self._fused_step(group)
                continue
            lr, (beta1, beta2), eps, decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self._state(param)
                state["step"] += 1
                step = float(state["step"])
                for p, grad, exp_avg, exp_avg_sq in self._slices(param, param.grad, state["exp_avg"], state["exp_avg_sq"]):
                    p.mul_(1.0 - lr * decay)
                    exp_avg.lerp_(grad, 1.0 - beta1)
                    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
                    bias1, bias2 = 1.0 - beta1**step, 1.0 - beta2**step
                    denominator = (exp_avg_sq.sqrt() / math.sqrt(bias2)).add_(eps)
                    p.addcdiv_(exp_avg, denominator, value=-lr / bias1)

    def _slices(self, *tensors: torch.Tensor) -> list[tuple[torch.Tensor, ...]]:
        """The tensors themselves, or (``member_axis``) one tuple of slices per member."""
        if not self.member_axis:
            return [tensors]
        return list(zip(*(t.unbind(0) for t in tensors)))

    def _fused_step(self, group: dict[str, Any]) -> None:
        """All parameters of the group in one fused kernel call (they share device and dtype)."""
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            return
        states = [self._state(p) for p in params]
        steps = [s["step"] for s in states]
        torch._foreach_add_(steps, 1.0)
        beta1, beta2 = group["betas"]
        slices = [(piece, step) for p, s, step in zip(params, states, steps)
                  for piece in self._slices(p, p.grad, s["exp_avg"], s["exp_avg_sq"])]
        torch._fused_adamw_([t[0] for t, _ in slices], [t[1] for t, _ in slices], [t[2] for t, _ in slices],
                            [t[3] for t, _ in slices], [], [step for _, step in slices], amsgrad=False, lr=group["lr"],
                            beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
                            maximize=False)

    def state_dict(self) -> dict[str, Any]:
        """Same layout as torch's: state keyed by parameter index, groups with index lists."""
        index = {id(p): i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}
        return {
            "state": {index[id(p)]: {k: v.clone() for k, v in s.items()} for p, s in self.state.items()},
            "param_groups": [{**{k: v for k, v in g.items() if k != "params"}, "params": [index[id(p)] for p in g["params"]]}
                             for g in self.param_groups],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        params = [p for g in self.param_groups for p in g["params"]]
        def restored(name: str, value: torch.Tensor, param: torch.Tensor) -> torch.Tensor:
            on_param_device = name != "step" or self.fused  # the fused kernel keeps steps beside the parameters
            return value.clone().to(param.device) if on_param_device else value.clone().cpu()

        self.state = {params[i]: {k: restored(k, v, params[i]) for k, v in s.items()}
                      for i, s in state_dict["state"].items()}
        for group, saved in zip(self.param_groups, state_dict["param_groups"]):
            group.update({k: v for k, v in saved.items() if k != "params"})


def make_adamw(params: Iterable[torch.Tensor], implementation: str = "plasticlab", member_axis: bool = False,
               **kwargs: Any) -> Any:
    """AdamW from this module (fast start; ``fused`` uses torch's fused kernel) or from torch
    (``implementation: torch``; fused). ``member_axis``: see :class:`AdamW` (this module's only)."""
    if implementation == "torch":
        if member_axis:
            raise ValueError("optimizer implementation 'torch' cannot update stacked seeds slice by slice; "
                             "use 'fused' or 'plasticlab'")
        return torch.optim.AdamW(params, fused=True, **kwargs)
    if implementation not in ("plasticlab", "fused"):
        raise ValueError(f"unknown optimizer implementation {implementation!r}; available: fused, plasticlab, torch")
    return AdamW(params, fused=implementation == "fused", member_axis=member_axis, **kwargs)
