# The two quick-start commands: `make synth` (offline preview of a stack) and `make test`.
# Both create the virtualenv on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STACK  ?= dev
STACKS := $(patsubst stacks/Pulumi.%.yaml,%,$(wildcard stacks/Pulumi.*.yaml))

.PHONY: venv synth synth-all test docs constraints clean

$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

venv: $(STAMP)

# Offline preview: STACK=<name> for stacks/Pulumi.<name>.yaml, or STACK_FILE=<path>.
synth: $(STAMP)
	$(BIN)/python -m components.preview $(if $(STACK_FILE),--stack-file $(STACK_FILE),--stack $(STACK))

synth-all: $(STAMP)
	@for stack in $(STACKS); do $(BIN)/python -m components.preview --stack $$stack > /dev/null || exit 1; echo "build/$$stack/"; done

test: $(STAMP)
	$(BIN)/python -m pytest

# Regenerate stacks/stack.schema.json and docs/configuration.md from the intent models.
docs: $(STAMP)
	$(BIN)/python -m components.compilers.config_reference

constraints: $(STAMP)
	@{ echo "# Every package \`make venv\` installs, transitive ones included, pinned exactly."; \
	   echo "# Regenerate with \`make constraints\` after changing a requirements file."; \
	   $(BIN)/pip freeze --disable-pip-version-check | sort; } > constraints.txt

clean:
	rm -rf build $(VENV)
