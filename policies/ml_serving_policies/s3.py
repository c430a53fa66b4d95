"""S3 buckets (model weights, captured traffic): KMS-encrypted, versioned, never public.

Since pulumi-aws 6 these settings are separate resources that point at the bucket, so the
checks are stack policies that join them to their bucket: by dependency (the usual
`bucket=bucket.id`), or by the bucket's name where both are plain text.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, Severity, StackValidationArgs, StackValidationPolicy

from .values import get, is_map, items, json_document, strings, tolerant

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
ENCRYPTION_TYPES = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
VERSIONING_TYPES = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ACL_TYPES = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
PUBLIC_GRANTEES = ("http://acs.amazonaws.com/groups/global/AllUsers",
                   "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _belongs(setting: Any, bucket: Any) -> bool:
    if any(d.urn == bucket.urn for d in setting.dependencies):
        return True
    name = tolerant(lambda: get(bucket.props, "bucket"), None)
    return isinstance(name, str) and tolerant(lambda: get(setting.props, "bucket"), None) == name


def _for_each_bucket(args: StackValidationArgs, check: Callable[[Any, list[Any]], str | None],
                     report: ReportViolation) -> None:
    resources = list(args.resources)
    for bucket in resources:
        if bucket.resource_type not in BUCKET_TYPES:
            continue
        settings = [r for r in resources if r is not bucket and r.resource_type.startswith("aws:s3/") and _belongs(r, bucket)]
        problem = tolerant(lambda: check(bucket, settings), None)
        if problem:
            report(f"bucket {bucket.name} {problem}.", bucket.urn)


def _encryption_problem(bucket: Any, settings: list[Any]) -> str | None:
    rules = [get(rule, "applyServerSideEncryptionByDefault")
             for s in settings if s.resource_type in ENCRYPTION_TYPES for rule in items(get(s.props, "rules"))]
    inline = get(bucket.props, "serverSideEncryptionConfiguration", "rule", "applyServerSideEncryptionByDefault")
    rules += [inline] if inline is not None else []
    algorithms = [get(r, "sseAlgorithm") for r in rules]
    if any(a in KMS_ALGORITHMS for a in algorithms):
        return None
    if algorithms:
        return f"uses {', '.join(str(a) for a in algorithms)} (S3-managed keys); encrypt with the stack's KMS key"
    return "has no BucketServerSideEncryptionConfiguration with aws:kms"


def _validate_encrypted(args: StackValidationArgs, report: ReportViolation) -> None:
    _for_each_bucket(args, _encryption_problem, report)


S3_ENCRYPTED = StackValidationPolicy(
    name="s3-buckets-kms-encrypted",
    display_name="S3 buckets KMS-encrypted",
    description="Every S3 bucket has default encryption with a KMS key (aws:kms or aws:kms:dsse).",
    validate=_validate_encrypted,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["s3", "security", "encryption"],
    remediation_steps=(
        "Add a BucketServerSideEncryptionConfiguration with sse_algorithm aws:kms, kms_master_key_id the stack's "
        "key and bucket_key_enabled (components/model_storage.py does this)."
    ),
)


def _versioning_problem(bucket: Any, settings: list[Any]) -> str | None:
    statuses = [get(s.props, "versioningConfiguration", "status") for s in settings if s.resource_type in VERSIONING_TYPES]
    if "Enabled" in statuses or get(bucket.props, "versioning", "enabled") is True:
        return None
    if statuses:
        return f"has versioning {', '.join(str(s) for s in statuses)}; an overwritten model cannot be recovered"
    return "has no BucketVersioning; an overwritten or deleted model cannot be recovered"


def _validate_versioned(args: StackValidationArgs, report: ReportViolation) -> None:
    _for_each_bucket(args, _versioning_problem, report)


S3_VERSIONED = StackValidationPolicy(
    name="s3-buckets-versioned",
    display_name="S3 buckets versioned",
    description="Every S3 bucket has versioning Enabled, so overwritten or deleted weights can be restored.",
    validate=_validate_versioned,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["s3", "reliability"],
    remediation_steps=(
        "Add a BucketVersioning with versioning_configuration status Enabled, and a lifecycle rule that expires "
        "noncurrent versions after a retention period."
    ),
)


def _public_statement(statement: Any) -> bool:
    if get(statement, "Effect") != "Allow" or get(statement, "Condition") is not None:
        return False
    principal = get(statement, "Principal")
    return principal == "*" or (is_map(principal) and "*" in strings(get(principal, "AWS")))


def _public_problem(bucket: Any, settings: list[Any]) -> str | None:
    blocks = [s for s in settings if s.resource_type == PUBLIC_ACCESS_BLOCK]
    if not blocks:
        return "has no BucketPublicAccessBlock"
    off = [flag for flag in BLOCK_FLAGS if not any(get(b.props, flag) is True for b in blocks)]
    if off:
        return f"does not block public access: {', '.join(off)} not true"
    acls = [get(bucket.props, "acl")] + [get(s.props, "acl") for s in settings if s.resource_type in ACL_TYPES]
    public_acls = [a for a in acls if a in PUBLIC_ACLS]
    if public_acls:
        return f"has the ACL {public_acls[0]}"
    for acl in (s for s in settings if s.resource_type in ACL_TYPES):
        for grant in items(get(acl.props, "accessControlPolicy", "grants")):
            if get(grant, "grantee", "uri") in PUBLIC_GRANTEES:
                return f"grants {get(grant, 'permission')} to {get(grant, 'grantee', 'uri')}"
    for policy in (s for s in settings if s.resource_type == BUCKET_POLICY):
        document = json_document(get(policy.props, "policy"))
        for statement in items(get(document, "Statement")) if document is not None else []:
            if _public_statement(statement):
                return f"has a bucket policy statement {get(statement, 'Sid', default='(no Sid)')} allowing anyone"
    return None


def _validate_not_public(args: StackValidationArgs, report: ReportViolation) -> None:
    _for_each_bucket(args, _public_problem, report)


S3_NOT_PUBLIC = StackValidationPolicy(
    name="s3-buckets-not-public",
    display_name="S3 buckets not public",
    description=(
        "Every S3 bucket has a BucketPublicAccessBlock with all four flags on, no public ACL and no bucket "
        "policy statement that allows anyone without a condition."
    ),
    validate=_validate_not_public,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["s3", "security"],
    remediation_steps=(
        "Add a BucketPublicAccessBlock with block_public_acls, block_public_policy, ignore_public_acls and "
        "restrict_public_buckets all true; grant access to roles (pod identity, SageMaker execution role) instead."
    ),
)

POLICIES = [S3_ENCRYPTED, S3_VERSIONED, S3_NOT_PUBLIC]
