"""KServe: cert-manager (for its webhook certificates), the CRD chart and the controller in
Standard mode, installed after KEDA so the controller sees the ScaledObject CRD at start-up."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components import helm
from components.compilers import helm_values


@dataclass(frozen=True)
class KServeArgs:
    kserve_version: str
    cert_manager_version: str
    # The controller checks for KEDA's CRDs once, at start-up.
    keda: pulumi.Resource
    monitoring: pulumi.Resource
    after: list[pulumi.Resource] = field(default_factory=list)


class KServe(pulumi.ComponentResource):
    controller: k8s.helm.v3.Release

    def __init__(self, name: str, args: KServeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:kserve:KServe", name, None, opts)
        cert_manager = helm.install(
            f"{name}-cert-manager",
            "cert-manager",
            args.cert_manager_version,
            helm_values.cert_manager(),
            pulumi.ResourceOptions(parent=self, depends_on=[args.monitoring, *args.after]),
        )
        crds = helm.install(
            f"{name}-crd",
            "kserve-crd",
            args.kserve_version,
            {},
            pulumi.ResourceOptions(parent=self, depends_on=args.after),
        )
        self.controller = helm.install(
            f"{name}-controller",
            "kserve",
            args.kserve_version,
            helm_values.kserve(),
            pulumi.ResourceOptions(parent=self, depends_on=[cert_manager, crds, args.keda]),
        )
        self.register_outputs({"controller": self.controller.name})
