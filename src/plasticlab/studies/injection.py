"""Plasticity injection (Nikishin et al. 2023, "Deep RL with plasticity injection").

Double DQN agents with and without injection: at the injection step the Q head is frozen and a
fresh trainable head (minus its frozen copy) is added, so predictions are unchanged and the
trainable parameter count stays the same; the encoder keeps training. The paper's claim:
injection restores plasticity and raises the return over a plain agent that trained as long
(and where it does, the plain agent was losing plasticity). Every setting, its source and each
deviation: ``docs/fidelity-agents.md`` (paper config: Dopamine's JAX DQN on the sticky-action
protocol; MinAtar tier: ``config/minatar.yaml``).

Claim checked on the table: ``injection_improves_return``, the IQM of normalised final scores of
injection − plain (stratified bootstrap, paired by seed) is positive, provided the plain agent
beats random play. The paper's other property, that injecting does not change the predictions
at the moment of injection, holds by construction and is a unit test of the intervention
(``tests/interventions``), not a statistic of runs.
"""

from __future__ import annotations

from plasticlab.analysis.claims import Claim
from plasticlab.studies import register
from plasticlab.studies.agent_runs import AgentStudy, beats_random, iqm_gain


@register
class Injection(AgentStudy):
    name = "injection"
    paper = "Nikishin et al. 2023, 'Deep reinforcement learning with plasticity injection'"
    summary = "DQN with plasticity injection vs plain DQN"
    claims = (
        Claim("injection_improves_return", "plasticity injection attains stronger performance than the agent "
              "trained without it",
              "IQM of normalised final scores, injection − none (stratified bootstrap, paired by seed)", "greater",
              iqm_gain("injection"), (beats_random(),)),
    )
