"""The cold-start levers of a GPU pool: what is refused, with which words, and at which edge."""
from __future__ import annotations

import pytest

from components.intent import cold_start
from components.intent.cluster import GpuNodePool
from components.intent.instances import catalog
from tests.intent.helpers import errors_of

POOL = {"name": "l40s", "instance_types": ["g6e.xlarge"], "max_size": 4}
ALL_ON = {"image_pull": "soci_parallel", "instance_store": "raid0", "compile_cache": "node"}


def test_defaults_change_nothing():
    levers = GpuNodePool.model_validate(POOL).cold_start
    assert (levers.image_pull, levers.instance_store, levers.compile_cache) == ("sequential", "unused", "pod")


def test_every_lever_on_al2023_is_accepted():
    pool = GpuNodePool.model_validate({**POOL, "cold_start": ALL_ON})
    assert pool.cold_start.instance_store == "raid0"


def test_bottlerocket_refuses_each_lever_at_its_own_field():
    errors = errors_of(GpuNodePool, {**POOL, "ami": "bottlerocket_nvidia", "cold_start": ALL_ON})
    assert errors == {
        ("cold_start", "image_pull"): cold_start.AL2023_ONLY["image_pull"],
        ("cold_start", "instance_store"): cold_start.AL2023_ONLY["instance_store"],
        ("cold_start", "compile_cache"): cold_start.AL2023_ONLY["compile_cache"],
    }
    assert "FastContainerImagePull" in errors[("cold_start", "image_pull")]


@pytest.mark.parametrize("key, value", [("image_pull", "soci_parallel"), ("instance_store", "raid0"), ("compile_cache", "node")])
def test_bottlerocket_refuses_one_lever_alone(key, value):
    errors = errors_of(GpuNodePool, {**POOL, "ami": "bottlerocket_nvidia", "cold_start": {key: value}})
    assert errors == {("cold_start", key): cold_start.AL2023_ONLY[key]}


def test_bottlerocket_with_the_default_levers_is_fine():
    assert GpuNodePool.model_validate({**POOL, "ami": "bottlerocket_nvidia"}).cold_start.image_pull == "sequential"


def test_unknown_lever_values_are_refused_by_name():
    errors = errors_of(GpuNodePool, {**POOL, "cold_start": {"image_pull": "lazy"}})
    assert ("cold_start", "image_pull") in errors and "'sequential' or 'soci_parallel'" in errors[("cold_start", "image_pull")]


@pytest.mark.parametrize("state", ["stopped", "running"])
def test_stopped_and_running_warm_pools_are_allowed(state):
    pool = GpuNodePool.model_validate({**POOL, "warm_pool": {"min_size": 1, "state": state}})
    assert pool.warm_pool.state == state


def test_hibernated_warm_pool_is_refused_with_the_reason():
    errors = errors_of(GpuNodePool, {**POOL, "warm_pool": {"min_size": 1, "state": "hibernated"}})
    assert errors == {("warm_pool", "state"): cold_start.HIBERNATION_REFUSED}
    assert errors[("warm_pool", "state")].startswith("GPU instances cannot hibernate")


def test_raid0_with_a_stopped_warm_pool_is_refused_but_running_is_not():
    stopped = {**POOL, "warm_pool": {"min_size": 1, "state": "stopped"}, "cold_start": {"instance_store": "raid0"}}
    assert errors_of(GpuNodePool, stopped) == {("cold_start", "instance_store"): cold_start.STOPPED_INSTANCE_STORE}
    running = {**stopped, "warm_pool": {"min_size": 1, "state": "running"}}
    assert GpuNodePool.model_validate(running).cold_start.instance_store == "raid0"


def test_raid0_needs_an_instance_store_on_every_type(monkeypatch):
    real = catalog()
    # A catalog where g6e.2xlarge has no instance store (every real GPU type in it has one).
    instances = dict(real.instances)
    instances["g6e.2xlarge"] = instances["g6e.2xlarge"].model_copy(update={"instance_store_gb": 0})
    fake = real.model_copy(update={"instances": instances})
    monkeypatch.setattr(cold_start, "catalog", lambda: fake)
    data = {**POOL, "instance_types": ["g6e.xlarge", "g6e.2xlarge"], "cold_start": {"instance_store": "raid0"}}
    assert errors_of(GpuNodePool, data) == {
        ("cold_start", "instance_store"): "g6e.2xlarge has no NVMe instance store; use instance_store unused or "
        "instance types that have one"
    }
    assert cold_start.instance_store_gb(GpuNodePool.model_validate({**data, "cold_start": {}})) == 0
    # The same pool without raid0 is fine: the lever, not the type, is what needs the disks.
    assert GpuNodePool.model_validate({**data, "cold_start": {"instance_store": "unused"}})


def test_every_gpu_type_in_the_catalog_names_its_instance_store():
    stores = {name: itype.instance_store_gb for name, itype in catalog().instances.items()}
    assert stores["g6e.xlarge"] == 250 and stores["g6e.12xlarge"] == 3800 and stores["p5.48xlarge"] == 30720
    assert all(itype.instance_store_source in catalog().sources for itype in catalog().instances.values())


def test_all_problems_of_a_pool_come_at_once():
    data = {
        **POOL,
        "ami": "bottlerocket_nvidia",
        "warm_pool": {"min_size": 1, "state": "hibernated", "reuse_on_scale_in": False},
        "cold_start": {"image_pull": "soci_parallel"},
        "min_size": 5,
    }
    errors = errors_of(GpuNodePool, data)
    assert set(errors) == {("cold_start", "image_pull"), ("warm_pool", "state"), ("min_size",)}
