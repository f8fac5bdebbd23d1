"""A paper's headline claims as checked results: a statistic of the study's own table, the sign
the paper predicts, and the preconditions without which the claim cannot be tested.

A study lists its claims in ``Study.claims``. :func:`evaluate_claim` turns one claim and the
study's tidy table (``variant, x, metric, mean, ci_low, ci_high, n_seeds`` + group columns) into
rows of the scoreboard with a verdict:

- ``untestable``: a precondition failed (named in ``failed_precondition``); the effect is not
  judged at all, whatever its CI, because the condition the claim is about did not happen;
- ``reproduced``: the 95% CI lies strictly on the predicted side of ``null``;
- ``contradicted``: the CI lies strictly on the other side;
- ``inconclusive``: the CI contains ``null``, or there is no interval (fewer than two seeds,
  or a missing CI): a point estimate alone never reproduces a claim.

Statistics are read from the table, never recomputed here, so a claim's number is always one a
reader can find in ``results/tables/<study>.csv``; a study whose claim needs a paired statistic
adds that statistic's rows to its table in ``aggregate``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

import pandas as pd

__all__ = ["Claim", "Estimate", "Precondition", "VERDICTS", "at_last_x", "evaluate_claim", "table_estimate", "verdict"]

VERDICTS = ("reproduced", "contradicted", "inconclusive", "untestable", "not run")
Direction = Literal["greater", "less"]


@dataclass(frozen=True)
class Estimate:
    """A statistic over seeds with its 95% CI (as in the study's table)."""

    estimate: float
    ci_low: float
    ci_high: float
    n_seeds: int

    @property
    def has_interval(self) -> bool:
        finite = all(math.isfinite(v) for v in (self.estimate, self.ci_low, self.ci_high))
        return finite and self.n_seeds >= 2


@dataclass(frozen=True)
class Precondition:
    """A condition the claim is about (e.g. "the plain network loses plasticity").

    ``check`` returns the estimate it judged and whether the condition holds; like a claim, a
    precondition should hold by its CI, not by a point estimate (use :meth:`by_ci`).
    """

    name: str  # short id, e.g. "plain_loses_plasticity"
    description: str  # in words, as a reader would check it
    check: Callable[[pd.DataFrame], tuple[bool, Estimate | None]]

    @classmethod
    def by_ci(cls, name: str, description: str, statistic: Callable[[pd.DataFrame], Estimate],
              direction: Direction, null: float = 0.0) -> "Precondition":
        """Holds when the statistic's CI lies strictly on ``direction``'s side of ``null``."""
        def check(table: pd.DataFrame) -> tuple[bool, Estimate | None]:
            value = statistic(table)
            return verdict(value, direction, null) == "reproduced", value

        return cls(name, description, check)


@dataclass(frozen=True)
class Claim:
    """One headline claim of a study's paper, checked on the study's table.

    ``statistic`` returns one :class:`Estimate`, or a mapping case → Estimate for a claim stated
    per case (per environment, per noise type); each case becomes its own scoreboard row with
    id ``<id>[<case>]``.
    """

    id: str  # stable, short: "warm_start_gap"
    text: str  # the paper's claim, short and in its words
    statistic_name: str  # what we compute, e.g. "fresh − warm final test accuracy (paired by seed)"
    direction: Direction  # the sign the paper predicts, relative to ``null``
    statistic: Callable[[pd.DataFrame], Estimate | Mapping[str, Estimate]]
    preconditions: tuple[Precondition, ...] = ()
    null: float = 0.0
    paper: str = ""  # defaults to the study's paper in the scoreboard
    extra: dict[str, Any] = field(default_factory=dict)


# A bootstrap interval over two seeds only spans their two values: it is no evidence either way.
MIN_SEEDS_FOR_VERDICT = 3


def verdict(value: Estimate | None, direction: Direction, null: float = 0.0) -> str:
    """reproduced / contradicted / inconclusive from the CI's position relative to ``null``; fewer
    than :data:`MIN_SEEDS_FOR_VERDICT` seeds is always inconclusive."""
    if value is None or not value.has_interval or value.n_seeds < MIN_SEEDS_FOR_VERDICT:
        return "inconclusive"
    above, below = value.ci_low > null, value.ci_high < null
    if not (above or below):
        return "inconclusive"
    return "reproduced" if above == (direction == "greater") else "contradicted"


def evaluate_claim(claim: Claim, table: pd.DataFrame) -> list[dict[str, Any]]:
    """Scoreboard rows (one per case) for ``claim`` on ``table``; preconditions are checked first."""
    failed = []
    for precondition in claim.preconditions:
        holds, _ = precondition.check(table)
        if not holds:
            failed.append(precondition.name)
    values = claim.statistic(table)
    cases = values.items() if isinstance(values, Mapping) else [(None, values)]
    rows = []
    for case, value in cases:
        rows.append({
            "claim_id": claim.id if case is None else f"{claim.id}[{case}]",
            "claim": claim.text,
            "statistic": claim.statistic_name,
            "direction": claim.direction,
            "null": claim.null,
            "estimate": value.estimate if value else math.nan,
            "ci_low": value.ci_low if value else math.nan,
            "ci_high": value.ci_high if value else math.nan,
            "n_seeds": value.n_seeds if value else 0,
            "verdict": "untestable" if failed else verdict(value, claim.direction, claim.null),
            "failed_precondition": "; ".join(failed),
        })
    return rows


def at_last_x(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows at the largest ``x`` (the end of training: last task, last chunk, last cycle)."""
    x = pd.to_numeric(rows["x"], errors="coerce")
    return rows[x == x.max()]


def table_estimate(table: pd.DataFrame, metric: str, variant: str | None = None, x: Any = "last",
                   **groups: Any) -> Estimate:
    """The one table row for ``metric`` (and variant, x, group columns) as an :class:`Estimate`.

    ``x="last"`` takes the largest x. Raises KeyError naming the selection when no row or
    several rows match, so a claim never silently reads the wrong number.
    """
    rows = table[table["metric"] == metric]
    if variant is not None:
        rows = rows[rows["variant"] == variant]
    for column, value in groups.items():
        rows = rows[rows[column] == value]
    if x == "last":
        rows = at_last_x(rows) if len(rows) else rows
    elif x is not None:
        rows = rows[pd.to_numeric(rows["x"], errors="coerce") == x]
    selection = dict(metric=metric, variant=variant, x=x, **groups)
    if len(rows) != 1:
        raise KeyError(f"table has {len(rows)} rows for {selection}; a claim needs exactly one")
    row = rows.iloc[0]
    return Estimate(float(row["mean"]), float(row["ci_low"]), float(row["ci_high"]), int(row["n_seeds"]))
