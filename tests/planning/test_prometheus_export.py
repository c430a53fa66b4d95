"""The Prometheus traffic export against a local stand-in for /api/v1/query_range: the
queries it sends, the chunks it asks for, the CSV it writes, and that the planner reads it
back at the rates Prometheus gave."""
from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from components.planning import prometheus_export
from components.planning.prometheus_export import main
from components.planning.recorded import from_csv

START = 1_764_460_800  # 2025-11-30T00:00:00Z


class _Prometheus(BaseHTTPRequestHandler):
    """Requests per second: 2 in the first half hour, 0.25 after; lengths 900 and 120 where
    there are requests; every query logged."""

    log: list[dict[str, str]] = []
    fail: int | None = None

    def do_GET(self):  # noqa: N802 - http.server's name
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(self.path).query))
        type(self).log.append(query)
        if type(self).fail is not None:
            self._answer(type(self).fail, {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"})
            return
        start, end, step = float(query["start"]), float(query["end"]), float(query["step"].rstrip("s"))
        values = []
        moment = start
        while moment <= end:
            rate = 2.0 if moment < START + 1800 else 0.25
            expression = query["query"]
            if "prompt_tokens" in expression:
                value = "900"
            elif "generation_tokens" in expression:
                value = "NaN" if moment == START + 3000 else "120"
            else:
                value = str(rate)
            values.append([moment, value])
            moment += step
        self._answer(200, {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": values}]}})

    def _answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def prometheus():
    _Prometheus.log, _Prometheus.fail = [], None
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Prometheus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _export(url: str, out: Path, *extra: str) -> int:
    return main(["--stack", "prod", "--model", "llama-8b", "--start", "2025-11-30T00:00:00Z", "--end",
                 "2025-11-30T01:00:00Z", "--prometheus", url, "--out", str(out), *extra])


def test_the_export_queries_every_version_of_the_model_and_writes_what_the_planner_reads(prometheus, tmp_path, capsys):
    out = tmp_path / "traffic" / "llama-8b.csv"
    assert _export(prometheus, out) == 0
    assert capsys.readouterr().out == f"Wrote 61 rows of llama-8b's traffic to {out}\n"
    queries = [q["query"] for q in _Prometheus.log]
    selector = 'namespace="models",ml_serving_model="llama-8b"'
    assert queries == [
        f"sum(rate(vllm:request_success_total{{{selector}}}[60s]))",
        f"sum(rate(vllm:request_prompt_tokens_sum{{{selector}}}[60s])) / sum(rate(vllm:request_prompt_tokens_count{{{selector}}}[60s]))",
        f"sum(rate(vllm:request_generation_tokens_sum{{{selector}}}[60s])) / sum(rate(vllm:request_generation_tokens_count{{{selector}}}[60s]))",
    ]
    lines = out.read_text().splitlines()
    assert lines[0] == "timestamp_s,requests_per_s,prompt_tokens,output_tokens"
    # A point is the rate over the minute before it: its row starts a step earlier.
    assert lines[1] == f"{START - 60},2,900,120" and lines[-1] == f"{START + 3540},0.25,900,120"
    # A 0/0 mean (NaN) is left empty: the planner fills it with the file's mean.
    assert f"{START + 2940},0.25,900," in lines
    trace = from_csv(out)
    assert trace.opens_at() == "2025-11-29T23:59:00Z"
    # Points before START + 1800 s say 2 req/s: rows from START - 60 to START + 1740.
    first, rest = sum(1 for t in trace.arrivals if t < 1860), sum(1 for t in trace.arrivals if t >= 1860)
    assert abs(first - 3720) < 4 * 61 and abs(rest - 1800 * 0.25) < 4 * 22


def test_a_long_range_is_asked_in_chunks_prometheus_accepts(prometheus, tmp_path, monkeypatch):
    monkeypatch.setattr(prometheus_export, "MAX_POINTS", 25)
    out = tmp_path / "chunked.csv"
    assert _export(prometheus, out) == 0
    rates = [q for q in _Prometheus.log if "success" in q["query"]]
    points = [(float(q["end"]) - float(q["start"])) / 60 + 1 for q in rates]
    assert points == [25, 25, 11] and len(out.read_text().splitlines()) == 62


def test_prometheus_errors_and_bad_arguments_are_one_message_each(prometheus, tmp_path, capsys):
    _Prometheus.fail = 400
    assert _export(prometheus, tmp_path / "x.csv") == 2
    assert "Prometheus answered 400" in capsys.readouterr().err and not (tmp_path / "x.csv").exists()
    assert _export("http://127.0.0.1:9", tmp_path / "x.csv") == 2
    assert "cannot reach Prometheus" in capsys.readouterr().err
    assert main(["--stack", "prod", "--model", "nope", "--start", "2025-11-30T01:00:00Z", "--end", "2025-11-30T00:00:00Z",
                 "--step", "0", "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "--step must be at least 1 second, got 0"
    assert err[1] == "--end (2025-11-30T00:00:00Z) must be after --start (2025-11-30T01:00:00Z)"
    assert err[2].endswith("no model named nope; models: llama-8b, llama-70b, llama-405b, sentiment")
    assert main(["--stack", "sagemaker-prod", "--model", "llama-8b", "--start", "2025-11-30T00:00:00Z", "--end",
                 "2025-11-30T01:00:00Z", "--out", str(tmp_path / "x.csv")]) == 2
    assert "a SageMaker stack's traffic is in CloudWatch" in capsys.readouterr().err


def test_triton_models_are_selected_by_our_pod_label_and_shadows_left_out(prometheus, tmp_path):
    assert main(["--stack", "dev", "--model", "sentiment", "--start", "2025-11-30T00:00:00Z", "--end",
                 "2025-11-30T00:10:00Z", "--prometheus", prometheus, "--out", str(tmp_path / "s.csv")]) == 0
    # Triton labels its series `model`, not model_name: our PodMonitors' copy of the pod label.
    assert [q["query"] for q in _Prometheus.log] == [
        'sum(rate(nv_inference_request_success{namespace="models",ml_serving_model="sentiment"}[60s]))']
    assert (tmp_path / "s.csv").read_text().splitlines()[0] == "timestamp_s,requests_per_s"
    _Prometheus.log.clear()
    # staging mirrors llama-8b's requests to a shadow v3: copies, not traffic.
    assert main(["--stack", "staging", "--model", "llama-8b", "--start", "2025-11-30T00:00:00Z", "--end",
                 "2025-11-30T00:10:00Z", "--prometheus", prometheus, "--out", str(tmp_path / "l.csv")]) == 0
    assert 'ml_serving_model="llama-8b",ml_serving_version!~"v3"}' in _Prometheus.log[0]["query"]


class _Garbage(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", str(len(type(self).body)))
        self.end_headers()
        self.wfile.write(type(self).body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("body", [b"\xff\xfe not text", b"[]", b'{"status": "success", "data": null}',
                                  b'{"status": "success", "data": {"result": [{"values": [[1, "x"]]}]}}'])
def test_answers_that_are_not_prometheus_are_one_message(tmp_path, capsys, body):
    _Garbage.body = body
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert _export(f"http://127.0.0.1:{server.server_address[1]}", tmp_path / "x.csv") == 2
    finally:
        server.shutdown()
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and "Prometheus" in err


def test_bad_urls_spans_and_outputs_are_refused_before_or_without_a_traceback(prometheus, tmp_path, capsys):
    assert _export("prometheus.local:9090", tmp_path / "x.csv") == 2
    assert "--prometheus must be an http:// or https:// URL, got 'prometheus.local:9090'" in capsys.readouterr().err
    assert main(["--stack", "prod", "--model", "llama-8b", "--start", "2025-11-01T00:00:00Z", "--end",
                 "2025-11-30T00:00:00Z", "--out", str(tmp_path / "x.csv")]) == 2
    assert "spans 29.0 days; the planner replays at most 14" in capsys.readouterr().err
    assert _export(prometheus, tmp_path) == 2
    assert f"{tmp_path}: cannot write the export" in capsys.readouterr().err
