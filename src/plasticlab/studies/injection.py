"""Plasticity injection (Nikishin et al. 2023, "Deep RL with plasticity injection").

DQN agents with and without injection: at the injection step the Q head is frozen and a fresh
trainable head (minus its frozen copy) is added, so predictions are unchanged and the trainable
parameter count stays the same; the encoder keeps training. The paper's claim: injection
restores plasticity and raises the final return over a plain agent that trained as long.
"""

from __future__ import annotations

from plasticlab.studies import register
from plasticlab.studies.agent_runs import AgentStudy


@register
class Injection(AgentStudy):
    name = "injection"
    paper = "Nikishin et al. 2023, 'Deep reinforcement learning with plasticity injection'"
    summary = "DQN with plasticity injection vs plain DQN"
