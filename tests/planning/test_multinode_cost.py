"""A replica across nodes costs every node of its group: N instances per replica, in the
model's cost and in its pool's node count. EFA and placement groups carry no charge."""
import pytest

from components.intent.instances import catalog
from components.planning.cost import stack_cost
from tests.factories import spec_of

HOURS = 730


def test_a_two_node_group_costs_two_instances_per_replica():
    spec = spec_of("prod")
    model = next(m for m in spec.models if m.name == "llama-405b")
    assert model.nodes_per_replica() == 2
    p5 = catalog().instances["p5.48xlarge"].ec2_usd_per_hour.value
    cost = stack_cost(spec)
    assert cost.models["llama-405b"].usd_per_replica_hour == pytest.approx(2 * p5)
    assert cost.models["llama-405b"].idle_usd == pytest.approx(model.autoscaling.min_replicas * 2 * p5 * HOURS)


def test_the_efa_pool_runs_two_nodes_per_group_up_to_its_ceiling():
    spec = spec_of("prod")
    cost = stack_cost(spec)
    pool = next(p for p in spec.cluster.gpu_pools if p.name == "h100")
    idle = {i.item: i for i in cost.idle.items}["GPU pool h100 (p5.48xlarge)"]
    busy = {i.item: i for i in cost.busy.items}["GPU pool h100 (p5.48xlarge)"]
    assert idle.quantity == 2, "one group of two nodes at min_replicas 1"
    assert busy.quantity == pool.max_size == 2
    assert not any("EFA" in i.item or "placement" in i.item.lower() for i in cost.idle.items)


def test_the_simulator_bills_every_node_of_a_group_as_the_oracle_bills_every_gpu():
    from components.planning.compare import setup, simulate
    from components.planning.controllers import Schedule, stack_policy
    from components.planning.traces import steady

    spec = spec_of("prod")
    model = next(m for m in spec.models if m.name == "llama-405b")
    model_setup = setup(spec, model)
    trace = steady(0.3 * model_setup.ceiling_rps, 1800, model_setup.workload, seed=5)
    held = simulate(model_setup, stack_policy(model.autoscaling, "eks"), trace)
    # One replica of 16 GPUs (two p5.48xlarge) all the time, on the pool's two nodes.
    assert held.gpu_hours == pytest.approx(16 * held.series.t[-1] / 3600, rel=0.01)
    p5 = catalog().instances["p5.48xlarge"].ec2_usd_per_hour.value
    assert held.cost_usd == pytest.approx(2 * p5 * held.gpu_hours / 16, rel=1e-6)
    foresight = simulate(model_setup, Schedule((1,) * 31, 60), trace, instant=True)
    assert foresight.gpu_hours == pytest.approx(held.gpu_hours, rel=0.01)
