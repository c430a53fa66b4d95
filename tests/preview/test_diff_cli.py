"""`make diff` end to end, from a fresh repository: main holds the stack files as they are, a
branch removes a model from prod and changes a GPU pool's instance types."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}


def _git(repo: Path, *args: str) -> str:
    run = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env={**os.environ, **GIT_ENV}, check=True)
    return run.stdout.strip()


def _fresh_repository(into: Path) -> Path:
    """The working tree's files (what a clone of this branch holds), committed as main."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True)
    repo = into / "repo"
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            target = repo / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    return repo


def _edit_prod(repo: Path) -> None:
    path = repo / "stacks" / "Pulumi.prod.yaml"
    document = yaml.safe_load(path.read_text())
    config = document["config"]
    config["ml-serving:models"] = [m for m in config["ml-serving:models"] if m["name"] != "sentiment"]
    pool = next(p for p in config["ml-serving:cluster"]["gpu_pools"] if p["name"] == "l4")
    pool["instance_types"] = ["g6.2xlarge"]
    path.write_text(yaml.safe_dump(document, sort_keys=False))


@pytest.fixture(scope="module")
def diffed(tmp_path_factory, previews):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("make diff compares git revisions: needs git and a checkout of the repository")
    repo = _fresh_repository(tmp_path_factory.mktemp("diff"))
    _git(repo, "checkout", "-q", "-b", "drop-sentiment")
    _edit_prod(repo)
    _git(repo, "commit", "-q", "-am", "prod: drop sentiment, L4 pool on g6.2xlarge")
    env = {k: v for k, v in os.environ.items() if k != "ALLOW_DESTRUCTIVE"}
    # No BASE: the merge base with main.
    run = subprocess.run([sys.executable, "-m", "components.preview.diff", "--stack", "prod"], cwd=repo, env=env,
                         capture_output=True, text=True, timeout=600)
    return repo, run


def test_a_guarded_change_exits_3_naming_what_to_acknowledge(diffed):
    repo, run = diffed
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr
    assert ("3 guarded change(s) in stack prod not acknowledged: model:sentiment, ecr-repository:images-triton, "
            "node-group:l4. If intended, run again with ALLOW_DESTRUCTIVE=model:sentiment,"
            "ecr-repository:images-triton,node-group:l4 (in a pull request, the labels allow-destructive:model:sentiment, "
            "allow-destructive:ecr-repository:images-triton, allow-destructive:node-group:l4).") in run.stderr


def test_the_diff_lists_the_removed_model_and_the_replaced_pool_with_its_reason(diffed):
    repo, _ = diffed
    diff = json.loads((repo / "build/prod/diff.json").read_text())
    assert diff["base"] == _git(repo, "rev-parse", "main")
    assert diff["models"] == {"added": [], "removed": ["sentiment"], "changed": []}
    assert {g["what"] for g in diff["guarded"]} >= {"model:sentiment", "node-group:l4"}
    groups = [r for r in diff["replaced"] if r["urn"].endswith("aws:eks/nodeGroup:NodeGroup::ml-serving-prod-gpu-l4-nodes")]
    assert groups == [{"urn": groups[0]["urn"],
                       "why": 'instanceTypes changed (["g6.xlarge"] -> ["g6.2xlarge"]), which forces replacement'}]
    assert any("InferenceService::ml-serving-prod-model-sentiment" in urn for urn in diff["removed"])
    markdown = (repo / "build/prod/diff.md").read_text()
    assert ("| `model:sentiment` | model sentiment is removed: its endpoint stops serving | **no** | "
            "`allow-destructive:model:sentiment` |") in markdown
    # The replaced l4 group is the guard's; no pool is rolled in place.
    assert diff["node_rolls"] == [] and "- Node rolls: none" in markdown


def test_the_cost_delta_is_the_difference_of_the_two_cost_files(diffed, previews):
    repo, _ = diffed
    diff = json.loads((repo / "build/prod/diff.json").read_text())
    head = json.loads((repo / "build/prod/cost.json").read_text())
    # The base is main's prod stack file, which is this checkout's: preview it independently.
    base = previews("prod").cost
    assert diff["cost"] == {
        "idle_delta_usd_month": round(head["idle"]["monthly_usd"] - base["idle"]["monthly_usd"], 2),
        "busy_delta_usd_month": round(head["busy"]["monthly_usd"] - base["busy"]["monthly_usd"], 2),
    }
    # Two idle L4 nodes now g6.2xlarge: the pool's floor costs more than the model saved.
    assert diff["cost"]["idle_delta_usd_month"] != 0
    assert json.loads((repo / "build/prod/base/cost.json").read_text()) == json.loads(json.dumps(base))


def test_the_base_build_does_not_clobber_the_working_trees(diffed):
    repo, _ = diffed
    head = json.loads((repo / "build/prod/resources.json").read_text())
    base = json.loads((repo / "build/prod/base/resources.json").read_text())
    assert not any("sentiment" in r["name"] for r in head)
    assert any("sentiment" in r["name"] for r in base)


def test_a_base_that_is_not_a_commit_exits_4(diffed):
    repo, _ = diffed
    run = subprocess.run([sys.executable, "-m", "components.preview.diff", "--stack", "prod", "--base", "no-such-ref"],
                         cwd=repo, capture_output=True, text=True, timeout=120)
    assert run.returncode == 4
    assert run.stderr.strip() == "BASE=no-such-ref is not a commit in this repository"
