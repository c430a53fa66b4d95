"""Observability: kube-prometheus-stack (Prometheus, Alertmanager, Grafana) that picks up the
platform's ServiceMonitors, PodMonitors and PrometheusRules."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import helm
from components.compilers import helm_values
from components.intent.cluster import Observability as ObservabilitySpec


@dataclass(frozen=True)
class ObservabilityArgs:
    spec: ObservabilitySpec
    chart_version: str
    storage_class: str
    after: list[pulumi.Resource] = field(default_factory=list)


class Observability(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:observability:Observability", name, None, opts)
        namespace_name = helm_values.NAMESPACES["kube-prometheus-stack"]
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=namespace_name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.after),
        )
        password = random.RandomPassword(f"{name}-grafana-admin", length=32, special=False, opts=pulumi.ResourceOptions(parent=self))
        secret = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=helm_values.GRAFANA_ADMIN_SECRET, namespace=namespace.metadata.name),
            string_data={"admin-user": "admin", "admin-password": password.result},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.release = helm.install(
            f"{name}-kube-prometheus-stack",
            "kube-prometheus-stack",
            args.chart_version,
            helm_values.kube_prometheus_stack(args.spec, args.storage_class),
            pulumi.ResourceOptions(parent=self, depends_on=[namespace, secret, *args.after]),
        )
        self.register_outputs({"release": self.release.name})
