"""Soft MoE for value-based deep RL (Obando-Ceron et al. 2024, "Mixtures of experts unlock
parameter scaling for deep RL").

The penultimate dense layer of the Q-network is replaced by a Soft MoE over the conv map's
positions (1, 2, 4, 8 experts), with a top-1 MoE baseline. The paper's claim: Soft MoE improves
returns over the baseline and keeps improving as experts are added, while top-1 routing does not.
"""

from __future__ import annotations

from plasticlab.studies import register
from plasticlab.studies.agent_runs import AgentStudy


@register
class SoftMoEStudy(AgentStudy):
    name = "softmoe"
    paper = "Obando-Ceron et al. 2024, 'Mixtures of experts unlock parameter scaling for deep RL'"
    summary = "Soft MoE (1-8 experts) and top-1 MoE in place of the penultimate layer"
