"""One pattern, used wherever a pod needs AWS: an IAM role that a single Kubernetes service
account assumes through EKS Pod Identity, with the one inline policy it may use."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.compilers import iam


@dataclass(frozen=True)
class PodRole:
    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    association: aws.eks.PodIdentityAssociation

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What a workload using the role must wait for: its permissions and the association."""
        return [self.policy, self.association]


def pod_role(
    resource_name: str,
    *,
    parent: pulumi.Resource,
    cluster_name: pulumi.Input[str],
    namespace: str,
    service_account: str,
    policy: pulumi.Input[str],
    description: str | None = None,
) -> PodRole:
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        resource_name, description=description, assume_role_policy=json.dumps(iam.pod_identity_trust()), opts=child
    )
    role_policy = aws.iam.RolePolicy(resource_name, role=role.name, policy=policy, opts=child)
    association = aws.eks.PodIdentityAssociation(
        resource_name,
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        opts=child,
    )
    return PodRole(role, role_policy, association)
