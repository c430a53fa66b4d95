"""Values of every Helm chart the platform installs, as plain dicts.

Chart defaults we override are named with the reason; everything else stays the chart's.
"""
from __future__ import annotations

from typing import Any

from components.compilers import alertmanager
from components.compilers.node_groups import EFA_LABEL, GPU_LABEL, GPU_TAINT_KEY
from components.intent import versions
from components.intent.alerting import AlertingSpec
from components.intent.cluster import Observability

Values = dict[str, Any]

# Fixed release names: Service names, the `release:` label kube-prometheus-stack selects
# monitors by, and KEDA's Prometheus address all derive from them.
RELEASES = {
    "cert-manager": "cert-manager",
    "keda": "keda",
    "keda-http-add-on": "http-add-on",
    "kserve-crd": "kserve-crd",
    "kserve": "kserve",
    "kube-prometheus-stack": "kube-prometheus-stack",
    "nvidia-device-plugin": "nvidia-device-plugin",
    "dcgm-exporter": "dcgm-exporter",
    "cluster-autoscaler": "cluster-autoscaler",
    "envoy-gateway": "eg",
    "external-dns": "external-dns",
    "ai-gateway-crds": "aieg-crd",
    "ai-gateway": "aieg",
    "lws": "lws",
    "flagger": "flagger",
    "aws-efa-k8s-device-plugin": "aws-efa-k8s-device-plugin",
}
NAMESPACES = {
    "cert-manager": "cert-manager",
    "keda": "keda",
    "keda-http-add-on": "keda",
    "kserve-crd": "kserve",
    "kserve": "kserve",
    "kube-prometheus-stack": "monitoring",
    "nvidia-device-plugin": "kube-system",
    "dcgm-exporter": "monitoring",
    "cluster-autoscaler": "kube-system",
    "envoy-gateway": "envoy-gateway-system",
    "external-dns": "external-dns",
    "ai-gateway-crds": "envoy-ai-gateway-system",
    "ai-gateway": "envoy-ai-gateway-system",
    "lws": "lws-system",
    "flagger": "flagger-system",
    "aws-efa-k8s-device-plugin": "kube-system",
}
# The AI Gateway chart's controller Service and the port Envoy Gateway calls its hooks on.
AI_GATEWAY_EXTENSION_HOST = "ai-gateway-controller.envoy-ai-gateway-system.svc.cluster.local"
AI_GATEWAY_EXTENSION_PORT = 1063
MONITOR_LABELS = {"release": RELEASES["kube-prometheus-stack"]}
# Pod labels of LeaderWorkerSet groups (leader_worker_set.py; group_alerts.py checks they match).
LWS_POD_LABELS = (
    "leaderworkerset.sigs.k8s.io/name",
    "leaderworkerset.sigs.k8s.io/group-index",
    "leaderworkerset.sigs.k8s.io/worker-index",
)
# The operator always creates this headless Service in front of Prometheus.
PROMETHEUS_URL = f"http://prometheus-operated.{NAMESPACES['kube-prometheus-stack']}.svc:9090"
GRAFANA_ADMIN_SECRET = "grafana-admin"
CLUSTER_AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"
EXTERNAL_DNS_SERVICE_ACCOUNT = "external-dns"
ALERTMANAGER_SERVICE_ACCOUNT = "alertmanager"
# EKS runs the scheduler, controller manager and etcd out of the cluster's reach, and binds
# kube-proxy's metrics to 127.0.0.1 (aws/containers-roadmap#657): the chart's scrapes of them
# find no target and their `absent(up)` alerts would fire forever.
EKS_HIDDEN_COMPONENTS = ("kubeScheduler", "kubeControllerManager", "kubeEtcd", "kubeProxy")
GPU_TOLERATION = {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}
# A GPU node boots, joins and advertises its GPUs; Cluster Autoscaler gives up after this.
MAX_NODE_PROVISION_S = 1200


def cert_manager() -> Values:
    return {
        # kserve-resources needs cert-manager's Issuer and Certificate kinds.
        "crds": {"enabled": True, "keep": True},
        "prometheus": {"enabled": True, "servicemonitor": {"enabled": True, "labels": MONITOR_LABELS}},
    }


