"""`make synth` runs the pack: providers resolved, unknowns tolerated, levels per environment, exit 1
on a mandatory violation, the Policies section in the summary and policy.json in the build."""
from __future__ import annotations

import json

import yaml
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from components.preview.__main__ import main
from components.preview.engine import Recording
from components.preview.policy import check, evaluate, provider_of
from policies.ml_serving_policies import PACK_ENFORCEMENT, POLICIES
from policies.ml_serving_policies.config import reconcile
from policies.ml_serving_policies.governance import provider_default_tags
from tests.conftest import ROOT
from tests.policies.world import STRICT, copy_of, resource, violations, world


def test_a_resource_gets_the_provider_its_reference_names():
    w = world()
    resources = list(w.values())
    provider = provider_of(w["nat"], resources)
    assert provider is not None and provider.name == "aws" and provider.resource_type == "pulumi:providers:aws"
    assert dict(provider_default_tags(provider)) == {"team": "ml-platform", "cost-center": "cc-4410"}
    w["nat"].provider = ""
    assert provider_of(w["nat"], resources) is None


def test_default_tags_may_arrive_as_an_object():
    w = world()
    w["aws"].inputs["defaultTags"] = {"tags": {"team": "ml-platform", "cost-center": "cc-4410"}}
    assert violations(w) == []


def test_values_known_only_after_deployment_are_not_violations():
    w = world()
    # A key ARN created in the same update, an unknown versioning status, an unknown image.
    w["cluster"].inputs["encryptionConfig"]["provider"]["keyArn"] = UNKNOWN_STRING_VALUE
    w["versioning"].inputs["versioningConfiguration"]["status"] = UNKNOWN_STRING_VALUE
    w["runtime"].inputs["spec"]["containers"][0]["image"] = UNKNOWN_STRING_VALUE
    settings = reconcile(POLICIES, PACK_ENFORCEMENT, STRICT, "test")
    found, not_run = evaluate(list(w.values()), settings)
    assert found == []
    # Resource policies that need the value say so, as `pulumi preview` does.
    assert {policy for policy, _ in not_run} == {"images-pinned-by-digest", "images-from-private-ecr"}
    assert all("vllm-runtime: string value at .spec.containers.0.image can't be known during preview" == reason
               for _, reason in not_run)


def test_the_report_blames_resources_and_renders_a_section():
    broken = copy_of(world())
    broken["repository"].inputs["imageTagMutability"] = "MUTABLE"
    broken["extra"] = resource("aws:s3/bucket:Bucket", "logs", {"bucket": "acme-logs"}, protect=True)
    recording = Recording(stack="prod", resources=list(broken.values()))
    report = check(recording, "prod")
    assert report.config_file == "policies/config.prod.json"
    assert sorted((v.policy, v.resource_name) for v in report.mandatory) == [
        ("ecr-immutable-tags", "vllm"),
        ("s3-buckets-kms-encrypted", "logs"),
        ("s3-buckets-not-public", "logs"),
        ("s3-buckets-versioned", "logs"),
    ]
    section = report.section()
    assert section.startswith("## Policies\n\nPack `ml-serving` with `policies/config.prod.json` (prod): 45 policies, 44 mandatory, 1 advisory.")
    assert "4 violations, 4 mandatory" in section
    assert ("| mandatory | ecr-immutable-tags | `aws:ecr/repository:Repository` vllm | imageTagMutability is MUTABLE: "
            "a pushed tag can later point at different bits. |") in section
    data = report.as_json()
    assert data["environment"] == "prod" and data["policies"]["ecr-immutable-tags"] == "mandatory"
    assert {"policy", "enforcement", "urn", "type", "name", "message"} == set(data["violations"][0])


def test_dev_reports_the_same_findings_as_advisories():
    broken = copy_of(world())
    broken["repository"].inputs["imageTagMutability"] = "MUTABLE"
    broken["key"].protect = False  # prod-only policy: not run in dev
    report = check(Recording(stack="dev", resources=list(broken.values())), "dev")
    assert [(v.policy, v.enforcement) for v in report.violations] == [("ecr-immutable-tags", "advisory")]
    assert report.mandatory == []
    assert "45 policies, 2 mandatory, 40 advisory, 3 disabled." in report.section()


def _stack_file(tmp_path, environment: str, gpu_max: int):
    config = yaml.safe_load((ROOT / "stacks/Pulumi.dev.yaml").read_text())
    config["config"]["ml-serving:environment"] = environment
    config["config"]["ml-serving:cluster"]["gpu_pools"][0]["max_size"] = gpu_max
    # Staging and prod must route critical alerts somewhere.
    config["config"]["ml-serving:alerting"] = yaml.safe_load((ROOT / "stacks/Pulumi.staging.yaml").read_text())["config"][
        "ml-serving:alerting"
    ]
    path = tmp_path / f"Pulumi.{environment}-big.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_synth_in_dev_lists_violations_and_succeeds(tmp_path, capsys):
    stack_file = _stack_file(tmp_path, "dev", 20)
    assert main(["--stack-file", str(stack_file), "--out", str(tmp_path / "build")]) == 0
    report = json.loads((tmp_path / "build/dev-big/policy.json").read_text())
    bounded = [v for v in report["violations"] if v["policy"] == "gpu-node-groups-bounded"]
    assert [(v["enforcement"], v["name"]) for v in bounded] == [("advisory", "ml-serving-dev-big-gpu-l4-nodes")]
    assert "scalingConfig.maxSize is 20 GPU nodes; the limit for this environment is 4." in bounded[0]["message"]
    out = capsys.readouterr().out
    assert "## Policies" in out and "| advisory | gpu-node-groups-bounded |" in out


def test_synth_fails_on_a_mandatory_violation(tmp_path, capsys):
    stack_file = _stack_file(tmp_path, "staging", 20)
    assert main(["--stack-file", str(stack_file), "--out", str(tmp_path / "build")]) == 1
    report = json.loads((tmp_path / "build/staging-big/policy.json").read_text())
    assert report["config"] == "policies/config.staging.json"
    assert ("gpu-node-groups-bounded", "mandatory") in {(v["policy"], v["enforcement"]) for v in report["violations"]}
    err = capsys.readouterr().err
    assert "mandatory policy violations in stack staging-big (see the Policies section of" in err
    assert "Traceback" not in err
