"""ECR repositories for serving images: scanned on push, tags immutable."""
from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .values import get

REPOSITORY = "aws:ecr/repository:Repository"


def _check_scan_on_push(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == REPOSITORY and get(args.props, "imageScanningConfiguration", "scanOnPush") is not True:
        report("imageScanningConfiguration.scanOnPush is not true: pushed images are never scanned for CVEs.")


ECR_SCAN_ON_PUSH = ResourceValidationPolicy(
    name="ecr-scan-on-push",
    display_name="ECR scan on push",
    description="ECR repositories scan every pushed image (imageScanningConfiguration.scanOnPush).",
    validate=_check_scan_on_push,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["ecr", "supply-chain", "security"],
    remediation_steps="Set image_scanning_configuration={'scan_on_push': True} on the repository.",
)


def _check_immutable(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == REPOSITORY and get(args.props, "imageTagMutability", default="MUTABLE") != "IMMUTABLE":
        report(f"imageTagMutability is {get(args.props, 'imageTagMutability', default='MUTABLE (the default)')}: "
               "a pushed tag can later point at different bits.")


ECR_IMMUTABLE_TAGS = ResourceValidationPolicy(
    name="ecr-immutable-tags",
    display_name="ECR immutable tags",
    description="ECR repositories make tags immutable, so a tag always names the image that was scanned and tested.",
    validate=_check_immutable,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["ecr", "supply-chain"],
    remediation_steps=(
        "Set image_tag_mutability='IMMUTABLE' and tag each build uniquely (the git commit); deployments "
        "reference the digest anyway."
    ),
)

POLICIES = [ECR_SCAN_ON_PUSH, ECR_IMMUTABLE_TAGS]
