"""checkov over every EKS stack's workloads: each Kubernetes object ml-serving renders, plus
the Deployment KServe creates for each InferenceService (so model pods are scanned too).

Every finding is fixed or skipped in the manifest with checkov's annotation and a reason.
checkov runs from its own virtualenv (`make checkov-venv`); without it this test skips.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from components.compilers.rendered_workloads import SKIP_PREFIX, group_deployments, predictor_deployments
from components.preview.manifests import is_kubernetes_object, manifest
from tests.conftest import ROOT, STACK_NAMES

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
EKS_STACKS = [s for s in STACK_NAMES if not s.startswith("sagemaker")]


def _workloads(recording) -> list[dict]:
    objects = [manifest(r) for r in recording.resources if is_kubernetes_object(r)]
    return objects + predictor_deployments(objects) + group_deployments(objects)


@pytest.fixture(scope="module")
def scan(previews, tmp_path_factory):
    if not CHECKOV.exists():
        pytest.skip(f"{CHECKOV} is absent: run `make checkov-venv` (checkov==3.3.30 in its own virtualenv)")
    root = tmp_path_factory.mktemp("workloads")
    for stack in EKS_STACKS:
        folder = root / stack
        folder.mkdir()
        for index, doc in enumerate(_workloads(previews(stack).recording)):
            (folder / f"{index:03d}-{doc['kind']}-{doc['metadata']['name']}.yaml").write_text(yaml.safe_dump(doc))
    # One run over every stack keeps checkov's start-up (~10 s) to once.
    done = subprocess.run(
        [str(CHECKOV), "-d", str(root), "--framework", "kubernetes", "-o", "json", "--compact",
         "--skip-download"],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    report = json.loads(done.stdout)
    reports = report if isinstance(report, list) else [report]
    return root, reports


def _checks(reports, kind: str) -> list[dict]:
    return [c for r in reports for c in r.get("results", {}).get(kind, [])]


def test_every_finding_is_fixed_or_skipped_with_a_reason(scan):
    root, reports = scan
    failed = [f"{c['check_id']} {c['check_name']}: {Path(c['file_path']).name} ({c.get('resource')})"
              for c in _checks(reports, "failed_checks")]
    assert failed == []
    skipped = _checks(reports, "skipped_checks")
    assert all(len((c.get("check_result", {}).get("suppress_comment") or "").strip()) >= 20 for c in skipped), [
        (c["check_id"], c.get("check_result", {}).get("suppress_comment")) for c in skipped]


def test_model_pods_are_scanned_and_pass_the_token_and_network_checks(scan):
    root, reports = scan
    passed = _checks(reports, "passed_checks")
    # The leader Service of a replica across nodes is named `-predictor` too: pods only.
    model_deployments = {c["resource"] for c in passed
                         if str(c.get("resource")).startswith("Deployment.") and "-predictor" in str(c.get("resource"))}
    assert model_deployments, "the rendered predictor Deployments were not scanned"
    # CKV_K8S_38: service account tokens mounted only where needed.
    token_checks = [c for c in passed if c["check_id"] == "CKV_K8S_38" and "-predictor" in str(c.get("resource"))]
    assert token_checks
    # CKV2_K8S_6: every model pod is selected by a NetworkPolicy (the models namespace's default-deny).
    covered = {c["resource"].split(".")[2] for c in passed if c["check_id"] == "CKV2_K8S_6"}
    assert {r.split(".")[2] for r in model_deployments} <= covered
    # prod's 405B runs as a LeaderWorkerSet group: its leader and worker pods are scanned too.
    groups = {c["resource"].split(".")[2] for c in passed if c["check_id"] == "CKV_K8S_38"}
    assert {"llama-405b-v1-leader", "llama-405b-v1-worker"} <= groups
    assert {"llama-405b-v1-leader", "llama-405b-v1-worker"} <= covered


def test_skips_are_written_on_the_manifests_ml_serving_deploys(previews):
    for stack in EKS_STACKS:
        for doc in _workloads(previews(stack).recording):
            for key, value in doc["metadata"].get("annotations", {}).items():
                if key.startswith(SKIP_PREFIX):
                    check, _, reason = value.partition("=")
                    assert check.startswith("CKV_K8S_") and len(reason) >= 20, (doc["metadata"]["name"], value)
