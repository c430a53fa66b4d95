"""promtool and amtool, from Debian's `prometheus` and `prometheus-alertmanager` packages
(.ci/run installs them); tests that need one skip, saying so, where it is missing."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (Debian package {PACKAGES[name]}; .ci/run installs it)")
    return found


def run(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
