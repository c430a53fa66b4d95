"""LeaderWorkerSetController: the LeaderWorkerSet CRDs and controller, installed when a model
runs replicas across nodes."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components import helm
from components.intent import versions


@dataclass(frozen=True)
class LeaderWorkerSetControllerArgs:
    chart_version: str = versions.CHARTS["lws"].version
    after: list[pulumi.Resource] = field(default_factory=list)


class LeaderWorkerSetController(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: LeaderWorkerSetControllerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:leader_worker_set:LeaderWorkerSetController", name, None, opts)
        # Chart defaults: the pinned controller image, non-root, read-only root filesystem.
        self.release = helm.install(
            f"{name}-lws", "lws", args.chart_version, {}, pulumi.ResourceOptions(parent=self, depends_on=args.after)
        )
        self.register_outputs({"release": self.release.name})
