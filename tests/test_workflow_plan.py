"""plasticlab.workflow: the rules, job layouts and scheduler requests generated from the studies."""

from __future__ import annotations

import copy
import os

import pytest
import yaml

from plasticlab import config as cfg
from plasticlab import studies, workflow, workflow_plan
from plasticlab.studies.base import Study

from tests.conftest import REPO


def _load(*names: str) -> dict:
    return cfg.load_config(*(REPO / name for name in names))


def test_every_registered_study_gets_a_training_rule_and_agents_share_one():
    config = _load("config/config.yaml")
    rules = workflow.train_rules(config)
    trained = sorted(name for members in rules.values() for name in members)
    assert trained == sorted(studies.available())
    assert rules["train_agent"] == ("injection", "softmoe", "hare_tortoise")
    assert {rule for rule in rules if rule != "train_agent"} == {f"train_{name}" for name in studies.available()
                                                               if name not in rules["train_agent"]}


def test_supervised_jobs_run_every_seed_of_a_variant_unless_seeds_per_job_is_one():
    config = _load("config/config.yaml")
    seeds = config["studies"]["warmstart"]["seeds"]
    shape = workflow.job_shape(config, "train_warmstart")
    assert shape.per_variant_seeds == tuple(range(seeds))
    assert shape.run_files("metrics.parquet") == [f"results/runs/{{study}}/{{variant}}/seed={s}/metrics.parquet"
                                                  for s in range(seeds)]
    assert shape.runtime == studies.get("warmstart").run_resources["runtime"] * seeds  # the job runs them all
    assert shape.seed_param() == " ".join(map(str, range(seeds)))
    one = copy.deepcopy(config)
    one["studies"]["warmstart"]["seeds_per_job"] = 1
    shape = workflow.job_shape(one, "train_warmstart")
    assert shape.per_variant_seeds is None and shape.run_files("run.json") == ["results/runs/{study}/{variant}/seed={seed}/run.json"]
    assert shape.runtime == studies.get("warmstart").run_resources["runtime"]
    assert shape.seed_param()(type("W", (), {"seed": "3"})()) == "3"


def test_seeds_per_job_between_one_and_all_is_refused_with_the_reason():
    config = _load("config/config.yaml")
    config["studies"]["warmstart"]["seeds_per_job"] = 2
    with pytest.raises(cfg.ConfigError, match="seeds_per_job must be 1 .* or at least seeds=5"):
        cfg.check_config(config)


def test_seeds_per_job_does_not_change_what_a_run_computes():
    config = _load("config/config.yaml")
    for study in ("warmstart", "disentangle", "injection"):
        variant = cfg.variants(config, study)[0]
        batched = cfg.run_config(config, study, variant)
        config["studies"][study]["seeds_per_job"] = 1
        assert cfg.run_config(config, study, variant) == batched, study


def test_threads_device_and_gpu_follow_the_config_for_accelerated_studies_only():
    config = _load("config/config.yaml", "config/paper.yaml")
    agent = workflow.job_shape(config, "train_agent")
    assert (agent.threads, agent.device, agent.gpu) == (config["threads_per_run"], "cuda", 1)
    tabular = workflow.job_shape(config, "train_qtd")
    assert (tabular.threads, tabular.device, tabular.gpu, tabular.group) == (1, "cpu", 0, "tabular")
    default = workflow.job_shape(_load("config/config.yaml"), "train_agent")
    assert (default.device, default.gpu) == ("cpu", 0)


def test_probe_jobs_mirror_their_training_jobs():
    config = _load("config/config.yaml")
    for study in ("understanding", "capacity"):
        train = workflow.job_shape(config, f"train_{study}")
        probe = workflow.probe_shape(config, study)
        assert probe.rule == f"probe_{study}" and probe.per_variant_seeds == train.per_variant_seeds
    assert not studies.get("warmstart").has_probe and studies.get("understanding").has_probe


def test_studies_sharing_a_rule_must_declare_the_same_shape(monkeypatch):
    config = _load("config/config.yaml")
    monkeypatch.setattr(type(studies.get("softmoe")), "run_resources", {"mem_mb": 1, "runtime": 1})
    with pytest.raises(ValueError, match="share rule train_agent but declare different job shapes"):
        workflow.job_shape(config, "train_agent")


def test_config_files_are_published_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    shown = workflow_plan.record_config_files(["config/config.yaml", str(tmp_path / "config" / "paper.yaml"), "/elsewhere/x.yaml"])
    assert shown == ["config/config.yaml", os.path.join("config", "paper.yaml"), "/elsewhere/x.yaml"]
    assert os.environ[workflow_plan.CONFIG_FILES_VARIABLE] == os.pathsep.join(shown)


def test_base_study_shape_defaults_are_one_seed_per_job():
    class Plain(Study):
        name = "plain"

    assert not Plain().seeds_in_one_job({"seeds": 3}) and Plain().train_rule_name == "train_plain"
    assert Plain().data_paths({"dataset": "mnist", "inner": [{"dataset": "cifar10"}, {"dataset": "digits"}]}, "d") == [
        os.path.join("d", "mnist"), os.path.join("d", "cifar-10-batches-py")]


def test_the_toy_config_enables_every_study():
    with open(REPO / ".test" / "config.yaml") as handle:
        toy = yaml.safe_load(handle)
    cfg.check_config(toy)
    assert sorted(cfg.enabled_studies(toy)) == sorted(studies.available())


def test_every_study_has_a_report_caption_and_a_schema_section():
    schema = cfg.schema()["properties"]["studies"]["properties"]
    for name in studies.available():
        assert (REPO / "workflow" / "report" / f"{name}.rst").read_text().strip(), name
        assert name in schema, name


def test_agent_studies_share_a_rule_so_they_share_its_job_layout():
    config = _load("config/config.yaml")
    shape = workflow.job_shape(config, "train_agent")
    assert shape.per_variant_seeds == tuple(range(config["studies"]["softmoe"]["seeds"]))
    config["studies"]["softmoe"]["seeds"] = 3  # injection and hare_tortoise keep 2
    with pytest.raises(cfg.ConfigError, match="share the rule train_agent"):
        cfg.check_config(config)
    for name in ("injection", "softmoe", "hare_tortoise"):
        config["studies"][name]["seeds_per_job"] = 1  # one job per seed: the seed counts may differ
    cfg.check_config(config)
    assert workflow.job_shape(config, "train_agent").per_variant_seeds is None
    config["studies"]["injection"]["seeds_per_job"] = 5
    with pytest.raises(cfg.ConfigError, match="share the rule train_agent"):
        cfg.check_config(config)
