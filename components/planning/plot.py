"""The PNG `make simulate` writes: per model, replicas, queue depth and latency over time for
every policy on the same trace. matplotlib is imported here only (Agg: no display)."""
from __future__ import annotations

import math
from pathlib import Path

from components.planning.compare import Comparison

# Beyond this many models the figure gets unreadable; the table still covers every model.
MAX_MODELS = 6
COLOURS = {
    "stack policy": "#1f77b4",
    "HPA on CPU": "#d62728",
    "SageMaker invocations": "#ff7f0e",
    "KEDA queue default": "#2ca02c",
    "oracle": "#7f7f7f",
}


def write_plot(comparisons: list[Comparison], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = comparisons[:MAX_MODELS]
    columns = max(1, len(shown))
    figure, axes = plt.subplots(3, columns, figsize=(6.5 * columns, 10), squeeze=False, sharex="col")
    for column, comparison in enumerate(shown):
        model = comparison.setup.model
        runs = comparison.results + [comparison.oracle]
        top, middle, bottom = axes[0][column], axes[1][column], axes[2][column]
        for result in runs:
            series = result.series
            minutes = [t / 60 for t in series.t]
            style = "--" if result.policy == "oracle" else "-"
            colour = COLOURS.get(result.policy)
            top.step(minutes, series.ready, where="post", linestyle=style, color=colour, label=result.policy, linewidth=1.4)
            middle.plot(minutes, series.waiting, linestyle=style, color=colour, linewidth=1.1)
            p99 = [v if not math.isinf(v) else float("nan") for v in series.ttft_p99_per_minute]
            bottom.plot([i + 1 for i in range(len(p99))], p99, linestyle=style, color=colour, marker=".", linewidth=1.1)
        load = comparison.stack.series
        rate = top.twinx()
        window = 60
        smoothed = [
            sum(load.arrivals[max(0, i - window + 1) : i + 1]) / min(window, i + 1) for i in range(len(load.arrivals))
        ]
        rate.plot([t / 60 for t in load.t], smoothed, color="black", alpha=0.25, linewidth=1)
        rate.set_ylabel("requests/s (1-min mean, grey)")
        top.set_title(f"{model.name} ({model.runtime} on {model.instance_type})\n{comparison.trace.name}", fontsize=10)
        top.set_ylabel("ready replicas")
        middle.legend(*top.get_legend_handles_labels(), fontsize=8, loc="upper right")
        middle.set_ylabel("requests waiting (symlog)")
        middle.set_yscale("symlog", linthresh=1)
        deepest = max((max(r.series.waiting, default=0) for r in runs), default=0)
        middle.set_ylim(0, max(2.0, deepest * 1.5))
        latency = "TTFT" if model.runtime == "vllm" else "latency"
        bottom.set_ylabel(f"{latency} p99 per minute (s, log)")
        bottom.set_yscale("log")
        objective = model.slo.ttft_p99_ms if model.runtime == "vllm" else model.slo.latency_p99_ms
        if objective:
            bottom.axhline(objective / 1000, color="black", linestyle=":", linewidth=1)
            bottom.text(0, objective / 1000, " SLO", fontsize=8, va="bottom")
        bottom.set_xlabel("minutes")
        for axis in (top, middle, bottom):
            axis.grid(alpha=0.3)
    if len(comparisons) > MAX_MODELS:
        title += f" (first {MAX_MODELS} of {len(comparisons)} models)"
    figure.suptitle(title, fontsize=12)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path
