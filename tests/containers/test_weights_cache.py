"""The node's copy of S3 weights (containers/vllm/weights_cache.py), run against moto: which
flags a replica starts with, when a copy is made, kept, refused or not trusted."""
import importlib.util
import json
from collections import namedtuple
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

SCRIPT = Path(__file__).resolve().parents[2] / "containers" / "vllm" / "weights_cache.py"
spec = importlib.util.spec_from_file_location("weights_cache", SCRIPT)
weights_cache = importlib.util.module_from_spec(spec)
spec.loader.exec_module(weights_cache)

SOURCE = "s3://models/llama-8b/v1/"
FILES = {"config.json": b"{}", "model-00001.safetensors": b"x" * 4096, "tokenizer/tokenizer.json": b"{}"}
FLAGS = [f"--model={SOURCE}", "--load-format=runai_streamer", "--served-model-name=llama-8b", "--port=8080"]
Usage = namedtuple("Usage", "total used free")
ROOMY = Usage(total=1000 * 2**30, used=0, free=1000 * 2**30)


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="models")
        for name, body in FILES.items():
            client.put_object(Bucket="models", Key=f"llama-8b/v1/{name}", Body=body)
        # A neighbour sharing the prefix's first characters is not part of the model.
        client.put_object(Bucket="models", Key="llama-8b/v10/config.json", Body=b"{}")
        yield client


def prepare(s3, root, flags=FLAGS):
    spawned = []
    result = weights_cache.prepare(list(flags), root, client=s3, spawn=spawned.append)
    return result, spawned


def fill(s3, root, usage=ROOMY):
    return weights_cache.fill(SOURCE, root, client=s3, disk_usage=lambda _: usage)


def test_first_replica_streams_from_s3_and_starts_the_copy_after_its_health_check(s3, tmp_path):
    flags, spawned = prepare(s3, tmp_path)
    assert flags == FLAGS
    assert spawned == [[SOURCE, str(tmp_path), "http://127.0.0.1:8080/health"]]


def test_after_the_copy_the_next_replica_loads_from_the_node(s3, tmp_path):
    assert fill(s3, tmp_path).startswith("copied 3 files")
    flags, spawned = prepare(s3, tmp_path)
    local = tmp_path / weights_cache.cache_key(SOURCE)
    assert flags == [f"--model={local}", *FLAGS[1:]]
    assert spawned == []
    assert sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()) == sorted(FILES)
    assert (local / "model-00001.safetensors").read_bytes() == FILES["model-00001.safetensors"]


def test_the_two_word_model_flag_is_rewritten_in_place(s3, tmp_path):
    fill(s3, tmp_path)
    flags, _ = prepare(s3, tmp_path, ["--model", SOURCE, "--port", "9000"])
    assert flags == ["--model", str(tmp_path / weights_cache.cache_key(SOURCE)), "--port", "9000"]


def test_a_prefix_reuploaded_in_place_is_streamed_again_not_served_stale(s3, tmp_path):
    fill(s3, tmp_path)
    s3.put_object(Bucket="models", Key="llama-8b/v1/model-00001.safetensors", Body=b"y" * 4096)
    flags, spawned = prepare(s3, tmp_path)
    assert flags == FLAGS and len(spawned) == 1
    # The refill replaces the copy, and then it is trusted again.
    assert fill(s3, tmp_path).startswith("copied")
    local = tmp_path / weights_cache.cache_key(SOURCE)
    assert (local / "model-00001.safetensors").read_bytes() == b"y" * 4096
    assert prepare(s3, tmp_path)[0][0] == f"--model={local}"


def test_a_file_missing_from_the_copy_makes_it_untrusted(s3, tmp_path):
    fill(s3, tmp_path)
    (tmp_path / weights_cache.cache_key(SOURCE) / "tokenizer" / "tokenizer.json").unlink()
    assert prepare(s3, tmp_path)[0] == FLAGS


def test_a_killed_copy_is_never_used(s3, tmp_path):
    # What a copy interrupted mid-way leaves: files but no manifest.
    partial = tmp_path / f".{weights_cache.cache_key(SOURCE)}.partial"
    partial.mkdir()
    (partial / "config.json").write_text("{}")
    assert prepare(s3, tmp_path)[0] == FLAGS
    assert fill(s3, tmp_path).startswith("copied")
    assert not partial.exists()


