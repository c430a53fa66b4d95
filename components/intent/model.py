"""ModelSpec: one model deployment, the same for the EKS and SageMaker targets."""
from __future__ import annotations

import difflib
from typing import Literal

from pydantic import Field, model_validator

from components.intent.architecture import LlmArchitecture, presets
from components.intent.autoscaling import AutoscalingPolicy
from components.intent.aws_data import unknown_ec2_type
from components.intent.base import ModelName, ModelSource, Problems, Spec, VersionLabel, shown
from components.intent.canary import CanaryPolicy
from components.intent.efa import EFA_NETWORK_CARDS
from components.intent.experiment import Experiment, Shadow
from components.intent.histograms import Histogram, edge_problem
from components.intent.instances import catalog
from components.intent.lora import LoraAdapter, lora_bytes_per_gpu
from components.intent.memory import DTYPE_BYTES, GIB, MemoryPlan, fit_problem, plan_memory, triton_fit_problem
from components.intent.quantization import quantization_problem
from components.intent.routing import PICKER_NAME_LIMIT, RoutingPolicy
from components.intent.slo import Slo
from components.intent.traffic import Traffic
from components.intent.triton import TritonModelConfig

Runtime = Literal["vllm", "triton"]
# 8-GPU instance types with EFA (components/intent/efa.py): the only ones a replica may span
# nodes on, since pipeline stages exchange activations every step.
MULTINODE_INSTANCE_TYPES = frozenset(EFA_NETWORK_CARDS)


