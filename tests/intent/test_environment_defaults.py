"""Decisions that follow from the environment live in the intent, where the program reads them."""
import pytest

from components.intent.stack import SageMakerSpec
from tests.conftest import parse, stack_config


@pytest.mark.parametrize(("stack", "protects", "interceptors"), [("dev", False, 1), ("staging", False, 1), ("prod", True, 2)])
def test_protection_and_interceptor_replicas_follow_the_environment(stack, protects, interceptors):
    spec = parse(stack_config(stack))
    assert spec.protects_stateful is protects
    assert spec.interceptor_min_replicas == interceptors


def test_a_sagemaker_stack_without_its_section_gets_the_sections_defaults():
    config = stack_config("sagemaker-dev")
    config.pop("ml-serving:sagemaker", None)
    assert parse(config).sagemaker_settings == SageMakerSpec()
    assert parse(stack_config("sagemaker-prod")).sagemaker_settings == parse(stack_config("sagemaker-prod")).sagemaker
