"""Hare & Tortoise for agents (Lee et al. 2024, "Slow and steady wins the race").

A DER agent whose Tortoise (EMA of the Hare's weights) acts at evaluation and periodically
resets the Hare, against plain DER and SR-SPR-style periodic resets of the last layers. (The
supervised warm-start half of the paper is the ``warmstart`` study.) The EMA coefficient and the
reset period of the paper's RL runs could not be checked against its appendix here; the values
and their provenance are in ``docs/fidelity-agents.md``.

Claim checked on the table: ``hare_tortoise_improves_return``, the IQM of normalised final
scores of hare_tortoise − none (stratified bootstrap, paired by seed) is positive, provided the
plain agent beats random play.
"""

from __future__ import annotations

from plasticlab.analysis.claims import Claim
from plasticlab.studies import register
from plasticlab.studies.agent_runs import AgentStudy, beats_random, iqm_gain


@register
class HareTortoiseStudy(AgentStudy):
    name = "hare_tortoise"
    paper = "Lee et al. 2024, 'Slow and steady wins the race: maintaining plasticity with Hare and Tortoise networks'"
    summary = "DER with Hare & Tortoise vs plain DER and periodic resets"
    claims = (
        Claim("hare_tortoise_improves_return", "Hare & Tortoise improves reinforcement learning algorithms on the "
              "Atari-100k benchmark",
              "IQM of normalised final scores, hare_tortoise − none (stratified bootstrap, paired by seed)", "greater",
              iqm_gain("hare_tortoise"), (beats_random(),)),
    )
