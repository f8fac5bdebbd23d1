"""plasticlab.workflow_plan: the Snakefile's cached plan says what plasticlab.workflow computes."""

from __future__ import annotations

import copy
import json
import logging
import subprocess
import sys

import pytest

from plasticlab import config as cfg
from plasticlab import studies, workflow, workflow_plan

from tests.conftest import REPO


@pytest.fixture(scope="module")
def default_config() -> dict:
    return cfg.load_config(REPO / "config" / "config.yaml")


def _no_build(config):
    raise AssertionError("the plan was built again instead of read from the cache")


def test_the_plan_answers_what_the_registry_computes(default_config, tmp_path):
    plan = workflow_plan.load_plan(default_config, tmp_path)
    assert plan.available() == studies.available()
    assert plan.train_rules() == workflow.train_rules(default_config)
    for rule in plan.train_rules():
        assert plan.job_shape(rule) == workflow.job_shape(default_config, rule)
    for study in workflow.configured_studies(default_config):
        assert plan.has_probe(study) == studies.get(study).has_probe
        if plan.has_probe(study):
            assert plan.probe_shape(study) == workflow.probe_shape(default_config, study)
        assert plan.run_files(study) == workflow.run_files(default_config, study)
        assert plan.figures(study) == workflow.figures(study)
        for variant in cfg.variants(default_config, study):
            assert plan.run_config(study, variant) == cfg.run_config(default_config, study, variant)
    assert plan.enabled_targets() == workflow.enabled_targets(default_config)
    assert plan.enabled_studies() == cfg.enabled_studies(default_config)


def test_a_second_load_reads_the_cache_and_a_changed_config_builds_anew(default_config, tmp_path):
    first = workflow_plan.load_plan(default_config, tmp_path)
    again = workflow_plan.load_plan(copy.deepcopy(default_config), tmp_path, build=_no_build)
    assert again.document == first.document
    changed = copy.deepcopy(default_config)
    changed["studies"]["qtd"]["seeds"] = int(changed["studies"]["qtd"]["seeds"]) + 1
    assert workflow_plan.plan_key(changed) != workflow_plan.plan_key(default_config)
    with pytest.raises(AssertionError, match="built again"):
        workflow_plan.load_plan(changed, tmp_path, build=_no_build)


def test_the_key_covers_the_package_sources(default_config, monkeypatch):
    before = workflow_plan.plan_key(default_config)
    monkeypatch.setattr(workflow_plan, "source_digest", lambda: "an edited study module")
    assert workflow_plan.plan_key(default_config) != before


def test_a_bad_config_raises_its_error_and_caches_nothing(default_config, tmp_path):
    bad = copy.deepcopy(default_config)
    bad["studies"]["warmstart"]["variants"] = {"x": "no_such_intervention"}
    for _ in range(2):  # the second parse fails the same way: nothing was cached
        with pytest.raises(cfg.ConfigError, match="no_such_intervention"):
            workflow_plan.load_plan(bad, tmp_path)
    assert not list(tmp_path.glob("*.json"))


def test_a_corrupt_plan_is_rebuilt_with_a_warning(default_config, tmp_path, caplog):
    good = workflow_plan.load_plan(default_config, tmp_path)
    (path,) = tmp_path.glob("*.json")
    path.write_text('{"format": 1, "stud')
    with caplog.at_level(logging.WARNING, logger="plasticlab.workflow_plan"):
        rebuilt = workflow_plan.load_plan(default_config, tmp_path)
    assert rebuilt.document == good.document and "unreadable workflow plan" in caplog.text
    assert json.loads(path.read_text()) == good.document


def test_the_cache_can_be_turned_off(default_config, tmp_path, monkeypatch):
    monkeypatch.setenv(workflow_plan.CACHE_VARIABLE, "0")
    workflow_plan.load_plan(default_config, tmp_path)
    assert not list(tmp_path.glob("*.json"))


def test_only_the_newest_plans_are_kept(default_config, tmp_path, monkeypatch):
    monkeypatch.setattr(workflow_plan, "CACHE_KEEP", 2)
    for seeds in (5, 6, 7):
        config = copy.deepcopy(default_config)
        config["studies"]["qtd"]["seeds"] = seeds
        workflow_plan.load_plan(config, tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 2


def test_a_cached_plan_is_read_without_torch_or_any_study(default_config, tmp_path):
    workflow_plan.load_plan(default_config, tmp_path)
    probe = (
        "import json, sys\n"
        "from plasticlab import workflow_plan\n"
        f"config = json.loads({json.dumps(json.dumps(default_config))})\n"
        f"plan = workflow_plan.load_plan(config, {str(tmp_path)!r}, build=None)\n"
        "assert plan.enabled_targets()\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('plasticlab.studies') or m == 'pandas'))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_plans_can_live_in_a_shared_directory(default_config, tmp_path, monkeypatch):
    monkeypatch.setenv(workflow_plan.CACHE_DIR_VARIABLE, str(tmp_path / "shared"))
    first = workflow_plan.load_plan(default_config)
    assert len(list((tmp_path / "shared").glob("*.json"))) == 1
    assert workflow_plan.load_plan(default_config, build=_no_build).document == first.document
