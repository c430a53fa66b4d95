"""The CI bootstrap program (.ci/bootstrap): state bucket and key, GitHub OIDC, preview and deploy roles."""
from __future__ import annotations

import json

import pytest

from components.compilers import ci_access
from components.preview.engine import run_program
from components.preview.policy import evaluate
from policies.ml_serving_policies import PACK_ENFORCEMENT, POLICIES
from policies.ml_serving_policies.config import for_environment
from tests.conftest import ROOT

PROGRAM = ROOT / ".ci" / "bootstrap" / "__main__.py"
CONFIG = {
    "aws:region": "us-east-1",
    "ml-serving:repository": "acme/ml-serving",
    "ml-serving:stateBucket": "acme-ml-serving-pulumi-state",
    "ml-serving:tags": json.dumps({"team": "ml-platform", "cost-center": "cc-4410"}),
}


@pytest.fixture(scope="module")
def recording():
    return run_program(CONFIG, "ci", PROGRAM)


def _trust(recording, name):
    return json.loads(recording.get("aws:iam/role:Role", name).inputs["assumeRolePolicy"])["Statement"][0]


def test_roles_trust_only_this_repository_and_job_kind(recording):
    preview = _trust(recording, "ml-serving-pulumi-preview")
    assert preview["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert preview["Condition"]["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:acme/ml-serving:pull_request",
    }
    prod = _trust(recording, "ml-serving-pulumi-deploy-prod")
    assert prod["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == (
        "repo:acme/ml-serving:environment:prod"
    )
    names = {r.inputs["name"] for r in recording.of_type("aws:iam/role:Role")}
    assert names == {"ml-serving-preview", "ml-serving-deploy-dev", "ml-serving-deploy-staging", "ml-serving-deploy-prod"}
    provider = recording.get("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "ml-serving-pulumi-github")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com" and provider.protect


def test_previews_only_read_the_state(recording):
    policy = json.loads(recording.get("aws:iam/rolePolicy:RolePolicy", "ml-serving-pulumi-preview-state").inputs["policy"])
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions == {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:GetObjectVersion",
                       "kms:Decrypt", "kms:DescribeKey"}
    deploy = json.loads(recording.get("aws:iam/rolePolicy:RolePolicy", "ml-serving-pulumi-deploy-prod-state").inputs["policy"])
    writes = next(s for s in deploy["Statement"] if s["Sid"] == "WriteState")
    assert writes["Resource"] == "arn:aws:s3:::acme-ml-serving-pulumi-state/.pulumi/*"
    attached = {r.inputs["policyArn"] for r in recording.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if r.name.startswith("ml-serving-pulumi-preview")}
    assert attached == {"arn:aws:iam::aws:policy/ReadOnlyAccess"}


def test_deploy_roles_manage_only_their_environments_iam(recording):
    policy = json.loads(recording.get("aws:iam/rolePolicy:RolePolicy", "ml-serving-pulumi-deploy-staging-iam").inputs["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    manage = statements["ManageRolesOfThisEnvironment"]
    assert manage["Resource"] == "arn:aws:iam::123456789012:role/ml-serving-*"
    assert manage["Condition"] == {"StringEquals": {"iam:ResourceTag/ml-serving:environment": "staging"}}


def test_state_is_kept_versioned_encrypted_and_protected(recording):
    bucket = recording.get("aws:s3/bucket:Bucket", "ml-serving-pulumi-state-bucket")
    assert bucket.inputs["bucket"] == "acme-ml-serving-pulumi-state" and bucket.protect and bucket.retain_on_delete
    assert recording.get("aws:kms/key:Key", "ml-serving-pulumi-state-key").protect
    alias = recording.get("aws:kms/alias:Alias", "ml-serving-pulumi-state-alias")
    assert alias.inputs["name"] == ci_access.STATE_KEY_ALIAS
    assert recording.outputs["deployRoleArns"]["prod"] == "arn:aws:iam::123456789012:role/ml-serving-deploy-prod"


def test_the_bootstrap_passes_the_pack_at_prod_strength(recording):
    _, settings = for_environment(POLICIES, PACK_ENFORCEMENT, "prod")
    assert evaluate(recording.resources, settings) == ([], [])


def test_immutable_subject_claims_are_supported():
    assert ci_access.github_subject("repo:acme@123/ml-serving@456", "prod") == "repo:acme@123/ml-serving@456:environment:prod"


def test_deploy_roles_manage_only_their_environments_roles_and_never_ci_roles():
    from components.compilers.ci_access import deploy_iam

    statements = {s["Sid"]: s for s in deploy_iam("dev", "111122223333", "aws")["Statement"]}
    assert statements["CreateRolesOfThisEnvironment"]["Condition"] == {
        "StringEquals": {"aws:RequestTag/ml-serving:environment": "dev"}
    }
    assert statements["ManageRolesOfThisEnvironment"]["Condition"] == {
        "StringEquals": {"iam:ResourceTag/ml-serving:environment": "dev"}
    }
    never = statements["NeverTheCiRoles"]
    assert never["Effect"] == "Deny" and "iam:PutRolePolicy" in never["Action"]
    assert never["Resource"] == [
        "arn:aws:iam::111122223333:role/ml-serving-preview",
        "arn:aws:iam::111122223333:role/ml-serving-deploy-*",
    ]


def test_the_preview_role_cannot_read_data(recording):
    policy = json.loads(recording.get("aws:iam/rolePolicy:RolePolicy", "ml-serving-pulumi-preview-no-data").inputs["policy"])
    objects = next(s for s in policy["Statement"] if s["Sid"] == "NoDataReadsOutsideTheState")
    assert objects["Effect"] == "Deny" and "s3:GetObject" in objects["Action"]
    assert objects["NotResource"] == ["arn:aws:s3:::acme-ml-serving-pulumi-state/*"]
