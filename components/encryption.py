"""EncryptionKey: the stack's customer-managed KMS key (secrets, volumes, buckets, images, logs)."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.compilers import iam


@dataclass(frozen=True)
class EncryptionKeyArgs:
    description: str
    protect: bool


class EncryptionKey(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: EncryptionKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:encryption:EncryptionKey", name, None, opts)
        invoke = pulumi.InvokeOptions(parent=self)
        identity = aws.get_caller_identity(opts=invoke)
        partition = aws.get_partition(opts=invoke).partition
        region = aws.get_region(opts=invoke).region
        key = aws.kms.Key(
            f"{name}-key",
            description=args.description,
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=json.dumps(iam.stack_key_policy(identity.account_id, partition, region)),
            # Losing the key loses every volume, secret and object encrypted with it.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=True),
        )
        aws.kms.Alias(f"{name}-alias", name=f"alias/{name}", target_key_id=key.key_id, opts=pulumi.ResourceOptions(parent=self))
        self.arn = key.arn
        self.register_outputs({"arn": key.arn})
