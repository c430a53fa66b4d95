"""Post the pull-request diff as one comment per pull request, updated in place.

`python3 .ci/pr_comment.py <artifact dir>`, run by the workflow_run job with a write token
from the default branch's code. The artifact was produced by the pull request's code, so it
is data only: never executed, numbers checked, text escaped and cut, and the pull request
number must name a pull request whose head is the commit the diff ran on (HEAD_SHA).
Needs GH_TOKEN, REPO and HEAD_SHA; the `gh` CLI of the runner talks to the API. Standard
library only.
"""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

MARKER = "<!-- ml-serving:diff -->"
MAX_BODY = 60_000
MAX_ITEMS = 10
SAFE_STACK = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

Api = Callable[..., Any]
# As components/preview/guard.py decides (a test keeps the two equal): a label names what it
# acknowledges, or a digest of it where the label would pass GitHub's 50 characters.
LABEL_PREFIX = "allow-destructive:"
LABEL_MAX = 50


def ack_token(what: str) -> str:
    if len(LABEL_PREFIX + what) <= LABEL_MAX:
        return what
    return hashlib.sha256(what.encode()).hexdigest()[:12]


def text(value: Any, limit: int = 200) -> str:
    """Untrusted text for a table cell or list item: one line, no markup that escapes it."""
    raw = str(value).replace("\r", " ").replace("\n", " ")
    raw = raw if len(raw) <= limit else raw[: limit - 3] + "..."
    return re.sub(r"([\\`*_\[\]<>|@#])", r"\\\1", raw)


def money(value: Any) -> str:
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return "?"
    sign = "+" if amount > 0 else "-" if amount < 0 else "±"
    return f"{sign}${abs(amount):,.2f}"


def _short_urn(urn: Any) -> str:
    parts = str(urn).split("::")
    return f"{parts[2].rpartition('$')[2]} {parts[3]}" if len(parts) >= 4 else str(urn)


def changed(diff: dict[str, Any]) -> bool:
    cost = diff.get("cost") or {}
    models = diff.get("models") or {}
    return bool(
        diff.get("added") or diff.get("removed") or diff.get("replaced") or diff.get("changed")
        or any(models.get(k) for k in ("added", "removed", "changed")) or diff.get("guarded")
        or (diff.get("policy") or {}).get("new_violations")
        or any(cost.get(k) for k in ("idle_delta_usd_month", "busy_delta_usd_month"))
    )


def _attainment(entry: Any) -> str:
    if not isinstance(entry, dict) or not isinstance(entry.get("attainment"), (int, float)):
        return "-"
    return f"{entry['attainment']:.1%}"


def stack_section(stack: str, diff: dict[str, Any], acknowledged: set[str], code: Any) -> list[str]:
    models = diff.get("models") or {}
    cost = diff.get("cost") or {}
    guarded = [g for g in diff.get("guarded") or [] if isinstance(g, dict)]
    def done(g: dict[str, Any]) -> bool:
        what = str(g.get("what"))
        return what in acknowledged or ack_token(what) in acknowledged

    waiting = [g for g in guarded if not done(g)]
    state = "**blocked**: guarded change not acknowledged" if waiting else ("failed" if code not in (0, None) else "ok")
    lines = [f"#### `{text(stack)}`: {state}", ""]
    lines.append(
        f"- Resources: {len(diff.get('added') or [])} added, {len(diff.get('removed') or [])} removed, "
        f"{len(diff.get('replaced') or [])} replaced, {len(diff.get('changed') or [])} changed"
    )
    for entry in (diff.get("replaced") or [])[:MAX_ITEMS]:
        lines.append(f"  - replaced `{text(_short_urn(entry.get('urn')), 120)}`: {text(entry.get('why'))}")
    model_parts = [f"{kind} {', '.join(text(m) for m in models.get(kind) or [])}"
                   for kind in ("added", "removed") if models.get(kind)]
    if models.get("changed"):
        model_parts.append("changed " + ", ".join(
            f"{text(c.get('name'))} ({', '.join(text(p, 60) for p in (c.get('paths') or [])[:5])})"
            for c in models["changed"] if isinstance(c, dict)))
    lines.append(f"- Models: {'; '.join(model_parts) if model_parts else 'unchanged'}")
    lines.append(
        f"- Cost per month: idle {money(cost.get('idle_delta_usd_month'))}, busy {money(cost.get('busy_delta_usd_month'))}"
    )
    slo = {m: s for m, s in (diff.get("slo") or {}).items() if isinstance(s, dict) and s.get("before") != s.get("after")}
    if slo:
        lines.append("- SLO attainment (simulated): " + ", ".join(
            f"{text(m)} {_attainment(s.get('before'))} → {_attainment(s.get('after'))}" for m, s in slo.items()))
    violations = (diff.get("policy") or {}).get("new_violations") or []
    lines.append(f"- Policies: {len(violations)} new violation(s)" if violations else "- Policies: no new violation")
    for v in violations[:MAX_ITEMS]:
        if isinstance(v, dict):
            lines.append(f"  - {text(v.get('enforcement'))} `{text(v.get('policy'), 80)}` on {text(v.get('name'), 120)}: "
                         f"{text(v.get('message'))}")
    if guarded:
        lines += ["", "| guarded | why | acknowledged |", "|---|---|---|"]
        for g in guarded:
            label = LABEL_PREFIX + ack_token(str(g.get("what")))
            mark = "yes" if done(g) else f"**no**: add the label `{text(label, 80)}`"
            lines.append(f"| `{text(g.get('what'), 80)}` | {text(g.get('why'), 400)} | {mark} |")
    return [*lines, ""]


