"""Flagger's analysis of prod's automated llama canary, from synthetic series.

promtool evaluates the exact queries we render (the MetricTemplates' and the presence hook's)
over synthetic series; each value is judged as Flagger judges it (thresholdRange max; no value
or NaN is "no values found"; a query error fails the hook), and those verdicts drive the pure
model of Flagger's scheduler (components/planning/canary_model.py).
"""
from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from dataclasses import dataclass

import pytest
import yaml

from components.compilers import flagger
from components.compilers.rollout import served_versions
from components.planning import canary_model
from components.planning.canary_model import CanaryPlan, CanaryState
from tests.factories import model_of

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed")

MODEL = model_of("prod", "llama-8b")
VERSIONS = served_versions(MODEL)
CANARY = flagger.canary(MODEL, VERSIONS, "llama-8b.models.internal", 600)
PLAN = CanaryPlan.from_manifest(CANARY)
CHECKS = flagger.gate_checks(MODEL, VERSIONS)
RAW_VALUES = flagger.gate_values(MODEL, VERSIONS)
PRESENCE = flagger.presence_query(MODEL, VERSIONS)
# ttft buckets of vLLM 0.31 (loggers.py) up to the ones our series use.
TTFT_BUCKETS = ["0.1", "0.25", "0.5", "0.75", "1.0", "2.5", "+Inf"]


@dataclass(frozen=True)
class Version:
    requests_per_s: float = 10
    errors_per_s: float = 0
    ttft_s: float = 0.3  # every request's time to first token falls in this value's bucket
    divergence: float | None = 0.05


def _series(name: str, labels: dict[str, str], per_minute: float, minutes: int = 15) -> dict:
    body = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{body}}}", "values": f"0+{per_minute:g}x{minutes}"}


def series_for(isvc: str, version: Version | None) -> list[dict]:
    if version is None:
        return []
    base = {"namespace": "models", "inferenceservice": isvc}
    out = [_series("http_requests_total", {**base, "status": "2xx"}, 60 * (version.requests_per_s - version.errors_per_s))]
    if version.errors_per_s:
        # The 5xx series exists only once a request failed.
        out.append(_series("http_requests_total", {**base, "status": "5xx"}, 60 * version.errors_per_s))
    for le in TTFT_BUCKETS:
        within = le == "+Inf" or version.ttft_s <= float(le)
        out.append(_series("vllm:time_to_first_token_seconds_bucket", {**base, "le": le}, 60 * version.requests_per_s if within else 0))
    # vLLM's histogram also exports the count (the +Inf bucket) that the slow share divides by.
    out.append(_series("vllm:time_to_first_token_seconds_count", base, 60 * version.requests_per_s))
    if version.divergence is not None:
        out.append({"series": f'ml_eval:score_divergence_ratio{{namespace="models",inferenceservice="{isvc}",baseline="llama-8b-v1"}}',
                    "values": f"{version.divergence:g}x15"})
    return out


def promql(exprs: list[str], series: list[dict], tmp_path) -> list[list[float] | str]:
    """Each expression's values at 15m (an empty list: no result), or its error text."""
    tests = [{"expr": e, "eval_time": "15m", "exp_samples": []} for e in exprs]
    path = tmp_path / "eval.yaml"
    path.write_text(yaml.safe_dump({"rule_files": [], "evaluation_interval": "1m",
                                    "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": tests}]}))
    out = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True, text=True, timeout=60)
    text = out.stdout + out.stderr
    results: dict[str, list[float] | str] = {}
    for block in re.split(r"\n\s*expr: ", text)[1:]:
        quoted, _, rest = block.partition(", time: ")
        expr = json.loads(quoted)
        error = re.search(r"err: (.*)", rest)
        if error:
            results[expr] = error.group(1)
        else:
            got = re.search(r"got: (.*)", rest)
            assert got, block
            results[expr] = [float(v) for v in re.findall(r"\} (\S+?)(?:,|$)", got.group(1))]
    return [results.get(e, []) for e in exprs]


def analyse(tmp_path, stable: Version | None, candidate: Version | None, weight: int, queries=None):
    """The verdicts Flagger reaches at one interval: each check's and the presence hook's."""
    checks = CHECKS if queries is None else queries
    series = [*series_for("llama-8b-v1", stable), *series_for("llama-8b-v2", candidate),
              {"series": 'flagger_canary_weight{namespace="models",workload="llama-8b"}', "values": f"{weight}x15"}]
    results = promql([q for _, q, _ in checks] + [PRESENCE], series, tmp_path)
    verdicts = []
    for (_, _, ceiling), values in zip(checks, results):
        assert not isinstance(values, str), values
        assert len(values) <= 1, "Flagger rejects a query returning several series"
        if not values or math.isnan(values[0]):
            verdicts.append("no-data")
        else:
            verdicts.append("breach" if values[0] > ceiling else "pass")
    presence = results[-1]
    assert presence == [] or isinstance(presence, str), "the hook query returns nothing or fails"
    return verdicts, not isinstance(presence, str)


HEALTHY = Version()


