"""Every Helm release of every EKS stack sets only values its real chart reads: Helm ignores a
mistyped key silently (../shared/tools/helm_render.py --unknown-values)."""
import subprocess
import sys

import pytest
import yaml

from tests.conftest import SHARED, STACK_NAMES, stack_config

EKS_STACKS = [s for s in STACK_NAMES if stack_config(s)["ml-serving:target"] == "eks"]
HELM_RENDER = SHARED / "tools" / "helm_render.py"


@pytest.mark.parametrize("stack", EKS_STACKS)
def test_every_release_value_is_read_by_its_chart(stack, previews, tmp_path):
    if not HELM_RENDER.exists():
        pytest.skip(f"{HELM_RENDER} is absent (../shared)")
    releases = previews(stack).recording.of_type("kubernetes:helm.sh/v3:Release")
    assert releases
    for release in releases:
        chart = release.inputs["chart"].split("/")[-1]
        tgz = SHARED / "charts" / f"{chart}-{release.inputs['version']}.tgz"
        assert tgz.exists(), f"{release.inputs['name']}: no {tgz.name} in ../shared/charts"
        values = tmp_path / f"{release.inputs['name']}.yaml"
        values.write_text(yaml.safe_dump(release.inputs.get("values") or {}))
        out = subprocess.run([sys.executable, str(HELM_RENDER), str(tgz), "--values", str(values), "--unknown-values"],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "", f"{release.inputs['name']}: keys {tgz.name} never reads: {out.stdout}"
