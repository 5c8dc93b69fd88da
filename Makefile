# Two entry points for a fresh machine: `make test` and `make demo`.
# Each bootstraps .venv with the pinned dependencies (requirements/*.txt) on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: test lint typecheck unit demo sandbox bench chaos clean kube-binaries

$(STAMP): pyproject.toml sandbox/pyproject.toml requirements/runtime.txt requirements/dev.txt requirements/reference.txt requirements/tools.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements/dev.txt
	$(PIP) install --no-deps -r requirements/reference.txt
	$(PIP) install --no-deps -e .
	$(PIP) install --no-deps --config-settings editable_mode=compat -e sandbox
	$(PIP) install --no-deps -r requirements/tools.txt
	$(BIN)/python charts/install_helm.py $(BIN)
	touch $@

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check reconciler sandbox tests bench charts
	$(BIN)/ruff format --check reconciler sandbox tests bench charts

typecheck: $(STAMP)
	$(BIN)/mypy reconciler sandbox/edgio_sandbox charts bench

# The real etcd, kube-apiserver and kube-controller-manager the tests run beside the emulator: built once per machine
# into ~/.cache/edgio-ingress/ (tools/kube/build.sh). With a Go toolchain the real tier
# must run; without one it is skipped, loudly.
kube-binaries:
	@tools/kube/build.sh >/dev/null

unit: $(STAMP) kube-binaries
	EDGIO_INGRESS_REAL_KUBE=$$(command -v go >/dev/null && echo required) $(BIN)/pytest

test: lint typecheck unit

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m edgio_sandbox.demo $(ARGS)

sandbox: $(STAMP)
	$(BIN)/edgio-sandbox up --kubeconfig /tmp/edgio-ingress-sandbox.kubeconfig

BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(PIP) install -r bench/requirements.txt
	touch $@

# Not part of `make test`: about 15 minutes on 2 cores; `python -m bench --quick` is a smoke run.
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

# At least 200 seeded fault runs of the controller processes against the emulators; prints
# the outcome table recorded in bench/RESULTS.md. CHAOS_ARGS="--runs 20" for a short one.
# The clock-skew fault needs libfaketime: installed here from Debian when running as root,
# otherwise the campaign runs without that fault and says so.
LIBFAKETIME := /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
chaos: $(STAMP)
	@test -e $(LIBFAKETIME) || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && apt-get install -y -qq faketime; } >/dev/null 2>&1 || true
	$(BIN)/python -m tests.chaos.campaign --runs 200 --jobs 2 $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
