"""Keda: event-driven autoscaling (queue-depth triggers from Prometheus) and its HTTP add-on,
whose interceptor holds requests while a model scales up from zero."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components import helm, kube
from components.compilers import helm_values
from components.compilers.keda import interceptor_reference_grant


@dataclass(frozen=True)
class KedaArgs:
    keda_version: str
    http_add_on_version: str | None  # None: no model scales to zero, so no interceptor
    interceptor_min_replicas: int
    # Namespace whose HTTPRoutes may send requests to the interceptor.
    routes_namespace: str
    monitoring: pulumi.Resource
    after: list[pulumi.Resource] = field(default_factory=list)


class Keda(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    http_add_on: k8s.helm.v3.Release | None

    def __init__(self, name: str, args: KedaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:keda:Keda", name, None, opts)
        self.release = helm.install(
            f"{name}-keda",
            "keda",
            args.keda_version,
            helm_values.keda(),
            pulumi.ResourceOptions(parent=self, depends_on=[args.monitoring, *args.after]),
        )
        self.http_add_on = None
        if args.http_add_on_version is not None:
            self.http_add_on = helm.install(
                f"{name}-http-add-on",
                "keda-http-add-on",
                args.http_add_on_version,
                helm_values.keda_http_add_on(args.interceptor_min_replicas),
                pulumi.ResourceOptions(parent=self, depends_on=[self.release]),
            )
            grant = interceptor_reference_grant(args.routes_namespace)
            kube.apply(f"{name}-{kube.object_key(grant)}", grant, pulumi.ResourceOptions(parent=self, depends_on=[self.http_add_on]))
        self.register_outputs({"release": self.release.name})
