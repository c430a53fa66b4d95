"""The loader's contract: one message naming the file, every field path and what is allowed."""
import json

import pytest

from components.intent.loading import SpecError, parse_stack_config
from tests.conftest import parse, problems_of


def test_message_names_the_file_every_problem_and_promises_no_change(dev_config):
    dev_config["ml-serving:environment"] = "qa"
    dev_config["ml-serving:models"][0]["autoscaling"]["max_replicas"] = 500
    with pytest.raises(SpecError) as caught:
        parse_stack_config(dev_config, "stacks/Pulumi.qa.yaml")
    assert str(caught.value) == (
        "stacks/Pulumi.qa.yaml: 2 problems in the stack configuration:\n"
        "  - ml-serving:environment: Input should be 'dev', 'staging' or 'prod' (got 'qa')\n"
        "  - ml-serving:models[0].autoscaling.max_replicas: Input should be less than or equal to 100 (got 500)\n"
        "Nothing was created, changed or deleted."
    )


def test_a_misspelt_stack_key_is_an_error_with_a_suggestion(dev_config):
    dev_config["ml-serving:modles"] = dev_config.pop("ml-serving:models")
    assert problems_of(dev_config) == [
        "ml-serving:modles: unknown key (did you mean ml-serving:models?); allowed: ml-serving:alerting, ml-serving:cluster, "
        "ml-serving:environment, ml-serving:images, ml-serving:models, ml-serving:network, ml-serving:sagemaker, "
        "ml-serving:storage, ml-serving:tags, ml-serving:target"
    ]


def test_a_misspelt_nested_field_lists_the_allowed_fields(dev_config):
    dev_config["ml-serving:models"][0]["autoscaling"]["max_replica"] = 3
    assert problems_of(dev_config) == [
        "ml-serving:models[0].autoscaling.max_replica: unknown field (did you mean max_replicas?); allowed: "
        "combined, idle_timeout_s, max_replicas, min_replicas, scale_down_window_s, scale_to_zero, "
        "scale_up_window_s, schedule, signal, single_replica_reason, target, warm_pool"
    ]


def test_unknown_field_inside_a_list_of_pools(dev_config):
    dev_config["ml-serving:cluster"]["gpu_pools"][0]["max_nodes"] = 3
    problems = problems_of(dev_config)
    assert problems == [
        "ml-serving:cluster.gpu_pools[0].max_nodes: unknown field; allowed: ami, capacity_type, cold_start, disk_gib, "
        "efa, instance_types, labels, max_size, min_size, name, placement, warm_pool, zone_index"
    ]


def test_missing_region_says_how_to_set_it(dev_config):
    del dev_config["aws:region"]
    assert problems_of(dev_config) == ["aws:region: required; set it with `pulumi config set aws:region us-east-1`"]


def test_missing_required_field(dev_config):
    del dev_config["ml-serving:models"][0]["slo"]
    assert problems_of(dev_config) == ["ml-serving:models[0].slo: required field is missing"]


def test_other_namespaces_belong_to_providers(dev_config):
    dev_config["aws:skipCredentialsValidation"] = True
    dev_config["kubernetes:enableServerSideApply"] = True
    assert parse(dev_config).environment == "dev"


def test_values_arrive_as_json_text_from_the_engine(dev_config):
    as_engine_passes_them = {k: v if isinstance(v, str) else json.dumps(v) for k, v in dev_config.items()}
    assert parse(as_engine_passes_them) == parse(dev_config)


def test_an_empty_config_lists_every_required_key():
    assert problems_of({}) == [
        "ml-serving:environment: required field is missing",
        "ml-serving:target: required field is missing",
        "aws:region: required; set it with `pulumi config set aws:region us-east-1`",
        "ml-serving:tags: required field is missing",
        "ml-serving:storage: required field is missing",
    ]
