"""ServingRuntimes: the platform side of model serving, shared by every model of a runtime:
our ClusterServingRuntimes, the PodMonitors scraping them and a Grafana dashboard each."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components import kube
from components.compilers.dashboards import dashboard_config_map
from components.compilers.kserve import cluster_serving_runtime
from components.compilers.monitoring import pod_monitor


@dataclass(frozen=True)
class ServingRuntimesArgs:
    # Digest-pinned image per runtime used by this stack ("vllm", "triton").
    images: dict[str, pulumi.Input[str]]
    kserve: pulumi.Resource
    monitoring: pulumi.Resource
    # The models namespace, which the PodMonitors live in.
    after: list[pulumi.Resource] = field(default_factory=list)


class ServingRuntimes(pulumi.ComponentResource):
    runtimes: dict[str, pulumi.CustomResource]

    def __init__(self, name: str, args: ServingRuntimesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:serving_runtimes:ServingRuntimes", name, None, opts)
        self.runtimes = {}
        for runtime, image in sorted(args.images.items()):
            # The image is an output of the build; Pulumi resolves it inside the manifest.
            manifest = cluster_serving_runtime(runtime, image)
            self.runtimes[runtime] = kube.apply(
                f"{name}-{kube.object_key(manifest)}",
                manifest,
                pulumi.ResourceOptions(parent=self, depends_on=[args.kserve, *args.after]),
            )
            monitor = pod_monitor(runtime)
            kube.apply(
                f"{name}-{kube.object_key(monitor)}",
                monitor,
                pulumi.ResourceOptions(parent=self, depends_on=[args.monitoring, *args.after]),
            )
            dashboard = dashboard_config_map(runtime)
            kube.apply(f"{name}-{kube.object_key(dashboard)}", dashboard, pulumi.ResourceOptions(parent=self, depends_on=[args.monitoring]))
        self.register_outputs({"runtimes": sorted(self.runtimes)})
