"""IAM policy documents, least privilege: named actions on named resources.

Only the Describe* calls that AWS does not allow to be scoped (they take no resource ARN)
are granted on "*".
"""
from __future__ import annotations

from typing import Any

Policy = dict[str, Any]


def _document(*statements: dict[str, Any]) -> Policy:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def service_trust(service: str) -> Policy:
    return _document(
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    )


def pod_identity_trust() -> Policy:
    """EKS Pod Identity assumes the role and tags the session with the pod's identity."""
    return _document(
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    )


def model_reader(bucket_arn: str, key_arn: str, prefixes: list[str] | None = None) -> Policy:
    """Read model weights: list and get objects under the model prefixes (folders, ending in
    `/`, so `v1/` never matches `v10/`), decrypt them with the stack key."""
    statements: list[dict[str, Any]] = [
        {"Sid": "LocateModelBucket", "Effect": "Allow", "Action": "s3:GetBucketLocation", "Resource": bucket_arn}
    ]
    list_models: dict[str, Any] = {"Sid": "ListModelPrefixes", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn}
    if prefixes:
        folders = [p if p.endswith("/") else f"{p}/" for p in prefixes]
        list_models["Condition"] = {"StringLike": {"s3:prefix": [v for f in folders for v in (f.rstrip("/"), f"{f}*")]}}
        objects = [f"{bucket_arn}/{f}*" for f in folders]
    else:
        objects = [f"{bucket_arn}/*"]
    statements += [
        list_models,
        {"Sid": "ReadModelObjects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": objects},
        {"Sid": "DecryptModelObjects", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": key_arn},
    ]
    return _document(*statements)


def cluster_autoscaler(cluster_name: str, partition: str) -> Policy:
    """Cluster Autoscaler on managed node groups (kubernetes/autoscaler cloudprovider/aws README).

    Reads are unscoped because those APIs accept no resource; writes are limited to the
    Auto Scaling groups EKS tags as owned by this cluster.
    """
    return _document(
        {
            "Sid": "DiscoverNodeGroups",
            "Effect": "Allow",
            "Action": [
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
            ],
            "Resource": "*",
        },
        {
            "Sid": "ReadNodeGroupTemplates",
            "Effect": "Allow",
            "Action": ["eks:DescribeNodegroup"],
            "Resource": f"arn:{partition}:eks:*:*:nodegroup/{cluster_name}/*",
        },
        {
            "Sid": "ScaleOwnedGroups",
            "Effect": "Allow",
            "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}
            },
        },
    )


def external_dns(zone_arn: str) -> Policy:
    """external-dns on the model zone only (its AWS tutorial, narrowed to one zone)."""
    return _document(
        {
            "Sid": "ManageModelRecords",
            "Effect": "Allow",
            "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:ListTagsForResources"],
            "Resource": zone_arn,
        },
        {
            # Takes no resource: listing is how external-dns finds the zone for its domain.
            "Sid": "FindZones",
            "Effect": "Allow",
            "Action": ["route53:ListHostedZones"],
            "Resource": "*",
        },
    )


def ebs_csi_kms(key_arn: str) -> Policy:
    """The EBS CSI driver creates and attaches volumes encrypted with the stack's key."""
    return _document(
        {
            "Sid": "UseStackKeyForVolumes",
            "Effect": "Allow",
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": key_arn,
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
        {
            "Sid": "EncryptVolumes",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
            "Resource": key_arn,
        },
    )


def stack_key_policy(account_id: str, partition: str, region: str) -> Policy:
    """Key policy of the stack's KMS key: the account administers it through IAM (the AWS
    default); CloudWatch Logs may use it for this account's log groups only; and EC2 may use
    it for this account's volumes.

    Node groups launch through the Auto Scaling service-linked role, which has no IAM
    permission on customer keys: without the EC2 statement no encrypted node ever starts.
    Granting it by `kms:ViaService` (as AWS's own aws/ebs key does) avoids naming that role,
    which a fresh account does not have yet.
    """
    return _document(
        {
            "Sid": "AccountAdministersThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchLogsEncryptsThisAccountsGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "Resource": "*",
            "Condition": {
                "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account_id}:*"}
            },
        },
        {
            "Sid": "Ec2EncryptsThisAccountsVolumes",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:CallerAccount": account_id, "kms:ViaService": f"ec2.{region}.amazonaws.com"}
            },
        },
        {
            "Sid": "Ec2AttachesThisAccountsVolumes",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:CallerAccount": account_id, "kms:ViaService": f"ec2.{region}.amazonaws.com"},
                "Bool": {"kms:GrantIsForAWSResource": "true"},
            },
        },
    )


def deny_insecure_transport(bucket_arn: str) -> Policy:
    return _document(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )


def alert_publisher(topic_arns: list[str]) -> Policy:
    """Alertmanager's SNS receivers: publish to the stack's alert topics, nothing else."""
    return _document({"Sid": "PublishAlerts", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": topic_arns})
