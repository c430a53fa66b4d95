"""Calibration from a deploy: load-test results and pod events become a profile, and
PROFILE=<file> replaces the planner's assumed step times and cold-start stages."""
import json
import math
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from components.planning import __main__ as planning_cli
from components.planning.calibration import ProfileError, calibrated_service, check_matches, load_profile
from components.planning.compare import setup, simulate
from components.planning.controllers import stack_policy
from components.planning.profile_build import cold_start
from components.planning.profile_build import main as build_main
from components.planning.traces import step
from tests.conftest import parse, stack_config
from tests.planning.helpers import eks_config, stack

PROMPT, OUTPUT = 1024, 256
BASE_MS, PER_CLIENT_MS, PREFILL_MS = 12.0, 0.6, 80.0


def tpot_ms(concurrency):
    return BASE_MS + PER_CLIENT_MS * concurrency


def bench_result(concurrency):
    """What `vllm bench serve --save-result` writes for one step (the fields we read)."""
    ttft = PREFILL_MS + tpot_ms(concurrency)
    latency_s = (ttft + (OUTPUT - 1) * tpot_ms(concurrency)) / 1000
    completed = 8 * concurrency
    return {
        "backend": "openai", "max_concurrency": concurrency, "completed": completed, "failed": 0,
        "total_input_tokens": PROMPT * completed, "total_output_tokens": OUTPUT * completed,
        "request_throughput": concurrency / latency_s, "output_throughput": OUTPUT * concurrency / latency_s,
        "mean_ttft_ms": ttft * 1.1, "median_ttft_ms": ttft, "p99_ttft_ms": ttft * 2,
        "mean_tpot_ms": tpot_ms(concurrency) * 1.02, "median_tpot_ms": tpot_ms(concurrency),
        "p99_tpot_ms": tpot_ms(concurrency) * 1.2, "latencies": [latency_s] * 3,
    }


T0 = datetime(2026, 12, 1, 10, 0, 0, tzinfo=timezone.utc)


def at(seconds):
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(reason, seconds, pod="llama-8b-v1-predictor-abc", container=False):
    involved = {"kind": "Pod", "name": pod, "namespace": "models"}
    if container:
        involved["fieldPath"] = "spec.containers{kserve-container}"
    return {"reason": reason, "firstTimestamp": at(seconds), "lastTimestamp": at(seconds), "involvedObject": involved}


EVENTS = {"items": [
    event("FailedScheduling", 0),
    event("TriggeredScaleUp", 2),
    event("Scheduled", 152),
    event("Pulling", 155, pod="llama-8b-v1-predictor-abc"),  # an init container's pull: no fieldPath match
    event("Pulling", 160, container=True),
    event("Pulled", 340, container=True),
    event("Started", 345, container=True),
    event("Scheduled", 20, pod="another-pod"),
]}
POD_STATUS = {"status": {"conditions": [
    {"type": "Ready", "status": "True", "lastTransitionTime": at(500)},
    {"type": "PodScheduled", "status": "True", "lastTransitionTime": at(152)},
]}}


def test_cold_start_stages_come_from_the_pods_own_events():
    stages = cold_start(EVENTS, "llama-8b-v1-predictor-abc", POD_STATUS)
    assert stages == {"node_provision_s": 150.0, "image_pull_s": 180.0, "container_start_s": 155.0}
    # Without the pod's status no event marks Ready: that stage stays assumed.
    assert "container_start_s" not in cold_start(EVENTS, "llama-8b-v1-predictor-abc")


@pytest.fixture
def profile_file(tmp_path):
    log = tmp_path / "loadtest.log"
    lines = ["Starting the sweep", "============ Serving Benchmark Result ============"]
    lines += [f"LOADTEST-RESULT {json.dumps(bench_result(c))}" for c in (1, 2, 4, 8, 16, 32)]
    log.write_text("\n".join(lines) + "\n")
    events, status = tmp_path / "events.json", tmp_path / "pod.json"
    events.write_text(json.dumps(EVENTS))
    status.write_text(json.dumps(POD_STATUS))
    out = tmp_path / "profile.yaml"
    assert build_main(["--stack", "prod", "--model", "llama-8b", "--results", str(log), "--events", str(events),
                       "--pod", "llama-8b-v1-predictor-abc", "--pod-status", str(status), "--out", str(out)]) == 0
    return out


