"""The offline runner reports what the real CrossGuard analyzer reports for the same resources.

The analyzer servicer inside pulumi_policy is driven here with the protobuf requests the Pulumi
engine sends (properties as Struct, so every number a float, read through the unknown-checking
proxy), configured as the CLI configures it from policies/config.<env>.json. Constructing
the servicer starts no server; `PolicyPack(...)` would.
"""
from __future__ import annotations

import pytest
from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from components.preview.engine import Resource
from components.preview.policy import evaluate
from policies.ml_serving_policies import PACK_ENFORCEMENT, PACK_NAME, POLICIES
from policies.ml_serving_policies.config import PolicySetting, for_environment
from tests.policies.test_each_policy import CASES
from tests.policies.world import copy_of, world

LEVELS = {
    EnforcementLevel.ADVISORY: analyzer_pb2.ADVISORY,
    EnforcementLevel.MANDATORY: analyzer_pb2.MANDATORY,
    EnforcementLevel.REMEDIATE: analyzer_pb2.REMEDIATE,
    EnforcementLevel.DISABLED: analyzer_pb2.DISABLED,
}
NAMES = {value: level.value for level, value in LEVELS.items()}


def _struct(values: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def _analyzer(settings: dict[str, PolicySetting]) -> _PolicyAnalyzerServicer:
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "1.0.0", POLICIES, PACK_ENFORCEMENT)
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, setting in settings.items():
        request.policyConfig[name].CopyFrom(analyzer_pb2.PolicyConfig(
            enforcementLevel=LEVELS[setting.enforcement], properties=_struct(setting.properties)))
    servicer.Configure(request, None)
    return servicer


def _options(resource: Resource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect, ignoreChanges=resource.ignore_changes, parent=resource.parent)


def _provider(resource: Resource, resources: list[Resource]) -> analyzer_pb2.AnalyzerProviderResource | None:
    for candidate in resources:
        if resource.provider and resource.provider.startswith(candidate.urn + "::"):
            return analyzer_pb2.AnalyzerProviderResource(
                type=candidate.type, properties=_struct(candidate.inputs), urn=candidate.urn, name=candidate.name)
    return None


def analyzer_findings(resources: list[Resource], settings: dict[str, PolicySetting]) -> set[tuple[str, str, str, str]]:
    servicer = _analyzer(settings)
    found = set()
    for resource in resources:
        request = analyzer_pb2.AnalyzeRequest(
            type=resource.type, properties=_struct(resource.inputs), urn=resource.urn, name=resource.name,
            options=_options(resource), provider=_provider(resource, resources))
        for d in servicer.Analyze(request, None).diagnostics:
            # The engine attributes a resource policy's violation to the resource analyzed.
            found.add((d.policyName, NAMES[d.enforcementLevel], resource.urn, d.message))
    stack = analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(
            type=r.type, properties=_struct(r.inputs), urn=r.urn, name=r.name, options=_options(r),
            provider=_provider(r, resources), parent=r.parent, dependencies=r.depends_on)
        for r in resources
    ])
    for d in servicer.AnalyzeStack(stack, None).diagnostics:
        found.add((d.policyName, NAMES[d.enforcementLevel], d.urn, d.message))
    return found


def offline_findings(resources: list[Resource], settings: dict[str, PolicySetting]) -> set[tuple[str, str, str, str]]:
    violations, not_run = evaluate(resources, settings)
    assert not not_run
    descriptions = {p.name: p.description for p in POLICIES}
    # The analyzer prefixes each message with the policy's description.
    return {(v.policy, v.enforcement, v.urn, f"{descriptions[v.policy]}\n{v.message}") for v in violations}


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_compliant_stack_is_clean_for_both(environment):
    _, settings = for_environment(POLICIES, PACK_ENFORCEMENT, environment)
    resources = list(world().values())
    assert analyzer_findings(resources, settings) == offline_findings(resources, settings) == set()


def _first_case_per_policy() -> list:
    seen: dict[str, object] = {}
    for case in CASES:
        seen.setdefault(case.policy, case)
    return list(seen.values())


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_a_broken_input_per_policy_gets_the_same_findings(environment):
    # One case per policy keeps this quick: the analyzer deserializes every resource once per policy.
    _, settings = for_environment(POLICIES, PACK_ENFORCEMENT, environment)
    compared = 0
    for case in _first_case_per_policy():
        broken = copy_of(world())
        case.breaks(broken)
        resources = list(broken.values())
        offline = offline_findings(resources, settings)
        assert analyzer_findings(resources, settings) == offline, case.id
        compared += bool(offline)
    disabled = [name for name, setting in settings.items() if setting.enforcement == EnforcementLevel.DISABLED]
    # Dev also tolerates the 50 % first canary step the canary case uses.
    tolerated = 1 if environment == "dev" else 0
    assert compared == len(POLICIES) - len(disabled) - tolerated