class VllmEngine(Spec):
    """vLLM engine settings (they become `vllm serve` flags)."""

    architecture: str | LlmArchitecture = Field(
        description=(
            "The model's shape: a reference name (llama-3.1-8b, llama-3.1-70b, llama-3.1-405b, mistral-7b-v0.3, "
            "qwen2.5-7b, qwen2.5-72b, mixtral-8x7b) or the numbers from its config.json."
        )
    )
    max_model_len: int = Field(
        ge=256,
        le=1_048_576,
        description="Longest prompt plus output a request may use (`--max-model-len`). Set it: "
        "the model's advertised maximum rarely fits a single GPU's KV cache.",
    )
    gpu_memory_utilization: float = Field(
        0.90, ge=0.5, le=0.98, description="Share of each GPU's memory vLLM may claim."
    )
    dtype: Literal["bfloat16", "float16"] = Field("bfloat16", description="Activation and weight dtype.")
    quantization: Literal["none", "fp8", "awq", "gptq"] = Field(
        "none",
        description=(
            "Weight quantization the checkpoint uses (or fp8 on the fly). In bfloat16, awq and gptq run "
            "vLLM's marlin kernels (4- or 8-bit, group size -1/32/64/128, symmetric GPTQ); in float16 the "
            "plain kernels, which take any AWQ/GPTQ checkpoint."
        ),
    )
    kv_cache_dtype: Literal["auto", "fp8"] = Field(
        "auto", description="`auto` keeps the model dtype; `fp8` halves the KV cache."
    )
    max_num_seqs: int = Field(64, ge=1, le=1024, description="Most sequences batched at once.")
    adapters: list[LoraAdapter] = Field(
        default_factory=list,
        max_length=64,
        description="LoRA adapters served on this model (`--enable-lora --lora-modules`), each asked for by name.",
    )
    max_loras: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Adapters a replica keeps on its GPUs at once (`--max-loras`); default: all of them, up to 4. "
        "Each slot reserves GPU memory at the highest adapter rank.",
    )
    max_cpu_loras: int | None = Field(
        None,
        ge=1,
        le=256,
        description="Adapters kept in host memory for quick swapping onto the GPU (`--max-cpu-loras`); "
        "default: all of them.",
    )

    def resolved_max_loras(self) -> int:
        return self.max_loras if self.max_loras is not None else min(len(self.adapters), 4)

    def resolved_max_cpu_loras(self) -> int:
        return self.max_cpu_loras if self.max_cpu_loras is not None else max(len(self.adapters), self.resolved_max_loras())

    def max_lora_rank(self) -> int:
        return max(adapter.rank for adapter in self.adapters)

    def lora_bytes_per_gpu(self) -> float:
        if not self.adapters:
            return 0.0
        return lora_bytes_per_gpu(
            self.resolved_architecture(), self.resolved_max_loras(), self.max_lora_rank(), DTYPE_BYTES[self.dtype]
        )

    def resolved_architecture(self) -> LlmArchitecture:
        if isinstance(self.architecture, LlmArchitecture):
            return self.architecture
        return presets()[self.architecture]

    @model_validator(mode="after")
    def _architecture_known(self) -> VllmEngine:
        problems = Problems(self)
        if isinstance(self.architecture, str):
            known = sorted(presets())
            if self.architecture not in known:
                close = difflib.get_close_matches(self.architecture, known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                problems.add(
                    ("architecture",),
                    f"unknown architecture {shown(self.architecture)}{hint}; use one of {', '.join(known)} "
                    "or give params_billion, num_layers, num_kv_heads, head_dim and max_position_embeddings",
                    self.architecture,
                )
                problems.raise_if_any()
        shape = self.resolved_architecture()
        if (
            self.quantization != "none"
            and isinstance(self.architecture, LlmArchitecture)
            and shape.embedding_params() is None
        ):
            problems.add(
                ("architecture",),
                f"{self.quantization} checkpoints keep their embeddings in 16 bits; give hidden_size and "
                "vocab_size (from config.json) so the GPU memory check can count them",
            )
        self._check_adapters(problems, shape)
        limit = shape.max_position_embeddings
        if self.max_model_len > limit:
            problems.add(
                ("max_model_len",),
                f"max_model_len ({self.max_model_len}) exceeds the model's context ({limit})",
                self.max_model_len,
            )
        problems.raise_if_any()
        return self

    def _check_adapters(self, problems: Problems, shape: LlmArchitecture) -> None:
        if not self.adapters:
            for field in ("max_loras", "max_cpu_loras"):
                if getattr(self, field) is not None:
                    problems.add((field,), f"{field} applies only to a model with adapters", getattr(self, field))
            return
        names = [adapter.name for adapter in self.adapters]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            problems.add(("adapters",), f"adapter names must be unique; repeated: {', '.join(repeated)}")
        base = self.architecture if isinstance(self.architecture, str) else None
        for index, adapter in enumerate(self.adapters):
            if not adapter.source.startswith("s3://"):
                problems.add(
                    ("adapters", index, "source"),
                    "adapters are copied from the model bucket onto each replica; upload it to "
                    "s3://<model bucket>/<prefix>/",
                    adapter.source,
                )
            if base is not None and adapter.base_model != base:
                problems.add(
                    ("adapters", index, "base_model"),
                    f"adapter {adapter.name} was trained on {adapter.base_model}, but this model is {base}; "
                    "an adapter only works on the checkpoint it was trained from",
                    adapter.base_model,
                )
        if shape.hidden_size is None:
            problems.add(
                ("architecture",),
                "adapters reserve GPU memory per layer width; give hidden_size and vocab_size (from config.json) "
                "so the GPU memory check can count them",
            )
        if self.max_loras is not None and self.max_loras > len(self.adapters):
            problems.add(
                ("max_loras",),
                f"max_loras ({self.max_loras}) exceeds the {len(self.adapters)} adapter(s) listed; each slot "
                "reserves GPU memory whether used or not",
                self.max_loras,
            )
        if self.max_cpu_loras is not None and self.max_cpu_loras < self.resolved_max_loras():
            problems.add(
                ("max_cpu_loras",),
                f"max_cpu_loras ({self.max_cpu_loras}) must be at least max_loras ({self.resolved_max_loras()}); "
                "vLLM refuses to start otherwise",
                self.max_cpu_loras,
            )


class ModelSpec(Spec):
    """A model served on GPUs: where its weights are, how it runs, scales and rolls out."""

    name: ModelName = Field(description="Name of the deployment (InferenceService or SageMaker endpoint).")
    runtime: Runtime = Field(description="`vllm` (OpenAI-compatible LLM server) or `triton`.")
    version: VersionLabel = Field("v1", description="Label of the stable version.")
    source: ModelSource = Field(description="Weights: s3://<model bucket>/<prefix>/ or hf://<org>/<model>.")
    instance_type: str = Field(description="GPU instance type a replica runs on, EC2 naming (g6e.xlarge).")
    gpus: int = Field(
        1,
        ge=1,
        le=64,
        description="GPUs per replica: tensor parallelism inside a node; a multiple of the node's GPUs above "
        "that runs one replica across that many nodes (vLLM pipeline parallelism, a LeaderWorkerSet group).",
    )
    vllm: VllmEngine | None = Field(None, description="Engine settings; required for runtime vllm.")
    triton: TritonModelConfig | None = Field(None, description="Model configuration; required for runtime triton.")
    autoscaling: AutoscalingPolicy = Field(default_factory=AutoscalingPolicy)
    canary: CanaryPolicy | None = Field(None, description="A candidate version in rollout, if any.")
    routing: RoutingPolicy = Field(default_factory=RoutingPolicy, description="How requests pick a replica.")
    automated_rollout: bool = Field(
        False,
        description=(
            "EKS: Flagger drives this model's canaries: each step bakes step_interval_s and advances while every "
            "gate holds, missing metrics hold the step, a breach sends the candidate's weight to 0. Turn it on one "
            "`pulumi up` before declaring a canary and keep it on between rollouts (the stable version is Flagger's "
            "baseline); canary.traffic_percent then stays 0."
        ),
    )
    experiment: Experiment | None = Field(None, description="An A/B experiment: variants chosen by header or cookie.")
    shadow: Shadow | None = Field(None, description="A version receiving mirrored requests, its answers discarded.")
    slo: Slo = Field(description="Objectives alerts and canary gates are measured against.")
    traffic: Traffic | None = Field(
        None,
        description=(
            "Expected traffic, replayed by the preview and `make tune` instead of a load relative "
            "to the model's ceiling."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        problems = Problems(self)
        problems.run(self._check_instance)
        problems.run(self._check_runtime_blocks)
        problems.run(self._check_canary)
        problems.run(self._check_routing)
        problems.run(self._check_side_versions)
        problems.run(self._check_objectives_on_bucket_edges)
        problems.run(self._check_memory_fit)
        problems.run(self._check_quantization)
        problems.raise_if_any()
        return self

    def _check_objectives_on_bucket_edges(self, problems: Problems) -> None:
        if self.runtime != "vllm":
            return
        objectives: list[tuple[tuple, Histogram, float | None]] = [
            (("slo", "ttft_p99_ms"), "ttft", self.slo.ttft_p99_ms),
            (("slo", "tpot_p99_ms"), "inter_token", self.slo.tpot_p99_ms),
            (("slo", "latency_p99_ms"), "e2e", self.slo.latency_p99_ms),
        ]
        gate_histograms: dict[str, Histogram] = {"ttft_p99": "ttft", "latency_p99": "e2e"}
        # Every gate block is measured against bucket edges alike (components/compilers/monitoring.py).
        blocks = [
            ("canary", self.canary.gates if self.canary else []),
            ("experiment", self.experiment.gates if self.experiment else []),
            ("shadow", self.shadow.gates if self.shadow else []),
        ]
        for block, gates in blocks:
            for index, gate in enumerate(gates):
                if gate.metric in gate_histograms:
                    objectives.append(((block, "gates", index, "max_value"), gate_histograms[gate.metric], gate.max_value))
        for loc, histogram, value in objectives:
            message = edge_problem(histogram, value) if value is not None else None
            if message is not None:
                problems.add(loc, message, value)

    def memory_plan(self) -> MemoryPlan | None:
        """How a vLLM replica's GPU memory divides into weights and KV cache (None for Triton)."""
        engine = self.vllm
        if engine is None or self.instance_type not in catalog().instances:
            return None
        itype = catalog().instances[self.instance_type]
        return plan_memory(
            engine.resolved_architecture(),
            gpu=itype.gpu,
            gpu_memory_mib=catalog().gpus[itype.gpu].memory_mib,
            tensor_parallel=min(self.gpus, itype.gpu_count),
            pipeline_parallel=self.nodes_per_replica(),
            max_model_len=engine.max_model_len,
            utilization=engine.gpu_memory_utilization,
            dtype=engine.dtype,
            quantization=engine.quantization,
            kv_cache_dtype=engine.kv_cache_dtype,
            lora_bytes_per_gpu=engine.lora_bytes_per_gpu() if engine.resolved_architecture().hidden_size else 0.0,
        )

    def nodes_per_replica(self) -> int:
        """Nodes one replica spans: 1, or gpus / the node's GPUs for a multi-node replica."""
        itype = catalog().instances.get(self.instance_type)
        if itype is None or self.gpus <= itype.gpu_count:
            return 1
        return self.gpus // itype.gpu_count

    def weights_gib(self) -> float:
        """GiB of weights one replica loads onto its GPUs: what downloads, start-up times and
        probe budgets scale with."""
        plan = self.memory_plan()
        if plan is not None:
            return plan.weights_bytes_per_gpu * self.gpus / GIB
        assert self.triton is not None
        instances = sum(group.count for group in self.triton.instance_groups)
        return instances * self.triton.gpu_memory_mib_per_instance / 1024

    def _check_instance(self, problems: Problems) -> None:
        known = catalog().instances
        itype = known.get(self.instance_type)
        if itype is None:
            close = difflib.get_close_matches(self.instance_type, list(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            what = (
                f"{shown(self.instance_type)} is not an EC2 instance type"
                if unknown_ec2_type(self.instance_type)
                else f"unknown GPU instance type {shown(self.instance_type)}"
            )
            problems.add(("instance_type",), f"{what}{hint}; known: {', '.join(sorted(known))}", self.instance_type)
            return
        if self.gpus > itype.gpu_count:
            if self.instance_type not in MULTINODE_INSTANCE_TYPES:
                problems.add(
                    ("gpus",),
                    f"{self.instance_type} has {itype.gpu_count} GPU(s); gpus per replica ({self.gpus}) must divide "
                    "that evenly so whole replicas fill the instance. A replica across nodes needs an EFA instance "
                    f"type ({', '.join(sorted(MULTINODE_INSTANCE_TYPES))})",
                    self.gpus,
                )
                return
            self._check_multinode(problems, itype.gpu_count)
            return
        if itype.gpu_count % self.gpus:
            problems.add(
                ("gpus",),
                f"{self.instance_type} has {itype.gpu_count} GPU(s); gpus per replica ({self.gpus}) must "
                "divide that evenly so whole replicas fill the instance",
                self.gpus,
            )

    def _check_multinode(self, problems: Problems, node_gpus: int) -> None:
        """A replica across nodes: whole nodes, vLLM only, and nothing that needs a replica to
        be one pod (placeholders, the interceptor's wake-up, per-pod adapters or the picker)."""
        if self.gpus % node_gpus:
            problems.add(
                ("gpus",),
                f"{self.instance_type} has {node_gpus} GPU(s); a replica across nodes takes whole nodes, so gpus "
                f"({self.gpus}) must be a multiple of {node_gpus}",
                self.gpus,
            )
        reasons = {
            ("runtime",): (self.runtime != "vllm", "only vLLM runs a replica across nodes"),
            ("autoscaling", "scale_to_zero"): (
                self.autoscaling.scale_to_zero,
                "a replica across nodes starts too slowly to wake on a request; keep min_replicas at 1 or more",
            ),
            ("autoscaling", "warm_pool"): (
                self.autoscaling.warm_pool > 0,
                "warm-pool placeholders hold one node each; a replica across nodes needs a whole group",
            ),
            ("routing", "balancer"): (
                self.routing.balancer == "endpoint_picker",
                "the endpoint picker scores single-pod replicas; a replica across nodes is routed round_robin "
                "to its leader",
            ),
            ("vllm", "adapters"): (
                bool(self.vllm and self.vllm.adapters),
                "LoRA adapters are served on single-node replicas only",
            ),
        }
        for loc, (wrong, message) in reasons.items():
            if wrong:
                problems.add(loc, f"gpus {self.gpus} spans {self.gpus // node_gpus} nodes: {message}")

    def _check_quantization(self, problems: Problems) -> None:
        itype = catalog().instances.get(self.instance_type)
        if self.vllm is None or itype is None:
            return
        gpu = catalog().gpus[itype.gpu]
        problem = quantization_problem(
            self.vllm.quantization, self.vllm.dtype, itype.gpu, gpu.compute_capability, self.instance_type
        )
        if problem is not None:
            problems.add(("vllm", "quantization" if self.vllm.quantization != "none" else "dtype"), problem)

    def _check_memory_fit(self, problems: Problems) -> None:
        itype = catalog().instances.get(self.instance_type)
        if itype is None or (self.gpus <= itype.gpu_count and itype.gpu_count % self.gpus) or (
            self.gpus > itype.gpu_count
            and (self.gpus % itype.gpu_count or self.instance_type not in MULTINODE_INSTANCE_TYPES)
        ):
            return
        if self.runtime == "vllm" and self.vllm is not None:
            plan = self.memory_plan()
            assert plan is not None
            engine = self.vllm
            what = engine.architecture if isinstance(engine.architecture, str) else "the model"
            precision = engine.dtype if engine.quantization == "none" else engine.quantization
            problem = fit_problem(plan, self.instance_type, f"{what} in {precision}")
            if problem is not None:
                field, message = problem
                loc = ("instance_type",) if field == "instance_type" else ("vllm", "max_model_len")
                problems.add(loc, message)
        elif self.runtime == "triton" and self.triton is not None:
            config = self.triton
            instances = sum(g.count for g in config.instance_groups if g.kind == "KIND_GPU")
            message = triton_fit_problem(
                instances, config.gpu_memory_mib_per_instance, itype.gpu,
                catalog().gpus[itype.gpu].memory_mib, self.instance_type,
            )
            if message is not None:
                problems.add(("triton", "gpu_memory_mib_per_instance"), message, config.gpu_memory_mib_per_instance)

    def _check_runtime_blocks(self, problems: Problems) -> None:
        other = "triton" if self.runtime == "vllm" else "vllm"
        if getattr(self, self.runtime) is None:
            problems.add((self.runtime,), f"runtime {self.runtime} needs a `{self.runtime}` block")
        if getattr(self, other) is not None:
            problems.add((other,), f"`{other}` settings do not apply to runtime {self.runtime}")
        if self.runtime == "vllm":
            if self.slo.ttft_p99_ms is None:
                problems.add(("slo", "ttft_p99_ms"), "a vLLM model needs a time-to-first-token objective")
        else:
            if self.slo.latency_p99_ms is None:
                problems.add(("slo", "latency_p99_ms"), "a Triton model needs a latency objective")
            for field in ("ttft_p99_ms", "tpot_p99_ms"):
                if getattr(self.slo, field) is not None:
                    problems.add(("slo", field), "Triton reports no token timings; use latency_p99_ms")
        if self.runtime == "triton":
            side = [(("shadow", "source"), self.shadow and self.shadow.source)]
            if self.experiment is not None:
                side += [(("experiment", "variants", i, "source"), v.source) for i, v in enumerate(self.experiment.variants)]
            for loc, source in ((("source",), self.source), (("canary", "source"), self.canary and self.canary.source), *side):
                if source and not source.startswith("s3://"):
                    problems.add(
                        loc,
                        "a Triton model is served from a model repository in S3 (s3://<bucket>/<prefix>/), "
                        "where ml-serving writes its config.pbtxt",
                        source,
                    )
        if self.runtime == "triton" and self.triton is not None and self.gpus != 1:
            problems.add(("gpus",), "a Triton replica uses one GPU; scale with replicas or instance_groups")

    def _check_routing(self, problems: Problems) -> None:
        if self.routing.balancer != "endpoint_picker":
            return
        if self.runtime != "vllm":
            problems.add(
                ("routing", "balancer"),
                "the endpoint picker scores vLLM replicas by their queue and KV-cache metrics; Triton models "
                "use round_robin",
                self.routing.balancer,
            )
        if self.autoscaling.scale_to_zero:
            problems.add(
                ("routing", "balancer"),
                "a model that scales to zero is reached through the KEDA interceptor, which holds requests "
                "while it wakes and cannot hand them to a picker; use round_robin or keep a replica",
                self.routing.balancer,
            )
        if self.automated_rollout:
            problems.add(
                ("routing", "balancer"),
                "Flagger owns the HTTPRoute of a model with automated_rollout and writes Service backends only "
                "(Flagger 1.44 has no InferencePool backend), so the picker would never see a request; choose "
                "automated_rollout or the endpoint picker",
                self.routing.balancer,
            )
        labelled: list[tuple[tuple, str | None]] = [(("version",), self.version)]
        labelled.append((("canary", "version"), self.canary and self.canary.version))
        labelled.append((("shadow", "version"), self.shadow and self.shadow.version))
        for index, variant in enumerate(self.experiment.variants if self.experiment else []):
            labelled.append((("experiment", "variants", index, "version"), variant.version))
        for loc, version in labelled:
            if version and len(f"{self.name}-{version}") > PICKER_NAME_LIMIT:
                problems.add(
                    loc,
                    f"each version's picker is named after `<model>-<version>` cut to {PICKER_NAME_LIMIT} "
                    f"characters; {self.name}-{version} is longer, so two versions could share one picker; "
                    "shorten the model name or the version label",
                    version,
                )

    def _check_adapter_names(self, problems: Problems) -> None:
        for index, adapter in enumerate(self.vllm.adapters if self.vllm is not None else []):
            if adapter.name == self.name:
                problems.add(
                    ("vllm", "adapters", index, "name"),
                    f"an adapter needs a name other than its base model's ({self.name}): clients pick one by name",
                    adapter.name,
                )

    def _check_canary(self, problems: Problems) -> None:
        self._check_adapter_names(problems)
        if self.canary is None:
            return
        if self.canary.version == self.version:
            problems.add(
                ("canary", "version"),
                f"the candidate needs a version label other than the stable one ({self.version})",
                self.canary.version,
            )
        stable_source = self.source
        if self.canary.adapter is not None:
            adapters = {a.name: a for a in self.vllm.adapters} if self.vllm is not None else {}
            target = adapters.get(self.canary.adapter)
            if target is None:
                known = ", ".join(sorted(adapters)) or "none"
                problems.add(
                    ("canary", "adapter"),
                    f"the canary targets adapter {self.canary.adapter!r}, which this model does not serve "
                    f"(adapters: {known})",
                    self.canary.adapter,
                )
            else:
                stable_source = target.source
                if not self.canary.source.startswith("s3://"):
                    problems.add(
                        ("canary", "source"),
                        "an adapter candidate is copied from the model bucket like the adapter itself; "
                        "use s3://<model bucket>/<prefix>/",
                        self.canary.source,
                    )
        if self.canary.source == stable_source:
            problems.add(
                ("canary", "source"),
                "the candidate serves the same weights as the stable version; point it at the new ones",
                self.canary.source,
            )
        if self.autoscaling.scale_to_zero:
            problems.add(
                ("canary",),
                "a canary compares two live versions, so it cannot run while scale_to_zero is on; "
                "finish or roll back the canary first",
            )
        if self.automated_rollout and self.canary.traffic_percent != 0:
            problems.add(
                ("canary", "traffic_percent"),
                "with automated_rollout Flagger owns the candidate's live weight; leave traffic_percent at 0 "
                f"(got {self.canary.traffic_percent}) and follow the rollout in the Canary's status",
                self.canary.traffic_percent,
            )
        if self.automated_rollout and not self.canary.rollback_on_breach:
            problems.add(
                ("canary", "rollback_on_breach"),
                "an automated rollout always rolls back on a breach: Flagger never advances past a failed gate",
            )
        for index, gate in enumerate(self.canary.gates):
            if gate.metric == "ttft_p99" and self.runtime != "vllm":
                problems.add(
                    ("canary", "gates", index, "metric"),
                    "ttft_p99 needs token timings, which only vLLM reports; use latency_p99",
                    gate.metric,
                )

    def _check_side_versions(self, problems: Problems) -> None:
        """Experiment arms and a shadow run as versions of their own beside stable and canary."""
        running = {self.version: self.source}
        if self.canary is not None:
            running[self.canary.version] = self.canary.source
        if self.experiment is not None:
            for index, variant in enumerate(self.experiment.variants):
                where = ("experiment", "variants", index)
                if variant.version in running:
                    if variant.source is not None and variant.source != running[variant.version]:
                        problems.add(
                            (*where, "source"),
                            f"version {variant.version} already runs from {running[variant.version]}; "
                            "leave source out to reuse it",
                            variant.source,
                        )
                elif variant.source is None:
                    problems.add(
                        (*where, "source"),
                        f"version {variant.version} is neither the stable ({self.version}) nor the canary's; "
                        "give its source",
                    )
                else:
                    running[variant.version] = variant.source
        if self.shadow is not None:
            if self.shadow.version in running:
                problems.add(
                    ("shadow", "version"),
                    f"the shadow needs a version of its own; {self.shadow.version} already takes live requests",
                    self.shadow.version,
                )
            if self.automated_rollout:
                problems.add(
                    ("shadow",),
                    "Flagger owns the HTTPRoute of a model with automated_rollout and rewrites its filters, so a "
                    "shadow cannot mirror from it; shadow the model while its rollouts are manual",
                )
        if self.autoscaling.scale_to_zero and (self.experiment is not None or self.shadow is not None):
            problems.add(
                ("autoscaling", "scale_to_zero"),
                "the interceptor that wakes an idle model routes by host, not by header or mirror; an experiment "
                "or a shadow needs the model kept warm",
            )
