"""Configurable policy limits at the edge: the limit itself passes, the limit plus one fails."""
import pytest

from tests.policies.world import STRICT, failing, violations, world


@pytest.mark.parametrize("limit", [4, 32])
def test_max_replicas_at_the_limit_pass_and_one_more_fails(limit):
    config = {**STRICT, "max-replicas-bounded": {"maxReplicas": limit}}
    w = world()
    w["isvc"].inputs["spec"]["predictor"]["maxReplicas"] = limit
    w["scaled_object"].inputs["spec"]["maxReplicaCount"] = limit
    assert failing(w, config) == set()
    w["scaled_object"].inputs["spec"]["maxReplicaCount"] = limit + 1
    found = violations(w, config)
    assert [(v.policy, v.message) for v in found] == [
        ("max-replicas-bounded", f"spec.maxReplicaCount is {limit + 1}; the limit for this environment is {limit}.")
    ]


def test_gpu_node_groups_at_the_limit_pass_and_one_more_fails():
    config = {**STRICT, "gpu-node-groups-bounded": {"maxGpuNodes": 8}}
    w = world()
    w["gpu_nodes"].inputs["scalingConfig"]["maxSize"] = 8
    assert failing(w, config) == set()
    w["gpu_nodes"].inputs["scalingConfig"]["maxSize"] = 9
    assert [(v.policy, v.message) for v in violations(w, config)] == [
        ("gpu-node-groups-bounded", "scalingConfig.maxSize is 9 GPU nodes; the limit for this environment is 8.")
    ]
