"""Periodic parameter surgery (shrink & perturb, ReDo) on stacked seeds, through the solo code.

These interventions act every ``every_steps`` updates on a network's parameters, and ReDo also on
Adam's moments. Rather than re-derive each one for a member axis, every ``every_steps`` updates
each member's own solo intervention object (built with its solo agent) runs on its solo network:
the member's slices are copied in, torch's global RNG holds the member's state (fresh
initialisations and noise draw what its solo run draws), the optimiser it sees is the member's
view of the stacked Adam moments, and the result is copied back into the slices. Between those
updates nothing is added to the stacked step. ReDo scores units on the update's own batch, as its
solo loss hook records it.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from plasticlab.agents.dqn import DQN
from plasticlab.agents.replay import ReplayBatch
from plasticlab.interventions import TrainContext
from plasticlab.interventions.redo import ReDo
from plasticlab.interventions.shrink_perturb import ShrinkPerturb
from plasticlab.supervised.stacking import NotStackable

# The solo interventions this runs: hooks that touch parameters and Adam's moments in place and
# never drop optimiser state (a dropped entry restarts Adam's step count, shared by the members).
MEMBER_HOOKS = (ShrinkPerturb, ReDo)


class MemberMoments:
    """A member's view of a stacked optimiser, as the solo interventions use one: ``state`` maps
    each solo parameter to its slices of the stacked moments (writes reach the stacked state)."""

    def __init__(self, optimizer: Any, member: int, pairs: Sequence[tuple[torch.Tensor, torch.Tensor]]):
        self.state = {}
        for solo, stacked in pairs:
            moments = optimizer.state.get(stacked)
            if moments:
                self.state[solo] = {key: value if key == "step" else value[member] for key, value in moments.items()}


class MemberHooks:
    """Every member's solo intervention run on its solo network every ``every_steps`` updates."""

    def __init__(self, agents: Sequence[DQN], generators: Sequence[torch.Generator]):
        first = agents[0].intervention
        if first.every_steps is None:  # agent runs have one task: task-start hooks never fire
            raise NotStackable(f"{first.name} without every_steps never acts in an agent run; nothing to stack")
        self.agents, self.generators, self.every_steps = list(agents), list(generators), first.every_steps
        self.batches: Sequence[ReplayBatch] = ()

    @torch.no_grad()
    def after_step(self, ctx: TrainContext) -> None:
        if ctx.step % self.every_steps != 0:
            return
        stacked = dict(ctx.net.named_parameters())
        for member, (agent, generator, batch) in enumerate(zip(self.agents, self.generators, self.batches)):
            solo = dict(agent.online.named_parameters())
            for name, param in solo.items():
                param.copy_(stacked[name][member])
            saved_step, saved_optimizer = agent.ctx.step, agent.ctx.optimizer
            agent.ctx.step = ctx.step
            agent.ctx.optimizer = MemberMoments(ctx.optimizer, member, [(solo[name], stacked[name]) for name in solo])
            torch.set_rng_state(generator.get_state())
            try:
                agent.intervention.loss(agent.ctx, agent._obs_tensor(batch.obs))  # ReDo keeps the batch
                agent.intervention.after_step(agent.ctx)
            finally:
                generator.set_state(torch.get_rng_state())
                agent.ctx.step, agent.ctx.optimizer = saved_step, saved_optimizer
            for name, param in solo.items():
                stacked[name][member].copy_(param)

    def state_dict(self) -> dict[str, Any]:
        return {"members": [agent.intervention.state_dict() for agent in self.agents]}

    def load_state_dict(self, state: dict[str, Any], ctx: TrainContext) -> None:
        for agent, saved in zip(self.agents, state["members"]):
            agent.intervention.load_state_dict(saved, agent.ctx)
