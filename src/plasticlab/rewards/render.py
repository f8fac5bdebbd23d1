"""Deterministic RGB rendering of scenes: one sprite per cell code, tiled.

Each code (empty, agent, object kind) has a fixed ``cell × cell`` sprite, so a frame is a pure
function of the scene and a whole batch renders as one fancy-indexing operation. The agent lights
up its reach: the four cells next to it get a grey outline. "Next to" is then visible within one
cell, which small encoders can learn on a CPU budget; relating distant patches is left to
attention over the scene (which object is outlined, and is it the goal's).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from plasticlab.rewards.scenes import COLOURS, KINDS

BACKGROUND = (30, 30, 30)
AGENT = (245, 245, 245)
REACH = (150, 150, 150)


def _mask(shape: str, cell: int) -> np.ndarray:
    """Boolean mask of a shape inside a cell with a one-pixel margin."""
    y, x = np.mgrid[0:cell, 0:cell] + 0.5
    inner = cell - 2.0
    u, v = (x - 1.0) / inner, (y - 1.0) / inner  # 0..1 inside the margin
    inside = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    if shape == "square":
        return inside
    if shape == "circle":
        return (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25
    if shape == "triangle":  # apex at the top
        return inside & (np.abs(u - 0.5) <= 0.5 * v)
    if shape == "diamond":
        return np.abs(u - 0.5) + np.abs(v - 0.5) <= 0.5
    if shape == "plus":
        return inside & ((np.abs(u - 0.5) <= 0.17) | (np.abs(v - 0.5) <= 0.17))
    raise ValueError(f"unknown shape {shape!r}")


CODES = 2 + len(KINDS)  # empty, agent, objects; + CODES: the same inside the agent's reach


@lru_cache(maxsize=8)
def sprites(cell: int) -> np.ndarray:
    """``(2·CODES, cell, cell, 3)`` uint8: empty, agent (a white plus), every object kind; then the
    same with the reach outline."""
    if cell < 4:
        raise ValueError(f"cells of {cell} px are too small to draw shapes; use at least 4")
    bank = np.empty((2 * CODES, cell, cell, 3), dtype=np.uint8)
    bank[:] = BACKGROUND
    bank[1][_mask("plus", cell)] = AGENT
    for index, (colour, shape) in enumerate(KINDS):
        bank[2 + index][_mask(shape, cell)] = COLOURS[colour]
    bank[CODES:] = bank[:CODES]
    border = np.ones((cell, cell), dtype=bool)
    border[1:-1, 1:-1] = False
    bank[CODES:, border] = REACH
    bank.setflags(write=False)
    return bank


def reach(codes: np.ndarray) -> np.ndarray:
    """Cells 4-adjacent to the agent (code 1), as a boolean array shaped like ``codes``."""
    agent = np.asarray(codes) == 1
    near = np.zeros_like(agent)
    near[..., 1:, :] |= agent[..., :-1, :]
    near[..., :-1, :] |= agent[..., 1:, :]
    near[..., :, 1:] |= agent[..., :, :-1]
    near[..., :, :-1] |= agent[..., :, 1:]
    return near


def render_codes(codes: np.ndarray, cell: int) -> np.ndarray:
    """Cell codes ``(..., grid, grid)`` → RGB frames ``(..., grid·cell, grid·cell, 3)`` uint8."""
    codes = np.asarray(codes)
    tiles = sprites(cell)[codes + CODES * reach(codes)]  # (..., G, G, c, c, 3)
    lead, grid = codes.shape[:-2], codes.shape[-1]
    tiles = np.moveaxis(tiles, -4, -3)  # (..., G, c, G, c, 3)
    return tiles.reshape(*lead, grid * cell, grid * cell, 3)
