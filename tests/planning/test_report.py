"""What the preview and `make simulate` show: a line per model, cost.json, the comparison table, the plot."""
import json
from pathlib import Path

import pytest
import yaml

from components.intent.autoscaling import AutoscalingPolicy
from components.planning.__main__ import main
from components.planning.compare import compare, default_trace, setup, with_mix_ceiling
from components.planning.recorded import from_csv
from components.planning.report import comparison_table, preview_section
from tests.conftest import STACK_NAMES
from tests.planning.helpers import eks_config, sagemaker_config, stack


def test_preview_section_has_one_line_per_model_with_fit_cost_and_slo():
    text, cost = preview_section(stack(eks_config()))
    assert text.startswith("## Capacity, cost and SLO (planned and simulated)\n")
    rows = [line for line in text.splitlines() if line.startswith("| llama |") or line.startswith("| classifier |")]
    assert len(rows) == 2
    llama, classifier = rows
    assert llama.startswith("| llama | yes: 15.0 GiB weights + 23.8 GiB KV per L40S, 194,768 tokens (23 at max_model_len) | $1,359 - $5,434 | ")
    assert classifier.startswith("| classifier | yes: 1 x 1,000 MiB of 22,888 MiB per L4 | $235 - $470 | ")
    assert "TTFT p99" in llama and "latency p99" in classifier
    assert f"**${cost['idle']['monthly_usd']:,.0f}**" in text


def test_cost_json_carries_plan_and_simulation_per_model():
    _, cost = preview_section(stack(eks_config()))
    llama = cost["models"]["llama"]
    assert llama["fits"] is True and llama["kv_cache_tokens"] == 194_768
    assert llama["busy_replicas"] == 4
    simulated = llama["simulated"]
    assert 0 < simulated["slo_attainment"] <= 1 and 0 < simulated["oracle_slo_attainment"] <= 1
    assert simulated["duration_s"] == 1800 and simulated["seed"] == 0
    assert cost["busy"]["monthly_usd"] > cost["idle"]["monthly_usd"] > 0


def test_sagemaker_preview_section():
    text, cost = preview_section(stack(sagemaker_config()))
    assert "| llama | yes:" in text
    assert any(line["item"] == "Endpoint llama (ml.g6e.xlarge)" for line in cost["idle"]["items"])


def test_comparison_table_lists_every_policy_and_the_bounds():
    spec = stack(eks_config())
    model_setup = setup(spec, spec.models[0])
    table = comparison_table(compare(model_setup, default_trace(model_setup, "steady", 600)))
    lines = table.splitlines()
    assert lines[0] == ("llama: vllm on g6e.xlarge (1x L40S per replica), 1-4 replicas, "
                        "SLO TTFT ≤ 2500 ms, TPOT ≤ 50 ms")
    assert lines[2] == "  cold start: node 150 s + image 180 s + weights 15 s + engine 90 s + ready 10 s = 445 s"
    for policy in ("stack policy", "HPA on CPU", "SageMaker invocations", "KEDA queue default", "oracle", "fluid bound"):
        assert any(line.strip().startswith(policy) for line in lines), policy
    assert "cheapest per million output tokens at the SLO: g6e.xlarge" in table


@pytest.mark.parametrize("stack_name", STACK_NAMES)
def test_every_stack_file_previews_its_plan(stack_name, previews):
    result = previews(stack_name)
    assert "## Capacity, cost and SLO (planned and simulated)" in result.summary
    for model in result.spec.models:
        assert f"| {model.name} | yes: " in result.summary
        assert 0 <= result.cost["models"][model.name]["simulated"]["slo_attainment"] <= 1
    assert result.cost["busy"]["monthly_usd"] >= result.cost["idle"]["monthly_usd"] > 0


