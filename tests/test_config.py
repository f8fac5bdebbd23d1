"""Config checks: the shipped configs are valid; bad ones fail naming the problem."""

from __future__ import annotations

import copy

import pytest
import yaml

from plasticlab import config as cfg
from tests.conftest import REPO


def test_shipped_configs_are_valid(repo_root):
    default = cfg.load_config(repo_root / "config/config.yaml")
    paper = cfg.load_config(repo_root / "config/config.yaml", repo_root / "config/paper.yaml")
    assert cfg.enabled_studies(default) == ["warmstart", "disentangle", "understanding", "capacity", "qtd", "dcfp",
                                           "discobax", "vlm_rewards", "injection", "softmoe", "hare_tortoise"]
    assert paper["studies"]["warmstart"]["dataset"] == "cifar10"
    assert paper["studies"]["warmstart"]["variants"].keys() == default["studies"]["warmstart"]["variants"].keys()


def test_default_warmstart_grid_meets_the_issue(default_config):
    section = default_config["studies"]["warmstart"]
    assert section["seeds"] >= 5 and section["dataset"] == "digits"
    assert {"warm", "fresh", "shrink_perturb", "reset", "hare_tortoise", "layernorm", "weight_decay"} <= set(section["variants"])


@pytest.mark.parametrize(
    "path, value, expected",
    [
        (("studies", "warmstart", "protocols", "tiny", "chunkz"), 3, "chunkz"),
        (("studies", "warmstart", "seeds"), 2.5, "seeds"),
        (("device",), "tpu", "device"),
        (("studies", "warmstart", "variants", "x"), "shrink_perturb+teleport", "teleport"),
        (("studies", "warmstart", "variants", "x"), [{"name": "shrink_perturb", "shrink": 2.0}], "shrink"),
    ],
)
def test_bad_values_name_the_key(tiny_config, path, value, expected):
    config = copy.deepcopy(tiny_config)
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(cfg.ConfigError, match=expected):
        cfg.check_config(config)


def test_run_config_holds_only_what_the_run_depends_on(tiny_config):
    run = cfg.run_config(tiny_config, "warmstart", "fresh")
    assert run["interventions"] == [{"name": "reset", "layers": "all"}]
    assert "seeds" not in run and "variants" not in run and run["variant"] == "fresh"
    with pytest.raises(cfg.ConfigError, match="no variant 'nope'"):
        cfg.run_config(tiny_config, "warmstart", "nope")


def test_deep_merge_overrides_leaves_and_keeps_siblings():
    merged = cfg.deep_merge({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"b": 5}, "d": [2]})
    assert merged == {"a": {"b": 5, "c": 2}, "d": [2]}


def test_reading_results_checks_the_schema_but_not_the_registries(tmp_path):
    """The claims scoreboard loads its config with registries=False: a wrong key still stops it,
    a name only the code knows (an intervention) is left to the workflow's full check."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["studies"]["warmstart"]["variants"]["x"] = "no_such_intervention"
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    assert cfg.load_config(path, registries=False)["studies"]["warmstart"]["variants"]["x"] == "no_such_intervention"
    with pytest.raises(cfg.ConfigError, match="no_such_intervention"):
        cfg.load_config(path)
    config["studies"]["warmstart"]["no_such_key"] = 1
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(cfg.ConfigError, match="no_such_key"):
        cfg.load_config(path, registries=False)
