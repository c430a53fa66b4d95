"""Stacks built in the tests (independent of the stack files others edit)."""
from __future__ import annotations

import copy
import random
from typing import Any

from components.intent.loading import parse_stack_config
from components.intent.model import ModelSpec
from components.intent.stack import StackSpec
from components.planning.traces import Trace

LLAMA = {
    "name": "llama",
    "runtime": "vllm",
    "source": "s3://acme-models-test/llama/v1/",
    "instance_type": "g6e.xlarge",
    "vllm": {"architecture": "llama-3.1-8b", "max_model_len": 8192, "max_num_seqs": 32},
    "autoscaling": {"signal": "queue_depth", "target": 4, "min_replicas": 1, "max_replicas": 4,
                    "scale_down_window_s": 300},
    "slo": {"ttft_p99_ms": 2500, "tpot_p99_ms": 50},
}
CLASSIFIER = {
    "name": "classifier",
    "runtime": "triton",
    "source": "s3://acme-models-test/classifier/v1/",
    "instance_type": "g6.xlarge",
    "triton": {
        "platform": "onnxruntime_onnx",
        "max_batch_size": 32,
        "inputs": [{"name": "x", "data_type": "TYPE_FP32", "dims": [4]}],
        "outputs": [{"name": "y", "data_type": "TYPE_FP32", "dims": [2]}],
        "dynamic_batching": {"max_queue_delay_microseconds": 1000},
        "gpu_memory_mib_per_instance": 1000,
    },
    "autoscaling": {"signal": "queue_depth", "target": 32, "min_replicas": 1, "max_replicas": 2},
    "slo": {"latency_p99_ms": 150},
}
EKS = {
    "aws:region": "us-east-1",
    "ml-serving:environment": "staging",
    "ml-serving:target": "eks",
    "ml-serving:tags": {"team": "ml", "cost-center": "cc-1"},
    "ml-serving:network": {"availability_zones": 2, "nat_gateways": "single"},
    "ml-serving:storage": {"bucket": "acme-models-test"},
    "ml-serving:cluster": {
        "public_access_cidrs": ["203.0.113.0/24"],
        "admin_role_arns": ["arn:aws:iam::111122223333:role/admins"],
        "system_nodes": {"instance_types": ["m6i.large"], "min_size": 2, "max_size": 3},
        "gpu_pools": [
            {"name": "l40s", "instance_types": ["g6e.xlarge"], "min_size": 0, "max_size": 8},
            {"name": "l4", "instance_types": ["g6.xlarge"], "capacity_type": "spot", "min_size": 1, "max_size": 8},
        ],
        "observability": {"storage_gib": 50},
    },
    "ml-serving:models": [LLAMA, CLASSIFIER],
    "ml-serving:alerting": {
        "receivers": [{"name": "oncall", "sns": {"topic_arn": "arn:aws:sns:us-east-1:111122223333:alerts"}}],
        "default_receiver": "oncall",
    },
}


def eks_config(**changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(EKS)
    config.update(copy.deepcopy(changes))
    return config


def sagemaker_config(**changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(EKS)
    del config["ml-serving:cluster"]
    config["ml-serving:target"] = "sagemaker"
    llama = copy.deepcopy(LLAMA)
    llama["autoscaling"] = {"signal": "concurrency", "target": 16, "min_replicas": 1, "max_replicas": 4,
                            "scale_down_window_s": 600}
    classifier = copy.deepcopy(CLASSIFIER)
    classifier["autoscaling"] = {"signal": "requests_per_second", "target": 1000, "min_replicas": 1, "max_replicas": 2}
    config["ml-serving:models"] = [llama, classifier]
    config.update(copy.deepcopy(changes))
    return config


def stack(config: dict[str, Any]) -> StackSpec:
    return parse_stack_config(config, "tests/planning/Pulumi.test.yaml")


def with_model(config: dict[str, Any], index: int, **changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(config)
    model = config["ml-serving:models"][index]
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(model.get(key), dict):
            model[key] = {**model[key], **value}
        else:
            model[key] = value
    return config


def llama(**changes: Any) -> ModelSpec:
    """The test stack's vLLM model on its own, with `changes` merged in (no pool needed)."""
    data = copy.deepcopy(LLAMA)
    for key, value in changes.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) and isinstance(data.get(key), dict) else value
    return ModelSpec.model_validate(data)


# Monday 2025-12-01 06:00:17.25 UTC: a wall clock that opens between whole minutes.
SPARSE_OPENS = 1_764_568_817.25


def sparse(duration_s: float = 8 * 3600, seed: int = 4, start: float | None = SPARSE_OPENS) -> Trace:
    """Bursts of 1-12 requests an exponential half hour apart, some within a second."""
    rng = random.Random(seed)
    rows, at = [], 0.0
    while True:
        at += rng.expovariate(1 / 1800)
        if at >= duration_s - 120:
            break
        for _ in range(rng.choice([1, 1, 2, 5, 12])):
            rows.append((at + rng.choice([0.0, rng.uniform(0, 0.9), rng.uniform(0, 90)]), rng.randint(40, 3000),
                         rng.randint(2, 500)))
    rows.sort()
    return Trace(
        "sparse", duration_s, tuple(r[0] for r in rows), tuple(r[1] for r in rows), tuple(r[2] for r in rows),
        start_epoch_s=start,
    )