def test_the_canary_walks_prods_steps_and_rolls_back_at_the_first_failed_check():
    assert PLAN.steps == (10, 25, 50, 100) and PLAN.threshold == 1 and PLAN.interval_s == 600
    assert PLAN.presence_hooks
    assert [key for key, _, _ in CHECKS] == [
        "error-rate", "error-rate-vs-stable", "ttft-p99", "ttft-p99-vs-stable", "quality"
    ]


def test_healthy_series_pass_every_check(tmp_path):
    verdicts, present = analyse(tmp_path, HEALTHY, HEALTHY, 10)
    assert verdicts == ["pass"] * 5 and present


@pytest.mark.parametrize(
    ("candidate", "breached"),
    [
        (Version(errors_per_s=0.5), {"error-rate", "error-rate-vs-stable"}),  # 5 % of requests fail
        (Version(ttft_s=2.0), {"ttft-p99", "ttft-p99-vs-stable"}),  # p99 in the 2.5 s bucket
        (Version(divergence=0.3), {"quality"}),
    ],
)
def test_a_breach_fails_exactly_its_checks(tmp_path, candidate, breached):
    verdicts, present = analyse(tmp_path, HEALTHY, candidate, 25)
    assert {key for (key, _, _), v in zip(CHECKS, verdicts) if v == "breach"} == breached
    assert present


def test_relative_gate_breaches_below_the_absolute_ceiling(tmp_path):
    # 0.4 % errors is under the 0.5 % ceiling but 2x the stable's 0.2 %: over max_ratio_to_stable 1.5.
    verdicts, _ = analyse(tmp_path, Version(errors_per_s=0.02), Version(errors_per_s=0.04), 25)
    assert dict(zip((k for k, _, _ in CHECKS), verdicts))["error-rate"] == "pass"
    assert dict(zip((k for k, _, _ in CHECKS), verdicts))["error-rate-vs-stable"] == "breach"


@pytest.mark.parametrize(
    "stable, candidate",
    [
        (HEALTHY, None),  # the candidate's scrape is broken
        (None, HEALTHY),  # the stable's is: nothing to compare with
        (HEALTHY, Version(requests_per_s=0, divergence=0.05)),  # no requests: no error rate, NaN quantile
        (HEALTHY, Version(divergence=None)),  # the evaluation job stopped exporting
    ],
)
def test_absent_data_passes_the_checks_but_fails_the_presence_hook(tmp_path, stable, candidate):
    verdicts, present = analyse(tmp_path, stable, candidate, 25)
    assert "breach" not in verdicts and "no-data" not in verdicts
    assert not present


def test_flaggers_own_reading_of_absent_data_would_count_failed_checks(tmp_path):
    # The raw values, as a MetricTemplate without our `or on() vector(0)` would return them.
    raw = [(key, query, ceiling) for key, query, ceiling in RAW_VALUES]
    verdicts, _ = analyse(tmp_path, HEALTHY, None, 25, queries=raw)
    assert verdicts == ["no-data"] * 5
    state = CanaryState("Progressing", 25, 0, 2, "t")
    state = canary_model.tick(PLAN, state, "t", verdicts, data_present=True)
    state = canary_model.tick(PLAN, state, "t", verdicts, data_present=True)
    assert (state.phase, state.weight) == ("Failed", 0)


def test_nothing_is_measured_before_the_first_step(tmp_path):
    # At weight 0 the candidate has no requests yet: the presence hook lets the first step go.
    _, present = analyse(tmp_path, HEALTHY, None, 0)
    assert present


def _run(tmp_path, plan: CanaryPlan, scenario: list[tuple[Version | None, Version | None]]):
    state = canary_model.tick(plan, canary_model.initial("v1"), "v2", [], True)
    trail = [(state.phase, state.weight)]
    for stable, candidate in scenario:
        verdicts, present = analyse(tmp_path, stable, candidate, state.weight)
        state = canary_model.tick(plan, state, "v2", verdicts, present)
        trail.append((state.phase, state.weight))
    return state, trail


def test_passing_steps_advance_to_promotion(tmp_path):
    state, trail = _run(tmp_path, PLAN, [(HEALTHY, HEALTHY)] * 7)
    assert [w for _, w in trail[:6]] == [0, 10, 25, 50, 100, 100]
    assert trail[5][0] == "Promoting" and state.phase == "Succeeded"


def test_a_breach_takes_the_candidate_to_zero_at_the_next_interval(tmp_path):
    bad = Version(errors_per_s=1)
    state, trail = _run(tmp_path, PLAN, [(HEALTHY, HEALTHY), (HEALTHY, HEALTHY), (HEALTHY, bad), (HEALTHY, bad)])
    assert trail[2] == ("Progressing", 25)
    assert trail[3] == ("Progressing", 25) and state.failed_checks == 1
    assert trail[4] == ("Failed", 0)


def test_absent_metrics_hold_the_step_then_it_moves_on(tmp_path):
    gone = [(HEALTHY, None)] * 3
    state, trail = _run(tmp_path, PLAN, [(HEALTHY, HEALTHY), (HEALTHY, HEALTHY), *gone, (HEALTHY, HEALTHY)])
    assert [w for _, w in trail] == [0, 10, 25, 25, 25, 25, 50]
    assert all(p == "Progressing" for p, _ in trail) and state.failed_checks == 0
    assert sum("gates have no data" in e for e in state.events) == 3
