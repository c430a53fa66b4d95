"""The adapter init container's copy from S3, run against moto."""
import importlib.util
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

SCRIPT = Path(__file__).resolve().parents[2] / "containers" / "vllm" / "fetch_adapters.py"
spec = importlib.util.spec_from_file_location("fetch_adapters", SCRIPT)
fetch_adapters = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fetch_adapters)


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="models")
        yield client


def test_copies_the_whole_adapter_folder_and_nothing_beside_it(s3, tmp_path):
    for key in ("adapters/sql/v1/adapter_config.json", "adapters/sql/v1/adapter_model.safetensors",
                "adapters/sql/v1/nested/tokenizer.json", "adapters/sql/v10/adapter_config.json"):
        s3.put_object(Bucket="models", Key=key, Body=key.encode())
    dest = tmp_path / "sql"
    assert fetch_adapters.main([f"s3://models/adapters/sql/v1/={dest}"], client=s3) == 0
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == ["adapter_config.json", "adapter_model.safetensors", "nested/tokenizer.json"]
    assert (dest / "adapter_config.json").read_text() == "adapters/sql/v1/adapter_config.json"


def test_a_prefix_without_a_slash_is_still_a_folder(s3, tmp_path):
    s3.put_object(Bucket="models", Key="a/v1/adapter_config.json", Body=b"{}")
    s3.put_object(Bucket="models", Key="a/v10/adapter_config.json", Body=b"other")
    assert fetch_adapters.main([f"s3://models/a/v1={tmp_path / 'a'}"], client=s3) == 0
    assert (tmp_path / "a" / "adapter_config.json").read_text() == "{}"


def test_an_adapter_without_its_config_fails_the_pod_start(s3, tmp_path, capsys):
    s3.put_object(Bucket="models", Key="x/v1/weights.bin", Body=b"0")
    assert fetch_adapters.main([f"s3://models/x/v1/={tmp_path / 'x'}"], client=s3) == 65
    assert "has no adapter_config.json" in capsys.readouterr().err


def test_a_malformed_argument_is_refused(capsys):
    assert fetch_adapters.main(["/adapters/x"], client=object()) == 64
    assert fetch_adapters.main([], client=object()) == 64
