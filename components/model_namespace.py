"""ModelNamespace: the namespace models run in, its network policies, their service account and priority classes."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components import kube
from components.compilers import serving
from components.compilers.network_policy import model_network_policies


@dataclass(frozen=True)
class ModelNamespaceArgs:
    after: list[pulumi.Resource] = field(default_factory=list)


class ModelNamespace(pulumi.ComponentResource):
    namespace: pulumi.CustomResource

    def __init__(self, name: str, args: ModelNamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:model_namespace:ModelNamespace", name, None, opts)
        ns = serving.namespace()
        self.namespace = kube.apply(f"{name}-{kube.object_key(ns)}", ns, pulumi.ResourceOptions(parent=self, depends_on=args.after))
        after_namespace = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        account = serving.service_account()
        kube.apply(f"{name}-{kube.object_key(account)}", account, after_namespace)
        for policy in model_network_policies():
            kube.apply(f"{name}-{kube.object_key(policy)}", policy, after_namespace)
        for priority in serving.priority_classes():
            kube.apply(f"{name}-{kube.object_key(priority)}", priority, pulumi.ResourceOptions(parent=self, depends_on=args.after))
        self.register_outputs({"namespace": serving.MODELS_NAMESPACE})
