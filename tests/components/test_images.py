"""ServingImages under the recording mocks: ECR repositories, image builds, digest-pinned refs."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pulumi
import pytest

from components.compilers import ecr
from components.images import CONTAINERS, ServingImages, ServingImagesArgs, build_inputs, context_tag
from components.intent.images import ImageSource, ImagesSpec
from components.intent.versions import IMAGES
from components.preview.engine import Recording, run_under_mocks

KEY = "arn:aws:kms:us-east-1:123456789012:key/k"
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
PREBUILT = f"{REGISTRY}/team/vllm@sha256:" + "a" * 64
COMPONENT = "ml-serving:images:ServingImages"
REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
IMAGE = "docker-build:index:Image"
DIGEST_REF = re.compile(rf"^{re.escape(REGISTRY)}/ml-serving-dev/(vllm|triton)@sha256:[0-9a-f]{{64}}$")


def _run(images: ImagesSpec | None = None, runtimes=("vllm", "triton"), protect=False) -> Recording:
    def body() -> None:
        component = ServingImages(
            "ml-serving-dev-images",
            ServingImagesArgs(
                images=images or ImagesSpec(),
                runtimes=list(runtimes),
                repository_prefix="ml-serving-dev",
                key_arn=KEY,
                protect=protect,
            ),
        )
        pulumi.export("refs", component.refs)

    return run_under_mocks(body, stack="dev")


@pytest.fixture(scope="module")
def built() -> Recording:
    return _run()


def _component(recording: Recording):
    return recording.get(COMPONENT, "ml-serving-dev-images")


def test_one_repository_lifecycle_and_image_per_runtime(built):
    names = sorted((r.type, r.name) for r in built.resources if r.type != COMPONENT)
    assert names == sorted(
        (typ, f"ml-serving-dev-images-{runtime}{suffix}")
        for runtime in ("vllm", "triton")
        for typ, suffix in ((REPOSITORY, ""), (LIFECYCLE, "-lifecycle"), (IMAGE, ""))
    )
    component = _component(built)
    assert all(r.parent == component.urn for r in built.resources if r.type != COMPONENT)


@pytest.mark.parametrize("runtime", ["vllm", "triton"])
def test_repositories_scan_on_push_keep_tags_immutable_and_use_the_stack_key(built, runtime):
    repository = built.get(REPOSITORY, f"ml-serving-dev-images-{runtime}")
    assert repository.inputs["name"] == f"ml-serving-dev/{runtime}"
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": KEY}]


def test_dev_repositories_outlive_destroy_but_are_not_protected(built):
    repository = built.get(REPOSITORY, "ml-serving-dev-images-vllm")
    assert repository.retain_on_delete and not repository.protect


def test_prod_repositories_are_protected():
    repository = _run(protect=True).get(REPOSITORY, "ml-serving-dev-images-vllm")
    assert repository.protect and repository.retain_on_delete


def test_lifecycle_policy_keeps_the_configured_number_of_images():
    recording = _run(ImagesSpec(keep_last=25))
    lifecycle = recording.get(LIFECYCLE, "ml-serving-dev-images-triton-lifecycle")
    assert lifecycle.inputs["repository"] == "ml-serving-dev/triton"
    policy = json.loads(lifecycle.inputs["policy"])
    assert policy == ecr.lifecycle_policy(25)
    assert policy["rules"][-1]["selection"]["countNumber"] == 25


@pytest.mark.parametrize("runtime", ["vllm", "triton"])
def test_images_build_the_runtime_context_for_amd64_and_push(built, runtime):
    image = built.get(IMAGE, f"ml-serving-dev-images-{runtime}").inputs
    assert image["context"] == {"location": f"containers/{runtime}"}
    assert image["dockerfile"] == {"location": f"containers/{runtime}/Dockerfile"}
    assert image["platforms"] == ["linux/amd64"]
    assert image["push"] is True
    # The base image comes from versions.py, the one place pins live.
    assert image["buildArgs"] == {"BASE_IMAGE": IMAGES[runtime]}


@pytest.mark.parametrize("runtime", ["vllm", "triton"])
def test_images_are_tagged_with_the_hash_of_their_build_context(built, runtime):
    image = built.get(IMAGE, f"ml-serving-dev-images-{runtime}").inputs
    tag = context_tag(CONTAINERS / runtime, {"BASE_IMAGE": IMAGES[runtime]})
    assert re.fullmatch(r"ctx-[0-9a-f]{16}", tag)
    assert image["tags"] == [f"{REGISTRY}/ml-serving-dev/{runtime}:{tag}"]
    assert image["labels"] == {"org.opencontainers.image.version": tag}


@pytest.mark.parametrize("runtime", ["vllm", "triton"])
def test_build_cache_lives_in_the_repository(built, runtime):
    image = built.get(IMAGE, f"ml-serving-dev-images-{runtime}").inputs
    cache = f"{REGISTRY}/ml-serving-dev/{runtime}:{ecr.CACHE_TAG}"
    assert image["cacheFrom"] == [{"registry": {"ref": cache}}]
    (cache_to,) = image["cacheTo"]
    registry = cache_to["registry"]
    assert registry["ref"] == cache
    assert registry["mode"] == "max"
    assert registry["imageManifest"] is True and registry["ociMediaTypes"] is True
    # The tag is immutable: refreshing an unexpired cache fails, and must not fail the build.
    assert registry["ignoreError"] is True


def test_without_cache_no_cache_is_read_or_written():
    images = ImagesSpec(vllm=ImageSource(build={"cache": False}))
    image = _run(images, runtimes=["vllm"]).get(IMAGE, "ml-serving-dev-images-vllm").inputs
    assert "cacheFrom" not in image and "cacheTo" not in image


def test_registry_credentials_come_from_ecr_and_stay_secret(built):
    tokens = [args for token, args in built.invokes if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken"]
    assert tokens == [{"registryId": "123456789012"}] * 2
    assert built.get(IMAGE, "ml-serving-dev-images-vllm").inputs["registries"] == "[secret]"


def test_refs_are_pinned_by_digest_never_by_tag(built):
    refs = built.outputs["refs"]
    assert sorted(refs) == ["triton", "vllm"]
    for runtime, ref in refs.items():
        assert DIGEST_REF.fullmatch(ref), ref
        assert f"/ml-serving-dev/{runtime}@" in ref


def test_prebuilt_images_pass_through_without_building():
    recording = _run(ImagesSpec(vllm=ImageSource(prebuilt=PREBUILT)))
    assert recording.outputs["refs"]["vllm"] == PREBUILT
    assert DIGEST_REF.fullmatch(recording.outputs["refs"]["triton"])
    assert [r.name for r in recording.of_type(REPOSITORY)] == ["ml-serving-dev-images-triton"]
    assert [r.name for r in recording.of_type(IMAGE)] == ["ml-serving-dev-images-triton"]


def test_sagemaker_images_get_no_ref_and_no_repository():
    images = ImagesSpec(
        vllm=ImageSource(sagemaker_image={"framework": "vllm"}),
        triton=ImageSource(sagemaker_image={"framework": "sagemaker-tritonserver"}),
    )
    recording = _run(images)
    assert recording.outputs["refs"] == {}
    assert not recording.of_type(REPOSITORY) and not recording.of_type(IMAGE)


def test_only_the_runtimes_the_stack_serves_are_built():
    recording = _run(runtimes=["triton"])
    assert sorted(recording.outputs["refs"]) == ["triton"]
    assert [r.name for r in recording.of_type(IMAGE)] == ["ml-serving-dev-images-triton"]


# --- the context hash behind the tag ---------------------------------------------------------


def _context(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        path = tmp_path / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_tag_is_stable_for_the_same_context(tmp_path):
    context = _context(tmp_path, Dockerfile="FROM x\n", **{"entrypoint.sh": "exec a\n"})
    assert context_tag(context, {"BASE_IMAGE": "x"}) == context_tag(context, {"BASE_IMAGE": "x"})


def test_the_tag_changes_with_a_build_input_or_a_build_argument(tmp_path):
    context = _context(tmp_path, Dockerfile="FROM x\n", **{"entrypoint.sh": "exec a\n"})
    before = context_tag(context, {"BASE_IMAGE": "x"})
    assert context_tag(context, {"BASE_IMAGE": "y"}) != before
    (context / "entrypoint.sh").write_text("exec b\n")
    assert context_tag(context, {"BASE_IMAGE": "x"}) != before


def test_files_the_builder_never_sees_do_not_change_the_tag(tmp_path):
    context = _context(
        tmp_path, Dockerfile="FROM x\n", **{".dockerignore": "*\n!entrypoint.sh\n", "entrypoint.sh": "a"}
    )
    before = context_tag(context, {})
    (context / "README.md").write_text("docs change")
    assert context_tag(context, {}) == before


def test_dockerignore_exceptions_and_directories(tmp_path):
    context = _context(
        tmp_path,
        Dockerfile="FROM x\n",
        **{".dockerignore": "# comment\ndocs\n*.md\n!KEEP.md\n", "KEEP.md": "", "README.md": "",
           "docs__a.txt": "", "src__b.txt": ""},
    )
    sent = [p.relative_to(context).as_posix() for p in build_inputs(context)]
    assert sent == [".dockerignore", "Dockerfile", "KEEP.md", "src/b.txt"]


@pytest.mark.parametrize("runtime", ["vllm", "triton"])
def test_the_real_contexts_send_only_what_the_dockerfile_needs(runtime):
    sent = sorted(p.name for p in build_inputs(CONTAINERS / runtime))
    # The vLLM image's helpers are copied in; its README and flag lists stay out of the tag.
    helpers = ["fetch_adapters.py", "weights_cache.py"] if runtime == "vllm" else []
    assert sent == sorted([".dockerignore", "Dockerfile", "entrypoint.sh", *helpers])


def test_previews_never_build_images():
    from components.images import ServingImages, ServingImagesArgs
    from components.intent.images import ImagesSpec
    from components.preview.engine import run_under_mocks

    rec = run_under_mocks(
        lambda: ServingImages("img", ServingImagesArgs(ImagesSpec(), ["vllm"], "ml-serving-dev", "arn:aws:kms:us-east-1:1:key/k", False))
    )
    image = rec.of_type("docker-build:index:Image")[0]
    assert image.inputs["buildOnPreview"] is False
