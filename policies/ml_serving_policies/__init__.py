"""ml-serving's CrossGuard policies for GPU model serving on AWS.

Importable without starting anything: `policies/__main__.py` alone builds the PolicyPack (which
starts the analyzer's gRPC server), and the offline preview runs these same policy objects
over the resources it records.
"""
from __future__ import annotations

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

POLICIES: list[Policy] = [
    *kubernetes.POLICIES,
    *host_paths.POLICIES,
    *autoscaling.POLICIES,
    *images.POLICIES,
    *sagemaker.POLICIES,
    *rollout.POLICIES,
    *automated_rollback.POLICIES,
    *canary.POLICIES,
    *eks.POLICIES,
    *s3.POLICIES,
    *ecr.POLICIES,
    *iam.POLICIES,
    *governance.POLICIES,
    *budgets.POLICIES,
    *addons.POLICIES,
    *dns.POLICIES,
    *models.POLICIES,
]
POLICIES_BY_NAME: dict[str, Policy] = {policy.name: policy for policy in POLICIES}
