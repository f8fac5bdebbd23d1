"""Loading and checking configs: the JSON schema first, then the registries.

The schema (``config.schema.yaml`` in this package; ``workflow/schemas/`` links to it) catches
unknown keys and wrong types; :func:`check_config` then checks names that only the code knows
(studies, interventions, models, datasets) and says where in the config the bad name is.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from plasticlab import studies


def _interventions():  # torch comes with them: loaded only when a config is checked
    from plasticlab import interventions

    return interventions


class ConfigError(ValueError):
    """A config that cannot run; the message names the offending key or value."""


def schema() -> dict[str, Any]:
    return yaml.safe_load(resources.files("plasticlab").joinpath("config.schema.yaml").read_text())


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``, recursively for mappings (what Snakemake does with
    several ``--configfile`` arguments)."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_config(*paths: str | Path, registries: bool = True) -> dict[str, Any]:
    """Read and merge YAML config files in order, then check the result: against the schema, and
    (``registries``) the names only the code knows, which imports every study and torch. Readers
    of finished results (the claims scoreboard) need the schema check only."""
    config: dict[str, Any] = {}
    for path in paths:
        with open(path) as handle:
            config = deep_merge(config, yaml.safe_load(handle) or {})
    if registries:
        check_config(config)
    else:
        _check_schema(config)
    return config


def _schema_error_message(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    return f"config error at {where}: {error.message}"


def _check_schema(config: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError(_schema_error_message(errors[0]))


def check_config(config: dict[str, Any], validate_schema: bool = True) -> None:
    """Raise ConfigError naming the first problem found."""
    if validate_schema:
        _check_schema(config)
    for study_name, study_config in config.get("studies", {}).items():
        try:
            study = studies.get(study_name)
        except KeyError as error:
            raise ConfigError(f"config error at studies.{study_name}: {error.args[0]}") from None
        for variant, spec in study_config.get("variants", {}).items():
            try:
                _interventions().validate(spec)
            except (KeyError, ValueError, TypeError) as error:
                message = error.args[0] if error.args else str(error)
                raise ConfigError(f"config error at studies.{study_name}.variants.{variant}: {message}") from None
        try:
            study.check_job_shape(study_config)
            study.check(study_config)
        except (KeyError, ValueError) as error:
            message = error.args[0] if error.args else str(error)
            raise ConfigError(f"config error at studies.{study_name}: {message}") from None
    _check_shared_rules(config)


def _check_shared_rules(config: dict[str, Any]) -> None:
    """Studies trained by one rule (the agent studies' train_agent) must agree on its job layout."""
    rules: dict[str, list[str]] = {}
    for name in config.get("studies", {}):
        rules.setdefault(studies.get(name).train_rule_name, []).append(name)
    for rule, members in rules.items():
        if len(members) < 2:
            continue
        batched = {studies.get(name).seeds_in_one_job(config["studies"][name]) for name in members}
        seed_counts = {int(config["studies"][name]["seeds"]) for name in members}
        if len(batched) > 1 or (batched == {True} and len(seed_counts) > 1):
            from plasticlab.workflow import shared_rule_problem

            raise ConfigError(f"config error at studies: {shared_rule_problem(rule, members)}")


def enabled_studies(config: dict[str, Any]) -> list[str]:
    return [name for name, section in config.get("studies", {}).items() if section.get("enabled", True)]


def variants(config: dict[str, Any], study: str) -> list[str]:
    return studies.get(study).variants(config["studies"][study])


def seeds(config: dict[str, Any], study: str) -> list[int]:
    """The ``seed=<s>`` run directories (jobs) of each variant of ``study``."""
    return studies.get(study).job_seeds(config["studies"][study])


def run_config(config: dict[str, Any], study: str, variant: str) -> dict[str, Any]:
    """Everything one run of ``study``/``variant`` depends on, and nothing more."""
    section = config["studies"][study]
    known = studies.get(study).variants(section)
    if variant not in known:
        raise ConfigError(f"study {study!r} has no variant {variant!r}; variants: {', '.join(known)}")
    resolved = studies.get(study).run_config(section, variant)
    resolved["data_dir"] = config.get("data_dir", "data")
    return resolved
