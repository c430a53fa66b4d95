from components.compilers.rollout import pool_of, served_versions, surge_allowed
from tests.factories import manual_canary_of, model_of, spec_of


def test_a_model_without_canary_serves_one_stable_version():
    versions = served_versions(model_of("dev", "llama-8b"))
    assert [(v.name, v.role, v.weight, v.predictor) for v in versions] == [
        ("llama-8b-v1", "stable", 100, "llama-8b-v1-predictor")
    ]


def test_a_canary_step_splits_requests_and_bounds_the_candidate():
    model = manual_canary_of("prod", "llama-8b")
    stable, candidate = served_versions(model)
    assert (stable.name, stable.weight, stable.min_replicas, stable.max_replicas) == ("llama-8b-v1", 90, 5, 8)
    # 10 % of requests -> at most ceil(8 * 0.10) = 1 replica, kept warm at 1.
    assert (candidate.name, candidate.weight, candidate.min_replicas, candidate.max_replicas) == ("llama-8b-v2", 10, 1, 1)
    assert candidate.source.endswith("/v2/")


def test_rolled_back_candidate_takes_no_requests_but_stays_warm():
    model = manual_canary_of("prod", "llama-8b", 0)
    stable, candidate = served_versions(model)
    assert (stable.weight, candidate.weight, candidate.min_replicas) == (100, 0, 1)


def test_full_step_sends_everything_to_the_candidate():
    model = manual_canary_of("prod", "llama-8b", 100)
    stable, candidate = served_versions(model)
    assert (stable.weight, candidate.weight, candidate.max_replicas) == (0, 100, 8)


def test_surge_only_with_spare_gpus_at_peak():
    prod = spec_of("prod")
    pools = prod.cluster.gpu_pools
    llama, llama_70b, llama_405b, sentiment = prod.models
    # l40s: 16 GPUs, llama-8b peaks at 8 + 8 (an automated canary may reach 100 %) = 16 -> no room.
    assert not surge_allowed(llama, pool_of(llama, pools), prod.models)
    llama = manual_canary_of("prod", "llama-8b")
    # By hand at 10 %: 8 + 1 canary = 9 of 16 -> room for a surge replica.
    assert surge_allowed(llama, pool_of(llama, pools), [llama, llama_70b, llama_405b, sentiment])
    # l40s-x4: 2 nodes x 4 GPUs, llama-70b peaks at 2 x 4 -> none to spare.
    assert not surge_allowed(llama_70b, pool_of(llama_70b, pools), prod.models)
    dev = spec_of("dev")
    assert not surge_allowed(dev.models[0], dev.cluster.gpu_pools[0], dev.models)
    assert pool_of(sentiment, pools).name == "l4"
