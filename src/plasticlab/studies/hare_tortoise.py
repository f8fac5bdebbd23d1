"""Hare & Tortoise for agents (Lee et al. 2024, "Slow and steady wins the race").

A DER agent whose Tortoise (EMA of the Hare's weights) acts at evaluation and periodically
resets the Hare, against plain DER and SR-SPR-style periodic resets of the last layers. (The
supervised warm-start half of the paper is the ``warmstart`` study.)
"""

from __future__ import annotations

from plasticlab.studies import register
from plasticlab.studies.agent_runs import AgentStudy


@register
class HareTortoiseStudy(AgentStudy):
    name = "hare_tortoise"
    paper = "Lee et al. 2024, 'Slow and steady wins the race: maintaining plasticity with Hare and Tortoise networks'"
    summary = "DER with Hare & Tortoise vs plain DER and periodic resets"