def body(artifact: Path, run_url: str = "") -> str:
    pr = json.loads((artifact / "pr.json").read_text())
    acknowledged = {a for a in pr.get("acknowledged") or [] if isinstance(a, str)}
    codes = pr.get("exit_codes") or {}
    lines = [MARKER, "### Offline diff against the base branch", ""]
    unchanged = []
    for directory in sorted(p for p in artifact.iterdir() if p.is_dir()):
        stack = directory.name
        if not SAFE_STACK.match(stack):
            continue
        path = directory / "diff.json"
        if not path.exists():
            lines += [f"#### `{text(stack)}`: no diff (exit {text(codes.get(stack))}; the run's log says why)", ""]
            continue
        diff = json.loads(path.read_text())
        if not changed(diff):
            unchanged.append(stack)
            continue
        lines += stack_section(stack, diff, acknowledged, codes.get(stack))
    if unchanged:
        lines.append(f"Unchanged: {', '.join(f'`{text(s)}`' for s in unchanged)}.")
    if run_url:
        lines.append(f"\nFull diff.md and diff.json per stack: the `pr-diff` artifact of [the run]({run_url}).")
    result = "\n".join(lines) + "\n"
    return result if len(result) <= MAX_BODY else result[:MAX_BODY] + "\n\n(cut: see the artifact)\n"


def gh(*args: str, input_file: str | None = None) -> Any:
    command = ["gh", "api", *args]
    if input_file:
        command += ["-F", f"body=@{input_file}"]
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(run.stdout) if run.stdout.strip() else None


def pull_request_number(artifact: Path, repo: str, head_sha: str, api: Api = gh) -> int:
    number = json.loads((artifact / "pr.json").read_text()).get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        raise SystemExit("pr.json has no pull request number")
    # The artifact names the pull request; the API confirms the diff ran on its head.
    if api(f"repos/{repo}/pulls/{number}", "--jq", "{sha: .head.sha}").get("sha") != head_sha:
        raise SystemExit(f"pull request {number}'s head is not {head_sha}: not commenting")
    return number


def upsert(repo: str, number: int, text_body: str, api: Api = gh) -> str:
    """Edit the comment carrying MARKER (written by this workflow's bot), or create it."""
    pages = api(f"repos/{repo}/issues/{number}/comments", "--paginate", "--slurp") or []
    comments = [c for page in pages for c in page] if pages and isinstance(pages[0], list) else pages
    mine = next((c for c in comments
                 if MARKER in (c.get("body") or "") and (c.get("user") or {}).get("login") == "github-actions[bot]"), None)
    with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as handle:
        handle.write(text_body)
    if mine is not None:
        api(f"repos/{repo}/issues/comments/{mine['id']}", "--method", "PATCH", input_file=handle.name)
        return "updated"
    api(f"repos/{repo}/issues/{number}/comments", "--method", "POST", input_file=handle.name)
    return "created"


def main(argv: list[str]) -> int:
    import os

    artifact = Path(argv[0])
    repo, head_sha = os.environ["REPO"], os.environ["HEAD_SHA"]
    number = pull_request_number(artifact, repo, head_sha)
    print(f"comment {upsert(repo, number, body(artifact, os.environ.get('RUN_URL', '')))} on #{number}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
