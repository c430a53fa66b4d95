"""The CloudWatch traffic export against moto: the metric it reads, every page, the CSV it
writes, and that the planner reads it back as the invocations CloudWatch counted."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws

from components.planning.cloudwatch_export import main
from components.planning.recorded import from_csv

START = datetime(2025, 11, 30, tzinfo=timezone.utc)
ENDPOINT = "ml-serving-sagemaker-prod-llama-8b"


@pytest.fixture
def cloudwatch():
    with mock_aws():
        client = boto3.client("cloudwatch", region_name="us-east-1")
        # 120 invocations a minute for ten minutes, none for twenty, 30 a minute for ten.
        data = [(minute, 120.0) for minute in range(10)] + [(minute, 30.0) for minute in range(30, 40)]
        for minute, count in data:
            client.put_metric_data(Namespace="AWS/SageMaker", MetricData=[{
                "MetricName": "Invocations", "Timestamp": START + timedelta(minutes=minute), "Value": count,
                "Dimensions": [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": "primary"}]}])
        # Another endpoint's invocations are not this model's.
        client.put_metric_data(Namespace="AWS/SageMaker", MetricData=[{
            "MetricName": "Invocations", "Timestamp": START, "Value": 9999.0,
            "Dimensions": [{"Name": "EndpointName", "Value": "other"}, {"Name": "VariantName", "Value": "primary"}]}])
        yield client


def _export(client, out, *extra):
    return main(["--stack", "sagemaker-prod", "--model", "llama-8b", "--start", "2025-11-30T00:00:00Z", "--end",
                 "2025-11-30T01:00:00Z", "--out", str(out), *extra], client=client)


def test_the_export_writes_the_variants_invocations_and_the_planner_replays_them(cloudwatch, tmp_path, capsys):
    out = tmp_path / "llama-8b.csv"
    assert _export(cloudwatch, out) == 0
    assert capsys.readouterr().out == f"Wrote 20 periods of {ENDPOINT}'s invocations to {out}\n"
    lines = out.read_text().splitlines()
    epoch = int(START.timestamp())
    assert lines[:3] == ["timestamp_s,requests", f"{epoch},120", f"{epoch + 60},120"]
    assert lines[11] == f"{epoch + 1800},30"
    trace = from_csv(out)
    assert trace.opens_at() == "2025-11-30T00:00:00Z"
    # The twenty minutes without a datapoint stay empty; the counts come back as Poisson draws.
    assert not any(600 <= t < 1800 for t in trace.arrivals)
    assert abs(len(trace.arrivals) - 1500) < 4 * math.sqrt(1500)
    assert trace.name.endswith("lengths assumed)")


def test_the_export_refuses_what_it_cannot_do_in_one_message_each(cloudwatch, tmp_path, capsys):
    assert main(["--stack", "prod", "--model", "llama-8b", "--start", "2025-11-30T00:00:00Z", "--end",
                 "2025-11-30T01:00:00Z", "--out", str(tmp_path / "x.csv")], client=cloudwatch) == 2
    assert "an EKS stack's traffic is in Prometheus; use make export-traffic" in capsys.readouterr().err
    assert _export(cloudwatch, tmp_path / "x.csv", "--period", "90") == 2
    assert "--period must be 60 seconds or a multiple of 60" in capsys.readouterr().err
    assert main(["--stack", "sagemaker-prod", "--model", "llama-8b", "--start", "2025-12-30T00:00:00Z", "--end",
                 "2025-12-30T01:00:00Z", "--out", str(tmp_path / "x.csv")], client=cloudwatch) == 2
    assert f"no Invocations of {ENDPOINT} between 2025-12-30T00:00:00Z and 2025-12-30T01:00:00Z" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_aws_errors_are_one_message(tmp_path, capsys):
    from botocore.exceptions import ClientError, NoCredentialsError

    class Refusing:
        def __init__(self, error):
            self.error = error

        def get_metric_data(self, **_):
            raise self.error

    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized to GetMetricData"}}, "GetMetricData")
    assert _export(Refusing(denied), tmp_path / "x.csv") == 2
    assert capsys.readouterr().err == f"CloudWatch refused GetMetricData for {ENDPOINT}: not authorized to GetMetricData\n"
    assert _export(Refusing(NoCredentialsError()), tmp_path / "x.csv") == 2
    assert "cannot read CloudWatch (Unable to locate credentials): check the AWS credentials and region" in capsys.readouterr().err
