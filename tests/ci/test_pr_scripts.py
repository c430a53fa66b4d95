"""The pull-request diff's two scripts: labels acknowledge guarded changes, the verdict fails on
an unacknowledged one, and the comment is one per pull request, edited in place, rendered from
untrusted data without letting it escape its cells."""
from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

from components.preview import guard
from tests.conftest import ROOT


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / ".ci" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


pr_diff = _load("pr_diff")
pr_comment = _load("pr_comment")


def test_labels_acknowledge_guarded_changes_by_name():
    labels = json.dumps(["bug", "allow-destructive:model:sentiment", "allow-destructive: node-group:l4 ", "allow-destructive:"])
    assert pr_diff.acknowledged(labels) == ["model:sentiment", "node-group:l4"]
    assert pr_diff.acknowledged("not json") == [] and pr_diff.acknowledged('{"a": 1}') == [] and pr_diff.acknowledged(None) == []


def test_the_verdict_fails_on_any_unacknowledged_guarded_change_first():
    assert pr_diff.verdict({"dev": 0, "prod": 0}) == 0
    assert pr_diff.verdict({"dev": 1, "prod": 3}) == 3
    assert pr_diff.verdict({"dev": 0, "staging": 2, "prod": 4}) == 2


def test_a_stack_file_deleted_by_the_pull_request_is_still_diffed(tmp_path):
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, env={**env, "PATH": "/usr/bin:/bin"})

    (tmp_path / "stacks").mkdir()
    for name in ("dev", "prod", "schema"):
        (tmp_path / "stacks" / f"Pulumi.{name}.yaml").write_text("config: {}\n")
    (tmp_path / "stacks" / "stack.schema.json").write_text("{}")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "base")
    (tmp_path / "stacks" / "Pulumi.prod.yaml").unlink()
    (tmp_path / "stacks" / "Pulumi.new.yaml").write_text("config: {}\n")
    assert pr_diff.stacks(tmp_path, base="HEAD") == ["dev", "new", "prod", "schema"]


def _diff(**overrides):
    diff = {"stack": "prod", "base": "b" * 40, "added": [], "removed": [], "replaced": [], "changed": [],
            "models": {"added": [], "removed": [], "changed": []},
            "cost": {"idle_delta_usd_month": 0.0, "busy_delta_usd_month": 0.0}, "slo": {},
            "policy": {"new_violations": []}, "guarded": []}
    diff.update(overrides)
    return diff


def _artifact(tmp_path: Path, diffs: dict, acknowledged=(), number=7) -> Path:
    for stack, diff in diffs.items():
        (tmp_path / stack).mkdir()
        (tmp_path / stack / "diff.json").write_text(json.dumps(diff))
    (tmp_path / "pr.json").write_text(json.dumps({"number": number, "acknowledged": list(acknowledged),
                                                  "exit_codes": {s: 0 for s in diffs}}))
    return tmp_path


def test_the_comment_summarises_each_changed_stack_and_names_unchanged_ones(tmp_path):
    urn = "urn:pulumi:prod::ml-serving::ml-serving:cluster:Cluster$ml-serving:node_group:NodeGroup$aws:eks/nodeGroup:NodeGroup::ml-serving-prod-gpu-l4-nodes"
    prod = _diff(
        removed=["u1", "u2"], replaced=[{"urn": urn, "why": "instanceTypes changed"}],
        models={"added": [], "removed": ["sentiment"], "changed": []},
        cost={"idle_delta_usd_month": -120.5, "busy_delta_usd_month": 10},
        slo={"llama-8b": {"before": {"attainment": 0.66, "objective": "x"}, "after": {"attainment": 0.7, "objective": "x"}},
             "same": {"before": None, "after": None}},
        guarded=[{"what": "model:sentiment", "why": "model sentiment is removed"},
                 {"what": "node-group:l4", "why": "replacing node group l4"}],
    )
    body = pr_comment.body(_artifact(tmp_path, {"prod": prod, "dev": _diff(stack="dev")}, acknowledged=["node-group:l4"]))
    assert body.startswith(pr_comment.MARKER + "\n")
    assert "#### `prod`: **blocked**: guarded change not acknowledged" in body
    assert "- Resources: 0 added, 2 removed, 1 replaced, 0 changed" in body
    assert "  - replaced `aws:eks/nodeGroup:NodeGroup ml-serving-prod-gpu-l4-nodes`: instanceTypes changed" in body
    assert "- Models: removed sentiment" in body
    assert "- Cost per month: idle -$120.50, busy +$10.00" in body
    assert "- SLO attainment (simulated): llama-8b 66.0% → 70.0%" in body
    assert "| `model:sentiment` | model sentiment is removed | **no**: add the label `allow-destructive:model:sentiment` |" in body
    assert "| `node-group:l4` | replacing node group l4 | yes |" in body
    assert "Unchanged: `dev`." in body


def test_untrusted_text_cannot_break_out_of_its_cell(tmp_path):
    evil = _diff(guarded=[{"what": "x", "why": "a | b\n<img src=x> @org/team `code` [link](http://e)"}])
    body = pr_comment.body(_artifact(tmp_path, {"prod": evil}))
    row = next(line for line in body.splitlines() if line.startswith("| `x`"))
    assert row == ("| `x` | a \\| b \\<img src=x\\> \\@org/team \\`code\\` \\[link\\](http://e) | "
                   "**no**: add the label `allow-destructive:x` |")


