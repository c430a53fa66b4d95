"""What each lever takes off the simulator's cold-start chain, and where it applies."""
from __future__ import annotations

import copy

import pytest

from components.planning import platform
from components.planning.compare import setup, simulate
from components.planning.controllers import stack_policy
from components.planning.traces import generate
from tests.planning.helpers import eks_config, stack, with_model


def _config(**cold_start):
    config = eks_config()
    config["ml-serving:cluster"] = copy.deepcopy(config["ml-serving:cluster"])
    config["ml-serving:cluster"]["gpu_pools"][0]["cold_start"] = cold_start
    return config


def _setup(config, index=0):
    spec = stack(config)
    return setup(spec, spec.models[index])


def test_the_chain_without_levers_is_the_documented_default():
    times = _setup(_config()).timings
    assert times.image_pull_s == platform.IMAGE_PULL_S == 180
    assert times.engine_init_s == platform.ENGINE_INIT_S == 90
    # No node cache: a node that ran the model before starts the next replica no faster.
    assert times.on_served_node_s == times.on_warm_slot_s


def test_soci_parallel_halves_the_image_pull_and_nothing_else():
    base, soci = _setup(_config()).timings, _setup(_config(image_pull="soci_parallel")).timings
    assert soci.image_pull_s == pytest.approx(90.0)
    assert base.cold_s - soci.cold_s == pytest.approx(90.0)
    assert (soci.node_provision_s, soci.weight_load_s, soci.engine_init_s) == (
        base.node_provision_s, base.weight_load_s, base.engine_init_s)


def test_node_compile_cache_cuts_engine_start_only_on_a_node_that_served_the_model():
    base, cached = _setup(_config()).timings, _setup(_config(compile_cache="node")).timings
    # A fresh node has an empty cache: the cold chain is unchanged.
    assert cached.cold_s == base.cold_s and cached.on_warm_slot_s == base.on_warm_slot_s
    assert cached.served_engine_init_s == pytest.approx(90 * 64 / 200)
    assert base.on_served_node_s - cached.on_served_node_s == pytest.approx(90 - 28.8)
    # S3 weights stream every time; the cache holds no copy of them.
    assert cached.served_weight_load_s == cached.weight_load_s


def test_hf_weights_cached_on_the_nvme_array_load_locally():
    config = with_model(_config(instance_store="raid0", compile_cache="node"), 0,
                        source="hf://meta-llama/Llama-3.1-8B-Instruct@" + "a" * 40)
    times = _setup(config).timings
    weights = _setup(config).model.weights_gib()
    assert times.served_weight_load_s == pytest.approx(weights / platform.LOCAL_NVME_GIB_PER_S)
    assert times.weight_load_s == pytest.approx(weights / platform.STREAM_GIB_PER_S)


def test_s3_weights_copied_to_the_nvme_array_load_locally_only_on_a_served_node():
    base = _setup(_config(compile_cache="node")).timings
    config = _config(instance_store="raid0", compile_cache="node")
    times, weights = _setup(config).timings, _setup(config).model.weights_gib()
    assert _setup(config).model.source.startswith("s3://")
    assert times.served_weight_load_s == pytest.approx(weights / platform.LOCAL_NVME_GIB_PER_S)
    # The copy is made after the first replica on a node is healthy: it streams as before.
    assert times.weight_load_s == pytest.approx(weights / platform.STREAM_GIB_PER_S)
    assert times.cold_s == base.cold_s and times.on_warm_slot_s == base.on_warm_slot_s
    assert base.on_served_node_s - times.on_served_node_s == pytest.approx(
        weights / platform.STREAM_GIB_PER_S - weights / platform.LOCAL_NVME_GIB_PER_S)


def test_without_the_node_cache_the_array_alone_keeps_no_weights():
    times = _setup(_config(instance_store="raid0")).timings
    assert times.served_weight_load_s is None and times.on_served_node_s == times.on_warm_slot_s


def test_triton_gains_nothing_from_a_compile_cache():
    config = _config()
    config["ml-serving:cluster"]["gpu_pools"][1]["cold_start"] = {"compile_cache": "node"}
    times = _setup(config, index=1).timings
    assert times.served_engine_init_s == times.engine_init_s == platform.TRITON_INIT_S


def test_no_hibernated_warm_node_figure_is_left():
    assert set(platform.WARM_NODE_START_S) == {"stopped", "running"}


def test_scaled_chains_scale_the_served_figures_too():
    times = _setup(_config(compile_cache="node")).timings.scaled(2.0)
    assert times.served_engine_init_s == pytest.approx(2 * 28.8)


def _ready_from(result, t, count):
    return next(i for i, n in enumerate(result.series.ready) if i >= t and n >= count)


def test_a_second_burst_on_a_node_that_served_the_model_starts_sooner():
    # One replica, then two bursts: the second replica needs a new node the first time, is
    # scaled in, and comes back while that node is still up (Cluster Autoscaler waits 10 min
    # before removing an empty node), where the node cache already holds the compile cache.
    policy = {"min_replicas": 1, "max_replicas": 2, "scale_down_window_s": 60}
    plain = _setup(with_model(_config(), 0, autoscaling=policy))
    cached = _setup(with_model(_config(compile_cache="node"), 0, autoscaling=policy))
    low, high = 0.2 * plain.ceiling_rps, 0.9 * plain.ceiling_rps

    def rate(t):
        return high if 200 <= t < 800 or 1100 <= t < 1700 else low

    trace = generate("two bursts", rate, high, (low + high) / 2, 1800, seed=5)
    runs = [simulate(s, stack_policy(s.model.autoscaling, s.target), trace) for s in (plain, cached)]
    first = [_ready_from(r, 200, 2) for r in runs]
    second = [_ready_from(r, 1100, 2) for r in runs]
    # A fresh node the first time: the same for both.
    assert first[0] == first[1]
    # The second time, 90 s of engine start shrink to 28.8 s on the served node.
    assert second[0] - second[1] == pytest.approx(90 - 28.8, abs=2)
    assert runs[1].gpu_hours <= runs[0].gpu_hours


def test_the_report_prints_the_shorter_chain_and_the_served_node_start():
    from components.planning.compare import compare, default_trace
    from components.planning.report import comparison_table

    model_setup = _setup(_config(image_pull="soci_parallel", compile_cache="node"))
    lines = comparison_table(compare(model_setup, default_trace(model_setup, "steady", 300))).splitlines()
    assert lines[2] == ("  cold start: node 150 s + image 90 s + weights 15 s + engine 90 s + ready 10 s = 355 s; "
                        "54 s on a node that already ran it (node cache)")
