"""ClusterAutoscaler: scales the managed node groups, GPU pools from zero, through an IAM
role limited to the Auto Scaling groups EKS tags as this cluster's."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import helm
from components.compilers import helm_values, iam
from components.pod_identity import FormerNames, pod_role


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    cluster_name: str
    cluster: pulumi.Input[str]  # the cluster's name as an output, so the association waits for it
    region: str
    kubernetes_version: str
    chart_version: str
    after: list[pulumi.Resource] = field(default_factory=list)


class ClusterAutoscaler(pulumi.ComponentResource):
    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:cluster_autoscaler:ClusterAutoscaler", name, None, opts)
        partition = aws.get_partition(opts=pulumi.InvokeOptions(parent=self)).partition
        access = pod_role(
            f"{name}-aws",
            parent=self,
            cluster_name=args.cluster,
            namespace=helm_values.NAMESPACES["cluster-autoscaler"],
            service_account=helm_values.CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
            policy=json.dumps(iam.cluster_autoscaler(args.cluster_name, partition)),
            # Their names before commit c6e42f2 moved them into pod_role.
            former=FormerNames(role=f"{name}-role", policy=f"{name}-policy", association=f"{name}-identity"),
        )
        release = helm.install(
            f"{name}-release",
            "cluster-autoscaler",
            args.chart_version,
            helm_values.cluster_autoscaler(args.cluster_name, args.region, args.kubernetes_version),
            pulumi.ResourceOptions(parent=self, depends_on=[*access.ready, *args.after]),
        )
        self.register_outputs({"release": release.name, "roleArn": access.role.arn})
