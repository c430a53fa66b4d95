"""The SageMaker operations helper against moto: create, update with a canary, weight shift,
rollback, and the command line. The endpoints are built from the compiler's own requests."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from components.intent.model import ModelSpec
from components.intent.stack import SageMakerSpec
from components.operations.sagemaker import OperationError, endpoint_state, main, rollback, shift
from tests.conftest import sagemaker_prod_llama, stack_config
from tests.operations.conftest import backend, compiled, deploy, finish_deployment, for_moto, roll_back_deployment

BUCKET = "acme-ml-serving-models-sagemaker-prod"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/vllm:0.30.0-gpu-py312-cu130-ubuntu24.04-sagemaker"
SETTINGS = SageMakerSpec.model_validate(stack_config("sagemaker-prod")["ml-serving:sagemaker"])
ENDPOINT = "ml-serving-prod-llama-8b"


def _llama(traffic_percent: int) -> ModelSpec:
    raw = sagemaker_prod_llama()
    raw["canary"]["traffic_percent"] = traffic_percent
    return ModelSpec.model_validate(raw)


def _requests(traffic_percent: int) -> dict[str, Any]:
    return compiled(_llama(traffic_percent), SETTINGS, prefix="ml-serving-prod", bucket=BUCKET, image=IMAGE)


@pytest.fixture
def stable(clients) -> dict[str, Any]:
    """llama-8b serving v1 (the canary dark), created as `pulumi up` would."""
    requests = _requests(0)
    deploy(clients, requests)
    return requests


@pytest.fixture
def rolling(clients, stable) -> dict[str, Any]:
    """The stack moved traffic_percent to 10: v2 is being rolled out by a blue/green canary."""
    requests = _requests(10)
    deploy(clients, requests, update=True)
    return requests


# --- create ----------------------------------------------------------------------------------


def test_a_created_endpoint_shows_its_variant_scaling_and_alarms(clients, stable):
    state = endpoint_state(clients, ENDPOINT)
    assert (state.status, state.config, state.in_flight) == ("InService", stable["config"]["EndpointConfigName"], False)
    [variant] = state.variants
    assert (variant.name, variant.current_weight, variant.current_instances) == ("primary", 1.0, 3)
    assert variant.instance_type == for_moto(stable["config"])["ProductionVariants"][0]["InstanceType"]
    assert variant.model == stable["model"]["ModelName"]
    assert variant.scaling == (3, 6)
    # A model with two or more instances starts even a plain update on one of them.
    assert state.traffic_routing == {"Type": "CANARY", "WaitIntervalInSeconds": 900,
                                     "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}
    assert [a.name for a in state.rollback_alarms] == [f"{ENDPOINT}-error-rate", f"{ENDPOINT}-latency-p99"]
    assert all(a.state != "MISSING" for a in state.rollback_alarms)
    assert state.lines()[:2] == [
        f"endpoint {ENDPOINT}: InService, configuration {stable['config']['EndpointConfigName']}",
        f"  variant primary: weight 1 (desired 1), instances 3 (desired 3), {variant.instance_type}, "
        f"model {stable['model']['ModelName']}, autoscaling 3-6",
    ]


# --- update with a canary --------------------------------------------------------------------


def test_an_update_with_a_canary_is_shown_in_flight(clients, stable, rolling):
    state = endpoint_state(clients, ENDPOINT)
    assert state.status == "Updating" and state.in_flight
    assert state.config == stable["config"]["EndpointConfigName"]  # the old fleet still serves
    assert state.pending_config == rolling["config"]["EndpointConfigName"]
    assert state.traffic_routing == {"Type": "CANARY", "WaitIntervalInSeconds": 900,
                                     "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}}
    text = "\n".join(state.lines())
    assert f"deployment in flight to {rolling['config']['EndpointConfigName']}" in text
    assert "latest deployment: CANARY 10% first, bake 900 s" in text


def test_a_finished_canary_serves_the_candidate(clients, stable, rolling):
    finish_deployment(ENDPOINT)
    state = endpoint_state(clients, ENDPOINT)
    assert (state.status, state.config, state.pending_config) == ("InService", rolling["config"]["EndpointConfigName"], None)
    assert state.variants[0].model == rolling["model"]["ModelName"]
    assert rolling["model"]["ModelName"] != stable["model"]["ModelName"]


def test_sagemaker_refuses_a_second_update_while_one_is_in_flight(clients, rolling):
    with pytest.raises(clients.sagemaker.exceptions.ClientError, match="Cannot update in-progress endpoint"):
        clients.sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=rolling["config"]["EndpointConfigName"])


# --- rollback --------------------------------------------------------------------------------


def test_rolling_back_a_canary_in_flight_trips_its_first_alarm(clients, stable, rolling):
    done = rollback(clients, ENDPOINT, reason="p99 doubled on the dashboard")
    assert done.action == "alarm"
    alarm = clients.cloudwatch.describe_alarms(AlarmNames=[f"{ENDPOINT}-error-rate"])["MetricAlarms"][0]
    assert (alarm["StateValue"], alarm["StateReason"]) == ("ALARM", "p99 doubled on the dashboard")
    assert done.message == (
        f"set {ENDPOINT}-error-rate to ALARM: SageMaker rolls the deployment to {rolling['config']['EndpointConfigName']} "
        f"back to {stable['config']['EndpointConfigName']} (the alarm returns to its measured state at its next evaluation)"
    )
    roll_back_deployment(ENDPOINT)  # what SageMaker then does
    assert endpoint_state(clients, ENDPOINT).config == stable["config"]["EndpointConfigName"]


def test_a_rollout_without_alarms_cannot_be_stopped(clients, stable):
    requests = _requests(10)
    requests["endpoint"]["DeploymentConfig"].pop("AutoRollbackConfiguration")
    deploy(clients, {**requests, "alarms": []}, update=True)
    with pytest.raises(OperationError, match="is in flight without rollback alarms, and SageMaker has no call to stop one"):
        rollback(clients, ENDPOINT)


def test_after_a_finished_rollout_rollback_redeploys_the_previous_configuration(clients, stable, rolling):
    finish_deployment(ENDPOINT)
    previous = stable["config"]["EndpointConfigName"]
    with pytest.raises(OperationError) as refused:
        rollback(clients, ENDPOINT)
    assert str(refused.value) == (
        f"{ENDPOINT} serves {rolling['config']['EndpointConfigName']} on one variant and no deployment is in flight: "
        f"name the configuration to go back to with --to-config; earlier ones still there: {previous}"
    )
    done = rollback(clients, ENDPOINT, to_config=previous)
    assert done.action == "redeploy" and done.state.pending_config == previous
    assert backend().endpoints[ENDPOINT].last_deployment_config == {
        "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}}
    }
    finish_deployment(ENDPOINT)
    state = endpoint_state(clients, ENDPOINT)
    assert state.config == previous and state.variants[0].model == stable["model"]["ModelName"]


def test_rollback_to_a_missing_configuration_is_refused(clients, stable):
    with pytest.raises(OperationError, match="describe endpoint configuration nope: Could not find endpoint configuration"):
        rollback(clients, ENDPOINT, to_config="nope")


def test_rollback_of_a_failed_endpoint_points_at_the_stack_file(clients, stable):
    endpoint = backend().endpoints[ENDPOINT]
    endpoint.endpoint_status, endpoint.failure_reason = "Failed", "health check failed"
    with pytest.raises(OperationError, match=r"is Failed \(health check failed\): nothing here to roll back from"):
        rollback(clients, ENDPOINT)


# --- weight shift between variants -----------------------------------------------------------


@pytest.fixture
def two_variants(clients) -> str:
    """An A/B endpoint: v1 on `primary`, v2 on `candidate`, built from the compiled requests."""
    stable, candidate = _requests(0), _requests(10)
    for model in (stable["model"], candidate["model"]):
        clients.sagemaker.create_model(**model)
    config = for_moto(stable["config"])
    second = copy.deepcopy(config["ProductionVariants"][0])
    second.update(VariantName="candidate", ModelName=candidate["model"]["ModelName"], InitialVariantWeight=0.0,
                  InitialInstanceCount=1)
    config["ProductionVariants"].append(second)
    config["EndpointConfigName"] = "ab-test"
    clients.sagemaker.create_endpoint_config(**config)
    clients.sagemaker.create_endpoint(EndpointName="ab", EndpointConfigName="ab-test")
    return "ab"


def test_shift_moves_traffic_between_variants(clients, two_variants):
    state = shift(clients, two_variants, {"primary": 0.9, "candidate": 0.1})
    weights = {v.name: (v.current_weight, v.desired_weight) for v in state.variants}
    assert weights == {"primary": (0.9, 0.9), "candidate": (0.1, 0.1)}


def test_rollback_sends_all_traffic_to_the_named_variant(clients, two_variants):
    shift(clients, two_variants, {"primary": 0.5, "candidate": 0.5})
    with pytest.raises(OperationError, match=r"name the one to send all traffic to with --to-variant: primary \(0.5\), candidate \(0.5\)"):
        rollback(clients, two_variants)
    done = rollback(clients, two_variants, to_variant="primary")
    assert done.action == "weights"
    assert {v.name: v.desired_weight for v in done.state.variants} == {"primary": 1.0, "candidate": 0.0}


@pytest.mark.parametrize(
    "weights, message",
    [
        ({"canary": 1.0}, "ab has no variant canary; its variants: primary, candidate"),
        ({"primary": -1.0}, "weights are 0 or more; got a negative one for primary"),
        ({"primary": 0.0, "candidate": 0.0}, "at least one variant of ab must keep a weight above 0"),
    ],
)
def test_bad_shifts_are_refused_before_any_call(clients, two_variants, weights, message):
    with pytest.raises(OperationError) as refused:
        shift(clients, two_variants, weights)
    assert str(refused.value) == message


def test_a_single_variant_has_nothing_to_shift(clients, stable):
    with pytest.raises(OperationError, match="has one variant \\(primary\\): there is nothing to shift between"):
        shift(clients, ENDPOINT, {"primary": 1.0})


def test_weights_change_only_in_service(clients, rolling):
    with pytest.raises(OperationError, match="is Updating; SageMaker changes variant weights only when it is InService"):
        shift(clients, ENDPOINT, {"primary": 1.0})


# --- command line ----------------------------------------------------------------------------


def test_cli_status_and_errors(clients, stable, capsys):
    assert main(["status", ENDPOINT], clients=clients) == 0
    assert capsys.readouterr().out.startswith(f"endpoint {ENDPOINT}: InService")
    assert main(["status", ENDPOINT, "--json"], clients=clients) == 0
    assert '"status": "InService"' in capsys.readouterr().out
    assert main(["shift", ENDPOINT, "primary"], clients=clients) == 2
    assert capsys.readouterr().err == "error: expected VARIANT=WEIGHT such as primary=0.9; got 'primary'\n"
    assert main(["status", "missing"], clients=clients) == 2
    assert "error: describe endpoint missing: Could not find endpoint" in capsys.readouterr().err


def test_cli_rollback_reminds_to_update_the_stack_file(clients, rolling, capsys):
    assert main(["rollback", ENDPOINT, "--reason", "bad answers"], clients=clients) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"set {ENDPOINT}-error-rate to ALARM")
    assert out.rstrip().endswith("Now set the stack file to match (canary traffic_percent: 0), or the next `pulumi up` "
                                 "deploys the candidate again.")
