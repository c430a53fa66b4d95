"""Each rule at the exact limit its message prints: the value at the limit passes, one past fails."""
import copy
import re

import pytest

from components.compilers.rollout import pool_of, surge_allowed
from components.intent.memory import TRITON_CUDA_CONTEXT_MIB
from components.intent.model import ModelSpec
from components.intent.stack import canary_replicas, peak_replicas
from tests.conftest import parse, problems_of, stack_config
from tests.factories import model_of
from tests.intent.helpers import TRITON, VLLM, errors_of


def _vllm(max_model_len: int, **engine) -> dict:
    return {**VLLM, "instance_type": "g6.xlarge", "vllm": {"architecture": "llama-3.1-8b", "max_model_len": max_model_len, **engine}}


def test_the_kv_tokens_the_message_offers_just_fit_and_one_more_does_not():
    errors = errors_of(ModelSpec, _vllm(65536))
    message = errors[("vllm", "max_model_len")]
    offered = int(re.search(r"set max_model_len to at most ([\d,]+)", message).group(1).replace(",", ""))
    assert offered == 29_968
    assert ModelSpec.model_validate(_vllm(offered)).memory_plan().fits
    # One token more needs one more 16-token block than the cache holds.
    assert "set max_model_len to at most 29,968" in errors_of(ModelSpec, _vllm(offered + 1))[("vllm", "max_model_len")]


def test_triton_instances_that_fill_the_gpu_exactly_fit():
    available = 22_888 - TRITON_CUDA_CONTEXT_MIB
    groups = [{"kind": "KIND_GPU", "count": 2}]
    exact = {**TRITON, "triton": {**TRITON["triton"], "instance_groups": groups, "gpu_memory_mib_per_instance": available // 2}}
    ModelSpec.model_validate(exact)
    over = copy.deepcopy(exact)
    over["triton"]["gpu_memory_mib_per_instance"] = available // 2 + 1
    assert "leaving 22,376 MiB" in errors_of(ModelSpec, over)[("triton", "gpu_memory_mib_per_instance")]


@pytest.mark.parametrize(
    ("max_replicas", "percent", "replicas"),
    [(10, 10, 1), (11, 10, 2), (20, 5, 1), (21, 5, 2), (3, 50, 2), (4, 50, 2), (1, 1, 1), (8, 100, 8)],
)
def test_canary_replicas_round_up_to_the_next_whole_replica(max_replicas, percent, replicas):
    steps = [percent, 100] if percent < 100 else [50, 100]
    model = model_of(
        "prod", "llama-8b",
        autoscaling={"max_replicas": max_replicas, "min_replicas": 1, "warm_pool": 0},
        canary={"steps": steps, "traffic_percent": percent},
        automated_rollout=False,
    )
    assert canary_replicas(model) == replicas
    assert peak_replicas(model) == max_replicas + replicas


def test_an_automated_canary_is_sized_for_its_last_step():
    model = model_of("prod", "llama-8b", autoscaling={"max_replicas": 11, "min_replicas": 1, "warm_pool": 0},
                     canary={"steps": [10, 100], "traffic_percent": 0})
    # Flagger may reach 100 % without another `pulumi up`, so the candidate may need every replica.
    assert model.automated_rollout and canary_replicas(model) == 11 and peak_replicas(model) == 22


def _prod_with_l40s_max(max_size: int):
    config = stack_config("prod")
    config["ml-serving:cluster"]["gpu_pools"][0]["max_size"] = max_size
    return config


def test_the_pool_check_passes_at_exactly_the_peak_and_fails_one_node_below():
    # llama-8b on l40s (1 GPU per node): 8 replicas + 8 for the automated canary's last step (100 %) = 16 GPUs.
    parse(_prod_with_l40s_max(16))
    assert problems_of(_prod_with_l40s_max(15)) == [
        "ml-serving:cluster.gpu_pools[0].max_size: models on pool l40s may need 16 GPUs at peak (max replicas and "
        "canary) but max_size 15 x 1 GPU(s) gives 15"
    ]


def test_surge_is_allowed_from_exactly_one_spare_gpu_at_peak():
    for max_size, allowed in ((17, True), (16, False)):
        spec = parse(_prod_with_l40s_max(max_size))
        llama = next(m for m in spec.models if m.name == "llama-8b")
        assert spec.cluster is not None
        assert surge_allowed(llama, pool_of(llama, spec.cluster.gpu_pools), spec.models) is allowed, max_size


def test_unknown_keys_are_reported_next_to_validation_errors(dev_config):
    dev_config["ml-serving:modles"] = []
    dev_config["ml-serving:models"][0]["autoscaling"]["max_replica"] = 3
    dev_config["ml-serving:models"][0]["gpus"] = 0
    dev_config["ml-serving:cluster"]["system_nodes"]["min_size"] = 9
    problems = problems_of(dev_config)
    assert problems[0].startswith("ml-serving:modles: unknown key (did you mean ml-serving:models?)")
    assert "ml-serving:cluster.system_nodes.min_size: min_size (9) must not exceed max_size (3)" in problems
    assert "ml-serving:models[0].gpus: Input should be greater than or equal to 1 (got 0)" in problems
    assert any(p.startswith("ml-serving:models[0].autoscaling.max_replica: unknown field (did you mean max_replicas?)") for p in problems)
    assert len(problems) == 4
