"""TritonConfigObject: a Triton model's config.pbtxt in the model bucket, in every model
repository (S3 prefix) a version of the model is served from."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.compilers.sources import s3_prefix
from components.compilers.triton import config_pbtxt
from components.intent.model import ModelSpec


@dataclass(frozen=True)
class TritonConfigObjectArgs:
    model: ModelSpec  # runtime triton; its source (and canary source) are Triton model repositories
    bucket: pulumi.Input[str]  # the model bucket's name (an output, so the bucket exists first)
    key_arn: pulumi.Input[str]  # the stack's KMS key


def repositories(model: ModelSpec) -> dict[str, str]:
    """version label -> S3 prefix of the model repository it is served from (`a/b/`)."""
    sources = {model.version: model.source}
    if model.canary is not None:
        sources[model.canary.version] = model.canary.source
    found: dict[str, str] = {}
    for version, source in sources.items():
        # The intent admits only s3:// sources for Triton models.
        prefix = s3_prefix(source)
        assert prefix is not None, source
        found[version] = prefix
    return found


class TritonConfigObject(pulumi.ComponentResource):
    keys: dict[str, str]  # version label -> object key

    def __init__(self, name: str, args: TritonConfigObjectArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:triton_config:TritonConfigObject", name, None, opts)
        model = args.model
        if model.triton is None:
            raise pulumi.RunError(f"models[{model.name}]: TritonConfigObject needs a model with a `triton` block")
        text = config_pbtxt(model.name, model.triton)
        self.keys = {}
        for version, prefix in repositories(model).items():
            key = f"{prefix}{model.name}/config.pbtxt"
            aws.s3.BucketObjectv2(
                f"{name}-{version}",
                bucket=args.bucket,
                key=key,
                content=text,
                content_type="text/plain",
                server_side_encryption="aws:kms",
                kms_key_id=args.key_arn,
                # The bucket's own setting: one data key per bucket, not a KMS call per read.
                bucket_key_enabled=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.keys[version] = key
        self.register_outputs({"keys": self.keys})
