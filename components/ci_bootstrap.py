"""CiBootstrap: what CI needs in AWS before any stack exists (run once, see docs/ci.md).

The Pulumi state bucket and the KMS key that encrypts it and the stacks' secrets, GitHub's
OIDC identity provider, a read-only role pull-request previews assume, and one deploy role
per environment that only that GitHub environment's jobs can assume.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.compilers import ci_access
from components.encryption import EncryptionKey, EncryptionKeyArgs
from components.model_storage import ModelStorage, ModelStorageArgs


@dataclass(frozen=True)
class CiBootstrapArgs:
    state_bucket: str
    # `repo:<org>/<repo>`, or `repo:<org>@<org id>/<repo>@<repo id>` for immutable subject claims.
    subject_prefix: str
    environments: tuple[str, ...] = ("dev", "staging", "prod")


class CiBootstrap(pulumi.ComponentResource):
    state_bucket: pulumi.Output[str]
    state_key_arn: pulumi.Output[str]
    preview_role_arn: pulumi.Output[str]
    deploy_role_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: CiBootstrapArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:ci_bootstrap:CiBootstrap", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOptions(parent=self)
        account_id = aws.get_caller_identity(opts=invoke).account_id
        partition = aws.get_partition(opts=invoke).partition

        # The key's alias is alias/<name>-state; the deploy workflow names it as the secrets provider.
        key = EncryptionKey(f"{name}-state", EncryptionKeyArgs("Pulumi state and stack secrets of ml-serving", True), child)
        # Same guarantees as the model bucket: versioned (state history), KMS, private, TLS only, protected.
        state = ModelStorage(f"{name}-state", ModelStorageArgs(bucket_name=args.state_bucket, key_arn=key.arn, protect=True), child)
        github = aws.iam.OpenIdConnectProvider(
            f"{name}-github",
            url=ci_access.GITHUB_OIDC_URL,
            client_id_lists=[ci_access.STS_AUDIENCE],
            # Every CI role trusts this provider; losing it stops all deployments.
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )

        def trust(environment: str | None) -> pulumi.Output[str]:
            subject = ci_access.github_subject(args.subject_prefix, environment)
            return github.arn.apply(lambda arn: json.dumps(ci_access.github_trust(arn, subject)))

        def state_policy(write: bool) -> pulumi.Output[str]:
            return pulumi.Output.all(bucket_arn=state.bucket.arn, key_arn=key.arn).apply(
                lambda a: json.dumps(ci_access.state_access(a["bucket_arn"], a["key_arn"], write))
            )

        preview = aws.iam.Role(
            f"{name}-preview",
            name=ci_access.PREVIEW_ROLE,
            description="Pull-request previews: read AWS and the Pulumi state, change nothing",
            assume_role_policy=trust(None),
            max_session_duration=3600,
            opts=child,
        )
        aws.iam.RolePolicyAttachment(f"{name}-preview-read-only", role=preview.name, policy_arn=ci_access.READ_ONLY, opts=child)
        aws.iam.RolePolicy(f"{name}-preview-state", role=preview.name, policy=state_policy(False), opts=child)
        aws.iam.RolePolicy(
            f"{name}-preview-no-data",
            role=preview.name,
            policy=state.bucket.arn.apply(lambda arn: json.dumps(ci_access.preview_data_guard(arn))),
            opts=child,
        )

        self.deploy_role_arns = {}
        for environment in args.environments:
            role = aws.iam.Role(
                f"{name}-deploy-{environment}",
                name=ci_access.deploy_role_name(environment),
                description=f"Deploys the {environment} stacks from the GitHub environment {environment}",
                assume_role_policy=trust(environment),
                max_session_duration=3600 * 2,
                opts=child,
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-deploy-{environment}-power-user", role=role.name, policy_arn=ci_access.POWER_USER, opts=child
            )
            aws.iam.RolePolicy(f"{name}-deploy-{environment}-state", role=role.name, policy=state_policy(True), opts=child)
            aws.iam.RolePolicy(
                f"{name}-deploy-{environment}-iam",
                role=role.name,
                policy=json.dumps(ci_access.deploy_iam(environment, account_id, partition)),
                opts=child,
            )
            self.deploy_role_arns[environment] = role.arn

        self.state_bucket = state.bucket.bucket
        self.state_key_arn = key.arn
        self.preview_role_arn = preview.arn
        self.register_outputs({
            "stateBucket": self.state_bucket,
            "stateKeyArn": self.state_key_arn,
            "previewRoleArn": self.preview_role_arn,
            "deployRoleArns": self.deploy_role_arns,
        })
