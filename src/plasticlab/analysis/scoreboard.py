"""The claims scoreboard: every study's headline claims checked on its own table, one row each.

:mod:`plasticlab.analysis.claims` judges one claim on one table; this module walks the studies a
config expects and collects their rows into one frame (``results/tables/claims.csv``), so the
first question a reader asks — did the paper's result come out? — has one answer per claim.

Nothing is silently dropped. Every requested study appears, and a claim that could not be judged
gets the verdict ``not run`` with a ``note`` saying why:

- the study is not enabled in the config (``enabled: false``, or no section);
- its table ``<tables>/<study>.csv`` is missing (not run yet, or not pulled);
- the table lacks rows the claim's statistic needs (a variant the config leaves out, a table
  aggregated by older code): the note is the :func:`~plasticlab.analysis.claims.table_estimate`
  message naming the selection, e.g. ``table has 0 rows for {'metric': ..., 'variant': ...}``;
- the study declares no claims yet (one row, so the gap is visible).

``not run`` (rather than ``untestable``) because nothing about the paper's claim was learnt: the
run that would test it is absent. ``untestable`` is kept for a run that happened and showed the
claim's precondition did not hold; its ``note`` gives each failed precondition's estimate and CI.

A table aggregated under a different config of its study than the one given (a stale table, or
one from another tier) is still judged, and its note says so.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from plasticlab.analysis.claims import Claim, Estimate, evaluate_claim

__all__ = ["COLUMNS", "NOT_RUN", "build_scoreboard", "claim_rows", "format_estimate", "not_run_rows",
           "read_scoreboard", "scoreboard_provenance", "study_rows", "write_scoreboard"]

COLUMNS = ["study", "claim_id", "claim", "paper", "statistic", "direction", "null", "estimate", "ci_low", "ci_high",
           "n_seeds", "verdict", "failed_precondition", "note", "config_files"]
NOT_RUN = "not run"


def format_estimate(value: Estimate | None) -> str:
    """``+0.123 [+0.01, +0.2]`` (3 significant digits), or ``n/a`` without a finite estimate."""
    if value is None or not math.isfinite(value.estimate):
        return "n/a"
    interval = f" [{value.ci_low:+.3g}, {value.ci_high:+.3g}]" if value.has_interval else " (no CI)"
    return f"{value.estimate:+.3g}{interval}"


def _base_row(study: Any, claim: Claim | None) -> dict[str, Any]:
    return {"study": study.name, "claim_id": claim.id if claim else "", "claim": claim.text if claim else "",
            "paper": (claim.paper if claim and claim.paper else study.paper),
            "statistic": claim.statistic_name if claim else "", "direction": claim.direction if claim else "",
            "null": claim.null if claim else math.nan}


def _not_run(study: Any, claim: Claim | None, note: str) -> dict[str, Any]:
    return {**_base_row(study, claim), "estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n_seeds": 0,
            "verdict": NOT_RUN, "failed_precondition": "", "note": note}


def not_run_rows(study: Any, reason: str) -> list[dict[str, Any]]:
    """One ``not run`` row per declared claim (one row if none is declared), with ``reason`` as note."""
    if not study.claims:
        return [_not_run(study, None, "; ".join(filter(None, [reason, "the study declares no claims"])))]
    return [_not_run(study, claim, reason) for claim in study.claims]


def _failed_preconditions_note(claim: Claim, table: pd.DataFrame) -> str:
    """``name: estimate [CI]`` of each precondition that does not hold (what a reader checks first)."""
    parts = []
    for precondition in claim.preconditions:
        holds, value = precondition.check(table)
        if not holds:
            parts.append(f"{precondition.name}: {format_estimate(value)} ({precondition.description})")
    return "; ".join(parts)


def claim_rows(study: Any, claim: Claim, table: pd.DataFrame) -> list[dict[str, Any]]:
    """Scoreboard rows of one claim: :func:`evaluate_claim`'s rows, or ``not run`` naming missing rows."""
    try:
        evaluated = evaluate_claim(claim, table)
    except KeyError as error:
        message = error.args[0] if error.args else str(error)
        return [_not_run(study, claim, f"missing rows: {message}")]
    note = _failed_preconditions_note(claim, table) if any(r["failed_precondition"] for r in evaluated) else ""
    base = _base_row(study, claim)
    return [{**base, **{k: v for k, v in row.items() if k not in ("claim", "statistic", "direction", "null")},
             "note": note} for row in evaluated]


