"""Cross-field rules for the parts of a stack that did validate, when another part did not.

Pydantic runs a model's after-validators only once every field of it is valid, so one bad
field (a typo in `max_replicas`) hides every cross-field problem of the model and of all
models above it. To report every problem at once, each failed level is rebuilt from the
fields that validate on their own (recursively: a model whose own field failed is rebuilt
the same way), the invalid fields left out, and its after-validators are run on that.
A rule that reads a left-out field is skipped (`Problems.run`), never guessed at with a
default: the field's own error is already reported.
"""
from __future__ import annotations

import typing
from functools import cache
from typing import Annotated, Any

import pydantic_core
from pydantic import BaseModel, TypeAdapter, ValidationError

from components.intent.base import PARTIAL, Spec

Error = dict[str, Any]


def partial_problems(cls: type[Spec], data: Any) -> list[Error]:
    """Problems the after-validators of `cls` (and of its failed parts) find in `data`."""
    token = PARTIAL.set(True)
    try:
        _, errors = _rebuild(cls, data, ())
    finally:
        PARTIAL.reset(token)
    return errors


def _rebuild(cls: type[Spec], data: Any, loc: tuple) -> tuple[Any, list[Error]]:
    """(an instance holding the valid fields, problems of rules run on it) for one level."""
    try:
        return cls.model_validate(data), []
    except ValidationError:
        pass
    if not isinstance(data, dict):
        return None, []
    values: dict[str, Any] = {}
    left_out: list[str] = []
    errors: list[Error] = []
    for name, field in cls.model_fields.items():
        if name not in data:
            if field.is_required():
                left_out.append(name)
            continue
        value, ok, found = _field(cls, name, data[name], (*loc, name))
        errors += found
        if ok:
            values[name] = value
        else:
            left_out.append(name)
    instance = cls.model_construct(**values)
    for name in left_out:
        instance.__dict__.pop(name, None)
    errors += _after_validators(cls, instance, loc)
    return instance, errors


def _field(cls: type[Spec], name: str, value: Any, loc: tuple) -> tuple[Any, bool, list[Error]]:
    try:
        return _adapter(cls, name).validate_python(value), True, []
    except ValidationError:
        pass
    model, many = _spec_of(cls.model_fields[name].annotation)
    if model is None:
        return None, False, []
    if many and isinstance(value, list):
        items, errors = [], []
        for index, item in enumerate(value):
            rebuilt, found = _rebuild(model, item, (*loc, index))
            items.append(rebuilt)
            errors += found
        # Index-addressed rules above still line up: a failed item stays in its place.
        return items, True, errors
    if not many and isinstance(value, dict):
        rebuilt, errors = _rebuild(model, value, loc)
        return rebuilt, rebuilt is not None, errors
    return None, False, []


def _after_validators(cls: type[Spec], instance: Spec, loc: tuple) -> list[Error]:
    errors: list[Error] = []
    for decorator in cls.__pydantic_decorators__.model_validators.values():
        if decorator.info.mode != "after":
            continue
        try:
            decorator.func(instance)
        except pydantic_core.ValidationError as error:
            errors += [
                {"loc": (*loc, *e["loc"]), "type": e["type"], "msg": e["msg"], "input": e.get("input")}
                for e in error.errors(include_url=False)
            ]
        except (AttributeError, TypeError, KeyError):
            # A rule that needs a left-out field (or a part that failed): its field is reported.
            continue
        except ValueError as error:
            errors.append({"loc": loc, "type": "value_error", "msg": str(error), "input": None})
    return errors


@cache
def _adapter(cls: type[Spec], name: str) -> TypeAdapter:
    field = cls.model_fields[name]
    return TypeAdapter(Annotated[field.annotation, field])


def _spec_of(annotation: Any) -> tuple[type[Spec] | None, bool]:
    """The Spec model a field holds, and whether as a list of them."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list and args:
        inner, _ = _spec_of(args[0])
        return inner, inner is not None
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if len(models) == 1 and all(a is type(None) or a is models[0] for a in args):
            return models[0], False
    return None, False
