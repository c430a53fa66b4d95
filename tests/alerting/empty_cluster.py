"""Series a healthy EKS cluster with nothing deployed on it yet reports: every target the
chart's monitors scrape is up (EKS exposes the API server, kubelets, CoreDNS; the chart runs
kube-state-metrics, node-exporter, Prometheus, Alertmanager and the operator), two system nodes
are Ready, and Prometheus has found its Alertmanager."""
from __future__ import annotations

NODES = ("ip-10-42-1-10.ec2.internal", "ip-10-42-2-11.ec2.internal")
NAMESPACE = "monitoring"


def _series(name: str, labels: dict[str, str], value: str) -> dict[str, str]:
    text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{text}}}", "values": value}


def input_series(minutes: int) -> list[dict[str, str]]:
    steady = lambda v: f"{v}x{minutes}"  # noqa: E731
    series = []
    targets = [
        ("apiserver", "default", "kubernetes", "/metrics", ["10.42.0.10:443", "10.42.0.11:443"]),
        ("kube-state-metrics", NAMESPACE, "kube-prometheus-stack-kube-state-metrics", "/metrics", ["10.42.1.20:8080"]),
        ("coredns", "kube-system", "kube-prometheus-stack-coredns", "/metrics", ["10.42.1.30:9153", "10.42.2.31:9153"]),
        ("kube-prometheus-stack-alertmanager", NAMESPACE, "kube-prometheus-stack-alertmanager", "/metrics", ["10.42.1.40:9093"]),
        ("kube-prometheus-stack-prometheus", NAMESPACE, "kube-prometheus-stack-prometheus", "/metrics", ["10.42.1.41:9090"]),
        ("kube-prometheus-stack-operator", NAMESPACE, "kube-prometheus-stack-operator", "/metrics", ["10.42.1.42:10250"]),
    ]
    for node in NODES:
        targets.append(("node-exporter", NAMESPACE, "kube-prometheus-stack-prometheus-node-exporter", "/metrics", [f"{node}:9100"]))
        for path in ("/metrics", "/metrics/cadvisor", "/metrics/probes"):
            targets.append(("kubelet", "kube-system", "kube-prometheus-stack-kubelet", path, [f"{node}:10250"]))
    for job, namespace, service, path, instances in targets:
        for instance in instances:
            labels = {"job": job, "namespace": namespace, "service": service, "instance": instance, "metrics_path": path}
            if job == "kube-prometheus-stack-alertmanager":
                labels["container"] = "alertmanager"
            series.append(_series("up", labels, steady(1)))
    ksm = {"job": "kube-state-metrics", "namespace": NAMESPACE, "service": "kube-prometheus-stack-kube-state-metrics"}
    for node in NODES:
        series.append(_series("kube_node_info", {**ksm, "node": node}, steady(1)))
        series.append(_series("kube_node_spec_unschedulable", {**ksm, "node": node}, steady(0)))
        for status, value in (("true", 1), ("false", 0), ("unknown", 0)):
            series.append(_series("kube_node_status_condition", {**ksm, "node": node, "condition": "Ready", "status": status}, steady(value)))
    prometheus = {"job": "kube-prometheus-stack-prometheus", "namespace": NAMESPACE, "pod": "prometheus-kube-prometheus-stack-prometheus-0"}
    series.append(_series("prometheus_notifications_alertmanagers_discovered", prometheus, steady(1)))
    series.append(_series("prometheus_config_last_reload_successful", prometheus, steady(1)))
    return series
