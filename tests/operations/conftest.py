"""moto for the operations helper, plus the one SageMaker call moto 5.2.5 lacks.

moto has no UpdateEndpoint. The stand-in below behaves like a blue/green update that has
started: the endpoint is Updating, the new configuration is pending, and the deployment
configuration is recorded. Tests then finish it (the new fleet takes over) or roll it back,
which is what SageMaker does on its own in the cloud. It also keeps the DeploymentConfig
CreateEndpoint is given, which moto drops. Nothing outside tests/operations uses it.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

from components.compilers import sagemaker as sm
from components.operations.sagemaker import Clients

REGION = "us-east-1"
# moto's list of endpoint instance types predates the G5/G6 families; only these tests map them.
MOTO_INSTANCE_TYPES = {"ml.g6.xlarge": "ml.g4dn.xlarge", "ml.g6e.xlarge": "ml.g4dn.2xlarge", "ml.g5.xlarge": "ml.g4dn.xlarge"}
_RETAIN: dict[str, bool] = {}


def backend():
    return sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION]


def _update_endpoint(self: SageMakerResponse) -> ActionResult:
    name = self._get_param("EndpointName")
    endpoint = self.sagemaker_backend.endpoints.get(name)
    arn = FakeEndpoint.arn_formatter(name, self.current_account, self.region)
    if endpoint is None:
        raise ValidationError(message=f"Could not find endpoint \"{arn}\".")
    if endpoint.endpoint_status != "InService":
        raise ValidationError(message=f"Cannot update in-progress endpoint \"{arn}\".")
    config = self.sagemaker_backend.describe_endpoint_config(self._get_param("EndpointConfigName"))
    endpoint.endpoint_status = "Updating"
    endpoint.pending_deployment_summary = {
        "EndpointConfigName": config["EndpointConfigName"],
        "StartTime": utcnow(),
        "ProductionVariants": [
            {
                "VariantName": v["VariantName"],
                "InstanceType": v.get("InstanceType"),
                "CurrentInstanceCount": 0,
                "DesiredInstanceCount": v.get("InitialInstanceCount"),
                "VariantStatus": [{"Status": "Creating"}],
            }
            for v in config["ProductionVariants"]
        ],
    }
    if self._get_param("DeploymentConfig") is not None:
        endpoint.last_deployment_config = self._get_param("DeploymentConfig")
    _RETAIN[name] = bool(self._get_param("RetainAllVariantProperties"))
    return ActionResult({"EndpointArn": endpoint.arn})


_create_endpoint = SageMakerResponse.create_endpoint


def _create_endpoint_keeping_deployment_config(self: SageMakerResponse) -> ActionResult:
    result = _create_endpoint(self)
    deployment = self._get_param("DeploymentConfig")
    if deployment is not None:
        self.sagemaker_backend.endpoints[self._get_param("EndpointName")].last_deployment_config = deployment
    return result


def finish_deployment(name: str) -> None:
    """The new fleet took all traffic and passed its bakes."""
    endpoint = backend().endpoints[name]
    pending = endpoint.pending_deployment_summary
    config = backend().describe_endpoint_config(pending["EndpointConfigName"])
    variants = endpoint._process_production_variants(config["ProductionVariants"])
    if _RETAIN.get(name):
        old = {v["VariantName"]: v for v in endpoint.production_variants}
        for variant in variants:
            for key in ("CurrentInstanceCount", "DesiredInstanceCount", "CurrentWeight", "DesiredWeight"):
                if key in old.get(variant["VariantName"], {}):
                    variant[key] = old[variant["VariantName"]][key]
    endpoint.production_variants = variants
    endpoint.endpoint_config_name = pending["EndpointConfigName"]
    endpoint.pending_deployment_summary = None
    endpoint.endpoint_status = "InService"


def roll_back_deployment(name: str) -> None:
    """An alarm fired: traffic went back to the old fleet."""
    endpoint = backend().endpoints[name]
    endpoint.pending_deployment_summary = None
    endpoint.endpoint_status = "InService"


@pytest.fixture(scope="module")
def _moto() -> Iterator[tuple[Any, Clients]]:
    # One mock and one set of clients per module (creating them is most of a test's time);
    # `clients` empties moto's backends before each test. Module scope keeps the mock and the
    # patches away from other tests.
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                                ("AWS_SESSION_TOKEN", "testing"), ("AWS_DEFAULT_REGION", REGION)):
            patch.setenv(variable, value)
        patch.setattr(SageMakerResponse, "update_endpoint", _update_endpoint, raising=False)
        patch.setattr(SageMakerResponse, "create_endpoint", _create_endpoint_keeping_deployment_config)
        with mock_aws() as mock:
            yield mock, Clients.for_region(REGION)


@pytest.fixture
def clients(_moto) -> Clients:
    mock, shared = _moto
    mock.reset()
    _RETAIN.clear()
    return shared


def for_moto(config_request: dict[str, Any]) -> dict[str, Any]:
    """The compiled CreateEndpointConfig with instance types moto knows."""
    request = copy.deepcopy(config_request)
    for variant in request["ProductionVariants"]:
        variant["InstanceType"] = MOTO_INSTANCE_TYPES.get(variant["InstanceType"], variant["InstanceType"])
    return request


def deploy(clients: Clients, requests: dict[str, Any], *, update: bool = False) -> None:
    """Send compiled requests as Pulumi would: model, configuration, alarms, then the endpoint
    (created, or updated to the new configuration), then autoscaling."""
    clients.sagemaker.create_model(**requests["model"])
    clients.sagemaker.create_endpoint_config(**for_moto(requests["config"]))
    for alarm in requests["alarms"]:
        clients.cloudwatch.put_metric_alarm(**alarm)
    endpoint = requests["endpoint"]
    if update:
        clients.sagemaker.update_endpoint(
            EndpointName=endpoint["EndpointName"],
            EndpointConfigName=endpoint["EndpointConfigName"],
            DeploymentConfig=endpoint["DeploymentConfig"],
        )
    else:
        clients.sagemaker.create_endpoint(**endpoint)
    if requests["scaling"] is not None:
        target, policy = requests["scaling"]
        clients.autoscaling.register_scalable_target(**target)
        clients.autoscaling.put_scaling_policy(**policy)


def compiled(model, settings, *, prefix: str, bucket: str, image: str) -> dict[str, Any]:
    """Every request the program would send for one model, from the compiler."""
    endpoint = sm.endpoint_name(prefix, model)
    created = sm.model_request(
        model, endpoint=endpoint, kind="vllm", image=image,
        role_arn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/{endpoint}",
        subnet_ids=["subnet-0a", "subnet-0b"], security_group_ids=["sg-0a"],
    )
    alarms = sm.alarm_requests(model, endpoint)
    deployment = sm.deployment_config(model, settings, [a["AlarmName"] for a in alarms])
    config = sm.endpoint_config_request(model, settings, endpoint=endpoint, model_name=created["ModelName"],
                                        bucket=bucket, key_arn=f"arn:aws:kms:{REGION}:{DEFAULT_ACCOUNT_ID}:key/k",
                                        deployment=deployment)
    return {
        "name": endpoint,
        "model": created,
        "config": config,
        "alarms": alarms,
        "endpoint": sm.endpoint_request(model, endpoint=endpoint, config_name=config["EndpointConfigName"],
                                        deployment=deployment),
        "scaling": sm.scaling_requests(model, endpoint),
    }
