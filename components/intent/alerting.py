"""AlertingSpec: who is told about which alert, and through what.

EKS compiles it to Alertmanager's configuration (kube-prometheus-stack); SageMaker stacks
point their CloudWatch alarms at the same receivers' SNS topics. A credential is never
written here: a receiver names where it is kept (AWS Secrets Manager or a Kubernetes Secret
in the monitoring namespace) and Alertmanager reads it from a mounted file.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from components.intent.base import ModelName, Problems, ResourceName, Spec, duplicates, pattern_check

Severity = Literal["critical", "warning"]

SecretsManagerArn = Annotated[
    str,
    pattern_check(
        r"arn:aws(-cn|-us-gov)?:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]{1,512}",
        "expected a Secrets Manager secret ARN such as "
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:ml-serving/pagerduty-AbCdEf",
    ),
]
SnsTopicArn = Annotated[
    str,
    pattern_check(
        r"arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}",
        "expected an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:ml-serving-oncall",
    ),
]
KubernetesName = Annotated[
    str,
    pattern_check(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?", "a Kubernetes object name: lowercase letters, digits, '-' and '.'"),
]
SecretKey = Annotated[
    str, pattern_check(r"[-._a-zA-Z0-9]{1,253}", "a Secret data key: letters, digits, '-', '_' and '.'")
]
WebhookUrl = Annotated[str, pattern_check(r"https://[^\s]+", "expected an https:// URL")]
SlackChannel = Annotated[str, pattern_check(r"[#@][\w.-]{1,80}", "expected a channel such as #ml-oncall")]


class KubernetesSecretRef(Spec):
    """A key of a Secret in the monitoring namespace, created outside the stack."""

    name: KubernetesName = Field(description="Name of the Secret (namespace `monitoring`).")
    key: SecretKey = Field(description="Key in the Secret whose value is the credential.")


class SecretRef(Spec):
    """Where a credential is kept: exactly one of the two."""

    aws_secret: SecretsManagerArn | None = Field(
        None, description="Secrets Manager secret whose SecretString is the credential; copied into a Kubernetes Secret at deploy time."
    )
    kubernetes_secret: KubernetesSecretRef | None = Field(None, description="A Secret already in the cluster.")

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        problems = Problems(self)
        if (self.aws_secret is None) == (self.kubernetes_secret is None):
            problems.add((), "give exactly one of aws_secret or kubernetes_secret")
        problems.raise_if_any()
        return self


class SnsTarget(Spec):
    topic_arn: SnsTopicArn = Field(
        description="Topic Alertmanager publishes to (SigV4, through Pod Identity) and SageMaker alarms notify."
    )


class SlackTarget(Spec):
    channel: SlackChannel = Field(description="Channel the incoming webhook posts to.")
    webhook_url: SecretRef = Field(description="Where the Slack incoming-webhook URL is kept.")


class PagerDutyTarget(Spec):
    routing_key: SecretRef = Field(description="Where the PagerDuty Events API v2 integration (routing) key is kept.")


class OpsgenieTarget(Spec):
    api_key: SecretRef = Field(description="Where the Opsgenie API integration key is kept.")


class WebhookTarget(Spec):
    url: WebhookUrl = Field(description="Endpoint Alertmanager posts alerts to (no credential in it).")
    bearer_token: SecretRef | None = Field(None, description="Where the token sent as `Authorization: Bearer` is kept.")


class Receiver(Spec):
    """One destination; exactly one of its kinds."""

    name: ResourceName = Field(description="Name routes refer to.")
    sns: SnsTarget | None = None
    slack: SlackTarget | None = None
    pagerduty: PagerDutyTarget | None = None
    opsgenie: OpsgenieTarget | None = None
    webhook: WebhookTarget | None = None

    @property
    def kind(self) -> str:
        # "none" only while a receiver missing its target is checked for the error report.
        return next((k for k in ("sns", "slack", "pagerduty", "opsgenie", "webhook") if getattr(self, k, None) is not None), "none")

    def secrets(self) -> list[SecretRef]:
        refs = {
            "slack": lambda t: [t.webhook_url],
            "pagerduty": lambda t: [t.routing_key],
            "opsgenie": lambda t: [t.api_key],
            "webhook": lambda t: [t.bearer_token] if t.bearer_token else [],
            "sns": lambda t: [],
        }
        return refs[self.kind](getattr(self, self.kind))

    @model_validator(mode="after")
    def _one_kind(self) -> Receiver:
        problems = Problems(self)
        kinds = [k for k in ("sns", "slack", "pagerduty", "opsgenie", "webhook") if getattr(self, k) is not None]
        if len(kinds) != 1:
            problems.add(
                (),
                f"a receiver is exactly one of sns, slack, pagerduty, opsgenie or webhook; got {', '.join(kinds) or 'none'}",
            )
        problems.raise_if_any()
        return self


class Route(Spec):
    """Alerts matching every given label go to `receiver`; the first matching route wins
    unless it says `continue`."""

    receiver: ResourceName = Field(description="Name of a receiver.")
    severity: Severity | None = Field(None, description="Match alerts of this severity only.")
    model: ModelName | None = Field(None, description="Match alerts of this model only.")
    team: str | None = Field(None, min_length=1, max_length=63, description="Match alerts carrying this `team` label (the stack's `team` tag).")
    continue_matching: bool = Field(False, description="Also try the routes after this one.")

    def matches(self, labels: dict[str, str]) -> bool:
        wanted = {"severity": self.severity, "model": self.model, "team": self.team}
        return all(labels.get(key) == value for key, value in wanted.items() if value is not None)


class AlertingSpec(Spec):
    """Receivers, and the routes alerts take to them."""

    receivers: list[Receiver] = Field(default_factory=list, max_length=20, description="Where alerts can go.")
    routes: list[Route] = Field(default_factory=list, max_length=50, description="Tried in order; the first match wins.")
    default_receiver: ResourceName | None = Field(
        None, description="Receiver of alerts no route matches; without one they are dropped."
    )
    group_wait_s: int = Field(30, ge=0, le=600, description="How long a new group waits for more alerts before the first notification.")
    group_interval_s: int = Field(300, ge=30, le=3600, description="Wait before notifying about alerts added to a group already sent.")
    repeat_interval_s: int = Field(14_400, ge=300, le=604_800, description="Re-send a still-firing group after this long.")

    def receiver(self, name: str) -> Receiver | None:
        return next((r for r in self.receivers if r.name == name), None)

    def receivers_for(self, labels: dict[str, str]) -> list[str]:
        """Every receiver an alert with these labels reaches, as Alertmanager routes it: matching
        routes in order until one without `continue_matching`; the default if none matched."""
        reached: list[str] = []
        for route in self.routes:
            if route.matches(labels):
                reached.append(route.receiver)
                if not route.continue_matching:
                    return reached
        if not reached and self.default_receiver is not None:
            reached.append(self.default_receiver)
        return reached

    def receiver_for(self, labels: dict[str, str]) -> str | None:
        """The receiver an alert with these labels reaches first (None: dropped)."""
        reached = self.receivers_for(labels)
        return reached[0] if reached else None

    def sns_topics_for(self, labels: dict[str, str]) -> list[str]:
        """SNS topics among the receivers an alert reaches (what a CloudWatch alarm can notify)."""
        topics = [r.sns.topic_arn for name in self.receivers_for(labels) if (r := self.receiver(name)) and r.sns]
        return sorted(set(topics))

    def critical_receiver(self) -> str | None:
        """Where a critical alert of any model goes, whichever route it takes."""
        return self.receiver_for({"severity": "critical"})

    @model_validator(mode="after")
    def _names_resolve(self) -> AlertingSpec:
        problems = Problems(self)
        repeated = duplicates([r.name for r in self.receivers])
        if repeated:
            problems.add(("receivers",), f"receiver names must be unique; repeated: {', '.join(repeated)}")
        known = {r.name for r in self.receivers}
        for index, route in enumerate(self.routes):
            if route.receiver not in known:
                problems.add(
                    ("routes", index, "receiver"),
                    f"no receiver named {route.receiver!r}; receivers: {', '.join(sorted(known)) or 'none'}",
                    route.receiver,
                )
        if self.default_receiver is not None and self.default_receiver not in known:
            problems.add(
                ("default_receiver",),
                f"no receiver named {self.default_receiver!r}; receivers: {', '.join(sorted(known)) or 'none'}",
                self.default_receiver,
            )
        problems.raise_if_any()
        return self
