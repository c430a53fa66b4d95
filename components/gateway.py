"""ModelGateway: Envoy Gateway and the Gateway every model's HTTPRoute attaches to, behind an
internal Network Load Balancer; with InferencePool routing, the Envoy AI Gateway controller
Envoy Gateway hands those backends to."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components import helm, kube
from components.compilers import gateway as compiled
from components.compilers.helm_values import envoy_gateway
from components.intent import versions


@dataclass(frozen=True)
class ModelGatewayArgs:
    chart_version: str
    namespace: str
    domain: str
    after: list[pulumi.Resource] = field(default_factory=list)
    # Some model routes to InferencePools: install the extension server that resolves them.
    inference_pools: bool = False


class ModelGateway(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    gateway: pulumi.CustomResource

    def __init__(self, name: str, args: ModelGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:gateway:ModelGateway", name, None, opts)
        self.release = helm.install(
            f"{name}-envoy-gateway",
            "envoy-gateway",
            args.chart_version,
            envoy_gateway(args.inference_pools),
            pulumi.ResourceOptions(parent=self, depends_on=args.after),
        )
        if args.inference_pools:
            crds = helm.install(
                f"{name}-ai-gateway-crds",
                "ai-gateway-crds",
                versions.CHARTS["ai-gateway-crds"].version,
                {},
                pulumi.ResourceOptions(parent=self, depends_on=[self.release]),
            )
            helm.install(
                f"{name}-ai-gateway",
                "ai-gateway",
                versions.CHARTS["ai-gateway"].version,
                {},
                pulumi.ResourceOptions(parent=self, depends_on=[crds]),
            )
        after_chart = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        proxy = compiled.envoy_proxy()
        proxy_resource = kube.apply(f"{name}-{kube.object_key(proxy)}", proxy, after_chart)
        gateway_class = compiled.gateway_class()
        class_resource = kube.apply(
            f"{name}-{kube.object_key(gateway_class)}",
            gateway_class,
            pulumi.ResourceOptions(parent=self, depends_on=[self.release, proxy_resource]),
        )
        gateway = compiled.gateway(args.namespace, args.domain)
        self.gateway = kube.apply(
            f"{name}-{kube.object_key(gateway)}",
            gateway,
            pulumi.ResourceOptions(parent=self, depends_on=[class_resource]),
        )
        self.register_outputs({"gateway": compiled.GATEWAY_NAME})
