"""NvidiaGpu: the device plugin that advertises `nvidia.com/gpu` to the scheduler, and the DCGM
exporter that reports GPU health and utilisation to Prometheus."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components import helm
from components.compilers import helm_values


@dataclass(frozen=True)
class NvidiaGpuArgs:
    device_plugin_version: str
    dcgm_exporter_version: str
    # The DCGM exporter's ServiceMonitor needs the Prometheus operator's CRDs first.
    monitoring: pulumi.Resource
    after: list[pulumi.Resource] = field(default_factory=list)


class NvidiaGpu(pulumi.ComponentResource):
    device_plugin: k8s.helm.v3.Release

    def __init__(self, name: str, args: NvidiaGpuArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:nvidia:NvidiaGpu", name, None, opts)
        self.device_plugin = helm.install(
            f"{name}-device-plugin",
            "nvidia-device-plugin",
            args.device_plugin_version,
            helm_values.nvidia_device_plugin(),
            pulumi.ResourceOptions(parent=self, depends_on=args.after),
        )
        helm.install(
            f"{name}-dcgm-exporter",
            "dcgm-exporter",
            args.dcgm_exporter_version,
            helm_values.dcgm_exporter(),
            pulumi.ResourceOptions(parent=self, depends_on=[args.monitoring, *args.after]),
        )
        self.register_outputs({"devicePlugin": self.device_plugin.name})
