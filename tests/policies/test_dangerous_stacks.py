"""Valid-looking stack files with one dangerous choice each, through the real program and pack.

Each variant edits a shipped stack file. It must be stopped in its own environment (staging or
prod) by validation or by a mandatory policy whose message names the fix, and the same
recording under dev's levels must still report it (at least an advisory).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.intent.loading import SpecError, parse_stack_config
from components.preview.engine import run_program
from components.preview.policy import check as check_policies
from components.preview.policy import evaluate
from components.preview.stackfile import read_stack_file
from policies.ml_serving_policies import PACK_ENFORCEMENT, POLICIES
from policies.ml_serving_policies.config import for_environment
from tests.conftest import stack_config

Config = dict[str, Any]
DIGEST = "sha256:" + "cd" * 32


@dataclass(frozen=True)
class Variant:
    id: str
    base: str
    edit: Callable[[Config], None]
    stopped_by: str  # a policy name, or "validation"
    says: str  # fragment of the message naming what to change


def _cluster(c: Config) -> Config:
    return c["ml-serving:cluster"]


def _model(c: Config, name: str) -> Config:
    return next(m for m in c["ml-serving:models"] if m["name"] == name)


def _set(path: str, value: Any) -> Callable[[Config], None]:
    """`cluster.public_access_cidrs` style paths; `models[llama-8b]` picks a model by name."""
    def edit(c: Config) -> None:
        first, *rest = path.split(".")
        if first.startswith("models["):
            node = _model(c, first[len("models["):-1])
        else:
            node = c.setdefault(f"ml-serving:{first}", {})
        for key in rest[:-1]:
            node = node.setdefault(key, {})
        node[rest[-1]] = value
    return edit


def _both(*edits: Callable[[Config], None]) -> Callable[[Config], None]:
    def edit(c: Config) -> None:
        for e in edits:
            e(c)
    return edit


def _p5_prod(c: Config) -> None:
    # prod already has an h100 pool (the 405B's two nodes): grow it, or add one where it has none.
    pools = _cluster(c)["gpu_pools"]
    h100 = next((p for p in pools if p["name"] == "h100"), None)
    if h100 is None:
        pools.append({"name": "h100", "instance_types": ["p5.48xlarge"], "min_size": 16, "max_size": 16})
    else:
        h100.update(min_size=16, max_size=16)


def _p5_dev(c: Config) -> None:
    _cluster(c)["gpu_pools"].append({"name": "h100", "instance_types": ["p5.48xlarge"], "min_size": 4, "max_size": 4})


def _no_roles(c: Config) -> None:
    for key in ("admin_role_arns", "deployer_role_arn"):
        _cluster(c).pop(key, None)


VARIANTS = [
    Variant("split-halves", "prod", _set("cluster.public_access_cidrs", ["0.0.0.0/1", "128.0.0.0/1"]),
            "eks-endpoint-restricted", "admits 3,702,258,688 publicly routable addresses"),
    Variant("sixteen-slash-4s", "prod", _set("cluster.public_access_cidrs", [f"{16 * i}.0.0.0/4" for i in range(16)]),
            "eks-endpoint-restricted", "cluster.public_access_cidrs"),
    Variant("slash-1-in-staging", "staging", _set("cluster.public_access_cidrs", ["128.0.0.0/1"]),
            "eks-endpoint-restricted", "publicly routable addresses through 128.0.0.0/1; at most 1,024 here"),
    Variant("many-slash-8s", "prod", _set("cluster.public_access_cidrs", [f"{n}.0.0.0/8" for n in range(11, 31)]),
            "eks-endpoint-restricted", "admits"),
    Variant("ten-then-all", "prod", _set("models[llama-8b].canary.steps", [10, 100]),
            "canary-step-growth-bounded", "the canary jumps from 10% to 100%"),
    Variant("late-jump-in-staging", "staging",
            _both(_set("models[llama-8b].canary.steps", [5, 10, 20, 100]),
                  _set("models[llama-8b].canary.traffic_percent", 5),
                  _set("models[llama-8b].canary.previous_percent", 0)),
            "canary-step-growth-bounded", "from 20% to 100%"),
    Variant("brand-new-at-100", "prod",
            _both(_set("models[llama-8b].automated_rollout", False),  # a manual canary: the stack file sets the step
                  _set("models[llama-8b].canary.traffic_percent", 100),
                  lambda c: _cluster(c)["gpu_pools"][0].update(max_size=16)),
            "canary-one-step-at-a-time", "start it at the first step: traffic_percent: 10"),
    Variant("loose-gates-rollback-off", "staging",
            _both(_set("models[llama-8b].canary.gates", [{"metric": "error_rate", "max_value": 0.5}]),
                  _set("models[llama-8b].canary.rollback_on_breach", False)),
            "canary-gates-within-slo", "Set max_value to at most 0.01"),
    Variant("gate-never-in-time", "prod",
            _both(_set("models[llama-8b].canary.step_interval_s", 300),
                  _set("models[llama-8b].canary.gates", [{"metric": "error_rate", "max_value": 0.005, "window_s": 3600}])),
            "canary-gates-within-slo", "Set window_s to at most 300"),
    Variant("rollback-off", "prod",
            _both(_set("models[llama-8b].automated_rollout", False),  # automated rollouts always roll back
                  _set("models[llama-8b].canary.traffic_percent", 10),
                  _set("models[llama-8b].canary.rollback_on_breach", False)),
            "canary-rollback-on-breach", "set rollback_on_breach: true"),
    Variant("sixteen-p5-prod", "prod", _p5_prod, "monthly-cost-within-budget", "GPU pool h100 (p5.48xlarge): 16 node"),
    Variant("warm-pool-running-20", "prod",
            lambda c: _cluster(c)["gpu_pools"][0].update(warm_pool={"min_size": 20, "state": "running"}, max_size=40),
            "warm-capacity-bounded", "20 warm-pool GPU instances are kept running"),
    Variant("addon-wildcard", "prod", _set("cluster.addon_versions", {"kserve": "*"}), "validation",
            "give one exact chart version"),
    Variant("addon-range", "staging", _set("cluster.addon_versions", {"keda": ">=0.1.0"}), "validation",
            "a range or wildcard lets Helm pick"),
    Variant("kserve-downgrade", "prod", _set("cluster.addon_versions", {"kserve": "v0.11.0"}),
            "addon-versions-pinned", "is set to v0.11.0, not the pinned v0.20.0"),
    Variant("aws-domain", "prod", _set("cluster.model_domain", "amazonaws.com"), "validation",
            "shadow the service endpoints"),
    Variant("company-apex", "prod", _set("cluster.model_domain", "acme.com"), "model-domain-private",
            "Set cluster.model_domain to e.g. models.internal"),
    Variant("other-account-image", "sagemaker-prod",
            _set("images.vllm", {"prebuilt": f"999988887777.dkr.ecr.us-east-1.amazonaws.com/vllm@{DIGEST}"}),
            "images-from-own-account", "account 999988887777, not this stack's account"),
    Variant("no-audit-logs", "prod", _set("cluster.log_types", ["api"]), "eks-control-plane-audit-logs",
            "Add them to cluster.log_types"),
    Variant("no-admin-no-deployer", "prod", _no_roles, "eks-admin-and-deployer-access", "cluster.deployer_role_arn"),
    Variant("hub-unpinned", "prod", _set("models[llama-70b].source", "hf://meta-llama/Llama-3.1-70B-Instruct"),
            "model-weights-pinned", "pin a commit: hf://meta-llama/Llama-3.1-70B-Instruct@<40-hex commit sha>"),
    Variant("shadow-from-the-hub-unpinned", "staging",
            _set("models[llama-8b].shadow.source", "hf://meta-llama/Llama-3.1-8B-Instruct"),
            "model-weights-pinned", "pin a commit: hf://meta-llama/Llama-3.1-8B-Instruct@<40-hex commit sha>"),
    Variant("loose-experiment-gate", "staging",
            _set("models[llama-8b].experiment.gates", [{"metric": "error_rate", "max_value": 0.05}]),
            "canary-gates-within-slo", "experiment.gates[0] (error_rate) allows the candidate 0.05"),
    Variant("hub-branch", "staging", _set("models[llama-8b].source", "hf://meta-llama/Llama-3.1-8B-Instruct@main"),
            "model-weights-pinned", "revision 'main', which is not a full commit sha"),
    Variant("ttft-minutes", "prod", _set("models[llama-70b].slo.ttft_p99_ms", 80000),
            "slo-within-sane-bounds", "slo.ttft_p99_ms = 80000"),
    Variant("half-errors", "prod", _set("models[sentiment].slo.error_rate", 0.5),
            "slo-within-sane-bounds", "slo.error_rate = 0.5"),
    Variant("capture-everything", "sagemaker-prod", _set("sagemaker.data_capture_percent", 100),
            "data-capture-bounded", "record who approved it in sagemaker.data_capture_approval"),
    Variant("single-replica", "prod", _set("models[sentiment].autoscaling.min_replicas", 1),
            "models-redundant-replicas", "autoscaling.single_replica_reason"),
    Variant("memory-utilization", "prod", _set("models[llama-8b].vllm.gpu_memory_utilization", 0.98),
            "vllm-memory-settings-bounded", "gpu_memory_utilization 0.98"),
    Variant("max-num-seqs", "prod", _set("models[llama-8b].vllm.max_num_seqs", 1024),
            "vllm-memory-settings-bounded", "vllm.max_num_seqs 1024"),
]


def _run(tmp_path: Path, base: str, edit: Callable[[Config], None]):
    config = copy.deepcopy(stack_config(base))
    edit(config)
    path = tmp_path / f"Pulumi.{base}-variant.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    raw = read_stack_file(path, path.name)
    spec = parse_stack_config(raw, path.name)  # raises SpecError on validation
    recording = run_program(raw, f"{base}-variant")
    return spec, recording


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_a_dangerous_stack_is_stopped_and_says_what_to_change(variant, tmp_path):
    if variant.stopped_by == "validation":
        with pytest.raises(SpecError) as caught:
            _run(tmp_path, variant.base, variant.edit)
        assert any(variant.says in p for p in caught.value.problems), caught.value.problems
        return
    spec, recording = _run(tmp_path, variant.base, variant.edit)
    assert spec.environment in ("staging", "prod")
    report = check_policies(recording, spec.environment)
    stopped = [v for v in report.mandatory if v.policy == variant.stopped_by]
    assert stopped, [f"{v.policy} ({v.enforcement}): {v.message}" for v in report.violations]
    assert any(variant.says in v.message for v in stopped), [v.message for v in stopped]
    # The same resources under dev's levels: still reported.
    _, dev = for_environment(POLICIES, PACK_ENFORCEMENT, "dev")
    found, _ = evaluate(recording.resources, dev)
    assert variant.stopped_by in {v.policy for v in found}


def test_a_p5_pool_in_dev_is_stopped_even_in_dev(tmp_path):
    spec, recording = _run(tmp_path, "dev", _p5_dev)
    report = check_policies(recording, spec.environment)
    budget = [v for v in report.mandatory if v.policy == "monthly-cost-within-budget"]
    assert budget and "GPU pool h100 (p5.48xlarge): 4 node" in budget[0].message
    assert "over this environment's maxIdleMonthlyUsd of $2,500" in budget[0].message


def test_spot_gpus_for_online_serving_are_advice_in_prod(tmp_path):
    def spot(c: Config) -> None:
        _cluster(c)["gpu_pools"][2]["capacity_type"] = "spot"
    spec, recording = _run(tmp_path, "prod", spot)
    report = check_policies(recording, spec.environment)
    assert report.mandatory == []
    assert [(v.policy, v.enforcement) for v in report.violations] == [("gpu-spot-for-online-serving", "advisory")]