def _stale_note(study_config: Mapping[str, Any] | None, table_path: Path) -> str:
    """A note when the table's provenance records a different config of the study than ``study_config``."""
    from plasticlab.runtime.results_io import provenance_sidecar

    sidecar = provenance_sidecar(table_path)
    if study_config is None or not sidecar.exists():
        return ""
    try:
        recorded = json.loads(sidecar.read_text()).get("config")
    except (OSError, ValueError):
        return ""
    if not isinstance(recorded, dict) or not _differs(study_config, recorded):
        return ""
    return "the table was aggregated under a different config of this study than the one given"


def _differs(given: Any, recorded: Any) -> bool:
    """Whether ``recorded`` disagrees with ``given`` on a key ``given`` sets. Keys only in
    ``recorded`` are ignored: the workflow's schema validation fills in defaults."""
    if isinstance(given, Mapping) and isinstance(recorded, Mapping):
        return any(key not in recorded or _differs(value, recorded[key]) for key, value in given.items())
    return json.dumps(given, sort_keys=True, default=str) != json.dumps(recorded, sort_keys=True, default=str)


def study_rows(study: Any, table_path: Path, enabled: bool, study_config: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """All scoreboard rows of one study: ``not run`` if disabled or without a table, else each claim."""
    if not enabled:
        return not_run_rows(study, "not enabled in the config")
    if not table_path.exists():
        return not_run_rows(study, f"no table at {table_path}")
    if not study.claims:
        return not_run_rows(study, "")
    table = pd.read_csv(table_path)
    stale = _stale_note(study_config, table_path)
    rows = [row for claim in study.claims for row in claim_rows(study, claim, table)]
    if stale:
        rows = [{**row, "note": "; ".join(filter(None, [row["note"], stale]))} for row in rows]
    return rows


def build_scoreboard(tables: str | Path, names: Sequence[str], enabled: Iterable[str] | None = None,
                     config: Mapping[str, Any] | None = None, config_files: Sequence[str] = ()) -> pd.DataFrame:
    """The scoreboard of the studies ``names`` (in that order) from ``<tables>/<study>.csv``.

    ``enabled``: the studies the config runs (default: all of ``names``); ``config``: the merged
    config, whose study sections are compared with each table's provenance; ``config_files`` are
    recorded in every row, as given (``;``-separated).
    """
    from plasticlab import studies

    expected = set(names if enabled is None else enabled)
    sections = (config or {}).get("studies", {})
    rows = []
    for name in names:
        study = studies.get(name)
        rows += study_rows(study, Path(tables) / f"{name}.csv", name in expected,
                           sections.get(name) if config is not None else None)
    frame = pd.DataFrame(rows, columns=COLUMNS[:-1])
    frame["config_files"] = ";".join(str(path) for path in config_files)
    frame["n_seeds"] = frame["n_seeds"].astype(int)
    return frame[COLUMNS]


def scoreboard_provenance(tables: str | Path, names: Sequence[str], config: Mapping[str, Any] | None,
                          config_files: Sequence[str]) -> dict[str, Any]:
    """Provenance of a scoreboard: the config, its files, and each input table's code version."""
    from plasticlab.runtime.provenance import provenance
    from plasticlab.runtime.results_io import provenance_sidecar

    inputs: dict[str, Any] = {}
    for name in names:
        path = Path(tables) / f"{name}.csv"
        if not path.exists():
            continue
        sidecar = provenance_sidecar(path)
        try:
            record = json.loads(sidecar.read_text()) if sidecar.exists() else {}
        except (OSError, ValueError):
            record = {}
        inputs[str(path)] = (record.get("git") or {}).get("commit")
    return provenance(config=dict(config) if config is not None else None, inputs=inputs,
                      config_files=[str(p) for p in config_files])


def write_scoreboard(path: str | Path, frame: pd.DataFrame, provenance: dict[str, Any] | None = None) -> None:
    """Write the scoreboard CSV atomically, its provenance beside it (``claims.provenance.json``)."""
    from plasticlab.runtime.results_io import write_csv

    write_csv(path, frame[COLUMNS], provenance=provenance)


def read_scoreboard(path: str | Path) -> pd.DataFrame:
    """A scoreboard CSV as written by :func:`write_scoreboard` (empty cells as NaN, no other NA
    spellings: a claim id or note is never mistaken for a missing value)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no claims CSV at {path}")
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise KeyError(f"{path} is not a claims scoreboard: it lacks column(s) {missing}")
    return frame[COLUMNS]
