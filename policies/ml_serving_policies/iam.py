"""IAM: nothing may grant every action, or a whole service, on every resource."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .values import get, items, json_document, strings

POLICY_DOCUMENT_TYPES = (
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
ATTACHMENT_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
ROLE = "aws:iam/role:Role"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


def _documents(resource_type: str, props: Any) -> Iterator[tuple[str, Any]]:
    if resource_type in POLICY_DOCUMENT_TYPES:
        yield "policy", get(props, "policy")
    elif resource_type == ROLE:
        for index, inline in enumerate(items(get(props, "inlinePolicies"))):
            yield f"inlinePolicies[{index}] ({get(inline, 'name', default='unnamed')})", get(inline, "policy")


def _wildcard_grant(statement: Any) -> str | None:
    if get(statement, "Effect") != "Allow":
        return None
    resources = strings(get(statement, "Resource"))
    on_everything = "*" in resources or get(statement, "NotResource") is not None
    actions = strings(get(statement, "Action"))
    if "*" in actions or "*:*" in actions:
        return "every action (*)"
    if get(statement, "NotAction") is not None and on_everything:
        return "every action but a few (NotAction) on *"
    services = [a for a in actions if a.endswith(":*")]
    if services and on_everything:
        return f"{', '.join(services)} on *"
    return None


def _check_wildcards(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in ATTACHMENT_TYPES and get(args.props, "policyArn") == ADMIN_POLICY:
        report("attaches AdministratorAccess.")
    if args.resource_type == ROLE and ADMIN_POLICY in strings(get(args.props, "managedPolicyArns")):
        report("managedPolicyArns includes AdministratorAccess.")
    for where, text in _documents(args.resource_type, args.props):
        document = json_document(text)
        statements = get(document, "Statement") if document is not None else None
        for index, statement in enumerate(items(statements) if not isinstance(statements, dict) else [statements]):
            grant = _wildcard_grant(statement)
            if grant:
                sid = get(statement, "Sid", default=f"#{index}")
                report(f"{where} statement {sid} allows {grant}.")


IAM_NO_WILDCARDS = ResourceValidationPolicy(
    name="iam-no-wildcard-admin",
    display_name="No IAM * on *",
    description=(
        "No IAM policy allows every action (*), a whole service (svc:*) or NotAction on every resource, and "
        "nothing attaches AdministratorAccess."
    ),
    validate=_check_wildcards,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["iam", "security"],
    remediation_steps=(
        "List the actions the workload calls and scope Resource to its ARNs (components/compilers/iam.py has "
        "builders); Resource '*' only for APIs without resource-level permissions, with explicit actions."
    ),
)

POLICIES = [IAM_NO_WILDCARDS]
