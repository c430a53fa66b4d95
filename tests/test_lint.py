"""The code stays lint-clean (pyflakes, pycodestyle, import order; settings in pyproject.toml)."""
import subprocess
import sys

from tests.conftest import ROOT


def test_ruff_finds_nothing():
    run = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "components", "policies", "tests", "__main__.py", ".ci"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