def test_the_copy_is_refused_where_it_would_leave_less_than_the_reserve_free(s3, tmp_path):
    need = sum(len(body) for body in FILES.values())
    total = 100 * 2**20
    reserve = weights_cache.RESERVE_FRACTION * total
    # Exactly the reserve left after the copy: allowed; one byte less: refused.
    at_limit = Usage(total=total, used=0, free=int(reserve) + need)
    below = Usage(total=total, used=0, free=int(reserve) + need - 1)
    refused = fill(s3, tmp_path, below)
    assert refused.startswith("not copied") and "20%" in refused
    assert prepare(s3, tmp_path)[0] == FLAGS
    assert fill(s3, tmp_path, at_limit).startswith("copied")


def test_a_second_replica_on_the_node_does_not_copy_beside_the_first(s3, tmp_path):
    import fcntl

    tmp_path.mkdir(exist_ok=True)
    with open(tmp_path / f"{weights_cache.cache_key(SOURCE)}.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert fill(s3, tmp_path) == "another replica on this node is copying it"
    assert fill(s3, tmp_path).startswith("copied")
    assert fill(s3, tmp_path) == "already on this node"


def test_a_manifest_for_another_source_is_not_trusted(s3, tmp_path):
    fill(s3, tmp_path)
    manifest = tmp_path / f"{weights_cache.cache_key(SOURCE)}.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "source": "s3://models/other/"}))
    assert prepare(s3, tmp_path)[0] == FLAGS


def test_hugging_face_and_local_models_pass_through_without_touching_s3(tmp_path):
    flags = ["--model=meta-llama/Llama-3.1-8B-Instruct", "--revision=abc"]
    assert weights_cache.prepare(flags, tmp_path, client=object(), spawn=pytest.fail) == flags


def test_fill_waits_for_the_server_and_gives_up_when_it_never_answers():
    answers = iter([False, False, True])
    slept = []
    assert weights_cache.wait_healthy("http://x/health", probe=lambda _: next(answers), sleep=slept.append)
    assert slept == [weights_cache.HEALTH_POLL_S] * 2
    assert not weights_cache.wait_healthy("http://x/health", probe=lambda _: False, sleep=lambda _: None, wait_s=30)


def test_prepare_without_the_cache_directory_fails_so_the_entrypoint_streams(monkeypatch, capsys):
    monkeypatch.delenv("ML_SERVING_WEIGHTS_CACHE", raising=False)
    assert weights_cache.main(["prepare", *FLAGS]) == 64
    assert "ML_SERVING_WEIGHTS_CACHE" in capsys.readouterr().err


def test_an_unreachable_s3_is_one_line_and_a_non_zero_exit(monkeypatch, tmp_path, capsys):
    def unreachable(*_, **__):
        raise OSError("could not connect to the endpoint URL")

    monkeypatch.setenv("ML_SERVING_WEIGHTS_CACHE", str(tmp_path))
    monkeypatch.setattr(weights_cache, "prepare", unreachable)
    assert weights_cache.main(["prepare", *FLAGS]) == 70
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "could not connect" in captured.err


def test_the_copier_runs_this_script_detached_with_the_fill_command(monkeypatch):
    started = {}

    class Popen:
        def __init__(self, argv, **options):
            started.update(argv=argv, **options)

    monkeypatch.setattr(weights_cache.subprocess, "Popen", Popen)
    weights_cache.detach([SOURCE, "/cache/weights", "http://127.0.0.1:8080/health"])
    assert started["argv"][1:] == [str(SCRIPT), "fill", SOURCE, "/cache/weights", "http://127.0.0.1:8080/health"]
    # Its own session: it outlives `prepare` and the entrypoint's exec; nothing of it on stdout,
    # which carries the rewritten flags.
    assert started["start_new_session"] is True and started["stdout"] is weights_cache.sys.stderr
    assert weights_cache.main(["fill", SOURCE]) == 64
