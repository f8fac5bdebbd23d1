"""The MinAtar tier's committed scoreboard is what its returns record gives: neither can drift.

`make tier-claims` rebuilds both from `docs/tier/minatar-returns.csv`; these tests rebuild the
scoreboard the same way (the CLI, in this process) and compare, so a record updated without its
scoreboard fails here (the README's table of it is checked with the default run's, in
`test_readme_claims.py`).
"""

from __future__ import annotations

import numpy as np
import pytest

from plasticlab import cli
from plasticlab.analysis.scoreboard import read_scoreboard

RECORD = "docs/tier/minatar-returns.csv"
SCOREBOARD = "docs/tier/claims.csv"
CONFIG = ["config/config.yaml", "config/minatar.yaml"]
STUDIES = ["softmoe", "injection"]


@pytest.fixture(scope="module")
def rebuilt(repo_root, tmp_path_factory):
    """The scoreboard rebuilt from the record, with paths as `make tier-claims` gives them."""
    out = tmp_path_factory.mktemp("tier")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(repo_root)  # the scoreboard records its config files as given: relative
        for study in STUDIES:
            assert cli.main(["aggregate", study, "--returns", RECORD, "--config", *CONFIG,
                             "--out", str(out / "tables" / f"{study}.csv")]) == 0
        assert cli.main(["claims", "--tables", str(out / "tables"), "--config", *CONFIG, "--study", *STUDIES,
                         "--out", str(out / "claims.csv")]) == 0
    return read_scoreboard(out / "claims.csv")


def test_committed_tier_scoreboard_is_what_the_record_gives(repo_root, rebuilt):
    committed = read_scoreboard(repo_root / SCOREBOARD)
    stale = "run `make tier-claims` after changing the record"
    assert list(committed["claim_id"]) == list(rebuilt["claim_id"]), stale
    assert list(committed["verdict"]) == list(rebuilt["verdict"]), stale
    for column in ("estimate", "ci_low", "ci_high"):
        assert np.allclose(committed[column].astype(float), rebuilt[column].astype(float), rtol=1e-6), (column, stale)
    assert list(committed["n_seeds"]) == list(rebuilt["n_seeds"])
    assert set(committed["config_files"]) == {";".join(CONFIG)}
    assert str(repo_root) not in (repo_root / SCOREBOARD).read_text()


def test_tier_scoreboard_tests_every_claim_of_its_studies_and_their_preconditions_hold(repo_root):
    """Every claim of the tier's studies is tested (no `not run`), on plain agents that learnt."""
    from plasticlab import studies

    committed = read_scoreboard(repo_root / SCOREBOARD)
    expected = {claim.id for study in STUDIES for claim in studies.get(study).claims}
    assert set(committed["claim_id"]) == expected
    assert "not run" not in set(committed["verdict"]) and "untestable" not in set(committed["verdict"])
    failed = committed["failed_precondition"]
    assert (failed.isna() | (failed.astype(str) == "")).all(), list(failed)