def test_results_become_a_profile_the_planner_reads_back(profile_file):
    profile = load_profile(profile_file)
    assert profile.model == "llama-8b" and profile.instance_type == "g6e.xlarge" and profile.runtime == "vllm"
    assert [p.concurrency for p in profile.points] == [1, 2, 4, 8, 16, 32]
    assert profile.request.prompt_tokens == PROMPT and profile.request.output_tokens == OUTPUT
    assert profile.points[2].tpot.p50_ms == pytest.approx(tpot_ms(4))
    assert profile.cold_start.image_pull_s == 180.0


def test_the_measured_step_replaces_the_roofline(profile_file):
    spec = parse(stack_config("prod"))
    model = next(m for m in spec.models if m.name == "llama-8b")
    profile = load_profile(profile_file)
    assumed = setup(spec, model)
    measured = setup(spec, model, profile=profile)
    context = PROMPT + OUTPUT / 2
    for concurrency in (1, 8, 32):
        assert measured.service.step_s(concurrency, context) * 1000 == pytest.approx(tpot_ms(concurrency))
    assert measured.service.prefill_s(PROMPT) * 1000 == pytest.approx(PREFILL_MS)
    assert assumed.service.step_s(8, context) * 1000 != pytest.approx(tpot_ms(8), rel=0.05)
    # Slower measured decode than the roofline assumed: each replica serves less at the SLO.
    assert measured.capacity.requests_per_s != assumed.capacity.requests_per_s
    assert measured.timings.node_provision_s == 150.0 and measured.timings.image_pull_s == 180.0
    loading = measured.timings.weight_load_s + measured.timings.engine_init_s + measured.timings.readiness_s
    assert loading == pytest.approx(155.0)
    assert measured.timings.cold_s == pytest.approx(150 + 180 + 155)


def test_the_simulator_replays_the_measured_cold_start(profile_file, tmp_path):
    # A stack that scales from one replica on the same instance type, no warm pool.
    spec = stack(eks_config())
    model = spec.models[0]
    profile = load_profile(profile_file)
    slow = profile.model_copy(update={"cold_start": profile.cold_start.model_copy(update={"image_pull_s": 900.0})})
    fast, sluggish = setup(spec, model, profile=profile), setup(spec, model, profile=slow)
    trace = step(0.2 * fast.ceiling_rps, 0.8 * fast.ceiling_rps, 300, 2400, seed=3)
    controller = lambda: stack_policy(model.autoscaling, spec.target)  # noqa: E731
    quick, late = simulate(fast, controller(), trace), simulate(sluggish, controller(), trace)
    assert late.attainment < quick.attainment


def test_a_profile_of_another_model_or_instance_type_is_refused(profile_file):
    spec = parse(stack_config("prod"))
    profile = load_profile(profile_file)
    other = next(m for m in spec.models if m.name == "llama-70b")
    with pytest.raises(ProfileError) as caught:
        check_matches(profile, other, str(profile_file))
    message = str(caught.value)
    assert str(profile_file) in message and "model: measured on 'llama-8b'" in message
    assert "instance_type: measured on g6e.xlarge" in message


BAD = {
    "version": 1,
    "model": "llama-8b",
    "instance_type": "g6e.xlarge",
    "runtime": "vllm",
    "reqest": {"prompt_tokens": 1024, "output_tokens": 256},
    "points": [
        {"concurrency": 1, "requests": 8, "request_throughput": 0.3, "ttft": {"mean_ms": 90}, "tpot": {"mean_ms": 12}},
        {"concurrency": 0, "requests": 8, "request_throughput": -1, "ttft": {"mean_ms": "fast"}},
    ],
    "cold_start": {"image_pull_s": -5, "engine_s": 60},
}


def test_a_bad_profile_gives_one_message_naming_the_file_and_every_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(BAD))
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    for expected in (
        "reqest: unknown field (did you mean request?)",
        "points[1].concurrency: Input should be greater than or equal to 1",
        "points[1].request_throughput: Input should be greater than 0",
        "points[1].ttft.mean_ms: Input should be a valid number",
        "cold_start.image_pull_s: Input should be greater than or equal to 0",
        "cold_start.engine_s: unknown field",
        # Cross-field rules are reported with the field errors, not after they are fixed.
        "points[1].tpot: vLLM points need the TPOT",
        "request: a vLLM sweep needs the request shape",
    ):
        assert expected in message, (expected, message)
    assert "Traceback" not in message


@pytest.mark.parametrize("text, problem", [
    ("version: 1\nmodel: [unclosed", "not valid YAML"),
    ("- a list", "expected a mapping of fields, got list"),
    ("version: 1\nmodel: llama-8b\ninstance_type: g6e.xlarge\nruntime: vllm\n", "measures nothing"),
    ("model: llama-8b\ninstance_type: g6e.xlarge\nruntime: vllm\npoints:\n- {concurrency: 1, requests: 1, "
     "request_throughput: 1, ttft: {mean_ms: 1}}\n", "points[0].tpot: vLLM points need the TPOT"),
])
def test_malformed_profiles_are_reported_not_raised(tmp_path, text, problem):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)


