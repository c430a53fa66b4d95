"""Run a Pulumi program in-process under mocks and record every registration with its options."""
from __future__ import annotations

import asyncio
import runpy
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings

from components.preview import fakes

PROJECT = "ml-serving"
PROGRAM = Path(__file__).resolve().parents[2] / "__main__.py"


class UnmockedInvoke(RuntimeError):
    """The program called a data source the preview has no answer for: fail loudly, never guess."""


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    provider: str
    protect: bool
    retain_on_delete: bool
    ignore_changes: list[str]
    depends_on: list[str]
    aliases: int
    inputs: dict[str, Any]
    delete_before_replace: bool = False
    # The URN `pulumi up` gives the resource: the mock engine's own URNs keep only the nearest
    # parent's type and put the Stack in front, which no real state ever holds.
    engine_urn: str = ""
    # Engine URNs this resource answers to besides its own (its `aliases=`).
    alias_urns: list[str] = field(default_factory=list)
    # Input property -> mock URNs of the resources whose outputs it was built from.
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def parent_type(self) -> str:
        return self.parent.split("::")[2].split("$")[-1] if self.parent else ""

    def as_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "provider": self.provider,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "deleteBeforeReplace": self.delete_before_replace,
            "ignoreChanges": self.ignore_changes,
            "dependsOn": self.depends_on,
            "inputs": self.inputs,
            "engineUrn": self.engine_urn,
            "aliasUrns": self.alias_urns,
            "propertyDependencies": self.property_dependencies,
        }


@dataclass
class Recording:
    stack: str
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def of_type(self, typ: str) -> list[Resource]:
        return [r for r in self.resources if r.type == typ]

    def get(self, typ: str, name: str) -> Resource:
        found = [r for r in self.resources if r.type == typ and r.name == name]
        if len(found) != 1:
            known = sorted(r.name for r in self.of_type(typ))
            raise KeyError(f"{len(found)} resources of type {typ} named {name!r}; {typ} names: {known}")
        return found[0]

    def by_urn(self, urn: str) -> Resource:
        return next(r for r in self.resources if r.urn == urn)

    def children(self, parent: Resource) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent.urn]


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str) -> None:
        self.region = region
        self.invokes: list[tuple[str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return fakes.resource_outputs(args.typ, args.name, dict(args.inputs), self.region)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.invokes.append((args.token, dict(args.args)))
        result = fakes.invoke_result(args.token, dict(args.args), self.region)
        if result is None:
            raise UnmockedInvoke(f"the offline preview has no fake for data source {args.token}")
        return result


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """MockMonitor that also keeps what plain mocks drop: parents and resource options."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.registered: list[Resource] = []
        # Mock URN -> qualified type (the parent chain joined by `$`), for resources below the stack.
        self._chains: dict[str, str] = {}
        self._engine_urns: dict[str, str] = {}
        # The SDK registers resources from executor threads: one writer or reader at a time.
        self._urns_lock = threading.Lock()

    def _engine_urn(self, parent: str, typ: str, name: str) -> tuple[str, str]:
        chain = f"{self._chains[parent]}${typ}" if parent in self._chains else typ
        return chain, "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), chain, name])

    def _alias_urns(self, request) -> list[str]:
        found = list(request.aliasURNs)
        for alias in request.aliases:
            if alias.urn:
                found.append(alias.urn)
                continue
            spec = alias.spec
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            # A parent named by its engine URN (an alias written with parent=<urn>) maps back.
            with self._urns_lock:
                known = list(self._engine_urns.items())
            parent = next((m for m, e in known if e == parent), parent)
            found.append(self._engine_urn(parent, spec.type or request.type, spec.name or request.name)[1])
        return found

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            with self._urns_lock:
                chain, engine_urn = self._engine_urn(request.parent, request.type, request.name)
                self._chains[response.urn] = chain
                self._engine_urns[response.urn] = engine_urn
            self.registered.append(
                Resource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    custom=bool(request.custom),
                    provider=request.provider,
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    ignore_changes=list(request.ignoreChanges),
                    depends_on=list(request.dependencies),
                    aliases=len(request.aliases) + len(request.aliasURNs),
                    inputs=_plain(rpc.deserialize_properties(request.object)),
                    engine_urn=engine_urn,
                    alias_urns=self._alias_urns(request),
                    property_dependencies={
                        key: sorted(value.urns) for key, value in request.propertyDependencies.items() if value.urns
                    },
                )
            )
        return response


SECRET = "[secret]"


def _plain(value: Any) -> Any:
    """Protobuf Structs carry every number as a float: give integers back their type. Secret
    values never reach the preview's files."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            # Keep the shape (a Secret's keys), never the values.
            inner = value.get("value")
            return {key: SECRET for key in inner} if isinstance(inner, dict) else SECRET
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


_LOOP: asyncio.AbstractEventLoop | None = None


def _event_loop() -> asyncio.AbstractEventLoop:
    # One loop for the whole process: a fresh loop per run leaves half-closed loops behind.
    global _LOOP
    if _LOOP is None:
        _LOOP = asyncio.new_event_loop()
    asyncio.set_event_loop(_LOOP)
    return _LOOP


def run_program(config: dict[str, str], stack: str, program: Path = PROGRAM) -> Recording:
    """Run `program` for `stack` with `config` (Pulumi's string-valued config map).

    Raises whatever the program raises (pulumi.RunError for an invalid stack file).
    """
    return run_under_mocks(lambda: runpy.run_path(str(program), run_name="__main__"), stack, config)


def run_under_mocks(body: Callable[[], Any], stack: str = "test", config: dict[str, str] | None = None) -> Recording:
    """Run `body` (a program, or a test's component constructors) and record what it registers."""
    config = config or {}
    _event_loop()
    region = config.get("aws:region", "us-east-1")
    mocks = RecordingMocks(region)
    monitor = RecordingMonitor(mocks)
    # A previous run's root stack would swallow this run's exports.
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(config, [])
    recording = Recording(stack=stack)

    @pulumi.runtime.test
    def execute() -> None:
        body()

    try:
        execute()
    finally:
        pulumi.runtime.set_all_config({}, [])
    root = pulumi_settings.get_root_resource()
    recording.outputs = _resolve_outputs(getattr(root, "outputs", {}))
    recording.resources = monitor.registered
    recording.invokes = mocks.invokes
    return recording


def _resolve_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}

    async def collect() -> None:
        for key, value in outputs.items():
            output = pulumi.Output.from_input(value)
            resolved[key] = _plain(await output.future())

    _event_loop().run_until_complete(collect())
    return resolved
