"""The host-path policy accepts the node cache the compiler mounts, and nothing else of the node."""
from __future__ import annotations

from components.compilers.node_bootstrap import NVME_CACHE, ROOT_VOLUME_CACHE
from policies.ml_serving_policies.host_paths import NODE_CACHE_DIRS
from tests.policies.world import copy_of, failing, world


def test_the_policy_knows_exactly_the_directories_the_launch_template_makes():
    assert set(NODE_CACHE_DIRS) == {ROOT_VOLUME_CACHE, NVME_CACHE}


def test_the_node_cache_as_compiled_passes():
    for path in NODE_CACHE_DIRS:
        resources = copy_of(world())
        resources["isvc"].inputs["spec"]["predictor"]["volumes"].append(
            {"name": "cache", "hostPath": {"path": path, "type": "Directory"}})
        assert "host-paths-node-cache-only" not in failing(resources)


def test_a_path_under_the_cache_is_not_the_cache():
    resources = copy_of(world())
    resources["isvc"].inputs["spec"]["predictor"]["volumes"].append(
        {"name": "cache", "hostPath": {"path": "/var/lib/ml-serving/cache/../../kubelet", "type": "Directory"}})
    assert "host-paths-node-cache-only" in failing(resources)
