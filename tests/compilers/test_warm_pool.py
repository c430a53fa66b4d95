from components.compilers.disruption import disruption_budget
from components.compilers.rollout import served_versions
from components.compilers.warm_pool import warm_pool
from tests.factories import model_of

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-serving-vllm@sha256:" + "b" * 64


def test_warm_pool_placeholders_hold_gpus_at_negative_priority_on_the_serving_image():
    deployment = warm_pool(model_of("prod", "llama-8b"), "l40s", IMAGE)
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    pod = spec["template"]["spec"]
    assert pod["priorityClassName"] == "warm-pool-placeholder"
    assert pod["nodeSelector"] == {"ml-serving/pool": "l40s"}
    hold = pod["containers"][0]
    # Running the serving image itself leaves it pulled on the node for the real replica.
    assert hold["image"] == IMAGE and hold["command"] == ["sleep", "infinity"]
    assert hold["resources"]["requests"]["nvidia.com/gpu"] == hold["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert hold["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsNonRoot"] is True


def test_no_warm_pool_no_placeholders():
    assert warm_pool(model_of("dev", "llama-8b"), "l4", IMAGE) is None


def test_disruption_budget_per_version():
    for served in served_versions(model_of("prod", "llama-8b")):
        budget = disruption_budget(served)
        assert budget["metadata"]["name"] == served.name
        assert budget["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": {"serving.kserve.io/inferenceservice": served.name}}}
