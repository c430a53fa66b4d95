"""What each model declares: where its weights come from, its objectives, its replica floor
and its vLLM memory settings; SageMaker data capture."""
from __future__ import annotations

import re

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .review import facts_of, models
from .settings import config_schema, settings
from .values import get, number, strings

COMMIT = re.compile(r"^[0-9a-f]{40}$")

WEIGHTS_SCHEMA = {
    "allowUnpinnedHub": {
        "type": "boolean", "default": False,
        "description": "Let hf:// sources without a commit revision through (weights then change under a restart).",
    },
}


def _check_weights(args: ResourceValidationArgs, report: ReportViolation) -> None:
    facts = facts_of(args.resource_type, args.props)
    if facts is None:
        return
    allow_unpinned = bool(settings(args, WEIGHTS_SCHEMA)["allowUnpinnedHub"])
    bucket = get(facts, "modelBucket")
    for model in models(facts):
        for source in strings(get(model, "sources")):
            if source.startswith("s3://"):
                if source.split("/")[2] != bucket:
                    report(f"model {get(model, 'name')} reads {source}, outside the stack's model bucket {bucket}; "
                           f"copy the weights to s3://{bucket}/<prefix>/.")
                continue
            repository, _, revision = source.removeprefix("hf://").partition("@")
            if COMMIT.match(revision) or allow_unpinned:
                continue
            now = (f"revision {revision!r}, which is not a full commit sha (a branch or tag moves)" if revision
                   else "no revision")
            report(f"model {get(model, 'name')} downloads {source} from the Hugging Face Hub at every start with "
                   f"{now}: a restart or scale-out can load different weights. Upload them to "
                   f"s3://{bucket}/<prefix>/ and use that, or pin a commit: hf://{repository}@<40-hex commit sha>.")


WEIGHTS_PINNED = ResourceValidationPolicy(
    name="model-weights-pinned",
    display_name="Model weights from the bucket or a pinned revision",
    description=(
        "Judgement (policy; dev may try a Hub model as it moves): weights come from the stack's model bucket, or "
        "from the Hugging Face Hub at a pinned commit (hf://org/model@<sha>), so every replica loads the same bits."
    ),
    validate=_check_weights,
    config_schema=config_schema(WEIGHTS_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["supply-chain", "reliability"],
    remediation_steps="Upload the weights to the model bucket (s3://<bucket>/<model>/<version>/) or append @<commit>.",
)

SLO_SCHEMA = {
    "maxTtftP99Ms": {"type": "number", "minimum": 1, "default": 10000,
                     "description": "Loosest time-to-first-token objective (p99, ms) a model may declare."},
    "maxTpotP99Ms": {"type": "number", "minimum": 1, "default": 500,
                     "description": "Loosest time-per-output-token objective (p99, ms)."},
    "maxLatencyP99Ms": {"type": "number", "minimum": 1, "default": 60000,
                        "description": "Loosest whole-request latency objective (p99, ms)."},
    "maxErrorRate": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.05,
                     "description": "Loosest error-rate objective (share of failed requests)."},
}
SLO_FIELDS = (("ttftP99Ms", "maxTtftP99Ms", "slo.ttft_p99_ms"), ("tpotP99Ms", "maxTpotP99Ms", "slo.tpot_p99_ms"),
              ("latencyP99Ms", "maxLatencyP99Ms", "slo.latency_p99_ms"), ("errorRate", "maxErrorRate", "slo.error_rate"))


def _check_slo(args: ResourceValidationArgs, report: ReportViolation) -> None:
    facts = facts_of(args.resource_type, args.props)
    if facts is None:
        return
    config = settings(args, SLO_SCHEMA)
    for model in models(facts):
        for key, limit_key, field in SLO_FIELDS:
            value = number(get(model, "slo", key))
            limit = float(config[limit_key])
            if value is not None and value > limit:
                report(f"model {get(model, 'name')} declares {field} = {value:g}, looser than this environment's "
                       f"{limit_key} of {limit:g}: alerts and canary gates measured against it would never fire on "
                       f"a broken model. Set {field} to what users can accept (at most {limit:g}).")