def test_make_simulate_with_a_bad_profile_exits_2_with_the_message(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(BAD))
    assert planning_cli.main(["simulate", "--stack", "prod", "--model", "llama-8b", "--profile", str(path),
                              "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "points[1].ttft.mean_ms" in err and "Traceback" not in err
    missing = tmp_path / "nowhere.yaml"
    assert planning_cli.main(["tune", "--stack", "prod", "--profile", str(missing), "--out", str(tmp_path)]) == 2
    assert f"{missing}: 1 problem in the profile" in capsys.readouterr().err
    assert not (tmp_path / "prod").exists(), "nothing is written on bad input"


def test_a_triton_profile_replaces_the_assumed_batch_latency(tmp_path):
    csv_rows = ["Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,"
                "Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency"]
    # Two instances: concurrency 2c puts batches of c on each; compute = 3 ms + 0.25 ms per item.
    for concurrency in (2, 8, 32, 64):
        infer_us = (3.0 + 0.25 * concurrency / 2) * 1000
        csv_rows.append(f"{concurrency},{concurrency / infer_us * 1e6:.1f},10,100,50,20,{infer_us:.0f},5,1,"
                        f"{infer_us + 200:.0f},{infer_us + 300:.0f},{infer_us + 400:.0f},{infer_us + 900:.0f}")
    log = tmp_path / "sentiment.log"
    log.write_text("perf_analyzer output\n" + "\n".join(f"LOADTEST-CSV {row}" for row in csv_rows) + "\n")
    out = tmp_path / "sentiment.json"
    assert build_main(["--stack", "prod", "--model", "sentiment", "--results", str(log), "--out", str(out)]) == 0
    profile = load_profile(out)
    spec = parse(stack_config("prod"))
    model = next(m for m in spec.models if m.name == "sentiment")
    instances = sum(g.count for g in model.triton.instance_groups)
    if instances == 2:
        assert profile.triton.base_ms == pytest.approx(3.0, abs=0.01)
        assert profile.triton.per_item_ms == pytest.approx(0.25, abs=0.01)
    assert profile.triton.base_ms > 0 and not math.isnan(profile.triton.per_item_ms)
    calibrated = calibrated_service(setup(spec, model).service, profile)
    assert calibrated.triton.base_ms == profile.triton.base_ms


def test_results_that_are_not_a_sweep_are_reported(tmp_path, capsys):
    log = tmp_path / "empty.log"
    log.write_text("the job failed before the first step\n")
    out = tmp_path / "p.yaml"
    assert build_main(["--stack", "prod", "--model", "llama-8b", "--results", str(log), "--out", str(out)]) == 2
    assert f"{log}: no vllm bench serve results" in capsys.readouterr().err
    broken = tmp_path / "c1.json"
    broken.write_text(json.dumps({"completed": 3}))
    assert build_main(["--stack", "prod", "--model", "llama-8b", "--results", str(broken), "--out", str(out)]) == 2
    assert "not a vllm bench serve result with --max-concurrency" in capsys.readouterr().err
    assert not out.exists()


def test_make_synth_plans_with_a_measured_profile_and_refuses_one_of_another_stack(profile_file, tmp_path):
    from components.planning.report import preview_section
    from components.preview.run import InvalidStack, preview

    spec = parse(stack_config("prod"))
    profile = load_profile(profile_file)
    assumed_text, assumed = preview_section(spec)
    measured_text, measured = preview_section(spec, profile)
    assert "- llama-8b: measured profile (PROFILE=) in place of the assumed" in measured_text
    assert "measured profile" not in assumed_text
    llama, other = (lambda data: data["models"]["llama-8b"]), (lambda data: data["models"]["llama-70b"])
    assert llama(measured)["capacity_requests_per_s_per_replica"] != llama(assumed)["capacity_requests_per_s_per_replica"]
    assert other(measured) == other(assumed), "the profile applies to its own model only"
    # A profile of a model the stack does not have stops the preview before anything is written.
    with pytest.raises(InvalidStack) as caught:
        preview(planning_cli.ROOT / "stacks" / "Pulumi.dev.yaml", tmp_path / "build", profile_file)
    assert f"{profile_file}: 1 problem in the profile" in str(caught.value)
    assert "instance_type: measured on g6e.xlarge" in str(caught.value)
    assert not (tmp_path / "build").exists()
