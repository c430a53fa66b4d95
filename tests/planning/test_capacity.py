"""The planner against the worked figures of performance-facts.md §1.4 and the measured anchors of §3.1."""
import pytest

from components.intent.architecture import presets
from components.intent.instances import catalog
from components.intent.memory import plan_memory
from components.intent.slo import Slo
from components.planning.capacity import Workload, capacity, rank_instances, service_model
from tests.planning.helpers import eks_config, llama, stack, with_model

# performance-facts.md §1.4: model, weight bytes per parameter, instance, TP, weights GiB/GPU,
# KV GiB/GPU, KV tokens per replica, sequences at 8k, replicas per instance.
WORKED = [
    ("llama-3.1-8b", 2, "g6.xlarge", 1, 15.0, 3.7, 30_000, 3, 1),
    ("llama-3.1-8b", 2, "g5.xlarge", 1, 15.0, 3.7, 30_000, 3, 1),
    ("llama-3.1-8b", 2, "g6e.xlarge", 1, 15.0, 23.8, 195_000, 23, 1),
    ("llama-3.1-8b", 1, "g6.xlarge", 1, 7.5, 11.1, 91_000, 11, 1),
    ("qwen2.5-7b", 2, "g5.xlarge", 1, 14.2, 4.4, 83_000, 10, 1),
    ("mixtral-8x7b", 2, "g6e.12xlarge", 4, 21.7, 17.0, 557_000, 67, 1),
    ("llama-3.1-70b", 2, "g6e.12xlarge", 4, 32.9, 5.9, 77_000, 9, 1),
    ("llama-3.1-70b", 2, "p4d.24xlarge", 8, 16.4, 18.1, 474_000, 57, 1),
    ("llama-3.1-70b", 2, "p4de.24xlarge", 4, 32.9, 37.6, 493_000, 60, 2),
    ("llama-3.1-70b", 2, "p5.48xlarge", 4, 32.9, 37.6, 493_000, 60, 2),
    ("llama-3.1-70b", 2, "p5en.48xlarge", 2, 65.7, 59.7, 391_000, 47, 4),
    # The table's INT4 row counts a flat 0.5 bytes per parameter, which its own rule 4
    # rejects; the planner reproduces the row when given that width, and by default counts
    # group scales and 16-bit embeddings (tests/intent/test_memory.py).
    ("llama-3.1-70b", 0.5, "g6e.xlarge", 1, 32.9, 5.9, 19_000, 2, 1),
]


def within(got: float, want: float, share: float = 0.10) -> bool:
    return abs(got - want) <= share * abs(want)


@pytest.mark.parametrize("name, width, instance, tp, weights, kv, tokens, seqs, per_instance", WORKED)
def test_worked_planner_figures_within_ten_percent(name, width, instance, tp, weights, kv, tokens, seqs, per_instance):
    itype = catalog().instances[instance]
    plan = plan_memory(
        presets()[name],
        gpu=itype.gpu,
        gpu_memory_mib=catalog().gpus[itype.gpu].memory_mib,
        tensor_parallel=tp,
        max_model_len=8192,
        utilization=0.90,
        bytes_per_param=width,
    )
    assert within(plan.weights_gib_per_gpu, weights)
    assert within(plan.kv_gib_per_gpu, kv)
    assert within(plan.kv_tokens, tokens)
    assert within(plan.sequences_at(8192), seqs)
    assert itype.gpu_count // tp == per_instance
    assert plan.fits


@pytest.mark.parametrize("instance, tokens", [("g6.xlarge", 30_000), ("g6e.xlarge", 195_000)])
def test_a_stack_model_gets_the_same_figures_without_overrides(instance, tokens):
    model = llama(instance_type=instance)
    assert within(model.memory_plan().kv_tokens, tokens)


def test_decode_time_matches_the_measured_anchors():
    # §3.1: Llama-3-8B bf16 at batch 1 measured 6.5 ms TPOT on an H100 and 75 tok/s on an A100-40GB.
    llama = stack(eks_config()).models[0]
    h100 = service_model(llama.model_copy(update={"instance_type": "p5.48xlarge"}))
    a100 = service_model(llama.model_copy(update={"instance_type": "p4d.24xlarge"}))
    assert within(h100.step_s(1, 1) * 1000, 6.5)
    assert within(1 / a100.step_s(1, 1024 + 64), 75)


def test_kv_reads_slow_decode_as_the_batch_grows():
    service = service_model(stack(eks_config()).models[0])
    assert service.step_s(32, 1152) > service.step_s(1, 1152) * 1.2