def test_the_comment_goes_only_to_the_pull_request_whose_head_was_diffed(tmp_path):
    artifact = _artifact(tmp_path, {"prod": _diff()}, number=7)
    heads = {"repos/o/r/pulls/7": {"sha": "abc"}}
    assert pr_comment.pull_request_number(artifact, "o/r", "abc", api=lambda path, *a: heads[path]) == 7
    with pytest.raises(SystemExit, match="pull request 7's head is not def: not commenting"):
        pr_comment.pull_request_number(artifact, "o/r", "def", api=lambda path, *a: heads[path])
    (artifact / "pr.json").write_text(json.dumps({"number": "7; rm -rf /"}))
    with pytest.raises(SystemExit, match="no pull request number"):
        pr_comment.pull_request_number(artifact, "o/r", "abc", api=lambda path, *a: heads[path])


class FakeApi:
    def __init__(self, comments):
        self.comments = comments
        self.calls = []

    def __call__(self, path, *args, input_file=None):
        self.calls.append((path, args, Path(input_file).read_text() if input_file else None))
        if path.endswith("/comments") and "--paginate" in args:
            return [self.comments]
        return {}


def test_one_comment_per_pull_request_edited_in_place():
    ours = {"id": 42, "body": f"{pr_comment.MARKER}\nold", "user": {"login": "github-actions[bot]"}}
    forged = {"id": 9, "body": f"{pr_comment.MARKER}\nfake", "user": {"login": "someone"}}
    api = FakeApi([forged, ours])
    assert pr_comment.upsert("o/r", 7, "new body", api=api) == "updated"
    assert api.calls[-1] == ("repos/o/r/issues/comments/42", ("--method", "PATCH"), "new body")
    api = FakeApi([forged])
    assert pr_comment.upsert("o/r", 7, "new body", api=api) == "created"
    assert api.calls[-1] == ("repos/o/r/issues/7/comments", ("--method", "POST"), "new body")


@pytest.mark.parametrize(("what", "verbatim"), [
    ("model:sentiment", True),
    ("model:" + "m" * 26, True),  # allow-destructive:model:mmm... is exactly 50 characters
    ("model:" + "m" * 27, False),
    ("model:" + "m" * 36, False),  # the longest model name
    ("node-group:" + "p" * 40, False),  # the longest pool name
])
def test_labels_fit_githubs_50_characters_and_both_sides_agree_on_them(what, verbatim):
    token = pr_comment.ack_token(what)
    assert token == guard.ack_token(what)
    assert len(guard.label_for(what)) <= 50
    assert (token == what) is verbatim
    assert len(token) == (len(what) if verbatim else 12)
    labels = json.dumps([guard.label_for(what)])
    assert guard.unacknowledged([{"what": what, "why": ""}], set(pr_diff.acknowledged(labels))) == []


def test_the_pr_diff_runs_make_diff_per_stack_with_the_labels_and_collects_the_artifact(tmp_path, monkeypatch):
    (tmp_path / "stacks").mkdir()
    for name in ("dev", "prod"):
        (tmp_path / "stacks" / f"Pulumi.{name}.yaml").write_text("config: {}\n")
    calls = []

    def fake_run(command, cwd=None, env=None, **kwargs):
        calls.append((command, env.get("ALLOW_DESTRUCTIVE") if env else None))
        if command[0] == "git":
            # The base also had a stack the pull request deletes.
            return subprocess.CompletedProcess(command, 0, stdout="stacks/Pulumi.old.yaml\nstacks/Pulumi.dev.yaml\n")
        stack = command[3].removeprefix("STACK=")
        (tmp_path / "build" / stack).mkdir(parents=True, exist_ok=True)
        (tmp_path / "build" / stack / "diff.json").write_text("{}")
        return subprocess.CompletedProcess(command, {"dev": 0, "old": 3, "prod": 0}[stack])

    monkeypatch.setattr(pr_diff, "ROOT", tmp_path)
    monkeypatch.setattr(pr_diff.subprocess, "run", fake_run)
    monkeypatch.setenv("LABELS", json.dumps(["allow-destructive:model:a", "allow-destructive:bucket:models-bucket"]))
    monkeypatch.setenv("PR_NUMBER", "12")
    assert pr_diff.main() == 3
    makes = [(c, allowed) for c, allowed in calls if c[0] == "make"]
    assert makes == [
        (["make", "--no-print-directory", "diff", f"STACK={s}", "BASE=HEAD^1"], "bucket:models-bucket,model:a")
        for s in ("dev", "old", "prod")
    ]
    assert json.loads((tmp_path / "build/pr/pr.json").read_text()) == {
        "number": 12, "acknowledged": ["bucket:models-bucket", "model:a"], "exit_codes": {"dev": 0, "old": 3, "prod": 0},
    }
    assert sorted(p.name for p in (tmp_path / "build/pr").iterdir()) == ["dev", "old", "pr.json", "prod"]
