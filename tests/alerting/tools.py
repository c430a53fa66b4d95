"""promtool and amtool, from Debian's `prometheus` and `prometheus-alertmanager` packages
(.ci/run installs them); tests that need one skip, saying so, where it is missing."""
from __future__ import annotations

import os
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


def run_promtool_tests(promtool: str, tests: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """`promtool test rules` over many files, split by size across the machine's cores: one
    promtool works through its files one after another (prod's took 33 s alone, 18 s in two)."""
    groups: list[list[str]] = [[] for _ in range(max(1, min(len(tests), os.cpu_count() or 1)))]
    loads = [0] * len(groups)
    for test in sorted(tests, key=lambda t: (cwd / t).stat().st_size, reverse=True):
        lightest = loads.index(min(loads))
        groups[lightest].append(test)
        loads[lightest] += (cwd / test).stat().st_size
    running = [
        subprocess.Popen([promtool, "test", "rules", *group], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for group in groups
    ]
    outputs = [process.communicate(timeout=timeout) for process in running]
    return subprocess.CompletedProcess(
        [promtool, "test", "rules", *tests],
        max(process.returncode for process in running),
        "".join(out for out, _ in outputs),
        "".join(err for _, err in outputs),
    )
