"""The rollout's outcome is visible: Flagger's alerts fire on series that must fire them and stay
quiet on series that must not (promtool), and the dashboards mark steps and rollbacks."""
from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from components.compilers import dashboards, flagger

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed")

UP = 'up{namespace="flagger-system",job="flagger"}'
STATUS = 'flagger_canary_status{namespace="models",name="llama-8b"}'
WEIGHT = 'flagger_canary_weight{namespace="models",workload="llama-8b"}'
PRIMARY = 'flagger_canary_weight{namespace="models",workload="llama-8b-primary"}'


def _run(tmp_path, series, alerts):
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": flagger.flagger_alerts()["spec"]["groups"]}))
    test = tmp_path / "test.yaml"
    test.write_text(yaml.safe_dump({
        "rule_files": [str(rules)], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": alerts}],
    }))
    out = subprocess.run(["promtool", "test", "rules", str(test)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def _fires(name, at, labels=None, summary=None):
    alert = {"exp_labels": labels, "exp_annotations": {"summary": summary or _summary(name)}}
    return {"eval_time": at, "alertname": name, "exp_alerts": [alert] if labels is not None else []}


def _summary(name):
    rules = flagger.flagger_alerts()["spec"]["groups"][0]["rules"]
    return next(r["annotations"]["summary"] for r in rules if r["alert"] == name)


def test_a_rollback_pages_and_a_running_rollout_does_not(tmp_path):
    series = [{"series": STATUS, "values": "0x10 2x10"}, {"series": UP, "values": "1x20"}]
    labels = {"severity": "critical", "namespace": "models", "name": "llama-8b"}
    _run(tmp_path, series, [
        _fires("MLServingRolloutRolledBack", "5m"),
        _fires("MLServingRolloutRolledBack", "12m", labels,
               "llama-8b: Flagger rolled the candidate back (weight 0); see kubectl -n models describe canary llama-8b"),
    ])


def test_the_actor_being_down_pages_after_five_minutes(tmp_path):
    series = [{"series": UP, "values": "1x5 0x10"}]
    _run(tmp_path, series, [
        _fires("MLServingRolloutActorDown", "8m"),
        _fires("MLServingRolloutActorDown", "12m", {"severity": "critical"}),
    ])
    # No Flagger target at all (its ServiceMonitor lost) pages the same way.
    _run(tmp_path, [{"series": "up{job=\"other\"}", "values": "1x10"}], [
        _fires("MLServingRolloutActorDown", "9m", {"severity": "critical"}),
    ])


def test_a_step_held_for_two_hours_warns_and_a_moving_one_does_not(tmp_path):
    held = [{"series": WEIGHT, "values": "10x10 25x200"}, {"series": PRIMARY, "values": "90x10 75x200"},
            {"series": UP, "values": "1x210"}]
    _run(tmp_path, held, [
        _fires("MLServingRolloutStalled", "100m"),
        _fires("MLServingRolloutStalled", "140m", {"severity": "warning", "namespace": "models", "workload": "llama-8b"},
               _summary("MLServingRolloutStalled").replace("{{ $labels.workload }}", "llama-8b")),
    ])
    # Dark (0) or fully promoted (100) is not a stall.
    idle = [{"series": WEIGHT, "values": "0x200"}, {"series": UP, "values": "1x200"}]
    _run(tmp_path, idle, [_fires("MLServingRolloutStalled", "190m")])


def test_dashboards_mark_steps_and_rollbacks():
    for runtime in ("vllm", "triton"):
        board = dashboards.dashboard(runtime)
        names = [a["name"] for a in board["annotations"]["list"]]
        assert names == ["Canary steps", "Canary rollbacks"]
        assert "flagger_canary_status" in board["annotations"]["list"][1]["expr"]
        assert any(p["title"] == "Canary weight (Flagger)" for p in board["panels"])
