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


@dataclass(frozen=True)
class FormerNames:
    """Names the three resources had before they were made by `pod_role`: the engine then moves
    them to their new names instead of replacing a live role."""

    role: str
    policy: str
    association: str


def _renamed(former: str | None) -> list[pulumi.Alias] | None:
    # Same parent (the component calling pod_role), only the name changed.
    return [pulumi.Alias(name=former)] if former else None


def pod_role(
    resource_name: str,
    *,
    parent: pulumi.Resource,
    cluster_name: pulumi.Input[str],
    namespace: str,
    service_account: str,
    policy: pulumi.Input[str],
    description: str | None = None,
    former: FormerNames | None = None,
) -> PodRole:
    def child(name: str | None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, aliases=_renamed(name))

    role = aws.iam.Role(
        resource_name,
        description=description,
        assume_role_policy=json.dumps(iam.pod_identity_trust()),
        opts=child(former and former.role),
    )
    role_policy = aws.iam.RolePolicy(
        resource_name, role=role.name, policy=policy, opts=child(former and former.policy)
    )
    association = aws.eks.PodIdentityAssociation(
        resource_name,
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        opts=child(former and former.association),
    )
    return PodRole(role, role_policy, association)
