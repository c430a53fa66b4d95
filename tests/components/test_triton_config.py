"""TritonConfigObject under the recording mocks: one encrypted config.pbtxt per model repository."""
from __future__ import annotations

import pulumi
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from components.compilers.triton import config_pbtxt
from components.intent.model import ModelSpec
from components.preview.engine import Recording, run_under_mocks
from components.triton_config import TritonConfigObject, TritonConfigObjectArgs
from tests.factories import model_of

KEY = "arn:aws:kms:us-east-1:123456789012:key/k"
BUCKET = "acme-ml-serving-models-prod"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
COMPONENT = "ml-serving:triton_config:TritonConfigObject"
CANARY = {
    "version": "v4",
    "source": f"s3://{BUCKET}/distilbert-sentiment-onnx/v4",
    "steps": [10, 50, 100],
    "traffic_percent": 10,
    "gates": [{"metric": "error_rate", "max_value": 0.02}],
}


def _run(model: ModelSpec) -> Recording:
    return run_under_mocks(
        lambda: TritonConfigObject("triton-sentiment", TritonConfigObjectArgs(model=model, bucket=BUCKET, key_arn=KEY)),
        stack="prod",
    )


@pytest.fixture(scope="module")
def sentiment() -> ModelSpec:
    return model_of("prod", "sentiment")


def test_config_lands_beside_the_model_in_its_repository(sentiment):
    recording = _run(sentiment)
    (obj,) = recording.of_type(OBJECT)
    assert obj.name == "triton-sentiment-v1"
    assert obj.parent == recording.get(COMPONENT, "triton-sentiment").urn
    assert obj.inputs["bucket"] == BUCKET
    # The source prefix is the model repository root; Triton wants <root>/<model>/config.pbtxt.
    assert obj.inputs["key"] == "distilbert-sentiment-onnx/v3/sentiment/config.pbtxt"
    assert obj.inputs["contentType"] == "text/plain"


def test_content_is_the_compiled_config_and_parses_as_triton_model_config(sentiment):
    (obj,) = _run(sentiment).of_type(OBJECT)
    assert obj.inputs["content"] == config_pbtxt("sentiment", sentiment.triton)
    message = text_format.Parse(obj.inputs["content"], model_config_pb2.ModelConfig())
    assert message.name == "sentiment"


def test_object_is_encrypted_with_the_stack_key(sentiment):
    (obj,) = _run(sentiment).of_type(OBJECT)
    assert obj.inputs["serverSideEncryption"] == "aws:kms"
    assert obj.inputs["kmsKeyId"] == KEY
    assert obj.inputs["bucketKeyEnabled"] is True


def test_a_canary_gets_its_own_copy_in_its_own_repository():
    model = model_of("prod", "sentiment", canary=CANARY)
    recording = _run(model)
    keys = {o.name: o.inputs["key"] for o in recording.of_type(OBJECT)}
    # A source without the trailing slash still names a directory.
    assert keys == {
        "triton-sentiment-v1": "distilbert-sentiment-onnx/v3/sentiment/config.pbtxt",
        "triton-sentiment-v4": "distilbert-sentiment-onnx/v4/sentiment/config.pbtxt",
    }


def test_a_vllm_model_is_refused():
    with pytest.raises(pulumi.RunError, match="needs a model with a `triton` block"):
        _run(model_of("prod", "llama-8b"))
