"""ml-serving's CrossGuard policies for GPU model serving on AWS.

Importable without starting anything: `policies/__main__.py` alone builds the PolicyPack (which
starts the analyzer's gRPC server), and the offline preview runs these same policy objects
over the resources it records.
"""
from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Policy

from . import (
    addons,
    automated_rollback,
    autoscaling,
    budgets,
    canary,
    dns,
    ecr,
    eks,
    governance,
    host_paths,
    iam,
    images,
    kubernetes,
    models,
    rollout,
    s3,
    sagemaker,
)

PACK_NAME = "ml-serving"
PACK_DESCRIPTION = (
    "Guardrails for GPU model serving on AWS: GPU pods, autoscaling, images, rollouts, EKS, S3, ECR, IAM, "
    "cost tags and protection. Advisory in dev, mandatory in staging and prod (policies/config.<env>.json)."
)
# Without a config file every policy is mandatory; the environment files relax dev.
PACK_ENFORCEMENT = EnforcementLevel.MANDATORY

# Every policy module with the title docs/policies.md files it under, in the pack's order:
# a new module is registered here once.
TOPICS: list[tuple[Any, str]] = [  # (policy module, title)
    (kubernetes, "GPU pods"),
    (host_paths, "Host paths"),
    (autoscaling, "Autoscaling"),
    (images, "Images"),
    (sagemaker, "SageMaker rollouts"),
    (rollout, "EKS rollouts"),
    (automated_rollback, "Automated rollback"),
    (canary, "Rollout rules (both targets)"),
    (eks, "EKS"),
    (s3, "S3"),
    (ecr, "ECR"),
    (iam, "IAM"),
    (governance, "Cost and protection"),
    (budgets, "Cost budgets"),
    (addons, "Add-on versions"),
    (dns, "Model domain"),
    (models, "Models"),
]
POLICIES: list[Policy] = [policy for module, _ in TOPICS for policy in module.POLICIES]
POLICIES_BY_NAME: dict[str, Policy] = {policy.name: policy for policy in POLICIES}
