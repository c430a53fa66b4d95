"""Building blocks shared by every intent model."""
from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from ipaddress import IPv4Network
from typing import Annotated, Any

import pydantic_core
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic_core import InitErrorDetails, PydanticCustomError


class Spec(BaseModel):
    """Base of every intent model.

    Frozen so compiled output can never drift from what was validated; `extra="forbid"`
    so a typo is an error instead of a silent default; `validate_default=True` so a bad
    default is caught by the tests rather than by a user.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


Loc = tuple[str | int, ...]

# Set while components/intent/partial.py runs rules on a model rebuilt without its invalid
# fields: a rule that reads one of them is skipped instead of failing.
PARTIAL: ContextVar[bool] = ContextVar("PARTIAL", default=False)


class Problems:
    """Collects every rule violation of one model so they are all reported at once.

    Pydantic stops at the first exception a validator raises; raising one
    ValidationError with several located errors keeps each problem at its own field path.
    """

    def __init__(self, model: BaseModel) -> None:
        self._model = model
        self._errors: list[InitErrorDetails] = []

    def add(self, loc: Loc, message: str, value: Any = None) -> None:
        # The message goes through the context, not the template, so braces in it are safe.
        error = PydanticCustomError("ml_serving_rule", "{message}", {"message": message})
        self._errors.append(InitErrorDetails(type=error, loc=loc, input=value))

    def run(self, check: Callable[[Problems], object]) -> None:
        """Run one group of rules; on a partly valid model, skip it if it needs a missing field."""
        try:
            check(self)
        except AttributeError:
            if not PARTIAL.get():
                raise

    def raise_if_any(self) -> None:
        if self._errors:
            raise pydantic_core.ValidationError.from_exception_data(
                type(self._model).__name__, self._errors
            )


SHOWN = 60


def shown(value: Any) -> str:
    """A value as a message quotes it: repr, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}... ({len(text):,} characters)"


def pattern_check(pattern: str, rule: str):
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{shown(value)} is not valid: {rule}")
        return value

    return AfterValidator(check)


ResourceName = Annotated[
    str,
    pattern_check(
        r"[a-z]([-a-z0-9]{0,38}[a-z0-9])?",
        "use 1-40 characters: lowercase letters, digits and '-', starting with a letter "
        "and not ending with '-'",
    ),
]

# A model's InferenceService is "<model>-<version>" and KServe names its Service
# "<model>-<version>-predictor", a DNS label of at most 63 characters: 36 + 1 + 16 + 10.
ModelName = Annotated[
    str,
    pattern_check(
        r"[a-z]([-a-z0-9]{0,34}[a-z0-9])?",
        "use 1-36 characters: lowercase letters, digits and '-', starting with a letter "
        "and not ending with '-'",
    ),
]

TagKey = Annotated[
    str,
    pattern_check(
        r"[\w.:/=+@ -]{1,128}",
        "AWS tag keys are 1-128 characters of letters, digits, spaces and _ . : / = + - @",
    ),
]
TagValue = Annotated[
    str,
    pattern_check(
        r"[\w.:/=+@ -]{0,256}",
        "AWS tag values are up to 256 characters of letters, digits, spaces and _ . : / = + - @",
    ),
]

IamRoleArn = Annotated[
    str,
    pattern_check(
        r"arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}",
        "expected an IAM role ARN such as arn:aws:iam::123456789012:role/platform-admins",
    ),
]


def _cidr_text(value: Any) -> Any:
    # ipaddress would read `true` or 167772160 as an address; a CIDR is always written as text.
    if not isinstance(value, str):
        raise ValueError("expected a CIDR written as text, such as 10.0.0.0/16")
    return value


Cidr = Annotated[IPv4Network, BeforeValidator(_cidr_text)]


def duplicates(values: list[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for value in values:
        if value in seen and value not in repeated:
            repeated.append(value)
        seen.add(value)
    return repeated


VersionLabel = Annotated[
    str,
    pattern_check(
        r"[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?",
        "use 1-16 characters: lowercase letters, digits and '-' (it becomes a label and a name suffix)",
    ),
]

ModelSource = Annotated[
    str,
    pattern_check(
        r"(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^\s]+|hf://[\w.-]+/[\w.-]+(@[\w.-]{1,64})?)",
        "expected s3://<bucket>/<prefix>/ or hf://<organisation>/<model>[@<revision>]",
    ),
]


def hf_repository(source: str) -> tuple[str, str | None]:
    """`hf://org/model@rev` -> (`org/model`, `rev`); the revision is None when unpinned."""
    repository, _, revision = source.removeprefix("hf://").partition("@")
    return repository, revision or None
