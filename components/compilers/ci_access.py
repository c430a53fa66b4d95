"""IAM documents for CI: GitHub Actions assumes roles through OIDC, never with stored keys.

Pull requests get a read-only preview role; each environment's deploy job (a GitHub
environment, so approvals apply) gets its own deploy role. Trust is pinned to the repository
and to the job's kind: `pull_request`, or `environment:<name>`.
"""
from __future__ import annotations

from typing import Any

Policy = dict[str, Any]


def _document(*statements: dict[str, Any]) -> Policy:
    return {"Version": "2012-10-17", "Statement": list(statements)}

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"
STATE_KEY_ALIAS = "alias/ml-serving-pulumi-state"
PREVIEW_ROLE = "ml-serving-preview"
POWER_USER = "arn:aws:iam::aws:policy/PowerUserAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def deploy_role_name(environment: str) -> str:
    return f"ml-serving-deploy-{environment}"


def github_subject(subject_prefix: str, environment: str | None) -> str:
    """The `sub` claim of a job: `repo:org/repo:pull_request` or `repo:org/repo:environment:prod`.

    `subject_prefix` is `repo:<org>/<repo>`, or `repo:<org>@<org id>/<repo>@<repo id>` for
    repositories with immutable subject claims.
    """
    return f"{subject_prefix}:environment:{environment}" if environment else f"{subject_prefix}:pull_request"


def github_trust(provider_arn: str, subject: str) -> Policy:
    return _document(
        {
            "Sid": "GitHubActions",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE, f"{GITHUB_OIDC_HOST}:sub": subject},
            },
        }
    )


def state_access(bucket_arn: str, key_arn: str, write: bool) -> Policy:
    """Pulumi's DIY S3 backend. Previews only read: the DIY backend takes no stack lock for a
    preview and saves no checkpoint (pulumi/pulumi pkg/backend/diy/backend.go, Preview).
    Deploy roles write checkpoints, history and locks under .pulumi/. Both use the KMS key
    that encrypts the state objects and the stacks' secrets (awskms secrets provider).
    """
    statements: list[dict[str, Any]] = [
        {"Sid": "ListState", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": bucket_arn},
        {"Sid": "ReadState", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": f"{bucket_arn}/*"},
    ]
    key_actions = ["kms:Decrypt", "kms:DescribeKey"]
    if write:
        statements.append({"Sid": "WriteState", "Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"],
                           "Resource": f"{bucket_arn}/.pulumi/*"})
        key_actions += ["kms:Encrypt", "kms:GenerateDataKey"]
    statements.append({"Sid": "StateKey", "Effect": "Allow", "Action": key_actions, "Resource": key_arn})
    return _document(*statements)


def preview_data_guard(state_bucket_arn: str) -> Policy:
    """ReadOnlyAccess reads every object in the account, and a pull request's workflow can
    assume the preview role: model weights and captured requests must stay out of its reach.
    A preview needs object reads in the state bucket only."""
    return _document(
        {
            "Sid": "NoDataReadsOutsideTheState",
            "Effect": "Deny",
            "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes", "s3:GetObjectTorrent"],
            "NotResource": [f"{state_bucket_arn}/*"],
        },
        {
            "Sid": "NoSecretsOrLogs",
            "Effect": "Deny",
            "Action": ["secretsmanager:GetSecretValue", "ssm:GetParameter*", "logs:GetLogEvents", "logs:FilterLogEvents"],
            "Resource": "*",
        },
    )


def deploy_iam(environment: str, account_id: str, partition: str) -> Policy:
    """What PowerUserAccess leaves out and a stack needs: its own roles (named ml-serving-*),
    passing them to EKS, EC2 and SageMaker, and service-linked roles.

    Several stacks share an environment (dev and sagemaker-dev), so names cannot tell one
    environment's roles from another's; the `ml-serving:environment` tag every resource gets
    from the provider's default tags can. A role may be created only with this environment's
    tag, and touched only while it carries it.
    """
    roles = f"arn:{partition}:iam::{account_id}:role/ml-serving-*"
    tag = "ml-serving:environment"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "CreateRolesOfThisEnvironment",
            "Effect": "Allow",
            "Action": ["iam:CreateRole", "iam:TagRole"],
            "Resource": roles,
            "Condition": {"StringEquals": {f"aws:RequestTag/{tag}": environment}},
        },
        {
            "Sid": "ManageRolesOfThisEnvironment",
            "Effect": "Allow",
            "Action": [
                "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy",
                "iam:TagRole", "iam:UntagRole", "iam:ListRoleTags",
                "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies",
                "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole", "iam:PassRole",
            ],
            "Resource": roles,
            "Condition": {"StringEquals": {f"iam:ResourceTag/{tag}": environment}},
        },
        {
            "Sid": "ServiceLinkedRoles",
            "Effect": "Allow",
            "Action": ["iam:CreateServiceLinkedRole"],
            "Resource": f"arn:{partition}:iam::{account_id}:role/aws-service-role/*",
        },
        {
            # CI's own roles match ml-serving-* too; a deploy role must never widen itself.
            "Sid": "NeverTheCiRoles",
            "Effect": "Deny",
            "Action": [
                "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy",
                "iam:TagRole", "iam:UntagRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
                "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PassRole",
            ],
            "Resource": [
                f"arn:{partition}:iam::{account_id}:role/{PREVIEW_ROLE}",
                f"arn:{partition}:iam::{account_id}:role/{deploy_role_name('*')}",
            ],
        },
    ]
    return _document(*statements)
