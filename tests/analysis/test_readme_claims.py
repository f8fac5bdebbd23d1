"""The README's results tables are the committed scoreboards (default run, MinAtar tier), rendered: they cannot drift."""

from __future__ import annotations

import pytest

from plasticlab import studies
from plasticlab.analysis.scoreboard import COLUMNS, read_scoreboard
from plasticlab.analysis.scoreboard_text import current_block, readme_block

SOURCE = "docs/claims-default.csv"
TIER_SOURCE = "docs/tier/claims.csv"  # the MinAtar tier's scoreboard (tests/analysis/test_tier_claims.py)


@pytest.mark.parametrize("source", [SOURCE, TIER_SOURCE])
def test_readme_claims_block_equals_the_committed_scoreboard(repo_root, source):
    board = read_scoreboard(repo_root / source)
    block = current_block((repo_root / "README.md").read_text(), source)
    assert block == readme_block(board, source).rstrip(), (
        f"README's claims block is stale: run `plasticlab claims --update-readme README.md --from {source}`")


def test_committed_scoreboard_lists_every_study_and_no_machine_path(repo_root):
    board = read_scoreboard(repo_root / SOURCE)
    assert list(board.columns) == COLUMNS
    assert set(board["study"]) == set(studies.available())
    text = (repo_root / SOURCE).read_text()
    assert str(repo_root) not in text  # paths as given on the command line, relative to the repository
