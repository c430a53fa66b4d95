"""What KEDA's Prometheus trigger reads, evaluated by promtool on synthetic scrapes: with
ignoreNullValues "false", an empty result is an error and KEDA's fallback holds replicas, so the
query must be empty exactly when the signal is lost, and a number otherwise."""
from __future__ import annotations

import yaml

from components.compilers import metrics
from components.compilers.keda import scaled_object
from components.compilers.rollout import served_versions
from components.compilers.serving import MODELS_NAMESPACE
from tests.alerting.cases import healthy
from tests.alerting.synthetic import input_series
from tests.alerting.tools import run, tool
from tests.factories import model_of


def _trigger(served, wake):
    model = served.model
    query = metrics.load(model.runtime, model.autoscaling.signal, metrics.selector(MODELS_NAMESPACE, served.name))
    return scaled_object(served, query, wake)["spec"]["triggers"][0]["metadata"]


def _reads(tmp_path, served, traffic, query, expected: float | None) -> bool:
    """Whether the query returns exactly `expected` (None: no sample at all)."""
    promtool = tool("promtool")
    (tmp_path / "none.rules.yml").write_text(yaml.safe_dump({"groups": []}))
    test = {
        "rule_files": ["none.rules.yml"],
        "tests": [{
            "interval": "1m",
            "input_series": input_series([served], {served.name: lambda m: traffic}, 10),
            "promql_expr_test": [{"expr": query, "eval_time": "10m",
                                  "exp_samples": [] if expected is None else [{"labels": "{}", "value": expected}]}],
        }],
    }
    (tmp_path / "q.test.yml").write_text(yaml.safe_dump(test, width=10**9))
    result = run([promtool, "test", "rules", "q.test.yml"], tmp_path)
    return result.returncode == 0


def test_every_trigger_lets_an_empty_result_be_an_error():
    for stack, name in (("prod", "llama-8b"), ("dev", "llama-8b"), ("dev", "sentiment")):
        model = model_of(stack, name)
        for served in served_versions(model):
            wake = served.name if model.autoscaling.scale_to_zero else None
            assert _trigger(served, wake)["ignoreNullValues"] == "false"


def test_queue_query_is_empty_when_the_scrape_is_lost_and_a_number_otherwise(tmp_path):
    queue = {"signal": "queue_depth", "target": 4}
    served = served_versions(model_of("dev", "llama-8b", autoscaling=queue))[0]
    query = _trigger(served, wake=served.name)["query"]
    base = healthy(served).with_(queue=3)
    # A lost scrape with ready replicas reads as no data: KEDA errors and its fallback holds.
    assert _reads(tmp_path, served, base.with_(scraped=False), query, None)
    assert not _reads(tmp_path, served, base.with_(scraped=False), query, 0)
    assert _reads(tmp_path, served, base, query, 3)
    # At zero replicas nothing exports metrics: that is zero load, not an error.
    assert _reads(tmp_path, served, base.with_(replicas=0, available=0), query, 0)


def test_request_rate_query_is_empty_when_the_scrape_is_lost_and_zero_at_zero_replicas(tmp_path):
    served = served_versions(model_of("dev", "llama-8b"))[0]
    assert served.model.autoscaling.signal == "requests_per_second"
    query = _trigger(served, wake=served.name)["query"]
    base = healthy(served)
    assert _reads(tmp_path, served, base.with_(scraped=False), query, None)
    assert _reads(tmp_path, served, base.with_(replicas=0, available=0), query, 0)
