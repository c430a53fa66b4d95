"""Shared pieces of the benchmarks: timing, the machine, stacks with N models."""
from __future__ import annotations

import copy
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parents[2]


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load:.2f} at start"
    )


def timed(action: Callable[[], Any], repeat: int = 3) -> tuple[float, float, Any]:
    """(median, best, last result) of `repeat` runs, in seconds."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), result


def stack_with_models(count: int) -> dict[str, Any]:
    """The dev stack file with `count` copies of its vLLM model on one GPU pool big enough."""
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    config = document["config"]
    template = next(m for m in config["ml-serving:models"] if m["runtime"] == "vllm")
    models = []
    for index in range(count):
        model = copy.deepcopy(template)
        model["name"] = f"llama-{index:03d}"
        model["source"] = model["source"].replace("/v1/", f"/m{index:03d}/v1/")
        model["autoscaling"]["max_replicas"] = 1
        models.append(model)
    config["ml-serving:models"] = models
    pool = next(p for p in config["ml-serving:cluster"]["gpu_pools"] if template["instance_type"] in p["instance_types"])
    pool["max_size"] = 100
    return document
