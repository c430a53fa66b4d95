import json

from components.model_storage import ModelStorage, ModelStorageArgs, PodReader
from components.preview.engine import run_under_mocks

KEY = "arn:aws:kms:us-east-1:123456789012:key/k"


def _storage(protect, reader=True):
    return run_under_mocks(
        lambda: ModelStorage(
            "models",
            ModelStorageArgs(
                bucket_name="acme-models",
                key_arn=KEY,
                protect=protect,
                reader=PodReader("ml-serving-prod", "models", "model-reader", ["llama/v1/"]) if reader else None,
            ),
        )
    )


def test_bucket_is_encrypted_versioned_private_and_survives_destroy():
    rec = _storage(protect=True)
    bucket = rec.get("aws:s3/bucket:Bucket", "models-bucket")
    assert bucket.inputs["bucket"] == "acme-models" and bucket.protect and bucket.retain_on_delete
    versioning = rec.get("aws:s3/bucketVersioning:BucketVersioning", "models-versioning").inputs
    assert versioning["versioningConfiguration"] == {"status": "Enabled"} and versioning["bucket"] == "acme-models"
    sse = rec.get("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "models-encryption").inputs
    rule = sse["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY}
    assert rule["bucketKeyEnabled"] is True
    block = rec.get("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "models-public-access").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    policy = json.loads(rec.get("aws:s3/bucketPolicy:BucketPolicy", "models-policy").inputs["policy"])
    assert policy["Statement"][0]["Effect"] == "Deny"
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_dev_bucket_is_retained_but_not_protected():
    bucket = _storage(protect=False).get("aws:s3/bucket:Bucket", "models-bucket")
    assert not bucket.protect and bucket.retain_on_delete


def test_model_pods_read_through_pod_identity():
    rec = _storage(protect=False)
    role = rec.get("aws:iam/role:Role", "models-reader")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    association = rec.get("aws:eks/podIdentityAssociation:PodIdentityAssociation", "models-reader").inputs
    assert (association["namespace"], association["serviceAccount"], association["clusterName"]) == ("models", "model-reader", "ml-serving-prod")
    policy = json.loads(rec.get("aws:iam/rolePolicy:RolePolicy", "models-reader").inputs["policy"])
    reads = next(s for s in policy["Statement"] if s["Sid"] == "ReadModelObjects")
    assert reads["Resource"] == ["arn:aws:s3:::acme-models/llama/v1/*"]


def test_without_a_reader_no_role_is_created():
    assert not _storage(protect=False, reader=False).of_type("aws:iam/role:Role")
