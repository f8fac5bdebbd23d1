"""How much memory an agent run's replay takes, computed from its config (no environment, no torch).

A training job asks the cluster for memory (``mem_mb``); with seeds stacked in one process every
member's replay is held at once, so the request must grow with the seeds a job stacks. The replay
(:class:`plasticlab.agents.replay.FrameReplay`) stores each frame once plus a few per-slot arrays;
its slot count is what :func:`plasticlab.agents.loop.make_replay` allocates.
"""

from __future__ import annotations

import math
from typing import Any

# Bytes per replay slot besides the frame: action and write_id (int64), reward (float32), four
# boolean flags (terminal, episode_end, episode_start, valid).
SLOT_OVERHEAD_BYTES = 8 + 8 + 4 + 4
# A prioritised replay's sum tree: float64 nodes, twice the leaves (a power of two ≥ slots).
TREE_BYTES_PER_LEAF = 2 * 8
# Channels of each MinAtar game's frames (10 × 10); ALE frames are 84 × 84 grey (envs/ale.py).
MINATAR_CHANNELS = {"asterix": 4, "breakout": 4, "freeway": 7, "seaquest": 10, "space_invaders": 6}


def frame_shape(env: dict[str, Any]) -> tuple[int, int, int]:
    """(C, H, W) of one stored frame under an environment spec."""
    if env.get("suite") == "minatar":
        return (MINATAR_CHANNELS[env["game"]], 10, 10)
    if env.get("suite") == "ale":
        size = int(env.get("screen_size", 84))
        return (1, size, size)
    raise KeyError(f"unknown environment suite {env.get('suite')!r}")


def replay_slots(agent_options: dict[str, Any], steps: int, defaults: dict[str, Any]) -> int:
    """Slots ``make_replay`` allocates: the ring's capacity, or, when that covers the run, every
    step plus a reserve for episode starts (it grows by an eighth if episodes are shorter)."""
    options = {**defaults, **(agent_options or {})}
    capacity, stack, n_step = int(options["replay_capacity"]), int(options["stack"]), int(options["n_step"])
    return steps + steps // 50 + stack + n_step if capacity >= steps else capacity


def replay_bytes(slots: int, shape: tuple[int, int, int], prioritised: bool) -> int:
    frames = slots * math.prod(shape)
    tree = TREE_BYTES_PER_LEAF * (1 << max(0, slots - 1).bit_length()) if prioritised else 0
    return frames + slots * SLOT_OVERHEAD_BYTES + tree


def run_replay_bytes(run_config: dict[str, Any], defaults: dict[str, Any]) -> int:
    """Replay bytes of one resolved agent run config; ``defaults`` are its agent's config defaults."""
    options = {**defaults, **(run_config.get("agent_options") or {})}
    slots = replay_slots(options, int(run_config["protocol"]["steps"]), defaults)
    return replay_bytes(slots, frame_shape(run_config["env"]), bool(options["prioritised"]))
