"""Alertmanager's configuration as each stack compiles it: `amtool check-config` accepts it,
critical alerts of staging and prod reach a real receiver, and no credential is in it."""
from __future__ import annotations

import json

import pytest
import yaml

from components.compilers import alertmanager
from components.compilers.helm_values import ALERTMANAGER_SERVICE_ACCOUNT
from tests.alerting.charts import release_values, render
from tests.alerting.tools import run, tool
from tests.conftest import STACK_NAMES, stack_config
from tests.factories import spec_of

EKS_STACKS = [s for s in STACK_NAMES if stack_config(s)["ml-serving:target"] == "eks"]


def _write(config, tmp_path):
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _route(amtool, path, tmp_path, **labels):
    result = run([amtool, "config", "routes", "test", f"--config.file={path}", *[f"{k}={v}" for k, v in labels.items()]], tmp_path)
    assert result.returncode == 0, result.stderr
    return sorted(name for word in result.stdout.split() for name in word.split(","))


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_amtool_accepts_every_stacks_configuration(stack, tmp_path):
    amtool = tool("amtool")
    path = _write(alertmanager.config(spec_of(stack).alerting), tmp_path)
    result = run([amtool, "check-config", str(path)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("stack", EKS_STACKS)
def test_the_chart_gets_the_compiled_configuration(stack, previews):
    values = release_values(previews(stack), "kube-prometheus-stack")
    spec = previews(stack).spec
    assert values["alertmanager"]["config"] == alertmanager.config(spec.alerting)
    assert values["alertmanager"]["alertmanagerSpec"]["secrets"] == alertmanager.mounted_secrets(spec.alerting)


@pytest.mark.parametrize("stack", [s for s in STACK_NAMES if stack_config(s)["ml-serving:environment"] != "dev"])
def test_critical_alerts_of_every_model_reach_a_receiver(stack, tmp_path):
    amtool = tool("amtool")
    spec = spec_of(stack)
    path = _write(alertmanager.config(spec.alerting), tmp_path)
    team = spec.tags["team"]
    for model in spec.models:
        reached = _route(amtool, path, tmp_path, alertname="MLServingErrorRateBudgetBurn", severity="critical", model=model.name, version="v1", team=team)
        assert reached and alertmanager.NULL_RECEIVER not in reached
        assert set(reached) == set(spec.alerting.receivers_for({"severity": "critical", "model": model.name, "team": team}))


def test_prod_pages_the_oncall_and_tickets_warnings(tmp_path):
    amtool = tool("amtool")
    path = _write(alertmanager.config(spec_of("prod").alerting), tmp_path)
    assert _route(amtool, path, tmp_path, severity="critical", model="llama-70b", team="ml-platform") == ["ml-oncall", "ml-oncall-sns"]
    assert _route(amtool, path, tmp_path, severity="warning", model="llama-70b") == ["ml-platform-slack"]
    assert _route(amtool, path, tmp_path, alertname="InfoInhibitor", severity="none") == ["null"]


def test_dev_may_drop_everything(tmp_path):
    config = alertmanager.config(spec_of("dev").alerting)
    assert config["route"]["receiver"] == "null" and config["receivers"] == [{"name": "null"}]


def test_credentials_are_files_from_mounted_secrets_never_values():
    spec = spec_of("prod")
    text = json.dumps(alertmanager.config(spec.alerting))
    for forbidden in ('"routing_key"', '"api_url"', '"api_key"', '"service_key"', "secretsmanager"):
        assert forbidden not in text
    pagerduty = next(r for r in alertmanager.config(spec.alerting)["receivers"] if r["name"] == "ml-oncall")
    assert pagerduty["pagerduty_configs"][0]["routing_key_file"] == (
        f"/etc/alertmanager/secrets/{alertmanager.RECEIVER_SECRET}/ml-oncall-routing_key"
    )
    assert alertmanager.copied_secrets(spec.alerting) == {
        "ml-oncall-routing_key": "arn:aws:secretsmanager:us-east-1:444455556666:secret:ml-serving/prod/pagerduty-routing-key-Qw3rTy",
        "ml-platform-slack-webhook_url": "arn:aws:secretsmanager:us-east-1:444455556666:secret:ml-serving/prod/slack-webhook-As9dFg",
    }
    staging = spec_of("staging").alerting
    assert alertmanager.mounted_secrets(staging) == ["alertmanager-slack"]
    assert alertmanager.copied_secrets(staging) == {}


def test_prod_copies_secrets_manager_values_into_one_secret_and_lets_alertmanager_publish(previews):
    recording = previews("prod").recording
    secret = next(r for r in recording.resources if r.type == "kubernetes:core/v1:Secret" and r.name.endswith("-alertmanager-receivers"))
    assert secret.inputs["metadata"]["name"] == alertmanager.RECEIVER_SECRET
    assert sorted(secret.inputs["stringData"]) == ["ml-oncall-routing_key", "ml-platform-slack-webhook_url"]
    assert "preview-credential" not in json.dumps(secret.inputs)  # a Pulumi secret, redacted
    association = next(r for r in recording.resources if r.type == "aws:eks/podIdentityAssociation:PodIdentityAssociation"
                       and r.name.endswith("-alertmanager"))
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("monitoring", ALERTMANAGER_SERVICE_ACCOUNT)
    policy = next(r for r in recording.resources if r.type == "aws:iam/rolePolicy:RolePolicy" and r.name.endswith("-alertmanager"))
    assert json.loads(policy.inputs["policy"])["Statement"] == [
        {"Sid": "PublishAlerts", "Effect": "Allow", "Action": ["sns:Publish"],
         "Resource": ["arn:aws:sns:us-east-1:444455556666:ml-serving-prod-alerts"]}
    ]


def test_rendered_alertmanager_mounts_the_secrets_and_runs_as_its_pod_identity(previews, tmp_path, crd_validator):
    preview = previews("prod")
    docs = render("kube-prometheus-stack", release_values(preview, "kube-prometheus-stack"), tmp_path, "1.35")
    manager = next(d for d in docs if d["kind"] == "Alertmanager")
    assert manager["spec"]["secrets"] == [alertmanager.RECEIVER_SECRET]
    assert manager["spec"]["serviceAccountName"] == ALERTMANAGER_SERVICE_ACCOUNT
    assert crd_validator(manager) == []
    account = next(d for d in docs if d["kind"] == "ServiceAccount" and d["metadata"]["name"] == ALERTMANAGER_SERVICE_ACCOUNT)
    assert account["metadata"]["namespace"] == "monitoring"


def test_sagemaker_alarms_notify_the_receivers_sns_topic(previews):
    alarms = [r for r in previews("sagemaker-prod").recording.resources if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"]
    assert len(alarms) == 4
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] == ["arn:aws:sns:us-east-1:444455556666:ml-serving-sagemaker-prod-alerts"]
        assert alarm.inputs["okActions"] == alarm.inputs["alarmActions"]
