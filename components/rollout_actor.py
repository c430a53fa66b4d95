"""RolloutActor: Flagger, which drives automated canaries on EKS (docs/canary.md).

Installed from its pinned chart with namespaced RBAC of our own (the chart's ClusterRole is
turned off), two leader-elected replicas behind a disruption budget, its metrics scraped by
kube-prometheus-stack and alerted on.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components import helm, kube
from components.compilers import flagger, helm_values


@dataclass(frozen=True)
class RolloutActorArgs:
    chart_version: str
    models_namespace: str
    # kube-prometheus-stack (ServiceMonitor, PrometheusRule kinds), the gateway (HTTPRoute
    # kind) and the models namespace (its Roles) must exist first.
    after: list[pulumi.Resource] = field(default_factory=list)


class RolloutActor(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: RolloutActorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:rollout_actor:RolloutActor", name, None, opts)
        self.release = helm.install(
            f"{name}-flagger",
            "flagger",
            args.chart_version,
            helm_values.flagger(args.models_namespace),
            pulumi.ResourceOptions(parent=self, depends_on=args.after),
        )
        for manifest in [*flagger.rbac(), flagger.flagger_alerts()]:
            kube.apply(
                f"{name}-{kube.object_key(manifest)}",
                manifest,
                pulumi.ResourceOptions(parent=self, depends_on=[self.release]),
            )
        self.register_outputs({"release": self.release.name})