def test_a_mixture_of_experts_reads_only_its_routed_experts_at_small_batches():
    model = llama(instance_type="g6e.12xlarge", gpus=4, vllm={"architecture": "mixtral-8x7b"})
    service = service_model(model)
    assert service.active_fraction == pytest.approx(12.88 / 46.70)
    assert service.step_s(1, 0) < 0.3 * service.step_s(64, 0)


def test_a_tighter_tpot_objective_lowers_what_a_replica_serves():
    service = service_model(stack(eks_config()).models[0])
    loose = capacity(service, Slo(ttft_p99_ms=2000, tpot_p99_ms=80))
    tight = capacity(service, Slo(ttft_p99_ms=2000, tpot_p99_ms=30))
    assert loose.meets_slo and tight.meets_slo
    assert tight.requests_per_s < loose.requests_per_s and tight.tpot_s <= 0.030


def test_an_unreachable_objective_is_reported_not_hidden():
    service = service_model(llama(instance_type="g6.xlarge"))
    result = capacity(service, Slo(ttft_p99_ms=2000, tpot_p99_ms=20))
    assert not result.meets_slo and result.batch == 1


def test_instances_rank_by_cost_per_token_at_the_slo_not_by_hourly_price():
    # L4 (g6) is cheaper per hour than A10G (g5) but has half the bandwidth.
    model = stack(with_model(eks_config(), 0, slo={"ttft_p99_ms": 2500, "tpot_p99_ms": 50})).models[0]
    ranking = [c for c in rank_instances(model, "eks", Workload()) if c.fits]
    order = [c.instance_type for c in ranking]
    g5 = next(c for c in ranking if c.instance_type == "g5.xlarge")
    g6 = next(c for c in ranking if c.instance_type == "g6.xlarge")
    assert g6.usd_per_replica_hour < g5.usd_per_replica_hour
    assert not g6.meets_slo, "an L4 decodes an 8B bf16 model at ~71 ms per token, over the 50 ms objective"
    assert order.index("g5.xlarge") < order.index("g6.xlarge")
    assert ranking[0].meets_slo
    costs = [c.usd_per_million_tokens for c in ranking if c.meets_slo]
    assert costs == sorted(costs)


def test_ranking_keeps_the_smallest_size_per_gpu_count():
    model = stack(eks_config()).models[0]
    names = {c.instance_type for c in rank_instances(model)}
    assert "g6e.xlarge" in names and "g6e.2xlarge" not in names


def test_sagemaker_ranking_gives_each_replica_the_whole_instance():
    model = stack(eks_config()).models[0]
    for candidate in rank_instances(model, "sagemaker"):
        assert candidate.replicas_per_instance == 1


# The planner's μ_SLO against the simulator's chunked-prefill replay of one replica on a steady
# trace: the rate where the simulator's attainment crosses the 99 % target lies within
# [0.8, 1.35] x μ_SLO (measured 0.89-1.25; the serial-prefill planner was off by 0.55-1.4).
AGREEMENT = [("test", "llama"), ("dev", "llama-8b"), ("prod", "llama-8b"), ("prod", "llama-70b")]


@pytest.mark.parametrize("stack_name, model_name", AGREEMENT)
def test_the_planners_capacity_is_where_the_simulator_crosses_the_target(stack_name, model_name):
    from components.planning.compare import setup, simulate
    from components.planning.controllers import Schedule
    from components.planning.traces import steady
    from tests.conftest import parse, stack_config

    spec = stack(eks_config()) if stack_name == "test" else parse(stack_config(stack_name))
    model = next(m for m in spec.models if m.name == model_name)
    model_setup = setup(spec, model)
    mu = model_setup.capacity.requests_per_s
    assert model_setup.capacity.meets_slo

    def attainment(share):
        trace = steady(share * mu, 1200, model_setup.workload, seed=1)
        return simulate(model_setup, Schedule((1,), 1e9), trace, instant=True, warm=False).attainment

    assert attainment(0.8) >= 0.99
    assert attainment(1.35) < 0.99


def test_chunked_prefill_lets_decoding_go_on_so_a_prefill_share_costs_less_than_it_takes():
    service = service_model(stack(eks_config()).models[0])
    from components.planning.capacity import operating_point

    point = operating_point(service, Workload(), 2.0)
    assert point is not None and 0 < point.prefill_busy < 1
    # Serial prefill would stretch TPOT by 1 / (1 - busy); chunks cost only the mixed steps' extra time.
    assert point.step_s < point.tpot_s < point.step_s / (1 - point.prefill_busy)
    assert operating_point(service, Workload(), 1.0 / service.prefill_s(1024)) is None, "prefill compute saturates"
