"""The policy pack over a recorded run: what `pulumi preview --policy-pack policies` would report.

Each recorded resource becomes the CrossGuard argument the analyzer would build for it:
props wrapped in the analyzer's unknown-checking proxy, numbers as floats (both go through a
protobuf Struct), resource options, and the provider resource resolved from the provider
reference (`<provider urn>::<id>`), so the aws provider's default tags count for cost tags.
Stack policies get every resource with its parent and dependencies linked.
"""
from __future__ import annotations

import asyncio
import copy
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from components.preview.engine import Recording, Resource
from policies.ml_serving_policies import PACK_ENFORCEMENT, PACK_NAME, POLICIES
from policies.ml_serving_policies.config import PolicySetting, for_environment

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: str  # "advisory" or "mandatory"
    urn: str  # empty when a stack policy blames no single resource
    resource_type: str
    resource_name: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {
            "policy": self.policy,
            "enforcement": self.enforcement,
            "urn": self.urn,
            "type": self.resource_type,
            "name": self.resource_name,
            "message": self.message,
        }


@dataclass
class PolicyReport:
    pack: str
    environment: str
    config_file: str
    enforcement: dict[str, str]
    violations: list[Violation] = field(default_factory=list)
    # (policy, reason) for checks that met a value only known after deployment.
    not_run: list[tuple[str, str]] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == EnforcementLevel.MANDATORY.value]

    def as_json(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "environment": self.environment,
            "config": self.config_file,
            "policies": self.enforcement,
            "violations": [v.as_json() for v in self.violations],
            "notRun": [{"policy": p, "reason": r} for p, r in self.not_run],
        }

    def section(self) -> str:
        """The summary's policy section (markdown)."""
        levels = list(self.enforcement.values())
        counts = ", ".join(f"{levels.count(level)} {level}" for level in ("mandatory", "advisory", "disabled")
                           if levels.count(level))
        lines = [
            "## Policies",
            "",
            f"Pack `{self.pack}` with `{self.config_file}` ({self.environment}): {len(levels)} policies, {counts}.",
            "",
        ]
        if not self.violations:
            lines.append("No violations.")
        else:
            lines.append(
                f"{len(self.violations)} violations, {len(self.mandatory)} mandatory "
                "(a mandatory violation fails `make synth` and `pulumi preview`)."
            )
            lines += ["", "| enforcement | policy | resource | violation |", "|---|---|---|---|"]
            for v in sorted(self.violations, key=lambda v: (v.enforcement != "mandatory", v.policy, v.resource_name)):
                resource = f"`{v.resource_type}` {v.resource_name}" if v.urn else "(stack)"
                lines.append(f"| {v.enforcement} | {v.policy} | {resource} | {_cell(v.message)} |")
        for policy, reason in self.not_run:
            lines.append(f"- not run: {policy}: {_cell(reason)}")
        return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _as_sent(value: Any) -> Any:
    """What the analyzer receives: the recording gave integers back their type; the engine does not."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: _as_sent(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_sent(v) for v in value]
    return value


def _props(resource: Resource) -> Mapping[str, Any]:
    return unknown_checking_proxy(_as_sent(copy.deepcopy(resource.inputs)))


def _options(resource: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=list(resource.ignore_changes),
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent or None,
    )


def provider_of(resource: Resource, resources: Sequence[Resource]) -> PolicyProviderResource | None:
    """The explicit provider a resource was registered with; None for a default provider (the
    recording has no resource for those)."""
    reference = resource.provider
    if not reference:
        return None
    for candidate in resources:
        if candidate.type.startswith("pulumi:providers:") and (
            reference == candidate.urn or reference.startswith(candidate.urn + "::")
        ):
            return PolicyProviderResource(candidate.type, _props(candidate), candidate.urn, candidate.name)
    return None


def _run(result: Any) -> None:
    if inspect.isawaitable(result):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(result)
        finally:
            loop.close()


def evaluate(
    resources: Sequence[Resource],
    settings: Mapping[str, PolicySetting],
    policies: Sequence[Policy] = POLICIES,
) -> tuple[list[Violation], list[tuple[str, str]]]:
    """Run `policies` over `resources` at the levels in `settings`; (violations, not run)."""
    by_urn = {r.urn: r for r in resources}
    violations: list[Violation] = []
    not_run: list[tuple[str, str]] = []
    stack_resources: list[PolicyResource] | None = None

    for policy in policies:
        setting = settings[policy.name]
        if setting.enforcement == EnforcementLevel.DISABLED:
            continue
        # A remediation that still leaves a violation is reported as mandatory, as the analyzer does.
        level = EnforcementLevel.MANDATORY if setting.enforcement == EnforcementLevel.REMEDIATE else setting.enforcement
        # Config reaches policies through a protobuf Struct as well: numbers as floats.
        config = _as_sent(dict(setting.properties)) or None

        def report(message: str, urn: str | None = None, *, name: str = policy.name, level: EnforcementLevel = level) -> None:
            blamed = by_urn.get(urn or "")
            violations.append(Violation(
                policy=name,
                enforcement=level.value,
                urn=blamed.urn if blamed else "",
                resource_type=blamed.type if blamed else "",
                resource_name=blamed.name if blamed else "",
                message=message,
            ))

        try:
            if isinstance(policy, ResourceValidationPolicy):
                for resource in resources:
                    args = ResourceValidationArgs(
                        resource.type, _props(resource), resource.urn, resource.name, _options(resource),
                        provider_of(resource, resources), config,
                    )
                    try:
                        # The analyzer always blames the resource under validation.
                        _run(policy.validate(args, lambda message, _=None, urn=resource.urn: report(message, urn)))
                    except UnknownValueError as error:
                        not_run.append((policy.name, f"{resource.name}: {error.message}"))
                    except _NotApplicableError:
                        pass
            elif isinstance(policy, StackValidationPolicy):
                if stack_resources is None:
                    stack_resources = stack_view(resources)
                try:
                    _run(policy.validate(StackValidationArgs(stack_resources, config), report))
                except UnknownValueError as error:
                    not_run.append((policy.name, error.message))
                except _NotApplicableError:
                    pass
        except Exception as error:  # a broken policy must name itself, not just fail the preview
            raise RuntimeError(f"policy {policy.name} failed: {error!r}") from error
    return violations, not_run


def stack_view(resources: Sequence[Resource]) -> list[PolicyResource]:
    """PolicyResources with parents and dependencies linked, as AnalyzeStack builds them. The
    recording keeps dependencies but not which property each came from."""
    views = {
        r.urn: PolicyResource(r.type, _props(r), r.urn, r.name, _options(r), provider_of(r, resources), None, [], {})
        for r in resources
    }
    for r in resources:
        view = views[r.urn]
        view.parent = views.get(r.parent)
        view.dependencies = [views[d] for d in r.depends_on if d in views]
    return list(views.values())


def check(recording: Recording, environment: str) -> PolicyReport:
    """The pack at `environment`'s enforcement levels (policies/config.<environment>.json)."""
    path, settings = for_environment(POLICIES, PACK_ENFORCEMENT, environment)
    violations, not_run = evaluate(recording.resources, settings)
    try:
        shown = str(path.relative_to(ROOT))
    except ValueError:
        shown = str(path)
    return PolicyReport(
        pack=PACK_NAME,
        environment=environment,
        config_file=shown,
        enforcement={name: setting.enforcement.value for name, setting in settings.items()},
        violations=violations,
        not_run=not_run,
    )
