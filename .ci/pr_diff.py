"""The pull-request diff: `make diff` of every stack (those the base has too, so a deleted stack
file is seen) against the commit the pull request merges into, acknowledged by labels.

`python3 .ci/pr_diff.py` in the pull request's merge commit (checked out with its parents).
Reads PR_NUMBER and LABELS (the JSON list of the pull request's label names) from the
environment; a label `allow-destructive:<what>` acknowledges one guarded change. Writes
build/pr/ (pr.json and each stack's diff.json and diff.md) for the comment workflow, which
treats it as data. Exits 3 when a guarded change is not acknowledged, with the first other
failure's code otherwise. Standard library only.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABEL_PREFIX = "allow-destructive:"
# The merge commit's first parent: main as this pull request would be merged into it.
BASE = "HEAD^1"
STACK_FILE = re.compile(r"^stacks/Pulumi\.(?P<stack>[A-Za-z0-9_.-]+)\.yaml$")
GUARDED = 3


def acknowledged(labels_json: str | None) -> list[str]:
    try:
        labels = json.loads(labels_json or "[]")
    except json.JSONDecodeError:
        return []
    if not isinstance(labels, list):
        return []
    return sorted({label[len(LABEL_PREFIX):].strip() for label in labels
                   if isinstance(label, str) and label.startswith(LABEL_PREFIX) and label[len(LABEL_PREFIX):].strip()})


def stacks(root: Path | None = None, base: str = BASE) -> list[str]:
    """Stacks of the working tree and of the base: a stack file the pull request deletes is a
    stack it destroys."""
    root = root or ROOT
    names = {p.name for p in (root / "stacks").glob("Pulumi.*.yaml")}
    listed = subprocess.run(["git", "ls-tree", "--name-only", base, "stacks/"], cwd=root, capture_output=True, text=True)
    found = {f"stacks/{n}" for n in names} | set(listed.stdout.split())
    return sorted(m.group("stack") for m in map(STACK_FILE.match, found) if m)


def verdict(codes: dict[str, int]) -> int:
    if GUARDED in codes.values():
        return GUARDED
    return next((code for code in codes.values() if code != 0), 0)


def main() -> int:
    allowed = acknowledged(os.environ.get("LABELS"))
    out = ROOT / "build" / "pr"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    codes: dict[str, int] = {}
    env = {**os.environ, "ALLOW_DESTRUCTIVE": ",".join(allowed)}
    for stack in stacks():
        run = subprocess.run(["make", "--no-print-directory", "diff", f"STACK={stack}", f"BASE={BASE}"], cwd=ROOT, env=env)
        codes[stack] = run.returncode
        for name in ("diff.json", "diff.md"):
            produced = ROOT / "build" / stack / name
            if produced.exists():
                (out / stack).mkdir(exist_ok=True)
                shutil.copy2(produced, out / stack / name)
    number = os.environ.get("PR_NUMBER", "")
    (out / "pr.json").write_text(json.dumps({
        "number": int(number) if number.isdigit() else None,
        "acknowledged": allowed,
        "exit_codes": codes,
    }, indent=2, sort_keys=True) + "\n")
    code = verdict(codes)
    print(f"diff exit codes: {codes}; acknowledged: {allowed or 'nothing'}; verdict {code}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
