"""diff.md: what a reviewer reads first (guarded changes, counts, models, cost, SLO, policies),
then the resource lists."""
from __future__ import annotations

from typing import Any

from components.preview.guard import is_acknowledged, label_for

LIST_LIMIT = 40


def _money(value: float) -> str:
    sign = "+" if value > 0 else "-" if value < 0 else "±"
    return f"{sign}${abs(value):,.2f}"


def _urn_tail(urn: str) -> str:
    """`<type> <name>` of an engine URN: short enough for a table."""
    qualified, name = urn.split("::")[2], urn.split("::", 3)[3]
    return f"{qualified.rpartition('$')[2]} {name}"


def _listing(title: str, lines: list[str]) -> list[str]:
    if not lines:
        return []
    shown = lines[:LIST_LIMIT]
    more = [f"- ... and {len(lines) - LIST_LIMIT} more (diff.json has them all)"] if len(lines) > LIST_LIMIT else []
    return ["", f"<details><summary>{title} ({len(lines)})</summary>", "", *shown, *more, "", "</details>"]


def _attainment(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("attainment") is None:
        return "-"
    return f"{entry['attainment']:.1%} ({entry.get('objective')})"


def summary_line(diff: dict[str, Any]) -> str:
    models = diff["models"]
    return (
        f"{len(diff['added'])} added, {len(diff['removed'])} removed, {len(diff['replaced'])} replaced, "
        f"{len(diff['changed'])} changed; models +{len(models['added'])} -{len(models['removed'])} "
        f"~{len(models['changed'])}; idle {_money(diff['cost']['idle_delta_usd_month'])}/month, busy "
        f"{_money(diff['cost']['busy_delta_usd_month'])}/month"
    )


def render(diff: dict[str, Any], allowed: set[str], environment: str | None) -> str:
    base = diff["base"]
    lines = [f"### Stack `{diff['stack']}` ({environment or 'unknown environment'}) against `{base[:12]}`", ""]
    guarded = diff["guarded"]
    if guarded:
        waiting = [g for g in guarded if not is_acknowledged(g["what"], allowed)]
        lines.append(
            f"**{len(guarded)} guarded change(s)**, {len(waiting)} not acknowledged"
            + (" (acknowledge each with `ALLOW_DESTRUCTIVE=<what>,...`, or its label on the pull request):"
               if waiting else ":")
        )
        lines.append("")
        lines.append("| what | why | acknowledged | label |")
        lines.append("|---|---|---|---|")
        for g in guarded:
            done = "yes" if is_acknowledged(g["what"], allowed) else "**no**"
            lines.append(f"| `{g['what']}` | {g['why']} | {done} | `{label_for(g['what'])}` |")
        lines.append("")
    else:
        lines += ["No guarded change.", ""]
    lines.append(f"- Resources: {summary_line(diff)}")
    rolls = diff.get("node_rolls") or []
    if rolls:
        lines.append(
            "- Node rolls: EKS replaces these pools' nodes one at a time (max_unavailable 1), so every replica "
            "on them restarts on a fresh node and pays a full cold start; plan it outside peak hours:"
        )
        for roll in rolls:
            models = ", ".join(roll["models"]) or "no model"
            lines.append(f"  - `{roll['pool']}` ({models}): {roll['why']}")
    else:
        lines.append("- Node rolls: none")
    models = diff["models"]
    if any(models.values()):
        parts = [f"added {', '.join(models['added'])}" if models["added"] else "",
                 f"removed {', '.join(models['removed'])}" if models["removed"] else "",
                 ("changed " + ", ".join(f"{c['name']} ({', '.join(c['paths'][:6])})" for c in models["changed"]))
                 if models["changed"] else ""]
        lines.append("- Models: " + "; ".join(p for p in parts if p))
    slo = {m: s for m, s in diff["slo"].items() if s["before"] != s["after"]}
    if slo:
        lines += ["", "| model | SLO attainment before | after |", "|---|---|---|"]
        lines += [f"| {m} | {_attainment(s['before'])} | {_attainment(s['after'])} |" for m, s in slo.items()]
    violations = diff["policy"]["new_violations"]
    lines.append(
        f"- Policies: {len(violations)} new violation(s)" if violations else "- Policies: no new violation"
    )
    for v in violations:
        lines.append(f"  - {v.get('enforcement')} `{v.get('policy')}` on {v.get('type')} {v.get('name')}: "
                     f"{v.get('message')}")
    lines += _listing("Replaced", [f"- `{_urn_tail(r['urn'])}`: {r['why']}" for r in diff["replaced"]])
    lines += _listing("Added", [f"- `{_urn_tail(u)}`" for u in diff["added"]])
    lines += _listing("Removed", [f"- `{_urn_tail(u)}`" for u in diff["removed"]])
    lines += _listing(
        "Changed",
        [f"- `{_urn_tail(c['urn'])}`: {', '.join(c['paths'][:8])}{' ...' if len(c['paths']) > 8 else ''}"
         for c in diff["changed"]],
    )
    return "\n".join(lines) + "\n"
