"""The model domain: a private zone named after a public domain shadows it inside the VPC."""
from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .settings import config_schema, settings
from .values import get, items, strings

ZONE = "aws:route53/zone:Zone"
SCHEMA = {
    "privateSuffixes": {
        "type": "array", "items": {"type": "string", "pattern": "^[a-z0-9.-]+$"}, "minItems": 1,
        # .internal: ICANN reserved it for private use (2024); home.arpa: RFC 8375; .test: RFC 2606.
        "default": ["internal", "home.arpa", "test"],
        "description": "Suffixes no public DNS name can end in: a private zone under one shadows nothing.",
    },
    "allowedDomains": {
        "type": "array", "items": {"type": "string", "pattern": "^[a-z0-9.-]+$"}, "default": [],
        "description": "Further zones allowed (e.g. a subdomain the company delegates to nobody in public DNS).",
    },
}


def _under(domain: str, suffix: str) -> bool:
    suffix = suffix.strip(".")
    return domain == suffix or domain.endswith("." + suffix)


def _check_zone(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # Only private zones (associated with a VPC) shadow; public zones are out of scope.
    if args.resource_type != ZONE or not items(get(args.props, "vpcs")):
        return
    name = get(args.props, "name")
    if not isinstance(name, str):
        return
    domain = name.strip(".").lower()
    config = settings(args, SCHEMA)
    if any(_under(domain, s) for s in strings(config["privateSuffixes"])) or domain in strings(config["allowedDomains"]):
        return
    report(f"private zone {domain} is not under a reserved private suffix ({', '.join(config['privateSuffixes'])}): "
           f"inside the VPC it answers for every name under {domain}, so public hosts there (a company's website, "
           "an API, AWS endpoints) stop resolving for nodes and pods. Set cluster.model_domain to e.g. "
           "models.internal, or add the domain to allowedDomains in policies/config.<env>.json.")


MODEL_DOMAIN_PRIVATE = ResourceValidationPolicy(
    name="model-domain-private",
    display_name="Model domain under a private suffix",
    description=(
        "AWS's own domains are rejected by validation (the zone would shadow the service endpoints nodes need: "
        "impossible to run). Any other domain is a judgement (policy): a private zone must sit under a reserved "
        "private suffix (.internal, home.arpa, .test) or be allow-listed per environment, never a public apex."
    ),
    validate=_check_zone,
    config_schema=config_schema(SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["network", "dns", "reliability"],
    remediation_steps="Use cluster.model_domain: models.internal (the default) or another name under .internal.",
)

POLICIES = [MODEL_DOMAIN_PRIVATE]
