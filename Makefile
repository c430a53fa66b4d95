# The two quick-start commands: `make synth` (offline preview of a stack) and `make test`.
# Both create the virtualenv on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STACK  ?= dev
STACKS := $(patsubst stacks/Pulumi.%.yaml,%,$(wildcard stacks/Pulumi.*.yaml))

.PHONY: venv policy-venv checkov-venv synth synth-all urns diff simulate tune export-traffic export-invocations loadtest bench test docs constraints bootstrap clean

$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

venv: $(STAMP)

# The policy pack's own virtualenv (PulumiPolicy.yaml names it), where `pulumi preview
# --policy-pack policies` runs the pack. The offline preview uses .venv instead.
POLICY_STAMP := policies/venv/.installed
$(POLICY_STAMP): policies/requirements.txt constraints.txt
	$(PYTHON) -m venv policies/venv
	policies/venv/bin/pip install --disable-pip-version-check --quiet -r policies/requirements.txt -c constraints.txt
	touch $@

policy-venv: $(POLICY_STAMP)

# checkov in its own virtualenv (it pins an old boto3); tests/security/test_checkov.py runs it
# over every stack's rendered workloads and skips, saying why, where it is absent.
CHECKOV_STAMP := .venv-checkov/.installed
$(CHECKOV_STAMP): requirements-checkov.txt constraints-checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --disable-pip-version-check --quiet -r requirements-checkov.txt -c constraints-checkov.txt
	touch $@

checkov-venv: $(CHECKOV_STAMP)

# Offline preview: STACK=<name> for stacks/Pulumi.<name>.yaml, or STACK_FILE=<path>; PROFILE=<file>
# replaces one model's assumed step times and cold start with a load test's (make loadtest).
synth: $(STAMP)
	$(BIN)/python -m components.preview $(if $(STACK_FILE),--stack-file $(STACK_FILE),--stack $(STACK)) $(if $(PROFILE),--profile $(PROFILE))

synth-all: $(STAMP)
	@for stack in $(STACKS); do $(BIN)/python -m components.preview --stack $$stack > /dev/null || exit 1; echo "build/$$stack/"; done

# The committed inventory of every stack's resource URNs (tests/program/urns/): regenerate it after
# a change that adds, removes or renames resources, and commit it with the change.
urns: $(STAMP)
	$(BIN)/python -m components.preview.inventory

# Offline diff of one stack: BASE (default: the merge base with main) previewed by its own code
# and stack file, against the working tree. Writes build/<stack>/diff.json and diff.md; exits 3
# on a guarded change not acknowledged with ALLOW_DESTRUCTIVE=<what>,... (docs/ci.md).
diff: $(STAMP)
	ALLOW_DESTRUCTIVE="$(ALLOW_DESTRUCTIVE)" $(BIN)/python -m components.preview.diff --stack $(STACK) $(if $(BASE),--base $(BASE))

# Capacity plan and autoscaling simulation of every model of a stack: prints the comparison
# with common defaults, the oracle and the tuner's recommendation, and writes
# build/<stack>/simulation.json and simulation.png. TRACE=bursty (default, 30 minutes), diurnal
# (a real day: minutes per model, about 30 for prod's llama-8b with its tuner), business_hours
# (a real working day, 09:00-18:00), steady
# or a CSV file (timestamp_s,prompt_tokens,output_tokens, the Azure LLM traces as published, or a
# Prometheus/CloudWatch rate export: timestamp_s,requests_per_s or requests per step), or a
# Mooncake .jsonl trace;
# TRACE_PEAK=<f> rescales a CSV so its busiest minute is f x what max_replicas serve at the SLO
# on the CSV's own request mix (measured); MODEL=<name> for one model.
PLAN_ARGS = $(if $(STACK_FILE),--stack-file $(STACK_FILE),--stack $(STACK)) $(if $(TRACE),--trace $(TRACE)) \
	$(if $(TRACE_PEAK),--trace-peak $(TRACE_PEAK)) $(if $(MODEL),--model $(MODEL)) $(if $(PROFILE),--profile $(PROFILE))
simulate: $(STAMP)
	$(BIN)/python -m components.planning simulate $(PLAN_ARGS)

# The tuner alone: the cheapest policy meeting each model's SLO target on its traffic and on
# a stress trace, printed as the stack-file lines to change; writes simulation.json too.
tune: $(STAMP)
	$(BIN)/python -m components.planning tune $(PLAN_ARGS)

# A served model's traffic from Prometheus as a rate export CSV for traffic.csv / TRACE=
# (components/planning/prometheus_export.py): STACK, MODEL, START, END (ISO 8601), OUT,
# PROMETHEUS (default http://localhost:9090: port-forward svc/prometheus-operated first), STEP.
export-traffic: $(STAMP)
	$(BIN)/python -m components.planning.prometheus_export $(if $(STACK_FILE),--stack-file $(STACK_FILE),--stack $(STACK)) \
		--model "$(MODEL)" --start "$(START)" --end "$(END)" --out "$(OUT)" $(if $(PROMETHEUS),--prometheus $(PROMETHEUS)) \
		$(if $(STEP),--step $(STEP))

# A SageMaker endpoint's Invocations from CloudWatch, the same way (cloudwatch_export.py):
# STACK, MODEL, START, END, OUT, REGION, PERIOD (60 or a multiple); AWS credentials, read-only.
export-invocations: $(STAMP)
	$(BIN)/python -m components.planning.cloudwatch_export $(if $(STACK_FILE),--stack-file $(STACK_FILE),--stack $(STACK)) \
		--model "$(MODEL)" --start "$(START)" --end "$(END)" --out "$(OUT)" $(if $(REGION),--region $(REGION)) \
		$(if $(PERIOD),--period $(PERIOD))

# Load-test Jobs, one per model, to calibrate the planner after a deploy (docs/performance.md):
# build/<stack>/loadtest/<model>.yaml. IMAGE / SDK_IMAGE: the client images by digest.
loadtest: $(STAMP)
	$(BIN)/python -m components.preview.loadtest $(if $(STACK_FILE),--stack-file $(STACK_FILE),--stack $(STACK)) \
		$(if $(MODEL),--model $(MODEL)) $(if $(IMAGE),--image $(IMAGE)) $(if $(SDK_IMAGE),--sdk-image $(SDK_IMAGE))

# Benchmarks, not tests: the simulator, and make synth with 1, 10 and 100 models.
# Results and method: docs/performance.md.
bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks.bench_simulator
	$(BIN)/python -m tests.benchmarks.bench_synth

# Both cores: the suite is single-threaded and takes ~10 min on one of this machine's two.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Regenerate stacks/stack.schema.json and docs/configuration.md from the intent models,
# and docs/policies.md from the policy pack.
docs: $(STAMP)
	$(BIN)/python -m components.compilers.config_reference
	$(BIN)/python -m policies.ml_serving_policies.reference

constraints: $(STAMP)
	@{ echo "# Every package \`make venv\` installs, transitive ones included, pinned exactly."; \
	   echo "# Regenerate with \`make constraints\` after changing a requirements file."; \
	   $(BIN)/pip freeze --disable-pip-version-check | sort; } > constraints.txt

# One-time, with admin credentials and the Pulumi CLI: the state bucket, its KMS key and the
# GitHub OIDC roles CI uses (docs/ci.md). Not part of CI.
bootstrap: $(STAMP)
	cd .ci/bootstrap && pulumi up --stack ci

clean:
	rm -rf build $(VENV) policies/venv .venv-checkov
