"""EfaDevicePlugin: advertises each EFA interface of an EFA pool's nodes as a
`vpc.amazonaws.com/efa` device, which the pods of a replica across nodes request."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components import helm
from components.compilers import helm_values
from components.intent import versions


@dataclass(frozen=True)
class EfaDevicePluginArgs:
    chart_version: str = versions.CHARTS["aws-efa-k8s-device-plugin"].version
    after: list[pulumi.Resource] = field(default_factory=list)


class EfaDevicePlugin(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: EfaDevicePluginArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:efa:EfaDevicePlugin", name, None, opts)
        self.release = helm.install(
            f"{name}-device-plugin",
            "aws-efa-k8s-device-plugin",
            args.chart_version,
            helm_values.efa_device_plugin(),
            pulumi.ResourceOptions(parent=self, depends_on=args.after),
        )
        self.register_outputs({"release": self.release.name})
