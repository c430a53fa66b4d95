"""ServingImages: the vLLM and Triton serving images, built from containers/ and pushed to ECR,
or taken prebuilt; either way every runtime ends up as a digest-pinned reference."""
from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from components.compilers import ecr
from components.intent.images import BuildOptions, ImagesSpec
from components.intent.versions import IMAGES

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONTAINERS = PROJECT_ROOT / "containers"
# Files the builder always reads, whatever .dockerignore says.
ALWAYS_SENT = ("Dockerfile", ".dockerignore")


@dataclass(frozen=True)
class ServingImagesArgs:
    images: ImagesSpec
    runtimes: Sequence[str]  # runtimes the stack serves ("vllm", "triton"); others get no image
    repository_prefix: str  # f"ml-serving-{environment}": repositories are f"{prefix}/{runtime}"
    key_arn: pulumi.Input[str]  # the stack's KMS key, for the repositories
    protect: bool


def build_inputs(context: Path) -> list[Path]:
    """The files of a build context the builder gets: the Dockerfile, .dockerignore and what
    .dockerignore lets through (patterns, `!` exceptions, the last match wins)."""
    ignore = context / ".dockerignore"
    patterns = []
    if ignore.exists():
        patterns = [line.strip() for line in ignore.read_text().splitlines()]
        patterns = [p for p in patterns if p and not p.startswith("#")]
    sent = []
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        relative = path.relative_to(context).as_posix()
        if relative in ALWAYS_SENT or not _ignored(relative, patterns):
            sent.append(path)
    return sent


def _ignored(relative: str, patterns: list[str]) -> bool:
    # A pattern also matches everything under a directory it names.
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip("/")
        if any(fnmatch.fnmatchcase(c, pattern) for c in candidates):
            ignored = not negated
    return ignored


def context_tag(context: Path, build_args: Mapping[str, str]) -> str:
    """An image tag that changes exactly when what is built changes: the build inputs and the
    build arguments. Tags are immutable in ECR, so an unchanged context must keep its tag (a
    re-run pushes nothing) and a changed one must get a new tag."""
    digest = hashlib.sha256()
    for path in build_inputs(context):
        data = path.read_bytes()
        digest.update(f"{path.relative_to(context).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    for key in sorted(build_args):
        digest.update(f"arg\0{key}\0{build_args[key]}\0".encode())
    return f"ctx-{digest.hexdigest()[:16]}"


class ServingImages(pulumi.ComponentResource):
    # runtime -> <registry>/<repository>@sha256:<digest>, for `build` and `prebuilt` sources.
    refs: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: ServingImagesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:images:ServingImages", name, None, opts)
        self.refs = {}
        for runtime in sorted(set(args.runtimes)):
            source = getattr(args.images, runtime)
            if source.prebuilt is not None:
                self.refs[runtime] = pulumi.Output.from_input(source.prebuilt)
            elif source.build is not None:
                self.refs[runtime] = self._build(f"{name}-{runtime}", runtime, source.build, args)
            # sagemaker_image: resolved by the SageMaker endpoint from the SageMaker SDK's tables.
        self.register_outputs({"refs": self.refs})

    def _build(self, name: str, runtime: str, options: BuildOptions, args: ServingImagesArgs) -> pulumi.Output[str]:
        repository = aws.ecr.Repository(
            name,
            name=f"{args.repository_prefix}/{runtime}",
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=args.key_arn)
            ],
            # Deployed endpoints and pods pull these images by digest; losing them stops scale-out.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=True),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=json.dumps(ecr.lifecycle_policy(args.images.keep_last)),
            opts=pulumi.ResourceOptions(parent=self),
        )

        token = aws.ecr.get_authorization_token_output(
            registry_id=repository.registry_id, opts=pulumi.InvokeOptions(parent=self)
        )
        url = repository.repository_url
        build_args = {"BASE_IMAGE": IMAGES[runtime]}
        tag = context_tag(CONTAINERS / runtime, build_args)
        cache = url.apply(lambda u: f"{u}:{ecr.CACHE_TAG}")
        cache_from = [docker_build.CacheFromArgs(registry=docker_build.CacheFromRegistryArgs(ref=cache))]
        cache_to = [
            docker_build.CacheToArgs(
                registry=docker_build.CacheToRegistryArgs(
                    ref=cache,
                    mode=docker_build.CacheMode.MAX,
                    # ECR stores caches only as image manifests.
                    image_manifest=True,
                    oci_media_types=True,
                    # The cache tag is immutable too: once written it stays until the lifecycle
                    # rule expires it, and a failed refresh must not fail the deployment.
                    ignore_error=True,
                )
            )
        ]
        image = docker_build.Image(
            name,
            # Relative to the project root, where Pulumi runs the program: state stays the same
            # on every machine.
            context=docker_build.BuildContextArgs(location=f"containers/{runtime}"),
            dockerfile=docker_build.DockerfileArgs(location=f"containers/{runtime}/Dockerfile"),
            build_args=build_args,
            platforms=[docker_build.Platform(options.platform)],
            push=True,
            # A preview (every pull request) must not pull multi-GB bases and build; the digest
            # is then unknown in the preview, which the deployments accept.
            build_on_preview=False,
            tags=[url.apply(lambda u: f"{u}:{tag}")],
            labels={"org.opencontainers.image.version": tag},
            registries=[
                docker_build.RegistryArgs(
                    address=url.apply(lambda u: u.split("/", 1)[0]),
                    username=token.user_name,
                    password=pulumi.Output.secret(token.password),
                )
            ],
            cache_from=cache_from if options.cache else None,
            cache_to=cache_to if options.cache else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The registry's own digest of what was pushed: what SageMaker and Kubernetes pull.
        return pulumi.Output.concat(url, "@", image.digest)
