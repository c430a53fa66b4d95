"""Container images: pinned by digest, pulled from our private ECR."""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .review import REVIEW
from .settings import config_schema, settings
from .values import get, is_map, items, mapping, tolerant
from .workloads import containers

SAGEMAKER_MODEL = "aws:sagemaker/model:Model"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
ECR = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")


def images(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, image) for every image a resource runs: Kubernetes containers and SageMaker models."""
    for _, container in containers(resource_type, props):
        image = get(container.spec, "image")
        if isinstance(image, str):
            yield container.where, image
    if resource_type == SAGEMAKER_MODEL:
        primary = get(props, "primaryContainer")
        if is_map(primary) and isinstance(get(primary, "image"), str):
            yield "primaryContainer", get(primary, "image")
        for index, container in enumerate(items(get(props, "containers"))):
            if isinstance(get(container, "image"), str):
                yield f"containers[{index}]", get(container, "image")


def _check_digest(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, image in images(args.resource_type, args.props):
        if not DIGEST.search(image):
            report(f"{where} runs {image}, which is not pinned by digest; a tag can be moved to other bits.")


IMAGES_PINNED = ResourceValidationPolicy(
    name="images-pinned-by-digest",
    display_name="Images pinned by digest",
    description=(
        "Every container image ml-serving renders (Kubernetes workloads, serving runtimes, SageMaker models) "
        "ends in @sha256:<digest>. Add-on Helm charts are out of scope: they are pinned by chart version in "
        "components/intent/versions.py and run the images their chart version names."
    ),
    validate=_check_digest,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["supply-chain", "security"],
    remediation_steps=(
        "Reference images as <registry>/<repository>@sha256:<digest>. Built images get their digest from the "
        "ECR push (components/images.py); base and third-party images are pinned in components/intent/versions.py."
    ),
)


REGISTRY_SCHEMA = {
    "allowedAccountIds": {
        "type": "array", "items": {"type": "string", "pattern": "^[0-9]{12}$"}, "default": [],
        "description": "AWS accounts whose private ECR registries may serve images; empty allows any account's.",
    },
    "allowedPrefixes": {
        "type": "array", "items": {"type": "string", "minLength": 1}, "default": [],
        "description": "Further image prefixes allowed outright (e.g. a mirror), matched from the start.",
    },
}


def _check_registry(args: ResourceValidationArgs, report: ReportViolation) -> None:
    config = settings(args, REGISTRY_SCHEMA)
    accounts = list(config["allowedAccountIds"])
    prefixes = list(config["allowedPrefixes"])
    for where, image in images(args.resource_type, args.props):
        if any(image.startswith(prefix) for prefix in prefixes):
            continue
        ecr = ECR.match(image)
        if ecr is None:
            report(f"{where} pulls {image} from outside ECR; mirror it into the stack's ECR repository so "
                   "pulls stay in the VPC (ECR endpoints) and images are scanned.")
        elif accounts and ecr.group("account") not in accounts:
            report(f"{where} pulls from the ECR registry of account {ecr.group('account')}, which is not one of "
                   f"{', '.join(accounts)}.")


IMAGES_FROM_ECR = ResourceValidationPolicy(
    name="images-from-private-ecr",
    display_name="Images from our ECR",
    description=(
        "Container images ml-serving renders come from a private ECR registry (of the allowed accounts, if "
        "configured) or an explicitly allowed prefix, never straight from a public registry. Add-on Helm "
        "charts pull their own images and are out of scope. Which account's registry: images-from-own-account."
    ),
    validate=_check_registry,
    config_schema=config_schema(REGISTRY_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["supply-chain", "security"],
    remediation_steps=(
        "Use `build` or a `prebuilt` ECR image for the runtime in the stack file (images: section) so "
        "ServingImages pushes it to ECR; for third-party images, mirror them to ECR (pull-through cache) or add "
        "the mirror's prefix to allowedPrefixes in policies/config.<env>.json."
    ),
)


OWN_ACCOUNT_SCHEMA = {
    "allowedAccounts": {
        "type": "object",
        "propertyNames": {"pattern": "^[0-9]{12}$"},
        "additionalProperties": {"type": "string", "minLength": 10},
        "default": {},
        "description": "Other AWS accounts whose ECR registries may serve images -> why (e.g. the shared images account).",
    },
}


def _validate_own_account(args: StackValidationArgs, report: ReportViolation) -> None:
    review = next((r for r in args.resources if r.resource_type == REVIEW), None)
    if review is None:
        return
    own = get(review.props, "accountId")
    allowed = mapping(settings(args, OWN_ACCOUNT_SCHEMA)["allowedAccounts"])
    for resource in args.resources:
        # An image known only after deployment is one this stack builds, into its own registry.
        for where, image in tolerant(lambda r=resource: list(images(r.resource_type, r.props)), []):
            ecr = ECR.match(image)
            if ecr is None or ecr.group("account") in (own, *allowed):
                continue
            report(f"{where} pulls {image} from the ECR registry of account {ecr.group('account')}, not this stack's "
                   f"account {own}: whoever controls that account controls what runs here. Build or copy the "
                   f"image into this account's ECR (images.<runtime>.build), or add \"{ecr.group('account')}\": "
                   "\"<why>\" to allowedAccounts in policies/config.<env>.json.", resource.urn)


IMAGES_FROM_OWN_ACCOUNT = StackValidationPolicy(
    name="images-from-own-account",
    display_name="ECR images from the stack's own account",
    description=(
        "Judgement (policy; a shared images account is a legitimate choice): ECR images come from the account the "
        "stack deploys into, learnt from the deployment's own credentials (the StackReview's accountId, from "
        "sts:GetCallerIdentity), or from an account allow-listed with a reason."
    ),
    validate=_validate_own_account,
    config_schema=config_schema(OWN_ACCOUNT_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["supply-chain", "security"],
    remediation_steps="Use images.<runtime>.build, or a prebuilt image in this account's ECR.",
)

POLICIES = [IMAGES_PINNED, IMAGES_FROM_ECR, IMAGES_FROM_OWN_ACCOUNT]
