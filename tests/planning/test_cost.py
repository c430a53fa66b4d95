"""Monthly cost from the price data files: idle and busy, every line priced from a cited figure."""
import pytest

from components.intent.instances import catalog
from components.intent.prices import price_list
from components.planning.cost import instance_price_per_hour, stack_cost
from tests.planning.helpers import eks_config, sagemaker_config, stack, with_model

HOURS = 730


def items(estimate):
    return {item.item: item for item in estimate.items}


def test_prices_cite_dated_sources_and_recalled_ones_are_listed():
    prices = price_list()
    for source in prices.sources.values():
        assert source.as_of and source.where
    assert prices.rate("eks_control_plane").value == 0.10
    assert prices.rate("nat_gateway").value == 0.045
    assert prices.rate("ebs_gp3").value == 0.08
    assert "recalled-nlb" in prices.recalled()


def test_eks_idle_cost_is_what_never_scales_to_zero():
    cost = stack_cost(stack(eks_config()))
    idle = items(cost.idle)
    assert idle["EKS control plane"].monthly_usd == pytest.approx(0.10 * HOURS)
    assert idle["NAT gateway"].monthly_usd == pytest.approx(0.045 * HOURS)
    assert idle["NAT gateway public IPv4"].monthly_usd == pytest.approx(0.005 * HOURS)
    assert idle["ECR interface endpoints"].quantity == 4
    assert idle["System nodes (m6i.large)"].monthly_usd == pytest.approx(2 * 0.096 * HOURS)
    assert idle["System node volumes (gp3)"].monthly_usd == pytest.approx(2 * 50 * 0.08)
    assert idle["Prometheus volume (gp3)"].monthly_usd == pytest.approx(50 * 0.08)
    # llama: 1 replica on the on-demand L40S pool; classifier: 1 replica on the spot L4 pool (min 1 node).
    assert idle["GPU pool l40s (g6e.xlarge)"].monthly_usd == pytest.approx(1.861 * HOURS)
    assert idle["GPU pool l4 (g6.xlarge, spot)"].monthly_usd == pytest.approx(0.8048 * 0.40 * HOURS)
    assert cost.idle.total_usd == pytest.approx(sum(i.monthly_usd for i in cost.idle.items))


def test_eks_busy_cost_runs_every_model_at_max_replicas():
    busy = items(stack_cost(stack(eks_config())).busy)
    assert busy["GPU pool l40s (g6e.xlarge)"].quantity == 4
    assert busy["GPU pool l4 (g6.xlarge, spot)"].quantity == 2
    assert busy["System nodes (m6i.large)"].quantity == 3


def test_scale_to_zero_models_cost_nothing_idle_and_warm_pools_do():
    config = with_model(eks_config(), 0, autoscaling={"scale_to_zero": True, "idle_timeout_s": 900})
    assert stack_cost(stack(config)).models["llama"].idle_usd == 0
    config = with_model(eks_config(), 0, autoscaling={"warm_pool": 1})
    model = stack_cost(stack(config)).models["llama"]
    assert model.idle_replicas == 2
    assert model.idle_usd == pytest.approx(2 * 1.861 * HOURS)


def test_a_canary_adds_its_share_of_replicas():
    canary = {"version": "v2", "source": "s3://acme-models-test/llama/v2/", "traffic_percent": 10,
              "gates": [{"metric": "error_rate", "max_value": 0.01}]}
    model = stack_cost(stack(with_model(eks_config(), 0, canary=canary))).models["llama"]
    assert model.busy_replicas == 4 + 1 and model.idle_replicas == 1 + 1


def test_sagemaker_endpoints_pay_the_ml_premium():
    cost = stack_cost(stack(sagemaker_config()))
    lines = items(cost.idle)
    assert "EKS control plane" not in lines
    classifier = lines["Endpoint classifier (ml.g6.xlarge)"]
    assert classifier.usd_per_unit_month == pytest.approx(0.8048 * 1.40 * HOURS)
    assert "sagemaker-premium-derived" in classifier.source
    assert instance_price_per_hour("g5.xlarge", "sagemaker") == catalog().instances["g5.xlarge"].sagemaker_usd_per_hour.value
    assert items(cost.busy)["Endpoint llama (ml.g6e.xlarge)"].quantity == 4


def test_an_unpriced_cpu_type_is_shown_not_guessed():
    config = eks_config()
    config["ml-serving:cluster"]["system_nodes"]["instance_types"] = ["c7g.large"]
    cost = stack_cost(stack(config))
    assert cost.idle.unpriced == ["System nodes (c7g.large)"]
    assert items(cost.idle)["System nodes (c7g.large)"].source == "not in prices.yaml"


def test_other_regions_are_flagged():
    cost = stack_cost(stack(eks_config(**{"aws:region": "eu-west-1"})))
    assert "prices are us-east-1 list prices; eu-west-1 differs" in cost.notes


def test_cost_json_names_every_source():
    data = stack_cost(stack(eks_config())).as_json()
    sources = set(price_list().sources) | set(catalog().sources)
    for scenario in ("idle", "busy"):
        for line in data[scenario]["items"]:
            for part in line["source"].split(" x "):
                assert part in sources, line
    assert data["currency"] == "USD" and data["hours_per_month"] == HOURS


def test_scheduled_floors_are_paid_idle_for_their_hours_above_the_floor():
    # 09:00-17:00 at 3 over a floor of 1 (2 extra replicas for 8 of 24 hours), 22:00-02:00 at 2
    # (1 extra for 4 hours, across midnight): 2 x 8/24 + 1 x 4/24 = 5/6 of a replica all day.
    schedule = {"timezone": "Europe/Berlin", "windows": [
        {"start": "09:00", "end": "17:00", "min_replicas": 3},
        {"start": "22:00", "end": "02:00", "min_replicas": 2},
    ]}
    plain = stack_cost(stack(eks_config()))
    cost = stack_cost(stack(with_model(eks_config(), 0, autoscaling={"schedule": schedule})))
    llama = cost.models["llama"]
    assert llama.idle_replicas == 1
    assert llama.idle_usd == pytest.approx((1 + 5 / 6) * 1.861 * HOURS)
    line = items(cost.idle)["Scheduled floors of llama (replicas above its floor, averaged over the week)"]
    assert line.quantity == pytest.approx(5 / 6) and line.unit == "replica"
    assert cost.idle.total_usd == pytest.approx(plain.idle.total_usd + 5 / 6 * 1.861 * HOURS)
    assert items(cost.busy) == items(plain.busy), "busy already runs max_replicas all month"


def test_weekday_floors_are_paid_for_their_days_only():
    # Office hours on five days of seven: 2 extra replicas x 8/24 x 5/7.
    schedule = {"timezone": "Europe/Berlin", "windows": [
        {"start": "09:00", "end": "17:00", "min_replicas": 3, "days": ["mon", "tue", "wed", "thu", "fri"]}]}
    cost = stack_cost(stack(with_model(eks_config(), 0, autoscaling={"schedule": schedule})))
    line = items(cost.idle)["Scheduled floors of llama (replicas above its floor, averaged over the week)"]
    assert line.quantity == pytest.approx(2 * 8 / 24 * 5 / 7)
