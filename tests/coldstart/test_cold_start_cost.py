"""The levers in the cost estimate: the instance store shown at no charge, the rest in a note."""
from __future__ import annotations

import copy

from components.intent.loading import parse_stack_config
from components.planning.cost import stack_cost
from tests.planning.helpers import eks_config


def _cost(**cold_start):
    config = eks_config()
    config["ml-serving:cluster"] = copy.deepcopy(config["ml-serving:cluster"])
    config["ml-serving:cluster"]["gpu_pools"][0]["cold_start"] = cold_start
    return stack_cost(parse_stack_config(config, "tests/planning/Pulumi.test.yaml"))


def _items(cost, scenario):
    return {i.item: i for i in getattr(cost, scenario).items}


def test_no_lever_no_line_and_no_note():
    cost = _cost()
    assert not [name for name in _items(cost, "busy") if "instance store" in name]
    assert not [n for n in cost.notes if "cold-start levers" in n]


def test_raid0_shows_the_instance_store_of_every_node_at_zero_dollars():
    base, cost = _cost(), _cost(instance_store="raid0")
    for scenario in ("idle", "busy"):
        items = _items(cost, scenario)
        nodes = items["GPU pool l40s (g6e.xlarge)"].quantity
        store = items["GPU pool l40s NVMe instance store (RAID0)"]
        assert (store.quantity, store.unit, store.monthly_usd) == (nodes * 250, "GB", 0.0)
        assert "included in the instance price" in store.source
        assert getattr(cost, scenario).total_usd == getattr(base, scenario).total_usd


def test_soci_and_the_node_cache_add_no_dollars_but_say_so():
    base, cost = _cost(), _cost(image_pull="soci_parallel", compile_cache="node")
    assert cost.busy.total_usd == base.busy.total_usd and cost.idle.total_usd == base.idle.total_usd
    note = next(n for n in cost.notes if n.startswith("cold-start levers on l40s:"))
    assert "cost nothing beyond the nodes and root volumes" in note
