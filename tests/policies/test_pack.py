"""The pack's shape: metadata, per-environment enforcement, the files the Pulumi CLI reads."""
from __future__ import annotations

import ast
import json
import re
import select
import subprocess
import sys

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel, Severity, StackValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer

from policies.ml_serving_policies import PACK_ENFORCEMENT, PACK_NAME, POLICIES, POLICIES_BY_NAME
from policies.ml_serving_policies.config import (
    ENVIRONMENTS,
    PolicyConfigError,
    config_file,
    for_environment,
    reconcile,
)
from tests.conftest import ROOT

PACK_DIR = ROOT / "policies"
# Policies that only make sense in prod: scale-to-zero and unprotected data are fine elsewhere.
PROD_ONLY = {"online-models-keep-warm-replica", "stateful-resources-protected", "canary-rollback-automated"}
# Money is spent the same in dev: budgets bind everywhere. Spot is a trade-off: advice everywhere.
ALWAYS_MANDATORY = {"monthly-cost-within-budget", "warm-capacity-bounded"}
ALWAYS_ADVISORY = {"gpu-spot-for-online-serving"}


def test_the_pack_has_at_least_fifteen_policies_with_unique_names():
    names = [policy.name for policy in POLICIES]
    assert len(names) >= 15
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) for name in names), names


@pytest.mark.parametrize("policy", POLICIES, ids=[p.name for p in POLICIES])
def test_every_policy_explains_itself_and_its_fix(policy):
    assert policy.display_name and policy.description.endswith(".")
    assert policy.remediation_steps and len(policy.remediation_steps) > 40
    assert isinstance(policy.severity, Severity)
    assert policy.tags
    assert policy.enforcement_level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)
    for key, spec in (policy.config_schema.properties.items() if policy.config_schema else []):
        assert spec.get("description") and "default" in spec, f"{policy.name}.{key} needs a description and default"


def test_the_analyzer_accepts_the_pack_metadata():
    # What `pulumi preview --policy-pack` asks for first; config schemas must fit a protobuf Struct.
    info = _PolicyAnalyzerServicer(PACK_NAME, "1.0.0", POLICIES, PACK_ENFORCEMENT).GetAnalyzerInfo(None, None)
    assert [p.name for p in info.policies] == [p.name for p in POLICIES]
    assert all(p.remediation_steps for p in info.policies)
    stack_policies = {p.name for p in POLICIES if isinstance(p, StackValidationPolicy)}
    assert stack_policies == {
        "gpu-model-servers-shared-memory", "model-servers-readiness-probe", "containers-run-as-non-root",
        "node-groups-in-private-subnets", "s3-buckets-kms-encrypted", "s3-buckets-versioned", "s3-buckets-not-public",
        "eks-admin-and-deployer-access", "images-from-own-account",
    }


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_has_a_valid_config(environment):
    path, settings = for_environment(POLICIES, PACK_ENFORCEMENT, environment)
    assert path == config_file(environment) and path.parent == PACK_DIR
    assert set(settings) == set(POLICIES_BY_NAME)
    levels = {name: s.enforcement for name, s in settings.items()}
    disabled = {name for name, level in levels.items() if level == EnforcementLevel.DISABLED}
    assert disabled == (set() if environment == "prod" else PROD_ONLY)
    expected = EnforcementLevel.ADVISORY if environment == "dev" else EnforcementLevel.MANDATORY
    fixed = ALWAYS_MANDATORY | ALWAYS_ADVISORY
    assert {level for name, level in levels.items() if name not in disabled | fixed} == {expected}
    assert {levels[name] for name in ALWAYS_MANDATORY} == {EnforcementLevel.MANDATORY}
    assert {levels[name] for name in ALWAYS_ADVISORY} == {EnforcementLevel.ADVISORY}


def test_limits_tighten_from_dev_to_prod():
    def limit(environment: str, policy: str, key: str) -> int:
        return for_environment(POLICIES, PACK_ENFORCEMENT, environment)[1][policy].properties[key]

    assert limit("dev", "sagemaker-canary-first-step-small", "maxFirstStepPercent") == 50
    assert limit("staging", "sagemaker-canary-first-step-small", "maxFirstStepPercent") == 25
    assert limit("prod", "sagemaker-canary-first-step-small", "maxFirstStepPercent") == 10
    assert limit("dev", "max-replicas-bounded", "maxReplicas") < limit("prod", "max-replicas-bounded", "maxReplicas")


