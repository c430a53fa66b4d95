"""The real kube-prometheus-stack chart (../shared/charts) rendered with a stack's values."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.compilers.helm_values import NAMESPACES, RELEASES
from components.intent import versions
from tests.conftest import SHARED


def release_values(preview, chart: str) -> dict[str, Any]:
    """The values the program hands the chart's Helm release."""
    name = f"-{chart}"
    found = [r for r in preview.recording.resources if r.type == "kubernetes:helm.sh/v3:Release" and r.name.endswith(name)]
    assert len(found) == 1, f"one {chart} release expected, got {[r.name for r in found]}"
    return found[0].inputs["values"]


def render(chart: str, values: dict[str, Any], tmp_path: Path, kubernetes_version: str) -> list[dict[str, Any]]:
    tool = SHARED / "tools" / "helm_render.py"
    package = SHARED / "charts" / f"{versions.CHARTS[chart].chart}-{versions.CHARTS[chart].version}.tgz"
    for needed in (tool, package):
        if not needed.exists():
            pytest.skip(f"{needed} is absent: charts and helm_render.py come from ../shared beside the project")
    values_file = tmp_path / f"{chart}-values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    result = subprocess.run(
        [sys.executable, str(tool), str(package), "--values", str(values_file), "--release", RELEASES[chart],
         "--namespace", NAMESPACES[chart], "--kube-version", kubernetes_version],
        capture_output=True, text=True, timeout=300,
    )
    if result.returncode != 0 and "helm" in result.stderr and "download" in result.stderr.lower():
        pytest.skip(f"no helm binary could be had: {result.stderr[-300:]}")
    assert result.returncode == 0, result.stderr[-3000:]
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
