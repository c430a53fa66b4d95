"""The recording engine: what it keeps, and that it never guesses an answer."""
import pulumi
import pulumi_aws as aws
import pytest

from components.preview.engine import UnmockedInvoke, run_under_mocks


class Box(pulumi.ComponentResource):
    def __init__(self, name: str, opts=None):
        super().__init__("ml-serving:test:Box", name, None, opts)
        self.bucket = aws.s3.Bucket(f"{name}-bucket", opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True))
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["versioningConfiguration"]),
        )
        self.register_outputs({})


def test_records_parent_options_and_computed_inputs():
    recording = run_under_mocks(lambda: Box("box"))
    box = recording.get("ml-serving:test:Box", "box")
    bucket = recording.get("aws:s3/bucket:Bucket", "box-bucket")
    versioning = recording.get("aws:s3/bucketVersioning:BucketVersioning", "box-versioning")
    assert bucket.parent == box.urn and versioning.parent == box.urn
    assert bucket.protect and bucket.retain_on_delete
    assert versioning.ignore_changes == ["versioningConfiguration"]
    # The bucket's computed id reached its dependant instead of vanishing.
    assert versioning.inputs["bucket"].startswith("box-bucket-")


def test_an_unmocked_data_source_fails_loudly():
    def program():
        aws.ec2.get_ami(most_recent=True, owners=["amazon"])

    with pytest.raises(UnmockedInvoke, match="aws:ec2/getAmi:getAmi"):
        run_under_mocks(program)


def test_numbers_come_back_as_integers():
    def program():
        aws.eks.NodeGroup(
            "ng",
            cluster_name="c",
            node_role_arn="arn:aws:iam::123456789012:role/n",
            subnet_ids=["s"],
            scaling_config={"min_size": 0, "max_size": 50, "desired_size": 0},
        )

    node_group = run_under_mocks(program).get("aws:eks/nodeGroup:NodeGroup", "ng")
    assert node_group.inputs["scalingConfig"]["maxSize"] == 50
    assert isinstance(node_group.inputs["scalingConfig"]["maxSize"], int)


def test_runs_are_isolated_from_each_other():
    first = run_under_mocks(lambda: pulumi.export("a", 1))
    second = run_under_mocks(lambda: pulumi.export("b", 2))
    assert first.outputs == {"a": 1}
    assert second.outputs == {"b": 2}
