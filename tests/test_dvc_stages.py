"""dvc.yaml generated from the study registry: per-study params, code and data dependencies."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from plasticlab import studies
from plasticlab.dvc_stages import build_stages, code_dependencies, render

from tests.conftest import REPO


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)


def test_committed_dvc_yaml_is_what_the_registry_generates(in_repo):
    assert (REPO / "dvc.yaml").read_text() == render(["config/config.yaml"]), "run `plasticlab dvc-stages`"


def test_each_stage_runs_its_study_and_depends_on_its_own_config_section_only(in_repo):
    stages = build_stages(["config/config.yaml"])["stages"]
    assert set(stages) == {*studies.available(), "claims"}
    for study in studies.available():
        stage = stages[study]
        assert stage["cmd"] == f"snakemake --cores all {study}"
        assert stage["params"] == [{"config/config.yaml": ["device", f"studies.{study}"]}]
        assert f"src/plasticlab/studies/{study}.py" in stage["deps"]
        assert not any(dep.startswith("src/plasticlab/studies/") and dep.endswith(".py") and
                       dep.rsplit("/", 1)[1][:-3] in set(studies.available()) - {study} for dep in stage["deps"])
        assert {"results/tables/%s.csv" % study, f"results/figures/{study}"} <= {o for o in stage["outs"] if isinstance(o, str)}
    assert set(stages["claims"]["deps"]) == {f"results/tables/{s}.csv" for s in studies.available()}


def test_tabular_studies_do_not_depend_on_the_deep_learning_code():
    for study in ("qtd", "dcfp"):
        deps = code_dependencies(study)
        assert "src/plasticlab/tabular" in deps
        assert not {"src/plasticlab/agents", "src/plasticlab/nets", "src/plasticlab/supervised",
                    "src/plasticlab/rewards"} & set(deps), deps
    assert {"src/plasticlab/agents", "src/plasticlab/envs", "src/plasticlab/nets"} <= set(code_dependencies("softmoe"))


# Runs one study's module alone in a fresh interpreter: a stand-in `plasticlab.studies` package whose
# register() only collects (the real registry imports every study), then a tiny train of the toy
# config's section, and prints every plasticlab module file that got loaded.
_ALONE = """
import json, sys, types, tempfile, pathlib, yaml
import plasticlab
package = types.ModuleType("plasticlab.studies")
package.__path__ = [str(pathlib.Path(plasticlab.__file__).parent / "studies")]
found = []
package.register = lambda cls: found.append(cls) or cls
sys.modules["plasticlab.studies"] = package
import importlib
importlib.import_module("plasticlab.studies." + sys.argv[1])
from plasticlab.studies.base import RunSpec
study = found[0]()
section = yaml.safe_load(open(sys.argv[2]))["studies"][sys.argv[1]]
study.check(section)
variant = study.variants(section)[0]
config = study.run_config(section, variant)
config["data_dir"] = "data"
with tempfile.TemporaryDirectory() as out:
    study.train(RunSpec(sys.argv[1], variant, study.job_seeds(section)[0], config, pathlib.Path(out)))
print(json.dumps(sorted(m.__file__ for n, m in list(sys.modules.items())
                        if n.startswith("plasticlab") and getattr(m, "__file__", None))))
"""


@pytest.mark.parametrize("study", ["warmstart", "qtd", "injection", "discobax", "understanding"])
def test_modules_a_study_runs_are_covered_by_its_dependencies(study, tmp_path):
    """Independent of the static import scan: train the study alone (toy size) in a fresh
    interpreter; every plasticlab module it loaded must lie inside one of its dependencies."""
    result = subprocess.run([sys.executable, "-c", _ALONE, study, str(REPO / ".test" / "config.yaml")],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    deps = code_dependencies(study)
    root = str(REPO / "src") + "/"
    assert any(path.endswith(f"studies/{study}.py") for path in loaded)
    for path in loaded:
        if not path.startswith(root):
            continue  # third-party files loaded under a plasticlab module name (MinAtar's games)
        relative = "src/" + path[len(root):]
        if relative == "src/plasticlab/__init__.py":
            continue
        assert any(relative == dep or relative.startswith(dep + "/") for dep in deps), (relative, deps)


def test_on_disk_data_a_study_reads_becomes_a_dependency(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open(REPO / "config" / "config.yaml") as handle:
        config = yaml.safe_load(handle)
    config["data_dir"] = "data"
    config["studies"]["warmstart"]["dataset"] = "mnist"
    config["studies"]["discobax"]["datasets"]["screen"] = {"name": "csv", "protocol": "batch", "features": "screens/f.csv",
                                                            "targets": "screens/t.csv"}
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    stages = build_stages(["config/config.yaml"])["stages"]
    assert "data/mnist" in stages["warmstart"]["deps"]
    assert {"data/screens/f.csv", "data/screens/t.csv"} <= set(stages["discobax"]["deps"])
    assert not any(dep.startswith("data/") for dep in stages["qtd"]["deps"] + stages["disentangle"]["deps"])


def test_a_paper_tier_stage_passes_its_config_files_and_tracks_their_sections(in_repo):
    stages = build_stages(["config/config.yaml", "config/paper.yaml"])["stages"]
    stage = stages["warmstart"]
    assert stage["cmd"] == "snakemake --cores all warmstart --configfile config/paper.yaml"
    assert stage["params"] == [{"config/config.yaml": ["device", "studies.warmstart"]},
                               {"config/paper.yaml": ["studies.warmstart"]}]
    assert "data/cifar-10-batches-py" in stage["deps"]  # the paper's warm-start data set


def test_check_mode_reports_a_stale_file(tmp_path, in_repo):
    stale = tmp_path / "dvc.yaml"
    stale.write_text("stages: {}\n")
    result = subprocess.run([sys.executable, "-m", "plasticlab.cli", "dvc-stages", "--check", "--out", str(stale)],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1 and "out of date" in result.stderr
