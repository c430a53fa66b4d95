"""ClusterAutoscaler: scales the managed node groups, GPU pools from zero, through an IAM
role limited to the Auto Scaling groups EKS tags as this cluster's."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import helm
from components.compilers import helm_values, iam


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
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition(opts=pulumi.InvokeOptions(parent=self)).partition
        role = aws.iam.Role(f"{name}-role", assume_role_policy=json.dumps(iam.pod_identity_trust()), opts=child)
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.name,
            policy=json.dumps(iam.cluster_autoscaler(args.cluster_name, partition)),
            opts=child,
        )
        association = aws.eks.PodIdentityAssociation(
            f"{name}-identity",
            cluster_name=args.cluster,
            namespace=helm_values.NAMESPACES["cluster-autoscaler"],
            service_account=helm_values.CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
            role_arn=role.arn,
            opts=child,
        )
        release = helm.install(
            f"{name}-release",
            "cluster-autoscaler",
            args.chart_version,
            helm_values.cluster_autoscaler(args.cluster_name, args.region, args.kubernetes_version),
            pulumi.ResourceOptions(parent=self, depends_on=[policy, association, *args.after]),
        )
        self.register_outputs({"release": release.name, "roleArn": role.arn})
