"""Where each runtime's container image comes from."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from components.intent.base import Problems, Spec, pattern_check

DigestRef = Annotated[
    str,
    pattern_check(
        r"[a-z0-9.-]+(:\d+)?/[a-z0-9._/-]+@sha256:[0-9a-f]{64}",
        "expected <registry>/<repository>@sha256:<64 hex digits>: images are pinned by digest, never by tag",
    ),
]


class BuildOptions(Spec):
    """Build the image from `containers/<runtime>/` and push it to the stack's ECR repository."""

    platform: Literal["linux/amd64"] = Field(
        "linux/amd64", description="GPU nodes and SageMaker GPU instances are x86-64."
    )
    cache: bool = Field(True, description="Reuse layers through a build cache kept in ECR.")


class AwsImage(Spec):
    """An AWS-published SageMaker serving image, resolved offline from the SageMaker SDK's tables."""

    framework: Literal["djl-lmi", "sagemaker-tritonserver", "vllm"] = Field(
        description="`djl-lmi` (Large Model Inference, vLLM engine), `vllm` or `sagemaker-tritonserver`."
    )
    version: str | None = Field(None, max_length=40, description="Release to pin; the newest known when empty.")


class ImageSource(Spec):
    """Exactly one of: build from containers/, a prebuilt image by digest, or an AWS SageMaker image."""

    build: BuildOptions | None = None
    prebuilt: DigestRef | None = Field(None, description="An image already pushed, pinned by digest.")
    sagemaker_image: AwsImage | None = Field(None, description="SageMaker target only.")

    @model_validator(mode="after")
    def _exactly_one(self) -> ImageSource:
        chosen = [f for f in ("build", "prebuilt", "sagemaker_image") if getattr(self, f) is not None]
        if len(chosen) != 1:
            problems = Problems(self)
            problems.add(
                (),
                "choose exactly one of build, prebuilt or sagemaker_image"
                + (f"; got {', '.join(chosen)}" if chosen else ""),
            )
            problems.raise_if_any()
        return self


def _build() -> ImageSource:
    return ImageSource(build=BuildOptions())


class ImagesSpec(Spec):
    """Images per runtime, plus how many pushed images ECR keeps."""

    vllm: ImageSource = Field(default_factory=_build)
    triton: ImageSource = Field(default_factory=_build)
    keep_last: int = Field(
        10, ge=2, le=1000, description="Images each ECR repository keeps; older ones expire."
    )
