"""Project files keep their promises: the Pulumi project, pins, generated docs, quick start."""
import re

import yaml

from components.compilers.config_reference import REFERENCE_PATH, SCHEMA_PATH, render, schema_text
from components.intent.schema import stack_file_schema
from tests.conftest import ROOT, STACK_FILES

ALLOWED_CONFIG_TYPES = {"string", "boolean", "integer", "array"}


def test_pulumi_project_file():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "ml-serving"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert project["stackConfigDir"] == "stacks"
    for key, declaration in project["config"].items():
        # The CLI's project schema: no object type, arrays need items, provider keys take no default.
        assert declaration["type"] in ALLOWED_CONFIG_TYPES, key
        assert declaration.get("description"), key
        assert "default" not in declaration, "defaults live only in the intent models"
        assert ":" not in key or key.startswith("ml-serving:")


def test_every_stack_sets_the_declared_keys():
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    for path in STACK_FILES:
        config = yaml.safe_load(path.read_text())["config"]
        for key in declared:
            assert f"ml-serving:{key}" in config, f"{path.name} misses ml-serving:{key}, which the CLI requires"
        assert path.read_text().startswith("# yaml-language-server: $schema=stack.schema.json")


def test_generated_schema_and_reference_are_current():
    assert SCHEMA_PATH.read_text() == schema_text(), "stacks/stack.schema.json is stale: run `make docs`"
    assert REFERENCE_PATH.read_text() == render(stack_file_schema()), "docs/configuration.md is stale: run `make docs`"


def test_stack_files_validate_against_the_editor_schema():
    import jsonschema

    validator = jsonschema.Draft202012Validator(stack_file_schema())
    for path in STACK_FILES:
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert not errors, f"{path.name}: {errors}"


def test_the_editor_schema_rejects_a_misspelt_key():
    import jsonschema

    document = yaml.safe_load((ROOT / "stacks/Pulumi.dev.yaml").read_text())
    document["config"]["ml-serving:modles"] = []
    assert list(jsonschema.Draft202012Validator(stack_file_schema()).iter_errors(document))


def test_every_dependency_is_pinned_exactly():
    for name in ("requirements.txt", "requirements-dev.txt", "policies/requirements.txt", "constraints.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("-r ") or line.startswith("-c "):
                continue
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+==[A-Za-z0-9_.+\-]+", line), f"{name}: {line} is not pinned exactly"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in quick_start.strip().splitlines()]
    assert commands == ["make synth", "make test"]
    ci = (ROOT / ".ci/run").read_text()
    assert "\nmake test\n" in ci
