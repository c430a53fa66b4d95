"""A replica across nodes has no Deployment: its availability alerts read pods joined to their
LeaderWorkerSet labels, which kube-state-metrics must be allowed to export."""
from components.compilers import group_alerts, helm_values
from components.compilers.monitoring import prometheus_rule
from components.compilers.rollout import served_versions
from components.intent.cluster import Observability
from tests.factories import model_of


def _rules(name):
    model = model_of("prod", name)
    return {r["alert"]: r for g in prometheus_rule(model, served_versions(model))["spec"]["groups"] for r in g["rules"]}


def test_group_alerts_replace_the_deployment_ones_for_a_replica_across_nodes():
    rules = _rules("llama-405b")
    assert {"MLServingModelDown", "MLServingGroupNotReady", "MLServingScalingMetricAbsent"} <= set(rules)
    assert "MLServingReplicasNotReady" not in rules
    assert not any("kube_deployment" in r["expr"] for r in rules.values()), "an LWS has no Deployment series"
    assert '< 2) > 0' in rules["MLServingGroupNotReady"]["expr"], "two pods per group"
    assert rules["MLServingGroupNotReady"]["annotations"]["runbook"] == "docs/operations.md#group-not-ready"


def test_single_node_models_keep_their_deployment_alerts():
    rules = _rules("llama-8b")
    assert "MLServingReplicasNotReady" in rules and "MLServingGroupNotReady" not in rules
    assert "kube_deployment_status_replicas_unavailable" in rules["MLServingReplicasNotReady"]["expr"]


def test_kube_state_metrics_exports_the_labels_the_group_alerts_join_on():
    values = helm_values.kube_prometheus_stack(Observability(), "gp3-encrypted")
    allow = values["kube-state-metrics"]["metricLabelsAllowlist"]
    assert allow == [f"pods=[{','.join(group_alerts.LWS_POD_LABELS)}]"]
    assert helm_values.LWS_POD_LABELS == group_alerts.LWS_POD_LABELS
    assert group_alerts.label_of("leaderworkerset.sigs.k8s.io/group-index") == "label_leaderworkerset_sigs_k8s_io_group_index"
