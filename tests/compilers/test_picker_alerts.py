"""The endpoint picker's alerts, run by promtool against series that must and must not fire them."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from components.compilers.dashboards import dashboard
from components.compilers.monitoring import prometheus_rule
from components.compilers.rollout import served_versions
from tests.factories import model_of

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian package prometheus) is not installed")

SVC = 'namespace="models",service="llama-70b-v1-epp"'
LABELS = {"model": "llama-70b", "version": "v1"}


def _rules(model) -> dict:
    rule = prometheus_rule(model, served_versions(model))
    groups = [g for g in rule["spec"]["groups"] if g["name"].endswith("-picker")]
    assert groups, "a picker model has picker alerts"
    return {"groups": groups}


ANY_SUMMARY = object()


def _promtool(tmp_path: Path, model, tests: list[dict]) -> subprocess.CompletedProcess[str]:
    rules = _rules(model)
    summaries = {r["alert"]: r["annotations"] for g in rules["groups"] for r in g["rules"]}
    for test in tests:
        for check in test["alert_rule_test"]:
            for alert in check["exp_alerts"]:
                alert["exp_annotations"] = summaries[check["alertname"]]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    (tmp_path / "test.yaml").write_text(
        yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests})
    )
    return subprocess.run([PROMTOOL, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=120)


def _case(series: list[dict], alert: str, at: str, firing: bool, severity: str = "warning") -> dict:
    expected = [{"exp_labels": {"severity": severity, **LABELS}, "exp_annotations": ANY_SUMMARY}] if firing else []
    return {
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": expected}],
    }


def _assert_ok(result):
    assert result.returncode == 0, result.stdout + result.stderr


UP = [{"series": f"up{{{SVC}}}", "values": "1x30"}]


def test_picker_down_fires_when_scrapes_fail_or_vanish_and_not_while_up(tmp_path):
    model = model_of("prod", "llama-70b")
    _assert_ok(_promtool(tmp_path, model, [
        _case(UP, "MLServingEndpointPickerDown", "20m", firing=False),
        _case([{"series": f"up{{{SVC}}}", "values": "1x5 0x20"}], "MLServingEndpointPickerDown", "10m", firing=True),
        # No series at all: the picker was never scraped (ServiceMonitor not selected, Service gone).
        _case([], "MLServingEndpointPickerDown", "5m", firing=True),
        # Down for less than the 2 minutes `for`: a restart, not an outage.
        _case([{"series": f"up{{{SVC}}}", "values": "1x5 0 1x20"}], "MLServingEndpointPickerDown", "7m", firing=False),
    ]))


def test_a_fail_closed_picker_going_down_pages(tmp_path):
    model = model_of("prod", "llama-70b", routing={"balancer": "endpoint_picker", "failure_mode": "fail_closed"})
    _assert_ok(_promtool(tmp_path, model, [
        _case([], "MLServingEndpointPickerDown", "5m", firing=True, severity="critical"),
    ]))


def test_failing_schedulings_fire_above_five_percent_only(tmp_path):
    model = model_of("prod", "llama-70b")
    ok = f'inference_extension_scheduler_attempts_total{{{SVC},status="success"}}'
    bad = f'inference_extension_scheduler_attempts_total{{{SVC},status="failure"}}'
    _assert_ok(_promtool(tmp_path, model, [
        # 10 failures for 100 successes a minute: 9 %.
        _case([{"series": ok, "values": "0+100x30"}, {"series": bad, "values": "0+10x30"}],
              "MLServingEndpointPickerFailing", "20m", firing=True),
        # 3 for 100: 2.9 %.
        _case([{"series": ok, "values": "0+100x30"}, {"series": bad, "values": "0+3x30"}],
              "MLServingEndpointPickerFailing", "20m", firing=False),
        # No failure series yet (it appears with the first failure): not an error.
        _case([{"series": ok, "values": "0+100x30"}], "MLServingEndpointPickerFailing", "20m", firing=False),
    ]))


def _latency(fast: int, slow: int) -> list[dict]:
    """Per-minute counts: `fast` schedulings within 10 ms, `slow` between 50 and 100 ms."""
    name = "inference_extension_scheduler_e2e_duration_seconds_bucket"
    buckets = {"0.01": fast, "0.05": fast, "0.1": fast + slow, "+Inf": fast + slow}
    return [{"series": f'{name}{{{SVC},le="{le}"}}', "values": f"0+{n}x30"} for le, n in buckets.items()]


def test_a_slow_picker_fires_at_its_bucket_edge(tmp_path):
    model = model_of("prod", "llama-70b")
    _assert_ok(_promtool(tmp_path, model, [
        _case(_latency(fast=95, slow=5), "MLServingEndpointPickerSlow", "25m", firing=True),
        _case(_latency(fast=100, slow=0), "MLServingEndpointPickerSlow", "25m", firing=False),
    ]))


def test_round_robin_models_have_no_picker_alerts():
    model = model_of("prod", "llama-70b", routing={"balancer": "round_robin"})
    groups = prometheus_rule(model, served_versions(model))["spec"]["groups"]
    assert not [g for g in groups if g["name"].endswith("-picker")]


def test_the_vllm_dashboard_shows_the_pickers():
    titles = {panel["title"]: panel for panel in dashboard("vllm")["panels"]}
    assert "Endpoint picker up" in titles and "Prefix-cache match ratio (median)" in titles
    assert titles["Endpoint picker up"]["targets"][0]["legendFormat"] == "{{service}}"
    assert "Endpoint picker up" not in {p["title"] for p in dashboard("triton")["panels"]}
