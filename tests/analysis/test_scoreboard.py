"""The claims scoreboard: verdicts on hand-made tables with known answers, `not run` rows for
what is missing, the CSV with its provenance, the text renderings and the one-page figure."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from plasticlab.analysis.claims import Claim, Precondition, table_estimate
from plasticlab.analysis.claims_plot import VERDICT_COLOURS, claims_forest_plot
from plasticlab.analysis.plotting import read_png_provenance
from plasticlab.analysis.scoreboard import (COLUMNS, NOT_RUN, build_scoreboard, format_estimate, study_rows,
                                            write_scoreboard)
from plasticlab.analysis.scoreboard_text import (current_block, markers, readme_block, replace_block, to_markdown,
                                                 to_text, update_readme)
from plasticlab.runtime.results_io import provenance_sidecar


def _row(variant: str, metric: str, mean: float, low: float, high: float, n: int = 5, x: float = 3) -> dict:
    return {"variant": variant, "x": x, "metric": metric, "mean": mean, "ci_low": low, "ci_high": high, "n_seeds": n}


# gap = fresh − warm: CI above 0 (reproduced for "greater"); the others as named
TABLE = pd.DataFrame([
    _row("fresh", "gap", 0.05, 0.02, 0.08),
    _row("shrink", "gap", -0.04, -0.07, -0.01),
    _row("reset", "gap", 0.01, -0.02, 0.04),            # CI spans zero
    _row("single", "gap", 0.30, 0.30, 0.30, n=1),       # one seed: a point estimate only
    _row("warm", "loss", 0.20, 0.10, 0.30),             # the plain network loses plasticity
    _row("warm", "fit", -0.01, -0.03, 0.01),            # ... but does not fit as well: precondition fails
    _row("warm", "gap", 0.0, 0.0, 0.0, x=1),            # an earlier x that "last" must skip
])


def gap(variant: str):
    return lambda table: table_estimate(table, "gap", variant=variant)


LOSES = Precondition.by_ci("plain_loses_plasticity", "plain loss above 0",
                           lambda t: table_estimate(t, "loss", variant="warm"), "greater")
FITS = Precondition.by_ci("warm_fits", "warm fits its data", lambda t: table_estimate(t, "fit", variant="warm"), "greater")


@dataclass
class FakeStudy:
    claims: tuple[Claim, ...]
    name: str = "fake"
    paper: str = "Someone et al. 2020"


@pytest.fixture
def written(tmp_path):
    """Write a table to a fresh CSV under tmp_path and return its path."""
    count = iter(range(10_000))

    def write(table: pd.DataFrame = TABLE):
        path = tmp_path / f"fake_{next(count)}.csv"
        table.to_csv(path, index=False)
        return path

    return write


def _verdict(claim: Claim, written) -> dict:
    rows = study_rows(FakeStudy((claim,)), written(), enabled=True)
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize("variant, direction, expected", [
    ("fresh", "greater", "reproduced"),
    ("fresh", "less", "contradicted"),
    ("shrink", "less", "reproduced"),
    ("shrink", "greater", "contradicted"),
    ("reset", "greater", "inconclusive"),   # CI spans zero
    ("reset", "less", "inconclusive"),
    ("single", "greater", "inconclusive"),  # n_seeds = 1: never reproduced, even far from zero
])
def test_verdict_is_read_from_the_ci_on_the_predicted_side(variant, direction, expected, written):
    row = _verdict(Claim("c", "text", "stat", direction, gap(variant), (LOSES,)), written)
    assert row["verdict"] == expected
    assert row["failed_precondition"] == "" and row["note"] == ""
    assert row["estimate"] == TABLE.set_index(["variant", "x"]).loc[(variant, 3), "mean"]


def test_a_failed_precondition_makes_the_claim_untestable_whatever_its_ci(written):
    row = _verdict(Claim("c", "text", "stat", "greater", gap("fresh"), (LOSES, FITS)), written)
    assert row["verdict"] == "untestable"
    assert row["failed_precondition"] == "warm_fits"
    assert row["estimate"] == pytest.approx(0.05)  # the effect is still reported
    assert row["note"].startswith("warm_fits: -0.01 [-0.03, +0.01]")


def test_a_claim_whose_rows_are_missing_is_not_run_and_names_the_selection(written):
    row = _verdict(Claim("c", "text", "stat", "greater", gap("layernorm"), (LOSES,)), written)
    assert row["verdict"] == NOT_RUN
    assert "0 rows" in row["note"] and "'layernorm'" in row["note"]
    assert math.isnan(row["estimate"]) and row["n_seeds"] == 0


def test_a_claim_per_case_gives_one_row_per_case(written):
    claim = Claim("c", "text", "stat", "greater", lambda t: {v: table_estimate(t, "gap", variant=v)
                                                               for v in ("fresh", "reset")})
    rows = study_rows(FakeStudy((claim,)), written(), enabled=True)
    assert [(r["claim_id"], r["verdict"]) for r in rows] == [("c[fresh]", "reproduced"), ("c[reset]", "inconclusive")]


def test_missing_table_and_disabled_study_are_listed_as_not_run(tmp_path, written):
    study = FakeStudy((Claim("a", "A", "s", "greater", gap("fresh")), Claim("b", "B", "s", "less", gap("fresh"))))
    missing = study_rows(study, tmp_path / "nowhere.csv", enabled=True)
    assert [(r["claim_id"], r["verdict"]) for r in missing] == [("a", NOT_RUN), ("b", NOT_RUN)]
    assert all("no table at" in r["note"] and "nowhere.csv" in r["note"] for r in missing)
    disabled = study_rows(study, written(), enabled=False)  # the table exists but the config is off
    assert [r["verdict"] for r in disabled] == [NOT_RUN, NOT_RUN]
    assert all(r["note"] == "not enabled in the config" for r in disabled)
    nothing = study_rows(FakeStudy(()), written(), enabled=True)
    assert len(nothing) == 1 and nothing[0]["verdict"] == NOT_RUN and "declares no claims" in nothing[0]["note"]


def test_a_table_from_another_config_is_judged_but_flagged(written):
    path = written()
    # the workflow records the section with the schema's defaults filled in (here `oracle`)
    provenance_sidecar(path).write_text(json.dumps({"config": {"seeds": 5, "model": {"width": 8}, "oracle": True}}))
    study = FakeStudy((Claim("c", "text", "stat", "greater", gap("fresh")),))
    same = study_rows(study, path, enabled=True, study_config={"seeds": 5, "model": {"width": 8}})
    assert same[0]["note"] == "" and same[0]["verdict"] == "reproduced"
    for other in ({"seeds": 20, "model": {"width": 8}}, {"seeds": 5, "model": {"width": 16}},
                  {"seeds": 5, "model": {"width": 8, "layers": 2}}):
        row = study_rows(study, path, enabled=True, study_config=other)[0]
        assert row["verdict"] == "reproduced" and "different config" in row["note"], other


def test_build_scoreboard_lists_every_requested_study_in_order(tmp_path):
    # no tables at all: every registered claim is `not run`, none is dropped
    from plasticlab import studies

    names = ["vlm_rewards", "understanding"]
    board = build_scoreboard(tmp_path, names, enabled=["understanding"], config_files=["config/config.yaml"])
    assert list(board.columns) == COLUMNS
    expected = [(n, c.id) for n in names for c in studies.get(n).claims]
    assert list(zip(board["study"], board["claim_id"])) == expected
    assert (board["verdict"] == NOT_RUN).all()
    assert set(board.loc[board["study"] == "vlm_rewards", "note"]) == {"not enabled in the config"}
    assert (board["config_files"] == "config/config.yaml").all()
    assert set(board["paper"]) == {studies.get(n).paper for n in names}


def test_scoreboard_csv_is_written_with_provenance(tmp_path):
    board = build_scoreboard(tmp_path, ["understanding"], config_files=["a.yaml", "b.yaml"])
    out = tmp_path / "out" / "claims.csv"
    write_scoreboard(out, board, {"config_files": ["a.yaml", "b.yaml"]})
    back = pd.read_csv(out)
    assert list(back.columns) == COLUMNS and len(back) == len(board)
    assert (back["config_files"] == "a.yaml;b.yaml").all()
    assert json.loads(provenance_sidecar(out).read_text()) == {"config_files": ["a.yaml", "b.yaml"]}
    assert sorted(p.name for p in out.parent.iterdir()) == ["claims.csv", "claims.provenance.json"]


def _board(written) -> pd.DataFrame:
    claims = (Claim("up", "fresh beats warm", "fresh − warm", "greater", gap("fresh"), (LOSES,)),
              Claim("flat", "reset beats warm", "reset − warm", "greater", gap("reset"), (LOSES,)),
              Claim("down", "shrink beats warm", "shrink − warm", "greater", gap("shrink"), (LOSES,)),
              Claim("fit", "fit | fresh", "fresh − warm", "greater", gap("fresh"), (FITS,)),
              Claim("gone", "layernorm helps", "ln − warm", "less", gap("layernorm")))
    rows = study_rows(FakeStudy(claims), written(), enabled=True)
    return pd.DataFrame(rows).assign(config_files="config/config.yaml")[COLUMNS]


def test_text_and_markdown_show_each_claim_with_its_numbers_and_verdict(written):
    board = _board(written)
    text = to_text(board)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["study", "claim", "estimate"]
    assert len(lines) == 2 + len(board)
    up = next(line for line in lines if " up " in line)
    assert "+0.05 [+0.02, +0.08]" in up and "reproduced" in up
    assert "untestable" in next(line for line in lines if " fit " in line)
    assert "0 rows" in next(line for line in lines if " gone " in line)
    # columns are aligned: the verdict starts at the same offset on every line
    offsets = {line.index(v) for line in lines[2:] for v in ("reproduced", "inconclusive", "contradicted",
                                                              "untestable", NOT_RUN) if f"  {v}" in line}
    assert len(offsets) == 1
    markdown = to_markdown(board).splitlines()
    assert markdown[0].startswith("| study | claim |") and len(markdown) == 2 + len(board)
    assert all(line.count(" | ") == markdown[0].count(" | ") for line in markdown[2:])  # the "|" in a claim is escaped
    assert "fit \\| fresh" in markdown[5]
    assert "| > 0 | +0.05 [+0.02, +0.08] | 5 | **reproduced** |" in markdown[2]


def test_format_estimate_says_when_there_is_no_interval():
    from plasticlab.analysis.claims import Estimate

    assert format_estimate(Estimate(0.5, 0.1, 0.9, 5)) == "+0.5 [+0.1, +0.9]"
    assert format_estimate(Estimate(0.5, 0.5, 0.5, 1)) == "+0.5 (no CI)"
    assert format_estimate(None) == "n/a" and format_estimate(Estimate(math.nan, math.nan, math.nan, 0)) == "n/a"


def test_readme_block_is_rewritten_between_its_own_markers_only(tmp_path, written):
    board = _board(written)
    readme = tmp_path / "README.md"
    begin, end = markers("docs/claims.csv")
    other_begin, other_end = markers("docs/tier/claims.csv")
    readme.write_text(f"# title\n\nprose before\n\n{begin}\nold table\n{end}\n\nprose after, why it failed\n"
                      f"{other_begin}\ntier table\n{other_end}\n")
    assert update_readme(readme, board, "docs/claims.csv")
    text = readme.read_text()
    assert text.startswith(f"# title\n\nprose before\n\n{begin}\n")
    assert text.endswith(f"{end}\n\nprose after, why it failed\n{other_begin}\ntier table\n{other_end}\n")
    assert current_block(text, "docs/claims.csv") == readme_block(board, "docs/claims.csv").rstrip()
    assert current_block(text, "docs/tier/claims.csv") == "tier table"  # another CSV's block is left alone
    assert "old table" not in text and "`config/config.yaml`" in text
    assert not update_readme(readme, board, "docs/claims.csv")  # idempotent
    with pytest.raises(ValueError, match="claims:begin docs/other.csv"):
        update_readme(readme, board, "docs/other.csv")  # no block for that CSV: nothing written
    with pytest.raises(ValueError, match="claims:begin"):
        replace_block("no markers here", "x", "docs/claims.csv")


def _colour_pixels(path, colour: str) -> int:
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=int)
    return int((np.abs(pixels - rgb).sum(axis=-1) < 30).sum())


def test_forest_plot_is_written_with_provenance_and_draws_each_verdict_in_its_colour(tmp_path, written):
    board = _board(written)
    path = claims_forest_plot(board, tmp_path / "figures" / "claims.png", provenance={"inputs": ["claims.csv"]})
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    assert read_png_provenance(path) == {"inputs": ["claims.csv"]}
    for verdict in ("reproduced", "contradicted", "inconclusive", "untestable"):
        # the legend shows every colour; a row adds its CI and point in its verdict's colour
        without = claims_forest_plot(board[board["verdict"] != verdict], tmp_path / f"without_{verdict}.png")
        colour = VERDICT_COLOURS[verdict]
        assert _colour_pixels(path, colour) > _colour_pixels(without, colour) + 50, verdict
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["claims.png"]  # no temporary files left


def test_two_seeds_are_inconclusive_however_far_their_interval_is_from_the_null():
    """A bootstrap over two seeds spans only their two values; the third seed makes it evidence."""
    from plasticlab.analysis.claims import MIN_SEEDS_FOR_VERDICT, Estimate, verdict

    assert MIN_SEEDS_FOR_VERDICT == 3
    assert verdict(Estimate(2.0, 1.7, 2.2, 2), "greater") == "inconclusive"
    assert verdict(Estimate(2.0, 1.7, 2.2, 3), "greater") == "reproduced"
    assert verdict(Estimate(2.0, 1.7, 2.2, 3), "less") == "contradicted"
