"""`make diff STACK=<s> [BASE=<git ref>]`: preview a stack at a base revision (its own code and
stack file) and in the working tree, and write build/<stack>/diff.json and diff.md.

Exit codes: 0 nothing guarded (or every guarded change acknowledged), 1 the working tree's
stack has a mandatory policy violation, 2 its stack file is invalid, 3 a guarded change is
not acknowledged (ALLOW_DESTRUCTIVE=<what>,...), 4 the base could not be previewed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from components.preview import compare, guard
from components.preview.baseline import BaseError, preview_base, resolve
from components.preview.diff_report import render
from components.preview.node_rolls import node_rolls
from components.preview.run import ROOT, InvalidStack, preview

ALLOW_ENV = "ALLOW_DESTRUCTIVE"
# build/<stack>/base/: the base revision's own build of the stack.
BASE_DIR = "base"


def build_diff(stack: str, base_commit: str, base: compare.Build, head: compare.Build) -> dict[str, Any]:
    resources = compare.resource_changes(base.resources, head.resources)
    models = compare.model_changes(base.models, head.models)
    guarded = guard.guarded(base, head, resources, models)
    return {
        "stack": stack,
        "base": base_commit,
        "added": resources["added"],
        "removed": resources["removed"],
        "replaced": [{"urn": r["urn"], "why": r["why"]} for r in resources["replaced"]],
        "changed": resources["changed"],
        "models": models,
        "cost": compare.cost_delta(base.cost, head.cost),
        "slo": compare.slo_changes(base.cost, head.cost),
        "policy": {"new_violations": compare.new_violations(base.policy, head.policy)},
        "guarded": guarded,
        "node_rolls": node_rolls(resources, head),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make diff", description="Offline diff of a stack between a base revision and the working tree."
    )
    parser.add_argument("--stack", required=True, help="stack name: stacks/Pulumi.<stack>.yaml")
    parser.add_argument("--base", help="git ref to compare with (default: the merge base of HEAD with main)")
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="output root (default build/)")
    args = parser.parse_args(argv)
    stack_file = ROOT / "stacks" / f"Pulumi.{args.stack}.yaml"
    allowed = guard.parse_allowed(os.environ.get(ALLOW_ENV))
    try:
        commit = resolve(ROOT, args.base)
    except BaseError as error:
        print(error, file=sys.stderr)
        return 4
    out = args.out / args.stack
    result = None
    if stack_file.exists():
        try:
            result = preview(stack_file, args.out)
        except InvalidStack as error:
            print(error, file=sys.stderr)
            return 2
        head = compare.Build.load(out, stack_file, args.stack)
    else:
        # The working tree deletes the stack file: everything the base had goes.
        head = compare.Build.empty(args.stack)
    try:
        with tempfile.TemporaryDirectory(prefix="ml-serving-base-") as workdir:
            base = preview_base(ROOT, commit, args.stack, Path(workdir))
            # Kept beside the working tree's files (never over them) for reviewers and the check
            # that the cost delta is the difference of the two cost.json files.
            if base.build_dir is not None:
                shutil.rmtree(out / BASE_DIR, ignore_errors=True)
                shutil.copytree(base.build_dir, out / BASE_DIR)
    except BaseError as error:
        print(error, file=sys.stderr)
        return 4
    if result is None and base.build_dir is None:
        print(f"stacks/Pulumi.{args.stack}.yaml exists neither in the working tree nor at {commit[:12]}", file=sys.stderr)
        return 2
    diff = build_diff(args.stack, commit, base, head)
    out.mkdir(parents=True, exist_ok=True)
    (out / "diff.json").write_text(json.dumps(diff, indent=2, sort_keys=True) + "\n")
    (out / "diff.md").write_text(render(diff, allowed, head.environment or base.environment))
    print((out / "diff.md").read_text())
    waiting = guard.unacknowledged(diff["guarded"], allowed)
    if waiting:
        print(
            f"{len(waiting)} guarded change(s) in stack {args.stack} not acknowledged: "
            + ", ".join(g["what"] for g in waiting)
            + f". If intended, run again with {ALLOW_ENV}={','.join(g['what'] for g in waiting)} "
            f"(in a pull request, the labels {', '.join(guard.label_for(g['what']) for g in waiting)}).",
            file=sys.stderr,
        )
        return 3
    if result is not None and result.policy is not None and result.policy.mandatory:
        print(f"{len(result.policy.mandatory)} mandatory policy violations in stack {args.stack}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
