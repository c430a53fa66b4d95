"""Observability: kube-prometheus-stack (Prometheus, Alertmanager, Grafana) that picks up the
platform's ServiceMonitors, PodMonitors and PrometheusRules, and the credentials and AWS access
Alertmanager's receivers need."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import helm
from components.compilers import alertmanager, helm_values, iam
from components.intent.alerting import AlertingSpec
from components.intent.cluster import Observability as ObservabilitySpec
from components.pod_identity import pod_role


@dataclass(frozen=True)
class ObservabilityArgs:
    spec: ObservabilitySpec
    chart_version: str
    storage_class: str
    after: list[pulumi.Resource] = field(default_factory=list)
    alerting: AlertingSpec = field(default_factory=AlertingSpec)
    # The EKS cluster, for the Pod Identity association SNS receivers publish with.
    cluster_name: pulumi.Input[str] | None = None


class Observability(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:observability:Observability", name, None, opts)
        namespace_name = helm_values.NAMESPACES["kube-prometheus-stack"]
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=namespace_name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.after),
        )
        password = random.RandomPassword(f"{name}-grafana-admin", length=32, special=False, opts=pulumi.ResourceOptions(parent=self))
        secret = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=helm_values.GRAFANA_ADMIN_SECRET, namespace=namespace.metadata.name),
            string_data={"admin-user": "admin", "admin-password": password.result},
            opts=pulumi.ResourceOptions(parent=self),
        )
        before_release: list[pulumi.Resource] = [namespace, secret]
        copied = alertmanager.copied_secrets(args.alerting)
        if copied:
            # Read at deploy time and kept only as Pulumi secrets and in the cluster's
            # (envelope-encrypted) Secret: never in the stack file.
            values = {
                key: aws.secretsmanager.get_secret_version_output(secret_id=arn).secret_string
                for key, arn in sorted(copied.items())
            }
            before_release.append(
                k8s.core.v1.Secret(
                    f"{name}-alertmanager-receivers",
                    metadata=k8s.meta.v1.ObjectMetaArgs(name=alertmanager.RECEIVER_SECRET, namespace=namespace.metadata.name),
                    string_data={key: pulumi.Output.secret(value) for key, value in values.items()},
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        topics = alertmanager.sns_topics(args.alerting)
        if topics:
            assert args.cluster_name is not None, "SNS receivers need the cluster for Alertmanager's Pod Identity"
            access = pod_role(
                f"{name}-alertmanager",
                parent=self,
                cluster_name=args.cluster_name,
                namespace=namespace_name,
                service_account=helm_values.ALERTMANAGER_SERVICE_ACCOUNT,
                policy=json.dumps(iam.alert_publisher(topics)),
                description="Alertmanager publishes alerts to the stack's SNS topics",
            )
            before_release += access.ready
        self.release = helm.install(
            f"{name}-kube-prometheus-stack",
            "kube-prometheus-stack",
            args.chart_version,
            helm_values.kube_prometheus_stack(args.spec, args.storage_class, args.alerting),
            pulumi.ResourceOptions(parent=self, depends_on=[*before_release, *args.after]),
        )
        self.register_outputs({"release": self.release.name})