SLO_BOUNDED = ResourceValidationPolicy(
    name="slo-within-sane-bounds",
    display_name="Objectives within sane bounds",
    description=(
        "Judgement with thresholds (policy): a model's objectives are tight enough to mean something; alerts and "
        "canary gates derive from them. Validation only rejects values no server can have."
    ),
    validate=_check_slo,
    config_schema=config_schema(SLO_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["reliability", "slo"],
    remediation_steps="Tighten the model's slo block (e.g. ttft_p99_ms: 2000, error_rate: 0.01).",
)

REPLICAS_SCHEMA = {
    "minReplicas": {"type": "integer", "minimum": 1, "default": 2,
                    "description": "Replicas each model keeps at least, unless it states single_replica_reason."},
}


def _check_replicas(args: ResourceValidationArgs, report: ReportViolation) -> None:
    facts = facts_of(args.resource_type, args.props)
    if facts is None:
        return
    floor = int(settings(args, REPLICAS_SCHEMA)["minReplicas"])
    for model in models(facts):
        replicas = int(number(get(model, "minReplicas")) or 0)
        if replicas < floor and not get(model, "singleReplicaReason"):
            report(f"model {get(model, 'name')} keeps {replicas} replica(s); at least {floor} here: with one, a node "
                   f"drain, a Spot reclaim or a crash is an outage until a new replica loads its weights. Set "
                   f"autoscaling.min_replicas: {floor}, or state why one is acceptable in "
                   "autoscaling.single_replica_reason.")


REPLICAS_REDUNDANT = ResourceValidationPolicy(
    name="models-redundant-replicas",
    display_name="Redundant replicas or an explicit acceptance",
    description=(
        "Judgement (policy): each model keeps at least minReplicas replicas, or declares "
        "autoscaling.single_replica_reason, an acceptance a reviewer sees in the PR."
    ),
    validate=_check_replicas,
    config_schema=config_schema(REPLICAS_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["reliability"],
    remediation_steps="Raise autoscaling.min_replicas, or set autoscaling.single_replica_reason.",
)

VLLM_SCHEMA = {
    "maxGpuMemoryUtilization": {
        "type": "number", "minimum": 0.5, "maximum": 1, "default": 0.95,
        "description": (
            "Highest --gpu-memory-utilization: above it CUDA graphs, the sampler and NCCL buffers, which vLLM "
            "allocates outside its budget, run the GPU out of memory under load."
        ),
    },
    "maxNumSeqs": {"type": "integer", "minimum": 1, "default": 512,
                   "description": "Highest --max-num-seqs (sequences batched at once)."},
    "minKvTokensPerSequence": {
        "type": "integer", "minimum": 1, "default": 256,
        "description": "KV-cache tokens each of max_num_seqs sequences must get; fewer and vLLM preempts constantly.",
    },
}


def _check_vllm(args: ResourceValidationArgs, report: ReportViolation) -> None:
    facts = facts_of(args.resource_type, args.props)
    if facts is None:
        return
    config = settings(args, VLLM_SCHEMA)
    for model in models(facts):
        engine = get(model, "vllm")
        if engine is None:
            continue
        name = get(model, "name")
        utilization = number(get(engine, "gpuMemoryUtilization")) or 0
        seqs = int(number(get(engine, "maxNumSeqs")) or 0)
        kv_tokens = int(number(get(engine, "kvCacheTokens")) or 0)
        if utilization > config["maxGpuMemoryUtilization"]:
            report(f"model {name}: vllm.gpu_memory_utilization {utilization:g} leaves too little GPU memory outside "
                   f"vLLM's budget (CUDA graphs, sampler, NCCL); at most {config['maxGpuMemoryUtilization']:g} here.")
        if seqs > config["maxNumSeqs"]:
            report(f"model {name}: vllm.max_num_seqs {seqs} is above {config['maxNumSeqs']} here; set it to what the "
                   "KV cache and the latency objective allow.")
        per_sequence = kv_tokens // seqs if seqs else 0
        if seqs and per_sequence < config["minKvTokensPerSequence"]:
            fit = max(1, kv_tokens // int(config["minKvTokensPerSequence"]))
            report(f"model {name}: the KV cache holds {kv_tokens:,} tokens, {per_sequence} per sequence at "
                   f"max_num_seqs {seqs}: vLLM would preempt and recompute requests all the time. Set "
                   f"vllm.max_num_seqs to at most {fit}, or give the model more GPU memory.")


VLLM_MEMORY = ResourceValidationPolicy(
    name="vllm-memory-settings-bounded",
    display_name="vLLM memory settings it can hold",
    description=(
        "Judgement with thresholds (policy; validation already rejects a model whose weights and one full "
        "context do not fit): gpu_memory_utilization leaves headroom, max_num_seqs stays bounded and every "
        "batched sequence gets a minimum of KV cache (from the preview's memory plan)."
    ),
    validate=_check_vllm,
    config_schema=config_schema(VLLM_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    tags=["gpu", "reliability", "vllm"],
    remediation_steps="Keep vllm.gpu_memory_utilization at 0.90 (the default) and max_num_seqs at 16-256.",
)

CAPTURE_SCHEMA = {
    "maxDataCapturePercent": {
        "type": "integer", "minimum": 0, "maximum": 100, "default": 10,
        "description": "Highest share of requests and responses captured to S3 without a recorded approval.",
    },
}


def _check_capture(args: ResourceValidationArgs, report: ReportViolation) -> None:
    facts = facts_of(args.resource_type, args.props)
    if facts is None or get(facts, "sagemaker") is None:
        return
    ceiling = int(settings(args, CAPTURE_SCHEMA)["maxDataCapturePercent"])
    percent = number(get(facts, "sagemaker", "dataCapturePercent")) or 0
    if percent > ceiling and not get(facts, "sagemaker", "dataCaptureApproval"):
        report(f"sagemaker.data_capture_percent is {percent:g}: that share of prompts and responses (possibly "
               f"personal data) is written to S3; at most {ceiling} here without an approval. Lower it, or record "
               "who approved it in sagemaker.data_capture_approval.")


DATA_CAPTURE_BOUNDED = ResourceValidationPolicy(
    name="data-capture-bounded",
    display_name="SageMaker data capture bounded",
    description=(
        "Judgement with a threshold (policy): SageMaker captures at most maxDataCapturePercent of requests unless "
        "sagemaker.data_capture_approval records who approved more."
    ),
    validate=_check_capture,
    config_schema=config_schema(CAPTURE_SCHEMA),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["sagemaker", "privacy"],
    remediation_steps="Lower sagemaker.data_capture_percent, or set sagemaker.data_capture_approval.",
)

POLICIES = [WEIGHTS_PINNED, SLO_BOUNDED, REPLICAS_REDUNDANT, VLLM_MEMORY, DATA_CAPTURE_BOUNDED]
