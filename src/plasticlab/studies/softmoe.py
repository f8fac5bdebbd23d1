"""Soft MoE for value-based deep RL (Obando-Ceron et al. 2024, "Mixtures of experts unlock
parameter scaling for deep RL").

The penultimate dense layer of the Q-network is replaced by a Soft MoE over the conv map's
positions (1, 2, 4, 8 experts), with a top-1 MoE baseline, as in Dopamine's ``labs/moes``
(on DER: Dopamine's full Rainbow network, whose dueling streams read the MoE's flattened
tokens). The paper's claim: Soft MoE improves returns over the baseline and keeps improving as
experts are added ("more parameter-scalable models"), while top-1 routing does not. Every
setting, its source and each deviation: ``docs/fidelity-agents.md``.

Claims checked on the table, both on the IQM of normalised final scores (stratified bootstrap,
paired by seed) and both needing the plain agent to beat random play:

- ``softmoe_improves_return``: ``soft8`` − ``none`` is positive;
- ``more_experts_help``: ``soft8`` − ``soft1`` is positive (the scaling claim, at the ends of the
  expert grid). The variant names are those of ``config/config.yaml`` and ``config/paper.yaml``; a
  config without them leaves the claim ``not run``. "Top-1 routing does not improve" is a claim of
  no effect, which a CI on one side of zero cannot reproduce; its IQM and CI are in the table.
"""

from __future__ import annotations

from plasticlab.analysis.claims import Claim
from plasticlab.studies import register
from plasticlab.studies.agent_runs import AgentStudy, beats_random, iqm_gain


@register
class SoftMoEStudy(AgentStudy):
    name = "softmoe"
    paper = "Obando-Ceron et al. 2024, 'Mixtures of experts unlock parameter scaling for deep RL'"
    summary = "Soft MoE (1-8 experts) and top-1 MoE in place of the penultimate layer"
    comparisons = (("soft8", "soft1"),)
    claims = (
        Claim("softmoe_improves_return", "Soft MoE improves performance over the baseline",
              "IQM of normalised final scores, soft8 − none (stratified bootstrap, paired by seed)", "greater",
              iqm_gain("soft8"), (beats_random(),)),
        Claim("more_experts_help", "performance keeps improving as experts are added",
              "IQM of normalised final scores, soft8 − soft1 (stratified bootstrap, paired by seed)", "greater",
              iqm_gain("soft8", "soft1"), (beats_random(),)),
    )
