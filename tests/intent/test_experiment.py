"""Automated rollouts, quality gates, A/B experiments and shadows: what the spec accepts and refuses."""
import pytest

from components.intent.canary import Gate
from components.intent.experiment import Experiment
from components.intent.model import ModelSpec
from components.intent.stack import peak_replicas
from tests.intent.helpers import VLLM, errors_of

CANARY = {
    "version": "v2",
    "source": "s3://bucket/llama/v2/",
    "steps": [10, 50, 100],
    "traffic_percent": 0,
    "gates": [{"metric": "error_rate", "max_value": 0.02}],
}
HEADER_B = {"name": "b", "version": "v2", "match": {"kind": "header", "name": "X-Experiment-Group", "value": "B"}}
QUALITY = 'max(divergence{inferenceservice="$candidate",baseline="$stable"})'


def test_an_automated_rollout_leaves_the_weight_to_flagger():
    model = ModelSpec.model_validate({**VLLM, "automated_rollout": True, "canary": CANARY})
    assert model.automated_rollout
    errors = errors_of(ModelSpec, {**VLLM, "automated_rollout": True, "canary": {**CANARY, "traffic_percent": 10}})
    assert "leave traffic_percent at 0 (got 10)" in errors[("canary", "traffic_percent")]
    errors = errors_of(ModelSpec, {**VLLM, "automated_rollout": True, "canary": {**CANARY, "rollback_on_breach": False}})
    assert "always rolls back on a breach" in errors[("canary", "rollback_on_breach")]


def test_an_automated_candidate_may_reach_the_full_stable_ceiling():
    auto = ModelSpec.model_validate({**VLLM, "automated_rollout": True, "canary": CANARY, "autoscaling": {"max_replicas": 4}})
    manual = ModelSpec.model_validate({**VLLM, "canary": {**CANARY, "traffic_percent": 10}, "autoscaling": {"max_replicas": 4}})
    assert (peak_replicas(auto), peak_replicas(manual)) == (8, 5)


def test_a_quality_gate_needs_its_expression_and_a_ceiling():
    assert Gate(metric="quality", expression=QUALITY, max_value=0.1).expression == QUALITY
    errors = errors_of(Gate, {"metric": "quality", "max_ratio_to_stable": 2})
    assert errors == {
        ("expression",): "a quality gate needs the expression it measures",
        ("max_value",): "a quality gate needs max_value: the expression's ceiling",
        ("max_ratio_to_stable",): "a quality gate compares with the stable version inside its expression ($stable); "
        "max_ratio_to_stable does not apply",
    }
    errors = errors_of(Gate, {"metric": "error_rate", "max_value": 0.02, "expression": QUALITY})
    assert errors == {("expression",): "expression applies only to metric quality, not error_rate"}


def test_several_quality_gates_may_sit_beside_one_gate_per_builtin_metric():
    gates = [{"metric": "quality", "expression": QUALITY, "max_value": 0.1}] * 2 + [{"metric": "error_rate", "max_value": 0.02}]
    ModelSpec.model_validate({**VLLM, "canary": {**CANARY, "gates": gates}})


def test_an_experiment_arm_reuses_a_running_version_or_brings_its_own_weights():
    model = ModelSpec.model_validate({**VLLM, "canary": CANARY, "experiment": {"name": "ab", "variants": [HEADER_B]}})
    assert model.experiment.variants[0].source is None
    own = {"name": "c", "version": "v3", "source": "s3://bucket/llama/v3/",
           "match": {"kind": "cookie", "name": "cohort", "value": "c"}}
    ModelSpec.model_validate({**VLLM, "experiment": {"name": "ab", "variants": [own]}})
    errors = errors_of(ModelSpec, {**VLLM, "experiment": {"name": "ab", "variants": [{**own, "source": None}]}})
    assert "is neither the stable (v1) nor the canary's; give its source" in errors[("experiment", "variants", 0, "source")]
    errors = errors_of(ModelSpec, {**VLLM, "experiment": {"name": "ab", "variants": [{**own, "version": "v1"}]}})
    assert "already runs from s3://bucket/llama/v1/" in errors[("experiment", "variants", 0, "source")]


def test_two_arms_cannot_claim_the_same_requests():
    twin = {**HEADER_B, "name": "b2", "match": {"kind": "header", "name": "x-experiment-group", "value": "B"}}
    errors = errors_of(Experiment, {"name": "ab", "variants": [HEADER_B, twin]})
    assert errors == {("variants",): "two variants match the same header or cookie value"}


@pytest.mark.parametrize("name", ["X Experiment", "X:Group", ""])
def test_match_names_are_http_tokens(name):
    bad = {**HEADER_B, "match": {"kind": "header", "name": name, "value": "B"}}
    assert ("variants", 0, "match", "name") in errors_of(Experiment, {"name": "ab", "variants": [bad]})


def test_a_shadow_is_a_version_of_its_own_and_not_beside_flagger():
    shadow = {"version": "v3", "source": "s3://bucket/llama/v3/", "mirror_percent": 20}
    assert ModelSpec.model_validate({**VLLM, "shadow": shadow}).shadow.mirror_percent == 20
    errors = errors_of(ModelSpec, {**VLLM, "canary": CANARY, "shadow": {**shadow, "version": "v2"}})
    assert "v2 already takes live requests" in errors[("shadow", "version")]
    errors = errors_of(ModelSpec, {**VLLM, "automated_rollout": True, "canary": CANARY, "shadow": shadow})
    assert "Flagger owns the HTTPRoute" in errors[("shadow",)]
    assert ("mirror_percent",) in {e[-1:] for e in errors_of(ModelSpec, {**VLLM, "shadow": {**shadow, "mirror_percent": 0}})}


def test_a_model_scaling_to_zero_takes_no_experiment_or_shadow():
    shadow = {"version": "v3", "source": "s3://bucket/llama/v3/"}
    errors = errors_of(ModelSpec, {**VLLM, "autoscaling": {"scale_to_zero": True}, "shadow": shadow})
    assert "routes by host, not by header or mirror" in errors[("autoscaling", "scale_to_zero")]


def test_quality_expressions_fit_the_target():
    import copy

    from tests.conftest import problems_of, stack_config

    prod = copy.deepcopy(stack_config("prod"))
    gate = prod["ml-serving:models"][0]["canary"]["gates"][2]
    gate["expression"] = "max(ml_eval:score_divergence_ratio)"
    assert problems_of(prod) == [
        "ml-serving:models[0].canary.gates[2].expression: on EKS a quality gate's PromQL names the version it "
        'judges as inferenceservice="$candidate" (and the baseline as "$stable")'
    ]
    sm = copy.deepcopy(stack_config("sagemaker-prod"))
    sm["ml-serving:models"][0]["canary"]["gates"].append({"metric": "quality", "expression": "max(x)", "max_value": 1})
    assert problems_of(sm) == [
        "ml-serving:models[0].canary.gates[2].expression: on SageMaker a quality gate's expression is a CloudWatch "
        "Metrics Insights query: SELECT <stat>(<metric>) FROM ..."
    ]