def _stack_file(tmp_path: Path, config) -> Path:
    path = tmp_path / "Pulumi.plan.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def test_make_simulate_prints_the_table_and_writes_the_plot(tmp_path, capsys):
    stack_file = _stack_file(tmp_path, eks_config())
    assert main(["simulate", "--stack-file", str(stack_file), "--duration", "600", "--model", "llama", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    first, second = out.splitlines()[:2]
    assert first.startswith("llama: trace bursty ") and ", seed 0; stress trace bursty " in first
    assert second.startswith("llama: vllm on g6e.xlarge")
    assert "classifier" not in out.split("monthly cost")[0] and "monthly cost: idle $" in out
    png = tmp_path / "plan" / "simulation.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((tmp_path / "plan" / "simulation.json").read_text())
    llama = data["models"]["llama"]
    assert set(data["models"]) == {"llama"}
    assert {"name", "requests", "duration_s", "peak_rps"} <= set(llama["trace"]) and llama["trace"]["duration_s"] == 600
    assert {"attainment", "gpu_hours", "feasible", "peak_replicas"} <= set(llama["oracle"])
    assert [p["name"] for p in llama["policies"]] == ["stack", "hpa-cpu", "sagemaker-invocations", "keda-default"]
    for policy in llama["policies"]:
        assert set(policy) == {"name", "attainment", "gpu_hours", "cost_usd", "ttft_p99_s"}
        assert 0 <= policy["attainment"] <= 1
    recommended = llama["recommended"]
    assert {"policy", "attainment", "gpu_hours", "monthly_cost_delta_usd"} <= set(recommended)
    AutoscalingPolicy.model_validate(recommended["policy"])


def test_make_simulate_explains_bad_input(tmp_path, capsys):
    stack_file = _stack_file(tmp_path, eks_config())
    assert main(["simulate", "--stack-file", str(stack_file), "--model", "gpt"]) == 2
    assert capsys.readouterr().err.strip() == f"{stack_file}: no model named gpt; models: llama, classifier"
    assert main(["simulate", "--stack-file", str(stack_file), "--trace", str(tmp_path / "none.csv")]) == 2
    assert "none.csv: cannot read the trace" in capsys.readouterr().err


def test_make_tune_prints_the_stack_file_lines_and_rescales_a_csv(tmp_path, capsys):
    stack_file = _stack_file(tmp_path, eks_config())
    trace = Path(__file__).parent / "data" / "azure_llm_2023_code_sample.csv"
    args = ["tune", "--stack-file", str(stack_file), "--model", "llama", "--trace", str(trace), "--trace-peak", "0.5",
            "--out", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "azure_llm_2023_code_sample.csv (2940 requests) at " in out and "arrivals moved up to 60 s" in out
    assert f"# {stack_file}" in out and "tuner (" in out
    data = json.loads((tmp_path / "plan" / "simulation.json").read_text())["models"]["llama"]
    # The busiest minute sits at half of what max_replicas serve at the SLO for this trace's own
    # lengths, as measured on its mix (a third of what the mean shape's μ_SLO says here).
    recorded = from_csv(trace)
    spec = stack(eks_config())
    planned = setup(spec, spec.models[0], recorded.workload())
    ceiling = with_mix_ceiling(planned, recorded).ceiling_rps
    assert ceiling < 0.6 * planned.ceiling_rps
    assert f"ceiling on this trace's mix: {ceiling:.3g} req/s on 4 replicas" in out
    assert data["trace"]["ceiling_rps"] == pytest.approx(ceiling, abs=1e-4) and data["trace"]["ceiling_measured_on_mix"]
    measured = with_mix_ceiling(planned, recorded)
    alone = measured.replica_rps
    assert data["trace"]["replica_rps_measured_on_mix"] and data["trace"]["replica_rps"] == pytest.approx(alone, abs=1e-4)
    # The time in the system the concurrency targets read is the one that replay measured.
    one = measured.fleet(1)
    assert one.met and data["trace"]["replica_latency_s"] == pytest.approx(one.latency_s, abs=1e-3)
    assert data["trace"]["replica_latency_s"] != pytest.approx(planned.capacity.latency_s, rel=0.05)
    assert (f"llama: one replica alone on this mix: {alone:.3g} req/s with {one.inflight_per_replica:.3g} in flight "
            f"({one.latency_s:.3g} s in the system)") in out
    assert data["trace"]["peak_rps"] == pytest.approx(0.5 * ceiling, rel=0.12)
    assert "recommended" in data
    assert main(["tune", "--stack-file", str(stack_file), "--trace-peak", "0.5"]) == 2
    assert "--trace-peak rescales CSV traces" in capsys.readouterr().err


def test_make_simulate_replays_a_real_day_for_diurnal_unless_a_duration_is_given():
    import argparse

    from components.planning.__main__ import _traces

    spec = stack(eks_config())
    model_setup = setup(spec, spec.models[0])
    args = argparse.Namespace(trace="diurnal", duration=None, seed=0, trace_peak=None)
    trace, stress = _traces(args, model_setup, None)
    assert trace.duration_s == stress.duration_s == trace.day_s == 86_400
    assert trace.seed == 0 and stress.seed == 1000
    args.duration = 3600.0
    assert _traces(args, model_setup, None)[0].duration_s == 3600
    args.trace, args.duration = "bursty", None
    assert _traces(args, model_setup, None)[0].duration_s == 1800
