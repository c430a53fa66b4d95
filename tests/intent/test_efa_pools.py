"""EFA pools in the intent: where EFA may be asked for, what it implies, and the stack rule
that a model across nodes runs on one."""
import copy

import pytest
from pydantic import ValidationError

from components.intent.cluster import GpuNodePool
from tests.conftest import parse, problems_of, stack_config


def _pool(**fields):
    return GpuNodePool.model_validate({"name": "h100", "instance_types": ["p5.48xlarge"], "max_size": 2, **fields})


def _errors(**fields):
    with pytest.raises(ValidationError) as caught:
        _pool(**fields)
    return {tuple(e["loc"]): e["msg"] for e in caught.value.errors()}


def test_efa_defaults_to_off_and_efa_implies_one_cluster_placement_group():
    assert _pool().efa is False and _pool().resolved_placement == "spread"
    on = _pool(efa=True)
    assert on.resolved_placement == "cluster" and on.zone_index == 0


@pytest.mark.parametrize("itype", ["g6e.48xlarge", "g5.48xlarge", "g6e.xlarge"])
def test_efa_is_refused_where_no_replica_spans_nodes(itype):
    errors = _errors(instance_types=[itype], efa=True)
    assert list(errors) == [("efa",)]
    assert f"{itype} is not one of them" in errors[("efa",)]
    assert "p4d.24xlarge, p4de.24xlarge, p5.48xlarge, p5en.48xlarge" in errors[("efa",)]


def test_efa_with_spread_placement_is_refused_with_the_subnet_reason():
    errors = _errors(efa=True, placement="spread")
    assert "does not leave its subnet" in errors[("placement",)]


def test_zone_index_needs_cluster_placement():
    errors = _errors(zone_index=1)
    assert "applies to placement cluster only" in errors[("zone_index",)]
    assert _pool(placement="cluster", zone_index=1).zone_index == 1


def test_every_problem_of_a_pool_at_once():
    errors = _errors(instance_types=["g6e.xlarge"], efa=True, placement="spread", min_size=3)
    assert {("efa",), ("placement",), ("min_size",)} <= set(errors)


def _prod():
    return copy.deepcopy(stack_config("prod"))


def _h100(config):
    return next(p for p in config["ml-serving:cluster"]["gpu_pools"] if p["name"] == "h100")


def test_prod_405b_group_runs_on_its_efa_pool():
    spec = parse(_prod())
    assert any(m.nodes_per_replica() == 2 for m in spec.models)
    h100 = next(p for p in spec.cluster.gpu_pools if p.name == "h100")
    assert h100.efa and h100.resolved_placement == "cluster"


def test_a_model_across_nodes_on_a_pool_without_efa_is_refused():
    config = _prod()
    _h100(config).pop("efa")
    problems = problems_of(config)
    found = [p for p in problems if "gpu_pools[3]" in p]
    assert found and "across 2 nodes of pool h100" in found[0] and "set efa: true and placement: cluster" in found[0]


def test_efa_without_the_cluster_placement_group_is_refused_for_a_group():
    config = _prod()
    _h100(config)["placement"] = "spread"
    problems = problems_of(config)
    assert any("gpu_pools[3].placement" in p and "does not leave its subnet" in p for p in problems)


def test_single_node_models_need_no_efa():
    config = _prod()
    model = next(m for m in config["ml-serving:models"] if m["instance_type"] == "p5.48xlarge")
    model["gpus"] = 8
    model["vllm"]["quantization"] = "fp8"
    _h100(config).pop("efa")
    spec = parse(config)
    assert not next(p for p in spec.cluster.gpu_pools if p.name == "h100").efa


@pytest.mark.parametrize(("zone_index", "ok"), [(2, True), (3, False)])
def test_zone_index_must_name_a_zone_the_vpc_has(zone_index, ok):
    config = _prod()  # three zones
    _h100(config)["zone_index"] = zone_index
    if ok:
        assert next(p for p in parse(config).cluster.gpu_pools if p.name == "h100").zone_index == 2
    else:
        assert any("zone_index" in p and "numbered 0 to 2" in p for p in problems_of(config))
