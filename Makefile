# Every target is documented by its `##` comment; `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
PY := $(VENV)/bin/python
STATE_DIR ?= .state
PYTEST_ARGS ?=
# Test processes `make test` runs at once (pytest-xdist; a test file stays in one process).
PYTEST_WORKERS ?= 2
export STATE_DIR

.PHONY: help install system-deps oci-deps lint format test test-fast demo up down status logs \
        registry s3 serving controller app lab pipeline reliability bench bench-registry bench-registry-threads bench-serving bench-app clean

help: ## List every target with one line each
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-16s %s\n", $$1, $$2}'

.tools/bin/uv:
	$(PYTHON_BOOT) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.installed: uv.lock pyproject.toml | $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv)
	$(UV) sync --frozen --all-extras --compile-bytecode
	@touch $@

install: $(VENV)/.installed ## Install the locked dependencies (uv.lock) into ./.venv, compiled to bytecode

system-deps: oci-deps ## Install Debian packages the tests need (chromium, kubectl, and oci-deps)
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v kubectl >/dev/null || missing="$$missing kubectl"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -q && apt-get install -y -q $$missing; \
	fi

oci-deps: ## Install Debian's docker-registry, skopeo and busybox-static (OCI registry, modelcars)
	@missing=""; \
	command -v docker-registry >/dev/null || missing="$$missing docker-registry"; \
	command -v skopeo >/dev/null || missing="$$missing skopeo"; \
	dpkg -s busybox-static >/dev/null 2>&1 || missing="$$missing busybox-static"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -q && apt-get install -y -q $$missing; \
	fi

lint: install ## Run ruff (lint + format check) and mypy on every package
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(wildcard registry_local serving training app pipelines stack contracts mr_client bench)

format: install ## Apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: install system-deps lint ## Run every test (lint, unit, real servers, notebooks, pipeline, browser)
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

RELIABILITY_TESTS := tests/scale tests/registry_local/test_schemathesis.py tests/registry_local/test_auth.py \
  tests/registry_local/test_input_bounds.py tests/registry_local/test_wire_edges.py \
  tests/serving/test_serving_under_load.py \
  tests/serving/controller/test_controller_faults.py tests/serving/test_repository_token.py tests/serving/test_front_door.py

reliability: install ## Run the reliability tests (concurrency, crashes, fuzzing, auth, load, faults) with their figures printed
	$(PY) -m pytest -s $(RELIABILITY_TESTS) $(PYTEST_ARGS)

test-fast: install ## Run the tests that start no servers and train nothing
	$(PY) -m pytest -m "not server and not slow and not browser and not db" $(PYTEST_ARGS)

demo: install oci-deps ## Bring the whole demo up (JupyterLab included) in the foreground (Ctrl-C stops it); prints URLs and curl commands
	$(PY) -m stack demo

up: install oci-deps ## Start the demo (JupyterLab included) in the background; prints the same URLs and curl commands
	$(PY) -m stack up

down: install ## Stop every service started by `make up` / `make demo`
	$(PY) -m stack down

status: install ## Show each demo process, its port and whether it is healthy
	$(PY) -m stack status

logs: ## Print the last lines of every service log in the state directory
	@tail -n 20 $(STATE_DIR)/logs/*.log

registry: install ## Run only the model registry in the foreground (port 8080, SQLite in .state/)
	$(PY) -m registry_local --host 127.0.0.1 --port 8080 --database-url sqlite:///$(STATE_DIR)/registry.db

s3: install ## Run only the S3 server (SeaweedFS) in the foreground on port 9000
	$(PY) -m stack s3

serving: install ## Run only the inference server in the foreground (port 8008)
	$(PY) -m serving --host 127.0.0.1 --port 8008

controller: install ## Run only the model controller in the foreground
	$(PY) -m serving.controller

app: install ## Run only the Streamlit app in the foreground (port 8501)
	$(VENV)/bin/streamlit run app/streamlit_app.py --server.address 127.0.0.1 --server.port 8501 --server.headless true

lab: install ## Run only JupyterLab on the notebooks in the foreground (LAB_PORT, 8888; prints its URL)
	$(PY) -m stack lab

pipeline: install ## Run the Kubeflow pipeline locally (train -> validate -> register)
	$(PY) -m pipelines.run

.PHONY: cleanup-artifacts
CLEANUP_ARGS ?=
cleanup-artifacts: install ## Dry run: list the S3/OCI bytes of ARCHIVED, unused versions; CLEANUP_ARGS=--yes deletes them
	$(PY) -m training.cleanup $(CLEANUP_ARGS)

bench: bench-registry bench-registry-threads bench-serving bench-app ## Run every benchmark (not part of make test)

bench-registry: install ## Benchmark the registry against MLflow's tracking server
	$(PY) -m bench.registry

bench-registry-threads: install ## Registry on PostgreSQL: database work on the event loop vs in threads (needs wrk)
	@command -v wrk >/dev/null || (apt-get update -q && apt-get install -y -q wrk)
	$(PY) -m bench.registry_threads

bench-serving: install ## Benchmark the inference server against KServe's ModelServer (REST, gRPC) and Triton (gRPC; needs wrk, h2load)
	@command -v wrk >/dev/null || (apt-get update -q && apt-get install -y -q wrk)
	@command -v h2load >/dev/null || (apt-get update -q && apt-get install -y -q nghttp2-client)
	$(PY) -m bench.serving

bench-app: install ## Time the app in Chromium, vs its streamlit-drawable-canvas past: pen-up to probabilities, live updates
	@[ -x /usr/bin/chromium ] || (apt-get update -q && apt-get install -y -q chromium)
	$(PY) -m bench.app

clean: ## Remove the state directory, caches and test artifacts (keeps .venv)
	rm -rf $(STATE_DIR) test-artifacts .pytest_cache .mypy_cache .ruff_cache
