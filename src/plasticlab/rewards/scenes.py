"""Scenes of a small room: coloured shapes on a grid and one agent, with the ground truth.

A scene is fully described by integer arrays (object cells, object kinds, agent cell), so the
rendering, the captions and the ground-truth success of a goal are pure functions of it: rewards
per (state, goal) can be cached, and the training set of the contrastive models is generated from
the same scene sampler as the RL task, but never from the RL task's own layouts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40), "green": (40, 180, 60), "blue": (50, 90, 230), "yellow": (230, 210, 40),
    "purple": (150, 60, 200),
}
SHAPES = ("square", "circle", "triangle", "diamond")
KINDS: list[tuple[str, str]] = [(colour, shape) for colour in COLOURS for shape in SHAPES]  # object kind = index
NOTHING = "the agent is next to nothing"


def goal_text(kind: int) -> str:
    """The language goal of reaching an object of ``kind`` (also its training caption)."""
    colour, shape = KINDS[kind]
    return f"the agent is next to the {colour} {shape}"


def caption_vocabulary() -> list[str]:
    """Every word a caption or goal can use (the word tokenizer's vocabulary)."""
    words = {w for kind in range(len(KINDS)) for w in goal_text(kind).split()} | set(NOTHING.split())
    return sorted(words)


@dataclass(frozen=True)
class Layout:
    """A room: ``grid × grid`` cells; objects of distinct ``kinds`` at ``cells`` (flat indices).

    The agent may stand on any cell without an object; those cells are the RL task's states.
    """

    grid: int
    cells: tuple[int, ...]
    kinds: tuple[int, ...]

    @property
    def free_cells(self) -> np.ndarray:
        return np.setdiff1d(np.arange(self.grid * self.grid), np.asarray(self.cells))

    def neighbours(self, cell: int) -> list[int]:
        row, col = divmod(int(cell), self.grid)
        around = [(row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1)]
        return [r * self.grid + c for r, c in around if 0 <= r < self.grid and 0 <= c < self.grid]

    def adjacent_kinds(self, agent_cell: int) -> list[int]:
        """Kinds of the objects 4-adjacent to the agent: the ground truth of every goal."""
        near = set(self.neighbours(agent_cell))
        return [kind for cell, kind in zip(self.cells, self.kinds) if cell in near]

    def success(self, agent_cell: int, kind: int) -> bool:
        """Ground truth of "the agent is next to the <kind>" (used for evaluation only)."""
        return kind in self.adjacent_kinds(agent_cell)

    def codes(self, agent_cell: int) -> np.ndarray:
        """Cell codes ``(grid, grid)``: 0 empty, 1 agent, 2 + kind for an object (what is drawn)."""
        codes = np.zeros(self.grid * self.grid, dtype=np.int64)
        codes[list(self.cells)] = 2 + np.asarray(self.kinds)
        codes[int(agent_cell)] = 1
        return codes.reshape(self.grid, self.grid)


def random_layout(rng: np.random.Generator, grid: int, objects: int) -> Layout:
    """Objects of distinct kinds on distinct random cells."""
    if objects > len(KINDS) or objects >= grid * grid:
        raise ValueError(f"{objects} objects do not fit: {len(KINDS)} kinds, {grid * grid} cells")
    cells = rng.choice(grid * grid, size=objects, replace=False)
    kinds = rng.choice(len(KINDS), size=objects, replace=False)
    return Layout(grid, tuple(int(c) for c in cells), tuple(int(k) for k in kinds))


def neighbour_table(grid: int) -> np.ndarray:
    """``(grid², 4)`` 4-neighbours of every cell, −1 outside the room."""
    row, col = np.divmod(np.arange(grid * grid), grid)
    table = []
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        r, c = row + dr, col + dc
        table.append(np.where((r >= 0) & (r < grid) & (c >= 0) & (c < grid), r * grid + c, -1))
    return np.stack(table, axis=1)


def _pick(rng: np.random.Generator, allowed: np.ndarray) -> np.ndarray:
    """Per row, a uniformly random column where ``allowed`` (−1 where none is)."""
    keys = np.where(allowed, rng.random(allowed.shape), -1.0)
    return np.where(allowed.any(axis=1), keys.argmax(axis=1), -1)


def sample_captioned_scenes(rng: np.random.Generator, count: int, grid: int, objects: int,
                            positive_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random scenes as cell codes ``(count, grid, grid)`` and a true caption each, as an
    index into :func:`captions` (kind k → its goal text, ``len(KINDS)`` → "next to nothing").

    With probability ``positive_fraction`` the agent is placed next to a random object (uniform
    placement would make "next to nothing" most captions); the caption names one adjacent object
    at random. Vectorised over scenes: the training loop draws a fresh batch every step.
    """
    if objects > len(KINDS) or objects >= grid * grid:
        raise ValueError(f"{objects} objects do not fit: {len(KINDS)} kinds, {grid * grid} cells")
    rows = np.arange(count)[:, None]
    cells = rng.random((count, grid * grid)).argsort(axis=1)[:, :objects]
    kinds = rng.random((count, len(KINDS))).argsort(axis=1)[:, :objects]
    occupied = np.zeros((count, grid * grid), dtype=bool)
    occupied[rows, cells] = True
    anywhere = _pick(rng, ~occupied)
    neighbours = neighbour_table(grid)[cells[np.arange(count), rng.integers(objects, size=count)]]  # (count, 4)
    free_neighbour = (neighbours >= 0) & ~occupied[rows, np.maximum(neighbours, 0)]
    choice = _pick(rng, free_neighbour)
    near = np.where(choice >= 0, neighbours[np.arange(count), np.maximum(choice, 0)], anywhere)
    agent = np.where(rng.random(count) < positive_fraction, near, anywhere)
    distance = np.abs(cells // grid - agent[:, None] // grid) + np.abs(cells % grid - agent[:, None] % grid)
    named = _pick(rng, distance == 1)
    caption = np.where(named >= 0, kinds[np.arange(count), np.maximum(named, 0)], len(KINDS))
    codes = np.zeros((count, grid * grid), dtype=np.int64)
    codes[rows, cells] = 2 + kinds
    codes[np.arange(count), agent] = 1
    return codes.reshape(count, grid, grid), caption


def captions() -> list[str]:
    """Every caption, by index: the goal text of each kind, then "the agent is next to nothing"."""
    return [goal_text(kind) for kind in range(len(KINDS))] + [NOTHING]
