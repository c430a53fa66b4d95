"""Validation a reviewer would otherwise have to catch: impossible pins and domains."""
from __future__ import annotations

import pytest

from tests.conftest import problems_of


@pytest.mark.parametrize("version", ["*", ">=0.1.0", "~1.2", "latest", "0.20", "v0.20.0 || v0.19.0"])
def test_an_addon_version_is_one_exact_version(dev_config, version):
    dev_config["ml-serving:cluster"]["addon_versions"] = {"kserve": version}
    [problem] = problems_of(dev_config)
    assert problem.startswith("ml-serving:cluster.addon_versions.kserve: ")
    assert "give one exact chart version such as 1.2.3 or v1.2.3; a range or wildcard lets Helm pick" in problem


@pytest.mark.parametrize("domain", ["amazonaws.com", "s3.us-east-1.amazonaws.com", "amazon.com", "models.aws"])
def test_the_model_domain_is_never_aws_own(dev_config, domain):
    dev_config["ml-serving:cluster"]["model_domain"] = domain
    [problem] = problems_of(dev_config)
    assert "the private zone would shadow the service endpoints nodes need inside the VPC" in problem


def test_previous_percent_is_a_step(dev_config):
    model = next(m for m in dev_config["ml-serving:models"] if m["runtime"] == "vllm")
    model["autoscaling"]["scale_to_zero"] = False
    model["canary"] = {"version": "v2", "source": model["source"].replace("v1", "v2") + "x/", "steps": [10, 50, 100],
                       "traffic_percent": 50, "previous_percent": 30, "gates": [{"metric": "error_rate", "max_value": 0.01}]}
    problems = problems_of(dev_config)
    assert any("previous_percent is a step the candidate was at: 0 or one of [10, 50, 100]; got 30" in p for p in problems)
