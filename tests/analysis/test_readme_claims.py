"""The README's results table is the committed default-run scoreboard, rendered: it cannot drift."""

from __future__ import annotations

from plasticlab import studies
from plasticlab.analysis.scoreboard import COLUMNS, read_scoreboard
from plasticlab.analysis.scoreboard_text import current_block, readme_block

SOURCE = "docs/claims-default.csv"


def test_readme_claims_block_equals_the_committed_scoreboard(repo_root):
    board = read_scoreboard(repo_root / SOURCE)
    block = current_block((repo_root / "README.md").read_text(), SOURCE)
    assert block == readme_block(board, SOURCE).rstrip(), (
        f"README's claims block is stale: run `plasticlab claims --update-readme README.md --from {SOURCE}`")


def test_committed_scoreboard_lists_every_study_and_no_machine_path(repo_root):
    board = read_scoreboard(repo_root / SOURCE)
    assert list(board.columns) == COLUMNS
    assert set(board["study"]) == set(studies.available())
    text = (repo_root / SOURCE).read_text()
    assert str(repo_root) not in text  # paths as given on the command line, relative to the repository
