"""Flagger's inputs for an automated model, the experiment and shadow routes, and Flagger's
chart values: checked against the real CRDs, kubernetes-validate and the real chart."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from components.compilers import flagger, helm_values
from components.compilers.rollout import served_versions
from components.compilers.routing import experiment_route, http_route
from components.compilers.serving import MODELS_NAMESPACE
from components.intent import versions
from components.planning import canary_model
from components.planning.canary_model import CanaryPlan
from tests.conftest import SHARED
from tests.factories import manual_canary_of, model_of

PROD = model_of("prod", "llama-8b")
STAGING = model_of("staging", "llama-8b")
DOMAIN = "models.internal"


def _objects(model):
    versions_ = served_versions(model)
    return [
        flagger.target_service(model, versions_),
        flagger.primary_service(model, versions_),
        *flagger.metric_templates(model, versions_),
        flagger.canary(model, versions_, f"{model.name}.{DOMAIN}", 600),
    ]


def test_every_flagger_object_validates_strictly(crd_validator, builtin_validator):
    docs = [*_objects(PROD), *_objects(model_of("prod", "llama-8b", canary=None)), *flagger.rbac(), flagger.flagger_alerts()]
    for doc in docs:
        if doc["apiVersion"].startswith(("flagger.app", "monitoring.coreos.com")):
            assert crd_validator(doc) == [], doc["metadata"]["name"]
        else:
            builtin_validator(doc, "1.35")


def test_experiment_and_shadow_routes_validate_strictly(crd_validator):
    versions_ = served_versions(STAGING)
    for doc in (http_route(STAGING, versions_, DOMAIN), experiment_route(STAGING, versions_, DOMAIN)):
        assert crd_validator(doc) == [], doc["metadata"]["name"]


def test_between_rollouts_the_canary_guards_any_version_change_with_the_slo():
    idle = _objects(model_of("prod", "llama-8b", canary=None))[-1]["spec"]["analysis"]
    assert idle["stepWeights"] == [10, 50, 100] and idle["threshold"] == 1
    assert [(m["name"], m["thresholdRange"]["max"]) for m in idle["metrics"]] == [("error-rate", 0.005), ("ttft-p99", 0.01)]
    assert {h["type"] for h in idle["webhooks"]} == {"confirm-traffic-increase", "confirm-promotion"}


def test_target_selects_the_candidate_and_primary_the_stable():
    target, primary, *_ = _objects(PROD)
    assert target["metadata"]["name"] == "llama-8b" and primary["metadata"]["name"] == "llama-8b-primary"
    assert target["spec"]["selector"] == {"serving.kserve.io/inferenceservice": "llama-8b-v2"}
    assert primary["spec"]["selector"] == {"serving.kserve.io/inferenceservice": "llama-8b-v1"}
    # Between rollouts both select the stable version: Flagger's baseline.
    idle_target, idle_primary, *_ = _objects(model_of("prod", "llama-8b", canary=None))
    assert idle_target["spec"]["selector"] == idle_primary["spec"]["selector"] == primary["spec"]["selector"]


def test_the_canary_targets_a_service_through_the_models_gateway():
    canary = _objects(PROD)[-1]["spec"]
    assert canary["targetRef"] == {"apiVersion": "v1", "kind": "Service", "name": "llama-8b"}
    assert canary["provider"] == "gatewayapi:v1"
    assert canary["service"]["gatewayRefs"] == [{"name": "models", "namespace": MODELS_NAMESPACE}]
    assert canary["service"]["hosts"] == ["llama-8b.models.internal"]
    analysis = canary["analysis"]
    assert analysis["threshold"] == 1 and analysis["stepWeights"] == [10, 25, 50, 100] and analysis["interval"] == "600s"
    hooks = {h["type"]: h for h in analysis["webhooks"]}
    assert set(hooks) == {"confirm-traffic-increase", "confirm-promotion"}
    url = urlparse(hooks["confirm-promotion"]["url"])
    assert (url.scheme, url.netloc, url.path) == ("http", "prometheus-operated.monitoring.svc:9090", "/api/v1/query")
    assert parse_qs(url.query)["query"] == [flagger.presence_query(PROD, served_versions(PROD))]


def test_metric_templates_read_absence_as_passing_and_quality_gates_name_both_versions():
    templates = {t["metadata"]["name"]: t["spec"]["query"] for t in _objects(PROD) if t["kind"] == "MetricTemplate"}
    assert set(templates) == {f"llama-8b-{k}" for k in ("error-rate", "error-rate-vs-stable", "ttft-p99", "ttft-p99-vs-stable", "quality")}
    assert all(q.endswith(" or on() vector(0)") for q in templates.values())
    assert 'inferenceservice="llama-8b-v2",baseline="llama-8b-v1"' in templates["llama-8b-quality"]


def test_rbac_is_namespaced_and_never_reaches_secrets_or_deployments():
    docs = flagger.rbac()
    assert {d["kind"] for d in docs} == {"Role", "RoleBinding"}
    rules = [r for d in docs if d["kind"] == "Role" for r in d["rules"]]
    resources = {res for r in rules for res in r["resources"]}
    assert not resources & {"secrets", "deployments", "configmaps", "pods"}
    assert all("*" not in r["verbs"] and "delete" not in r["verbs"] for r in rules if r["resources"] != ["leases"])


def _target_hash(model) -> str:
    spec = flagger.target_service(model, served_versions(model))["spec"]
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def test_an_up_after_a_rollback_keeps_the_candidate_at_zero_until_the_stack_changes():
    """Pulumi writes no weight for an automated model (no HTTPRoute of ours; Flagger owns it)
    and the target Service it re-applies is the one Flagger already analysed: no new run."""
    plan = CanaryPlan.from_manifest(_objects(PROD)[-1])
    state = canary_model.initial(_target_hash(model_of("prod", "llama-8b", canary=None)))
    state = canary_model.tick(plan, state, _target_hash(PROD), [], True)
    state = canary_model.tick(plan, state, _target_hash(PROD), [], True)  # first step: 10 %
    state = canary_model.tick(plan, state, _target_hash(PROD), ["breach"], True)
    state = canary_model.tick(plan, state, _target_hash(PROD), ["breach"], True)
    assert (state.phase, state.weight) == ("Failed", 0)
    # `pulumi up` with the same stack file: the same target spec, many intervals later.
    again = model_of("prod", "llama-8b")
    for _ in range(5):
        state = canary_model.tick(plan, state, _target_hash(again), ["pass"], True)
    assert (state.phase, state.weight) == ("Failed", 0)
    # A new candidate in the stack file is a new target spec: a new analysis from 0.
    v3 = model_of("prod", "llama-8b", canary={"version": "v3", "source": "s3://acme-ml-serving-models-prod/llama-3.1-8b-instruct/v3/"})
    state = canary_model.tick(plan, state, _target_hash(v3), ["pass"], True)
    assert (state.phase, state.weight) == ("Progressing", 0)


def test_an_automated_model_renders_no_route_of_its_own(previews):
    preview = previews("prod")
    routes = [r for r in preview.recording.resources if r.type.endswith("HTTPRoute")]
    names = {r.inputs["metadata"]["name"] for r in routes}
    assert "llama-8b" not in names and {"llama-70b", "sentiment"} <= names
    canaries = [r for r in preview.recording.resources if r.type == "kubernetes:flagger.app/v1beta1:Canary"]
    assert [c.inputs["metadata"]["name"] for c in canaries] == ["llama-8b"]


def test_manual_canaries_keep_their_weighted_route():
    manual = manual_canary_of("prod", "llama-8b", 25)
    backends = http_route(manual, served_versions(manual), DOMAIN)["spec"]["rules"][0]["backendRefs"]
    assert [(b["name"], b["weight"]) for b in backends] == [("llama-8b-v1-predictor", 75), ("llama-8b-v2-predictor", 25)]


def test_shadow_mirrors_its_share_and_takes_no_unmarked_requests():
    rule = http_route(STAGING, served_versions(STAGING), DOMAIN)["spec"]["rules"][0]
    assert [b["name"] for b in rule["backendRefs"]] == ["llama-8b-v1-predictor", "llama-8b-v2-predictor"]
    assert rule["filters"] == [{"type": "RequestMirror", "requestMirror": {
        "backendRef": {"group": "", "kind": "Service", "name": "llama-8b-v3-predictor", "port": 80}, "percent": 10}}]
    assert rule["sessionPersistence"]["type"] == "Cookie" and rule["sessionPersistence"]["absoluteTimeout"] == "24h"


def test_experiment_rules_match_a_header_or_a_cookie():
    import re

    route = experiment_route(STAGING, served_versions(STAGING), DOMAIN)
    header, cookie = (r["matches"][0]["headers"][0] for r in route["spec"]["rules"])
    assert header == {"type": "Exact", "name": "X-Experiment-Group", "value": "B"}
    assert route["spec"]["rules"][0]["backendRefs"][0]["name"] == "llama-8b-v2-predictor"
    assert cookie["name"] == "Cookie" and cookie["type"] == "RegularExpression"
    # Envoy matches the whole header value (RE2 full match).
    assert re.fullmatch(cookie["value"], "ml-cohort=control")
    assert re.fullmatch(cookie["value"], "session=1; ml-cohort=control; theme=dark")
    assert not re.fullmatch(cookie["value"], "ml-cohort=controlled")
    assert not re.fullmatch(cookie["value"], "xml-cohort=control")


CHART = SHARED / "charts" / f"flagger-{versions.CHARTS['flagger'].version}.tgz"
HELM_RENDER = SHARED / "tools" / "helm_render.py"


@pytest.fixture(scope="module")
def flagger_values(tmp_path_factory) -> Path:
    if not CHART.exists() or not HELM_RENDER.exists():
        pytest.skip(f"{CHART} or {HELM_RENDER} is absent (../shared)")
    path = tmp_path_factory.mktemp("flagger") / "values.yaml"
    path.write_text(yaml.safe_dump(helm_values.flagger(MODELS_NAMESPACE)))
    return path


def test_flagger_values_are_all_read_by_the_chart(flagger_values):
    out = subprocess.run([sys.executable, str(HELM_RENDER), str(CHART), "--values", str(flagger_values), "--unknown-values"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_flagger_renders_leader_elected_scraped_and_budgeted(flagger_values):
    out = subprocess.run(
        [sys.executable, str(HELM_RENDER), str(CHART), "--values", str(flagger_values), "--release", "flagger",
         "--namespace", "flagger-system", "--api-versions", "monitoring.coreos.com/v1"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    docs = {d["kind"]: d for d in yaml.safe_load_all(out.stdout) if d}
    assert "ClusterRole" not in docs and "ClusterRoleBinding" not in docs
    deployment = docs["Deployment"]["spec"]
    args = deployment["template"]["spec"]["containers"][0]["command"]
    assert {"-mesh-provider=gatewayapi:v1", f"-namespace={MODELS_NAMESPACE}", "-enable-leader-election=true",
            f"-metrics-server={helm_values.PROMETHEUS_URL}"} <= set(args)
    assert deployment["replicas"] == 2
    assert docs["PodDisruptionBudget"]["spec"]["minAvailable"] == 1
    assert docs["ServiceMonitor"]["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    context = deployment["template"]["spec"]["containers"][0]["securityContext"]
    assert context["runAsNonRoot"] and context["readOnlyRootFilesystem"] and context["capabilities"] == {"drop": ["ALL"]}
    assert docs["ServiceAccount"]["metadata"]["name"] == flagger.SERVICE_ACCOUNT


@pytest.mark.parametrize("canary_block", [None, "in-flight"])
def test_prods_automated_rollback_policy_accepts_what_we_render(canary_block):
    from tests.policies.world import violations, world

    model = PROD if canary_block else model_of("prod", "llama-8b", canary=None)
    w = world()
    w["flagger_canary"].inputs = _objects(model)[-1]
    assert violations(w) == []
