"""kube-prometheus-stack's own rules, rendered from the real chart with each EKS stack's values:
on an empty, healthy EKS cluster none of them fires (with the chart's defaults, the scheduler,
controller-manager and kube-proxy scrapes EKS does not serve would page forever)."""
from __future__ import annotations

import copy

import pytest
import yaml

from components.compilers.helm_values import EKS_HIDDEN_COMPONENTS
from tests.alerting import empty_cluster
from tests.alerting.charts import release_values, render
from tests.alerting.tools import run, tool
from tests.conftest import STACK_NAMES, stack_config

EKS_STACKS = [s for s in STACK_NAMES if stack_config(s)["ml-serving:target"] == "eks"]
MINUTES = 40


def _firing(values, tmp_path, version) -> dict[str, list[str]]:
    """Chart alerts by name -> whether promtool saw each fire (via one test per alert)."""
    promtool = tool("promtool")
    docs = render("kube-prometheus-stack", values, tmp_path, version)
    groups = [g for d in docs if d["kind"] == "PrometheusRule" for g in d["spec"]["groups"]]
    alerts = sorted({r["alert"] for g in groups for r in g["rules"] if "alert" in r})
    (tmp_path / "chart.rules.yml").write_text(yaml.safe_dump({"groups": groups}))
    test = {
        "rule_files": ["chart.rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": "empty EKS cluster",
                "interval": "1m",
                "input_series": empty_cluster.input_series(MINUTES),
                "alert_rule_test": [{"eval_time": f"{MINUTES}m", "alertname": a, "exp_alerts": []} for a in alerts],
            }
        ],
    }
    (tmp_path / "chart.test.yml").write_text(yaml.safe_dump(test, width=10**9))
    result = run([promtool, "test", "rules", "chart.test.yml"], tmp_path)
    output = result.stdout + result.stderr
    fired = sorted({line.split("alertname:")[1].split(",")[0].strip() for line in output.splitlines() if "alertname:" in line})
    assert bool(fired) == (result.returncode != 0), output[-3000:]
    return {"alerts": alerts, "fired": fired, "output": output[-4000:]}


@pytest.mark.parametrize("stack", EKS_STACKS)
def test_no_chart_alert_fires_on_an_empty_eks_cluster(stack, previews, tmp_path):
    preview = previews(stack)
    outcome = _firing(release_values(preview, "kube-prometheus-stack"), tmp_path, preview.spec.cluster.kubernetes_version)
    assert len(outcome["alerts"]) > 100
    assert outcome["fired"] == [], outcome["output"]


def test_the_chart_defaults_would_page_about_what_eks_hides(previews, tmp_path):
    """The same test, with the chart's defaults for EKS's hidden components, does catch them."""
    preview = previews("prod")
    values = copy.deepcopy(release_values(preview, "kube-prometheus-stack"))
    for component in EKS_HIDDEN_COMPONENTS:
        values.pop(component)
    outcome = _firing(values, tmp_path, preview.spec.cluster.kubernetes_version)
    assert {"KubeSchedulerDown", "KubeControllerManagerDown", "KubeProxyDown"} <= set(outcome["fired"])


def test_dcgm_keeps_the_workloads_pod_and_namespace_labels(previews, tmp_path):
    """DCGM labels each GPU's series with the pod using it; honorLabels keeps those instead of
    renaming them exported_pod / exported_namespace under the exporter's own."""
    preview = previews("prod")
    docs = render("dcgm-exporter", release_values(preview, "dcgm-exporter"), tmp_path, preview.spec.cluster.kubernetes_version)
    monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
    assert [e.get("honorLabels") for e in monitor["spec"]["endpoints"]] == [True]
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
