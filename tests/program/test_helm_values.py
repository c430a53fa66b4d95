"""Every Helm release the EKS stacks install, rendered against the real chart in ../shared:
each values key must be one the chart reads (helm_render.py --unknown-values)."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests.conftest import SHARED, STACK_NAMES, stack_config

EKS_STACKS = [s for s in STACK_NAMES if stack_config(s)["ml-serving:target"] == "eks"]
HELM_RENDER = SHARED / "tools" / "helm_render.py"
# Envoy Gateway merges `config.envoyGateway` whole into its config file (a template variable
# the key scan cannot follow); tests/compilers/test_endpoint_picker.py renders the chart and
# checks these keys arrive in that file.
MERGED_WHOLE = {"gateway-helm": ("config.envoyGateway.",)}


def _chart_file(release) -> str:
    chart = release.inputs["chart"].rsplit("/", 1)[-1]
    return f"{chart}-{release.inputs['version']}.tgz"


@pytest.mark.parametrize("stack", EKS_STACKS)
def test_every_release_value_is_read_by_its_chart(stack, previews, tmp_path):
    if not HELM_RENDER.exists():
        pytest.skip(f"{HELM_RENDER} is absent: charts and helm_render.py come from ../shared")
    releases = previews(stack).recording.of_type("kubernetes:helm.sh/v3:Release")
    checked, unavailable = 0, []
    for index, release in enumerate(releases):
        tgz = SHARED / "charts" / _chart_file(release)
        if not tgz.exists():
            unavailable.append(_chart_file(release))
            continue
        values = tmp_path / f"{index}.yaml"
        values.write_text(yaml.safe_dump(release.inputs.get("values") or {}))
        result = subprocess.run(
            [sys.executable, str(HELM_RENDER), str(tgz), "--values", str(values), "--unknown-values"],
            capture_output=True, text=True, timeout=300, check=False,
        )
        allowed = MERGED_WHOLE.get(tgz.name.rsplit("-", 1)[0], ())
        unknown = [key for key in result.stdout.split() if not key.startswith(allowed)]
        assert not unknown, f"{release.name} ({tgz.name}): keys the chart never reads: {unknown}"
        checked += 1
    assert checked >= 8
    # Only the Envoy AI Gateway charts (defaults) and the EFA device plugin (values checked against
    # its templates in tests/compilers/test_efa_device_plugin.py) are not among ../shared/charts.
    assert {name.rsplit("-", 1)[0] for name in unavailable} <= {
        "ai-gateway-crds-helm", "ai-gateway-helm", "aws-efa-k8s-device-plugin",
    }, unavailable
