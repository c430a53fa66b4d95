"""`promtool test rules` cases for every alert a model's PrometheusRule carries.

Each alert gets series that must fire it and series that must leave it silent, on both sides
of the threshold it decides on. What is expected is worked out here from the intent (the
objective, the budget, the burn thresholds, the cold-start budget), not read back from the
compiled PromQL, so a wrong expression fails its case.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from components.compilers.endpoint_picker import PICKER_P99_LIMIT_S, uses_picker
from components.compilers.kserve import cold_start_budget_s
from components.compilers.monitoring import (
    GATE_FLOOR,
    P99_BUDGET,
    PAGE_BURNS,
    TICKET_BURNS,
    TRITON_LATENCY_FLOOR_S,
    burn_threshold,
    prometheus_rule,
    quality_expression,
)
from components.compilers.rollout import ServedVersion, served_versions
from components.intent.canary import Gate
from components.intent.histograms import VLLM_BUCKETS_S, Histogram
from components.intent.model import ModelSpec
from tests.alerting.synthetic import Scenario, Traffic, input_series

BURN_ALERTS: dict[str, tuple[str, Histogram | None]] = {
    "error_rate": ("MLServingErrorRateBudgetBurn", None),
    "ttft_p99": ("MLServingTTFTBudgetBurn", "ttft"),
    "tpot_p99": ("MLServingTPOTBudgetBurn", "inter_token"),
    "latency_p99": ("MLServingLatencyBudgetBurn", "e2e"),
}
# MLServingEndpointPickerFailing's limit: more than this share of scheduling attempts failing.
PICKER_FAILING_SHARE = 0.05
PICKER_GROUP = ":picker"
OBJECTIVE_FIELDS = {"ttft": "ttft_p99_ms", "inter_token": "tpot_p99_ms", "e2e": "latency_p99_ms"}


@dataclass
class Check:
    """At `minute`, exactly `firing` (rules, by their labels) of `alertname` fire."""

    alertname: str
    minute: int
    firing: list[dict[str, Any]]


@dataclass
class Case:
    name: str
    scenarios: dict[str, Scenario]  # by InferenceService name
    minutes: int
    checks: list[Check] = field(default_factory=list)
    # Rule groups evaluated: a version's own SLO group, the canary gates, or None for all.
    groups: str | None = None
    # Series beyond the runtimes' own (a quality gate's exported score).
    extra: list[dict[str, str]] = field(default_factory=list)


def just_over(seconds: float) -> float:
    """A latency in the bucket right above an edge: slow for an objective at that edge."""
    return seconds * 1.02


def objective_s(model: ModelSpec, histogram: Histogram) -> float | None:
    value = getattr(model.slo, OBJECTIVE_FIELDS[histogram])
    return None if value is None else value / 1000


def healthy(served: ServedVersion) -> Traffic:
    """Exactly at every objective and threshold: the budget burns at 1x, gauges sit on their limits."""
    model = served.model
    latencies, fast = {}, {}
    for histogram in ("ttft", "inter_token", "e2e"):
        edge = objective_s(model, histogram)
        if edge is None:
            fast[histogram] = VLLM_BUCKETS_S[histogram][0]
            continue
        fast[histogram] = edge  # on the edge: still good (le is inclusive)
        latencies[histogram] = ((just_over(edge), P99_BUDGET),)
    return Traffic(
        error_share=model.slo.error_rate,
        latencies=latencies,
        fast_s=fast,
        triton_p99_ms=float(model.slo.latency_p99_ms or 1),
        queue=model.autoscaling.target * served.max_replicas,
        kv_cache=0.95,
        replicas=served.min_replicas,
        available=served.min_replicas,
        picker_failure_share=PICKER_FAILING_SHARE,
        picker_s=PICKER_P99_LIMIT_S,
    )


def _bad(base: Traffic, served: ServedVersion, objective: str, share: float) -> Traffic:
    if objective == "error_rate":
        return base.with_(error_share=share)
    histogram = BURN_ALERTS[objective][1]
    assert histogram is not None
    edge = objective_s(served.model, histogram)
    return base.with_(latencies={**base.latencies, histogram: ((just_over(edge), share),)})


class Builder:
    def __init__(self, model: ModelSpec, team: str | None) -> None:
        self.model = model
        self.versions = served_versions(model)
        self.rule = prometheus_rule(model, self.versions, team)
        self.rules = [r for g in self.rule["spec"]["groups"] for r in g["rules"]]
        self.cases: list[Case] = []

    def rules_of(self, alertname: str, **labels: str) -> list[dict[str, Any]]:
        return [
            r for r in self.rules
            if r["alert"] == alertname and all(r["labels"].get(k) == v for k, v in labels.items())
        ]

    def baseline(self, **overrides: Scenario) -> dict[ServedVersion, Scenario]:
        scenarios: dict[str, Scenario] = {v.name: (lambda m, t=healthy(v): t) for v in self.versions}
        scenarios.update(overrides)
        return scenarios

    def add(self, name: str, scenarios, minutes: int, *checks: Check, groups: str | None = None,
            extra: list[dict[str, str]] | None = None) -> None:
        self.cases.append(Case(f"{self.model.name}: {name}", scenarios, minutes, list(checks), groups, extra or []))

    # --- per alert ------------------------------------------------------------------------

    def healthy_everywhere(self) -> None:
        names = sorted({r["alert"] for r in self.rules})
        self.add(
            "healthy traffic at every objective fires nothing",
            self.baseline(),
            100,
            *[Check(name, minute, []) for name in names for minute in (30, 95)],
        )

    def budget_burns(self, served: ServedVersion) -> None:
        """Every objective of the version at once, at a multiple of its own burn threshold (each
        alert is checked on its own objective's series, so they do not mask each other)."""
        group = f"{served.name}"
        objectives = [(o, a) for o, (a, _) in BURN_ALERTS.items() if self.rules_of(a, version=served.version)]
        thresholds = {}
        for objective, _ in objectives:
            budget = self.model.slo.error_rate if objective == "error_rate" else P99_BUDGET
            thresholds[objective] = (
                min(burn_threshold(f, budget) for f, _, _ in PAGE_BURNS),
                min(burn_threshold(f, budget) for f, _, _ in TICKET_BURNS),
            )

        def expected(alertname: str, share: float, page: float, ticket: float) -> list[dict[str, Any]]:
            fired = []
            if share > page:
                fired += self.rules_of(alertname, version=served.version, severity="critical")
            if share > ticket:
                fired += self.rules_of(alertname, version=served.version, severity="warning")
            return fired

        for tier, label in ((0, "page"), (1, "ticket")):
            for factor in (1.15, 0.85):
                shares = {o: min(thresholds[o][tier] * factor, 1.0) for o, _ in objectives}
                traffic = healthy(served)
                for objective, share in shares.items():
                    traffic = _bad(traffic, served, objective, share)
                self.add(
                    f"{served.version} every objective's bad share at {factor:g}x its {label} threshold",
                    self.baseline(**{served.name: lambda m, t=traffic: t}),
                    25,
                    *[Check(a, 25, expected(a, shares[o], *thresholds[o])) for o, a in objectives],
                    groups=group,
                )
        # A healthy version that breaks: paged within the short windows, well inside the hour.
        broken = healthy(served)
        for objective, _ in objectives:
            broken = _bad(broken, served, objective, 1.0)
        good = healthy(served)
        self.add(
            f"{served.version} breaks after a healthy hour",
            self.baseline(**{served.name: lambda m, b=broken, g=good: b if m >= 60 else g}),
            85,
            *[Check(a, 59, []) for _, a in objectives],
            *[Check(a, 85, expected(a, 1.0, *thresholds[o])) for o, a in objectives],
            groups=group,
        )
        # Broken for 40 minutes, then healthy: the page clears once the short windows are clean
        # (the long ones still remember), while the ticket for the burnt budget stays.
        self.add(
            f"{served.version} recovers after 40 broken minutes",
            self.baseline(**{served.name: lambda m, b=broken, g=good: b if m < 40 else g}),
            75,
            *[Check(a, 35, expected(a, 1.0, *thresholds[o])) for o, a in objectives],
            *[Check(a, 75, self.rules_of(a, version=served.version, severity="warning")) for _, a in objectives],
            groups=group,
        )

    def replicas(self, served: ServedVersion) -> None:
        window = -(-(cold_start_budget_s(self.model) + 300) // 60)
        base = healthy(served)
        down = base.with_(replicas=max(1, served.min_replicas), available=0)
        short = base.with_(replicas=served.min_replicas + 1, available=served.min_replicas)
        not_ready = "MLServingGroupNotReady" if served.model.nodes_per_replica() > 1 else "MLServingReplicasNotReady"
        for alertname, traffic in (("MLServingModelDown", down), (not_ready, short)):
            rules = self.rules_of(alertname, version=served.version)
            self.add(
                f"{served.version} {alertname}: {traffic.available}/{traffic.replicas} ready for a cold start, then longer",
                self.baseline(**{served.name: lambda m, t=traffic: t}),
                window + 6,
                Check(alertname, window - 3, []),
                Check(alertname, window + 5, rules),
                groups=served.name,
            )

    def groups(self, served: ServedVersion) -> None:
        """A replica across nodes: a group is ready only with all its pods ready. One worker not
        ready (its leader ready), or missing, fires GroupNotReady past a cold start and leaves
        ModelDown silent while another group's leader serves; all pods ready fire nothing."""
        size = served.model.nodes_per_replica()
        if size <= 1:
            return
        window = -(-(cold_start_budget_s(self.model) + 300) // 60)
        base = healthy(served)
        rules = self.rules_of("MLServingGroupNotReady", version=served.version)
        for what, traffic in (
            ("a worker not ready while its leader is", base.with_(unready_workers=1)),
            ("a worker missing", base.with_(missing_workers=1)),
            ("every worker of the first group not ready", base.with_(unready_workers=size - 1)),
        ):
            self.add(
                f"{served.version} {what}: the group is not ready",
                self.baseline(**{served.name: lambda m, t=traffic: t}),
                window + 6,
                Check("MLServingGroupNotReady", window - 3, []),
                Check("MLServingGroupNotReady", window + 5, rules),
                Check("MLServingModelDown", window + 5, []),
                groups=served.name,
            )
        whole = base.with_(replicas=served.min_replicas + 1, available=served.min_replicas + 1)
        self.add(
            f"{served.version} {served.min_replicas + 1} groups of {size} pods, all ready",
            self.baseline(**{served.name: lambda m, t=whole: t}),
            window + 6,
            Check("MLServingGroupNotReady", window + 5, []),
            Check("MLServingModelDown", window + 5, []),
            groups=served.name,
        )

    def scaling_metric(self, served: ServedVersion) -> None:
        rules = self.rules_of("MLServingScalingMetricAbsent", version=served.version)
        base = healthy(served)
        lost = base.with_(scraped=False)
        self.add(
            f"{served.version} scrape lost at minute 20 while replicas stay ready",
            self.baseline(**{served.name: lambda m, b=base, lost=lost: lost if m >= 20 else b}),
            45,
            Check("MLServingScalingMetricAbsent", 19, []),
            # Absent from minute 20 at the earliest (rate signals), so `for: 10m` cannot fire before 30.
            Check("MLServingScalingMetricAbsent", 29, []),
            Check("MLServingScalingMetricAbsent", 45, rules),
            groups=served.name,
        )
        idle = base.with_(replicas=0, available=0)
        self.add(
            f"{served.version} at zero replicas exports nothing, and that is fine",
            self.baseline(**{served.name: lambda m, t=idle: t}),
            45,
            Check("MLServingScalingMetricAbsent", 45, []),
            groups=served.name,
        )

    def gauges(self, served: ServedVersion) -> None:
        """Every gauge limit one step past; the healthy case holds each exactly at its limit."""
        base = healthy(served)
        limits = [("MLServingQueueSaturated", "queue", base.queue, 1.0)]
        if self.model.runtime == "vllm":
            limits.append(("MLServingKVCacheFull", "kv_cache", base.kv_cache, 0.01))
        if self.rules_of("MLServingLatencyAboveSLO", version=served.version):
            limits.append(("MLServingLatencyAboveSLO", "triton_p99_ms", base.triton_p99_ms, 1.0))
        over = base.with_(**{field_name: limit + step for _, field_name, limit, step in limits})
        self.add(
            f"{served.version} queue, KV cache and Triton latency one step past their limits",
            self.baseline(**{served.name: lambda m, t=over: t}),
            16,
            *[Check(a, 9, []) for a, _, _, _ in limits],
            *[Check(a, 16, self.rules_of(a, version=served.version)) for a, _, _, _ in limits],
            groups=served.name,
        )

    def picker(self, served: ServedVersion) -> None:
        """The picker down past its 2 minutes, failing one step past 5 %, slow one bucket past 50 ms."""
        if not uses_picker(served):
            return
        base = healthy(served)
        group = served.name + PICKER_GROUP
        down = self.rules_of("MLServingEndpointPickerDown", version=served.version)
        self.add(
            f"{served.version} picker scraped as down from minute 10",
            self.baseline(**{served.name: lambda m, b=base: b.with_(picker_up=m < 10)}),
            16,
            Check("MLServingEndpointPickerDown", 11, []),
            Check("MLServingEndpointPickerDown", 13, down),
            groups=group,
        )
        for alertname, traffic, at in (
            ("MLServingEndpointPickerFailing", base.with_(picker_failure_share=PICKER_FAILING_SHARE + 0.01), 5),
            ("MLServingEndpointPickerSlow", base.with_(picker_s=PICKER_P99_LIMIT_S * 1.02), 10),
        ):
            self.add(
                f"{served.version} {alertname}: one step past its limit",
                self.baseline(**{served.name: lambda m, t=traffic: t}),
                at + 8,
                Check(alertname, 4, []),
                Check(alertname, at + 8, self.rules_of(alertname, version=served.version)),
                groups=group,
            )

    def _gated_arms(self) -> list[tuple[str, ServedVersion, list[Gate], dict[str, str]]]:
        """(alert, version judged, its gates, labels picking its rules): the canary, each
        experiment arm other than the stable version, and the shadow."""
        by_version = {v.version: v for v in self.versions}
        arms = []
        if self.model.canary is not None:
            candidate = next(v for v in self.versions if v.role == "candidate")
            arms.append(("MLServingCanaryGateBreached", candidate, list(self.model.canary.gates), {}))
        if self.model.experiment is not None:
            for variant in self.model.experiment.variants:
                if variant.version != self.model.version:
                    arms.append(("MLServingExperimentGateBreached", by_version[variant.version],
                                 list(self.model.experiment.gates), {"arm": variant.name}))
        if self.model.shadow is not None:
            arms.append(("MLServingShadowGateBreached", by_version[self.model.shadow.version],
                         list(self.model.shadow.gates), {"arm": "shadow"}))
        return arms

    def gates(self) -> None:
        stable = next(v for v in self.versions if v.role == "stable")
        for alertname, candidate, gates, labels in self._gated_arms():
            for gate in gates:
                rules = self.rules_of(alertname, gate=gate.metric, version=candidate.version, **labels)
                # Both versions clean but for the one metric this gate measures on the candidate.
                clean = healthy(stable).with_(error_share=0.0, latencies={})
                for factor, firing in ((1.25, rules), (0.75, [])):
                    extra: list[dict[str, str]] = []
                    bad = healthy(candidate).with_(error_share=0.0, latencies={})
                    if gate.metric == "quality":
                        extra = quality_series(gate, candidate.name, stable.name, gate.max_value * factor)
                    else:
                        bad = self._candidate_at(gate, bad, factor)
                    self.add(
                        f"{candidate.version} at {factor:g}x its {gate.metric} gate ({alertname}) against a clean stable",
                        self.baseline(**{stable.name: lambda m, t=clean: t, candidate.name: lambda m, t=bad: t}),
                        20,
                        Check(alertname, 20, firing),
                        groups="gates",
                        extra=extra,
                    )
                self.add(
                    f"{candidate.version} no worse than stable at the objective passes its {gate.metric} gate ({alertname})",
                    self.baseline(),
                    20,
                    Check(alertname, 20, []),
                    groups="gates",
                )

    def _candidate_at(self, gate: Gate, base: Traffic, factor: float) -> Traffic:
        """The candidate `factor` times past (or short of) the first limit a clean stable leaves it."""
        ratio = gate.max_ratio_to_stable
        if gate.metric == "error_rate":
            limits = [v for v in (gate.max_value, ratio * GATE_FLOOR if ratio else None) if v is not None]
            return base.with_(error_share=min(limits) * factor)
        if self.model.runtime == "triton":
            limits = [v for v in (gate.max_value / 1000 if gate.max_value else None,
                                  ratio * TRITON_LATENCY_FLOOR_S if ratio else None) if v is not None]
            return base.with_(triton_p99_ms=min(limits) * 1000 * factor)
        histogram: Histogram = "ttft" if gate.metric == "ttft_p99" else "e2e"
        if ratio is not None:
            # Slow against the objective, not past the absolute ceiling: the comparison decides.
            edge = objective_s(self.model, histogram) or gate.max_value / 1000
            share = ratio * GATE_FLOOR * factor
        else:
            edge = gate.max_value / 1000
            share = P99_BUDGET * factor
        latencies = {h: v for h, v in base.latencies.items() if h != histogram}
        return base.with_(latencies={**latencies, histogram: ((just_over(edge), share),)})


def quality_series(gate: Gate, candidate: str, stable: str, value: float) -> list[dict[str, str]]:
    """The series a quality gate's expression reads, at `value`: the expression's one metric
    with its equality matchers, versions filled in (the expressions our stacks use)."""
    assert gate.expression is not None
    text = quality_expression(gate.expression, candidate, stable)
    found = re.fullmatch(r"\w+\(([\w:]+)\{([^}]*)\}\)", text.strip())
    assert found, f"the alert cases read one metric with equality matchers; got {text}"
    return [{"series": f"{found.group(1)}{{{found.group(2)}}}", "values": f"{value:.6g}x30"}]


def model_cases(model: ModelSpec, team: str | None) -> Builder:
    builder = Builder(model, team)
    builder.healthy_everywhere()
    for served in builder.versions:
        builder.budget_burns(served)
        builder.replicas(served)
        builder.groups(served)
        builder.scaling_metric(served)
        builder.gauges(served)
        builder.picker(served)
    builder.gates()
    return builder


def _expected(rule: dict[str, Any]) -> dict[str, Any]:
    return {"exp_labels": dict(rule["labels"]), "exp_annotations": dict(rule["annotations"])}


def rule_groups(builder: Builder, groups: str | None) -> dict[str, Any]:
    """The rule file a case evaluates: all groups, one version's SLO group, or the gates."""
    wanted = builder.rule["spec"]["groups"]
    if groups == "gates":
        wanted = [g for g in wanted if g["name"].endswith(("-canary-gates", "-experiment-gates"))]
    elif groups is not None and groups.endswith(PICKER_GROUP):
        version = next(v for v in builder.versions if v.name + PICKER_GROUP == groups)
        wanted = [g for g in wanted if g["name"] == f"{builder.model.name}-{version.version}-picker"]
    elif groups is not None:
        version = next(v for v in builder.versions if v.name == groups)
        wanted = [g for g in wanted if g["name"] == f"{builder.model.name}-{version.version}-slo"]
    return {"groups": wanted}


def _versions_of(builder: Builder, case: Case) -> list[ServedVersion]:
    """Series of the versions whose rules the case evaluates (its own, or both for the gates)."""
    if case.groups in (None, "gates"):
        return builder.versions
    return [v for v in builder.versions if case.groups in (v.name, v.name + PICKER_GROUP)]


def promtool_files(builder: Builder) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """{stem: (rules file, test file)}, one pair per rule selection."""
    files: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for case in builder.cases:
        stem = f"{builder.model.name}-{(case.groups or 'all').replace(PICKER_GROUP, '-picker')}"
        if stem not in files:
            files[stem] = (rule_groups(builder, case.groups),
                           {"rule_files": [f"{stem}.rules.yml"], "evaluation_interval": "1m", "tests": []})
        files[stem][1]["tests"].append(
            {
                "name": case.name,
                "interval": "1m",
                "input_series": input_series(_versions_of(builder, case), case.scenarios, case.minutes) + case.extra,
                "alert_rule_test": [
                    {"eval_time": f"{check.minute}m", "alertname": check.alertname,
                     "exp_alerts": [_expected(r) for r in check.firing]}
                    for check in case.checks
                ],
            }
        )
    return files


def rule_keys(rules: list[dict[str, Any]]) -> set[tuple]:
    return {(r["alert"], tuple(sorted(r["labels"].items()))) for r in rules}


def coverage(builder: Builder) -> tuple[set[tuple], set[tuple]]:
    """Rules some case expects to fire, and rules some case expects silent."""
    fired, silent = set(), set()
    for case in builder.cases:
        evaluated = [r for g in rule_groups(builder, case.groups)["groups"] for r in g["rules"]]
        for check in case.checks:
            expected = rule_keys(check.firing)
            fired |= expected
            candidates = rule_keys([r for r in evaluated if r["alert"] == check.alertname])
            silent |= candidates - expected
    return fired, silent
