"""ModelStorage: the bucket model weights live in, and the read-only role model pods use."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.compilers import iam
from components.pod_identity import pod_role


@dataclass(frozen=True)
class PodReader:
    """Grant read access to one Kubernetes service account through EKS Pod Identity."""

    cluster_name: pulumi.Input[str]
    namespace: str
    service_account: str
    prefixes: list[str]


@dataclass(frozen=True)
class ModelStorageArgs:
    bucket_name: str
    key_arn: pulumi.Input[str]
    protect: bool
    reader: PodReader | None = None


class ModelStorage(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    reader_role_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: ModelStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:model_storage:ModelStorage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Weights are what users upload: the bucket outlives `pulumi destroy` everywhere
        # and cannot be deleted at all in prod.
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=args.bucket_name,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=True),
        )
        bucket_id = self.bucket.id
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket_id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket_id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=args.key_arn
                    ),
                    # One data key per bucket instead of one KMS call per object read.
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="abort-incomplete-uploads",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                )
            ],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket_id,
            policy=self.bucket.arn.apply(lambda arn: json.dumps(iam.deny_insecure_transport(arn))),
            opts=child,
        )

        self.reader_role_arn = None
        if args.reader is not None:
            reader = args.reader
            access = pod_role(
                f"{name}-reader",
                parent=self,
                cluster_name=reader.cluster_name,
                namespace=reader.namespace,
                service_account=reader.service_account,
                policy=pulumi.Output.all(bucket_arn=self.bucket.arn, key_arn=args.key_arn).apply(
                    lambda a: json.dumps(iam.model_reader(a["bucket_arn"], a["key_arn"], reader.prefixes))
                ),
                description="Model pods: read-only access to the model bucket",
            )
            self.reader_role_arn = access.role.arn
        self.register_outputs({"bucket": self.bucket.bucket, "readerRoleArn": self.reader_role_arn})