def keda() -> Values:
    monitor = {"enabled": True, "additionalLabels": MONITOR_LABELS}
    return {
        "prometheus": {
            "operator": {"enabled": True, "serviceMonitor": monitor},
            "metricServer": {"enabled": True, "serviceMonitor": monitor},
        }
    }


def keda_http_add_on(interceptor_min_replicas: int) -> Values:
    # The interceptor holds requests for a model at zero replicas; one copy would be a
    # single point of failure for every idle model.
    return {"interceptor": {"replicas": {"min": interceptor_min_replicas}}}


def kube_prometheus_stack(observability: Observability, storage_class: str, alerting: AlertingSpec | None = None) -> Values:
    alerting = alerting or AlertingSpec()
    return {
        **{component: {"enabled": False} for component in EKS_HIDDEN_COMPONENTS},
        "defaultRules": {
            # Watchdog fires always, by design, for a dead man's switch we do not run; left on,
            # an empty cluster would never be quiet.
            "disabled": {"Watchdog": True},
        },
        "alertmanager": {
            "config": alertmanager.config(alerting),
            "serviceAccount": {"create": True, "name": ALERTMANAGER_SERVICE_ACCOUNT},
            "alertmanagerSpec": {"secrets": alertmanager.mounted_secrets(alerting)},
        },
        "prometheus": {
            "prometheusSpec": {
                "retention": f"{observability.retention_days}d",
                "storageSpec": {
                    "volumeClaimTemplate": {
                        "spec": {
                            "storageClassName": storage_class,
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": f"{observability.storage_gib}Gi"}},
                        }
                    }
                },
            }
        },
        # The LeaderWorkerSet labels the group alerts join pod readiness on
        # (components/compilers/group_alerts.py); kube-state-metrics exports none by default.
        "kube-state-metrics": {"metricLabelsAllowlist": [f"pods=[{','.join(LWS_POD_LABELS)}]"]},
        "grafana": {
            "enabled": observability.grafana,
            # The chart's default admin password is public; ours is generated per stack.
            "admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
            "sidecar": {
                "dashboards": {"enabled": True, "label": "grafana_dashboard", "labelValue": "1", "searchNamespace": "ALL"}
            },
        },
    }


def nvidia_device_plugin() -> Values:
    # The chart's default affinity needs `nvidia.com/gpu.present=true`, which our AL2023
    # GPU pools set (Bottlerocket pools do not: their AMI runs its own plugin), and its
    # default tolerations already cover the `nvidia.com/gpu` taint. GFD would pull in NFD
    # only to produce that label.
    return {"gfd": {"enabled": False}}


def efa_device_plugin() -> Values:
    """Only on EFA pools' nodes, which carry the GPU taint. The chart's own affinity already
    limits it to EFA instance types; the selector keeps it off GPU nodes without EFA interfaces."""
    return {"tolerations": [GPU_TOLERATION], "nodeSelector": {EFA_LABEL: "true"}}


def dcgm_exporter() -> Values:
    return {
        # The chart tolerates only control-plane taints by default.
        "tolerations": [GPU_TOLERATION],
        "nodeSelector": {GPU_LABEL: "true"},
        # The exporter labels each GPU's series with the pod and namespace using it; without
        # honorLabels the scrape's own (the exporter's pod) would push those to exported_*.
        "serviceMonitor": {"enabled": True, "additionalLabels": MONITOR_LABELS, "honorLabels": True},
        "kubernetes": {"enablePodLabels": True},
    }


def cluster_autoscaler(cluster_name: str, region: str, kubernetes_version: str) -> Values:
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},
        "rbac": {"serviceAccount": {"create": True, "name": CLUSTER_AUTOSCALER_SERVICE_ACCOUNT}},
        # The chart defaults to the newest autoscaler; it must match the cluster's minor.
        "image": {"repository": versions.CLUSTER_AUTOSCALER_IMAGE, "tag": versions.CLUSTER_AUTOSCALER_TAGS[kubernetes_version]},
        "extraArgs": {
            "balance-similar-node-groups": True,
            "expander": "least-waste",
            "skip-nodes-with-system-pods": False,
            # GPU nodes are expensive: give them back ten minutes after they empty.
            "scale-down-unneeded-time": "10m",
            "scale-down-delay-after-add": "10m",
            "max-node-provision-time": f"{MAX_NODE_PROVISION_S // 60}m",
        },
    }