def test_reconciling_follows_the_cli_all_then_per_policy():
    settings = reconcile(POLICIES, PACK_ENFORCEMENT, {
        "all": "advisory",
        "iam-no-wildcard-admin": "mandatory",
        "max-replicas-bounded": {"enforcementLevel": "disabled", "maxReplicas": 3},
        "gpu-node-groups-bounded": {"maxGpuNodes": 2},
    }, "test")
    assert settings["ecr-scan-on-push"].enforcement == EnforcementLevel.ADVISORY
    assert settings["iam-no-wildcard-admin"].enforcement == EnforcementLevel.MANDATORY
    assert settings["max-replicas-bounded"].enforcement == EnforcementLevel.DISABLED
    assert settings["max-replicas-bounded"].properties == {"maxReplicas": 3}
    # Properties alone keep the level `all` gave.
    assert settings["gpu-node-groups-bounded"].enforcement == EnforcementLevel.ADVISORY
    assert settings["gpu-node-groups-bounded"].properties == {"maxGpuNodes": 2}
    # Defaults from the schema fill what the file leaves out.
    assert settings["required-cost-tags"].properties == {"requiredTags": ["team", "cost-center"]}


def test_a_bad_config_names_every_problem():
    with pytest.raises(PolicyConfigError) as caught:
        reconcile(POLICIES, PACK_ENFORCEMENT, {
            "all": "strict",
            "max-replicas-bounded": {"maxReplica": 3},
            "gpu-node-groups-bounded": {"maxGpuNodes": 0},
            "no-such-policy": "advisory",
            "ecr-scan-on-push": 3,
        }, "policies/config.test.json")
    assert caught.value.source == "policies/config.test.json"
    assert caught.value.problems == [
        'all: "strict" is not one of advisory, mandatory, remediate, disabled',
        "ecr-scan-on-push: expected an enforcement level or an object, got 3",
    ]
    with pytest.raises(PolicyConfigError) as caught:
        reconcile(POLICIES, PACK_ENFORCEMENT, {
            "max-replicas-bounded": {"maxReplica": 3},
            "gpu-node-groups-bounded": {"maxGpuNodes": 0},
            "no-such-policy": "advisory",
        }, "policies/config.test.json")
    assert caught.value.problems == [
        "no-such-policy: no such policy in the pack",
        "max-replicas-bounded: properties: Additional properties are not allowed ('maxReplica' was unexpected)",
        "gpu-node-groups-bounded: maxGpuNodes: 0 is less than the minimum of 1",
    ]


def test_main_only_builds_the_pack():
    # Building a PolicyPack starts a gRPC server that never returns, so nothing else may live there.
    tree = ast.parse((PACK_DIR / "__main__.py").read_text())
    imports = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
    assert imports == {"ml_serving_policies", "pulumi_policy"}
    calls = [node for node in tree.body if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)]
    assert len(calls) == 1 and calls[0].value.func.id == "PolicyPack"
    assert {kw.arg for kw in calls[0].value.keywords} >= {"name", "policies", "enforcement_level"}


def test_the_pack_imports_nothing_the_policy_virtualenv_lacks():
    # pulumi preview runs the pack in policies/venv, built from policies/requirements.txt only.
    allowed = {"__future__", "collections", "dataclasses", "ipaddress", "json", "math", "pathlib", "re", "typing",
               "pulumi_policy", "jsonschema"}
    for module in (PACK_DIR / "ml_serving_policies").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                assert node.module.split(".")[0] in allowed, f"{module.name} imports {node.module}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] in allowed, f"{module.name} imports {alias.name}"


def test_the_policy_project_file_and_requirements():
    project = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
    assert re.fullmatch(r"\d+\.\d+\.\d+", project["version"])
    requirements = (PACK_DIR / "requirements.txt").read_text().split()
    assert "pulumi-policy==1.21.0" in requirements


def test_config_files_are_plain_json_objects():
    for environment in ENVIRONMENTS:
        document = json.loads(config_file(environment).read_text())
        assert isinstance(document, dict) and "all" in document


def test_the_pack_serves_as_the_pulumi_cli_starts_it():
    # The CLI runs `python -u -m pulumi.policy <engine> <pack dir>` and reads the port from stdout.
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(PACK_DIR)],
        cwd=PACK_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        port = process.stdout.readline().strip() if ready else ""
        assert port.isdigit(), process.stderr.read() if process.poll() is not None else "no port within 60 s"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = analyzer_pb2_grpc.AnalyzerStub(channel).GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
        assert info.name == PACK_NAME
        assert [p.name for p in info.policies] == [p.name for p in POLICIES]
    finally:
        process.kill()
        process.wait(timeout=30)


def test_docs_policies_md_is_current():
    from policies.ml_serving_policies.reference import REFERENCE_PATH, TOPICS, render

    assert sorted(p.name for module, _ in TOPICS for p in module.POLICIES) == sorted(POLICIES_BY_NAME)
    assert REFERENCE_PATH == ROOT / "docs" / "policies.md"
    assert REFERENCE_PATH.read_text() == render(), "docs/policies.md is stale: run `make docs`"
