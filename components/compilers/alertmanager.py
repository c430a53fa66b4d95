"""Alertmanager configuration from the stack's AlertingSpec (kube-prometheus-stack's
`alertmanager.config`), and the Secrets its receivers read their credentials from.

Credentials never enter this configuration: each receiver names a file under
/etc/alertmanager/secrets/<secret>/<key>, where the operator mounts the Secrets listed in
`alertmanagerSpec.secrets`. A credential kept in AWS Secrets Manager is copied at deploy time
into one Secret the program owns (RECEIVER_SECRET); a Kubernetes Secret is mounted as it is.
SNS receivers carry no credential: Alertmanager signs with SigV4 as its Pod Identity role.
"""
from __future__ import annotations

from typing import Any

from components.intent.alerting import AlertingSpec, Receiver, SecretRef

Config = dict[str, Any]

SECRETS_DIR = "/etc/alertmanager/secrets"
RECEIVER_SECRET = "alertmanager-receiver-credentials"
NULL_RECEIVER = "null"
GROUP_BY = ["alertname", "model", "version"]
# The per-version alerts a "model down" makes meaningless: no replica, no latency to measure.
INHIBITED_BY_MODEL_DOWN = (
    "MLServingErrorRateBudgetBurn|MLServingTTFTBudgetBurn|MLServingTPOTBudgetBurn|MLServingLatencyBudgetBurn|"
    "MLServingLatencyAboveSLO|MLServingReplicasNotReady|MLServingScalingMetricAbsent|MLServingQueueSaturated|"
    "MLServingKVCacheFull"
)


def _secret_location(ref: SecretRef, receiver: str, field: str) -> tuple[str, str]:
    if ref.kubernetes_secret is not None:
        return ref.kubernetes_secret.name, ref.kubernetes_secret.key
    return RECEIVER_SECRET, f"{receiver}-{field}"


def secret_file(ref: SecretRef, receiver: str, field: str) -> str:
    name, key = _secret_location(ref, receiver, field)
    return f"{SECRETS_DIR}/{name}/{key}"


def _fields(receiver: Receiver) -> list[tuple[str, SecretRef]]:
    target = getattr(receiver, receiver.kind)
    names = {"slack": "webhook_url", "pagerduty": "routing_key", "opsgenie": "api_key", "webhook": "bearer_token"}
    field = names.get(receiver.kind)
    ref = getattr(target, field) if field else None
    return [(field, ref)] if field and ref is not None else []


def copied_secrets(alerting: AlertingSpec) -> dict[str, str]:
    """Key in RECEIVER_SECRET -> Secrets Manager ARN whose value the program copies there."""
    return {
        _secret_location(ref, receiver.name, field)[1]: ref.aws_secret
        for receiver in alerting.receivers
        for field, ref in _fields(receiver)
        if ref.aws_secret is not None
    }


def mounted_secrets(alerting: AlertingSpec) -> list[str]:
    """Secrets the Alertmanager pods mount (alertmanagerSpec.secrets)."""
    names = {
        _secret_location(ref, receiver.name, field)[0] for receiver in alerting.receivers for field, ref in _fields(receiver)
    }
    return sorted(names)


def sns_topics(alerting: AlertingSpec) -> list[str]:
    return sorted({r.sns.topic_arn for r in alerting.receivers if r.sns is not None})


def _receiver(receiver: Receiver) -> Config:
    name = receiver.name
    if receiver.sns is not None:
        region = receiver.sns.topic_arn.split(":")[3]
        return {
            "name": name,
            "sns_configs": [
                {
                    "topic_arn": receiver.sns.topic_arn,
                    "sigv4": {"region": region},
                    "subject": '{{ .CommonLabels.alertname }} {{ .CommonLabels.model }} {{ .CommonLabels.version }}',
                    "send_resolved": True,
                }
            ],
        }
    if receiver.slack is not None:
        return {
            "name": name,
            "slack_configs": [
                {
                    "api_url_file": secret_file(receiver.slack.webhook_url, name, "webhook_url"),
                    "channel": receiver.slack.channel,
                    "title": '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} {{ .CommonLabels.model }} {{ .CommonLabels.version }}',
                    "text": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}",
                    "send_resolved": True,
                }
            ],
        }
    if receiver.pagerduty is not None:
        return {
            "name": name,
            "pagerduty_configs": [
                {"routing_key_file": secret_file(receiver.pagerduty.routing_key, name, "routing_key"), "send_resolved": True}
            ],
        }
    if receiver.opsgenie is not None:
        return {
            "name": name,
            "opsgenie_configs": [{"api_key_file": secret_file(receiver.opsgenie.api_key, name, "api_key"), "send_resolved": True}],
        }
    assert receiver.webhook is not None
    webhook: Config = {"url": receiver.webhook.url, "send_resolved": True}
    if receiver.webhook.bearer_token is not None:
        webhook["http_config"] = {
            "authorization": {"credentials_file": secret_file(receiver.webhook.bearer_token, name, "bearer_token")}
        }
    return {"name": name, "webhook_configs": [webhook]}


def _route(route) -> Config:
    matchers = [f'{label}="{value}"' for label in ("severity", "model", "team") if (value := getattr(route, label)) is not None]
    compiled: Config = {"receiver": route.receiver, "matchers": matchers}
    if route.continue_matching:
        compiled["continue"] = True
    return compiled


def config(alerting: AlertingSpec) -> Config:
    """The whole Alertmanager configuration (what `amtool check-config` validates)."""
    return {
        "route": {
            "receiver": alerting.default_receiver or NULL_RECEIVER,
            "group_by": GROUP_BY,
            "group_wait": f"{alerting.group_wait_s}s",
            "group_interval": f"{alerting.group_interval_s}s",
            "repeat_interval": f"{alerting.repeat_interval_s}s",
            "routes": [
                # The chart's InfoInhibitor only exists to silence info alerts: never notify it.
                {"receiver": NULL_RECEIVER, "matchers": ['alertname="InfoInhibitor"']},
                *[_route(route) for route in alerting.routes],
            ],
        },
        "receivers": [{"name": NULL_RECEIVER}, *[_receiver(r) for r in alerting.receivers]],
        "inhibit_rules": [
            # A page already says it: the ticket for the same thing adds nothing.
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["alertname", "namespace", "model", "version"],
            },
            {
                "source_matchers": ['alertname="MLServingModelDown"'],
                "target_matchers": [f'alertname=~"{INHIBITED_BY_MODEL_DOWN}"'],
                "equal": ["model", "version"],
            },
            # The chart's info alerts are noise while anything else fires in their namespace.
            {
                "source_matchers": ['alertname="InfoInhibitor"'],
                "target_matchers": ['severity="info"'],
                "equal": ["namespace"],
            },
        ],
    }