def kserve() -> Values:
    return {
        "kserve": {
            "controller": {
                # The chart still defaults to Knative, whose autoscaler would fight KEDA.
                "deploymentMode": "Standard",
                # Our Gateway API routes front the models (weighted canaries, scale-to-zero
                # through the KEDA interceptor); KServe's own Ingress would bypass them.
                "gateway": {"disableIngressCreation": True},
            }
        }
    }


def external_dns(domain: str, owner: str, region: str) -> Values:
    """Publish each model route's hostname in the private zone, aliased to the gateway's
    internal load balancer (Envoy Gateway writes its address into the Gateway's status)."""
    return {
        "provider": {"name": "aws"},
        "sources": ["gateway-httproute"],
        "domainFilters": [domain],
        # sync: records of deleted routes go too; the TXT registry keeps other owners' records.
        "policy": "sync",
        "registry": "txt",
        "txtOwnerId": owner,
        "extraArgs": {"aws-zone-type": "private"},
        "env": [{"name": "AWS_DEFAULT_REGION", "value": region}],
        "serviceAccount": {"create": True, "name": EXTERNAL_DNS_SERVICE_ACCOUNT},
    }


def envoy_gateway(inference_pools: bool) -> Values:
    """Chart defaults, plus (when a model routes through an endpoint picker) the extension
    manager that hands InferencePool backendRefs to the Envoy AI Gateway controller.

    Envoy Gateway merges `config.envoyGateway` whole into its EnvoyGateway config file, so
    the chart never names these keys. failOpen stays false: a failing hook freezes the
    proxies' last good configuration rather than dropping the pools from it.
    """
    if not inference_pools:
        return {}
    return {
        "config": {
            "envoyGateway": {
                # The chart's own defaults, repeated: a user map replaces them key by key.
                "gateway": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
                "provider": {"type": "Kubernetes"},
                "logging": {"level": {"default": "info"}},
                "extensionApis": {"enableBackend": True, "enableEnvoyPatchPolicy": True},
                "extensionManager": {
                    "backendResources": [{"group": "inference.networking.k8s.io", "kind": "InferencePool", "version": "v1"}],
                    "hooks": {
                        "xdsTranslator": {
                            "translation": {
                                part: {"includeAll": True} for part in ("listener", "route", "cluster", "secret")
                            },
                            "post": ["Translation", "Cluster", "Route"],
                        }
                    },
                    "service": {"fqdn": {"hostname": AI_GATEWAY_EXTENSION_HOST, "port": AI_GATEWAY_EXTENSION_PORT}},
                },
            }
        }
    }


def flagger(models_namespace: str) -> Values:
    """Flagger drives automated canaries through Gateway API HTTPRoutes, reading gates from
    our Prometheus. It watches the models namespace only, so its RBAC can be namespaced
    (compilers/flagger.py writes it; the chart's ClusterRole reaches every Secret and
    Deployment in the cluster)."""
    return {
        "meshProvider": "gatewayapi:v1",
        "metricsServer": PROMETHEUS_URL,
        "namespace": models_namespace,
        "rbac": {"create": False},
        # Two replicas with leader election and a budget: a drained node never leaves a
        # rollout without its actor for longer than a lease.
        "leaderElection": {"enabled": True, "replicaCount": 2},
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        "serviceMonitor": {"enabled": True, "labels": MONITOR_LABELS},
        # Config tracking copies a Deployment's ConfigMaps and Secrets; our targets are Services.
        "configTracking": {"enabled": False},
        # The chart's defaults ask Linkerd and App Mesh to inject sidecars; neither runs here.
        "podAnnotations": {},
        "securityContext": {
            "enabled": True,
            "context": {
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
        },
    }
