"""The base side of `make diff`: a stack previewed by the code and stack file of another git
revision, in a directory of its own (never the working tree's build/)."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from components.preview.compare import Build
from components.stack_config import STACK_FILE_ENV

DEFAULT_BRANCHES = ("main", "origin/main")


class BaseError(Exception):
    """The base revision could not be found or previewed; the message says why."""


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=120)


def resolve(root: Path, ref: str | None) -> str:
    """The commit to compare with: `ref`, or the merge base of HEAD with main."""
    if ref:
        found = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        if found.returncode != 0:
            raise BaseError(f"BASE={ref} is not a commit in this repository")
        return found.stdout.decode().strip()
    for branch in DEFAULT_BRANCHES:
        found = _git(root, "merge-base", "HEAD", branch)
        if found.returncode == 0:
            return found.stdout.decode().strip()
    raise BaseError("no merge base with main or origin/main: pass BASE=<git ref>")


def extract(root: Path, commit: str, into: Path) -> None:
    """The files of `commit`, as committed (git archive), under `into`."""
    archive = _git(root, "archive", "--format=tar", commit)
    if archive.returncode != 0:
        raise BaseError(f"git archive {commit[:12]} failed: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")


def preview_base(root: Path, commit: str, stack: str, workdir: Path) -> Build:
    """Run the base revision's own preview of `stack` (its code, its stack file) in `workdir`.

    A stack file the base does not have is an empty base: everything in the head is added.
    """
    extract(root, commit, workdir)
    stack_file = workdir / "stacks" / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        return Build.empty(stack)
    out = workdir / "build"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", STACK_FILE_ENV)}
    run = subprocess.run(
        [sys.executable, "-m", "components.preview", "--stack", stack, "--out", str(out)],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=900,
    )
    # 1 is a mandatory policy violation: the build is written and is what the base deploys.
    if run.returncode not in (0, 1) or not (out / stack / "resources.json").exists():
        detail = (run.stderr or run.stdout).strip().splitlines()[-20:]
        raise BaseError(
            f"the base revision {commit[:12]} could not preview stack {stack} (exit {run.returncode}); without it "
            "nothing can be compared:\n" + "\n".join(detail)
        )
    return Build.load(out / stack, stack_file, stack)
