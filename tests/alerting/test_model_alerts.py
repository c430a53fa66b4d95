"""Every alert of every EKS stack, under `promtool test rules`: series that must fire it and
series that must leave it silent, on both sides of each threshold (tests/alerting/cases.py)."""
from __future__ import annotations

import pytest
import yaml

from components.compilers.flagger import flagger_alerts
from components.preview.manifests import is_kubernetes_object, manifest
from tests.alerting.cases import coverage, model_cases, promtool_files, rule_keys
from tests.alerting.tools import run_promtool_tests, tool
from tests.conftest import STACK_NAMES, stack_config
from tests.factories import spec_of

EKS_STACKS = [s for s in STACK_NAMES if stack_config(s)["ml-serving:target"] == "eks"]


def _builders(stack):
    spec = spec_of(stack)
    return [model_cases(model, spec.tags.get("team")) for model in spec.models]


@pytest.mark.parametrize("stack", EKS_STACKS)
def test_the_program_deploys_the_rules_under_test(stack, previews):
    deployed = {
        doc["metadata"]["name"]: doc["spec"]
        for doc in (manifest(r) for r in previews(stack).recording.resources if is_kubernetes_object(r))
        if doc["kind"] == "PrometheusRule"
    }
    expected = {b.rule["metadata"]["name"]: b.rule["spec"] for b in _builders(stack)}
    if any(model.automated_rollout for model in spec_of(stack).models):
        # Flagger's own rollout alerts, under promtool in tests/compilers/test_flagger_alerts.py.
        rollouts = flagger_alerts()
        expected[rollouts["metadata"]["name"]] = rollouts["spec"]
    assert deployed == expected


@pytest.mark.parametrize("stack", EKS_STACKS)
def test_every_alert_has_a_case_that_fires_it_and_one_that_leaves_it_silent(stack):
    for builder in _builders(stack):
        fired, silent = coverage(builder)
        every = rule_keys(builder.rules)
        assert every - fired == set(), f"{builder.model.name}: never expected to fire"
        assert every - silent == set(), f"{builder.model.name}: never expected to stay silent"


@pytest.mark.parametrize("stack", EKS_STACKS)
def test_alerts_fire_and_stay_silent_as_the_cases_expect(stack, tmp_path):
    promtool = tool("promtool")
    tests = []
    for builder in _builders(stack):
        for stem, (rules, cases) in promtool_files(builder).items():
            # libyaml's dumper: the cases run to megabytes (3 MB for prod).
            (tmp_path / f"{stem}.rules.yml").write_text(yaml.dump(rules, Dumper=yaml.CSafeDumper))
            (tmp_path / f"{stem}.test.yml").write_text(yaml.dump(cases, Dumper=yaml.CSafeDumper, width=10**9))
            tests.append(f"{stem}.test.yml")
    result = run_promtool_tests(promtool, tests, tmp_path)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert result.stdout.count("SUCCESS") == len(tests)
