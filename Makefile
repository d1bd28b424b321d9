# Two entry points for a fresh machine: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# extras installed into .venv; `make test` and `make compare` add `baselines` (gymnasium, SB3,
# CPU torch, sbx-rl: about 50 s and 200 MB more) so the adapter and SB3 tests run rather than
# skip, and `make test` adds `marl` (JaxMARL, for agentic_jax.compat.jaxmarl)
EXTRAS ?= dev
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

.PHONY: setup demo env-demo test test-slow test-heavy bench compare lint notebooks

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

setup: $(STAMP)

# The main job: train the default recipe (configs/select.yaml), then evaluate it beside every
# rule of its action mode on the same episodes.
demo: setup
	@run=runs/select-$$(date +%Y%m%d-%H%M%S); \
	$(BIN)/agentic-jax train --config configs/select.yaml --run-dir $$run && \
	$(BIN)/agentic-jax evaluate $$run --episodes 64 --rules all && \
	echo "run directory: $$run (tensorboard --logdir $$run)" && \
	echo "held-out settings: docs/heldout.md (the recipe retrained on settings it was never tuned on, margin over each setting's best rule)"

env-demo: setup
	$(BIN)/agentic-jax env-demo

# two pytest-xdist workers: most tests wait on single-threaded XLA compiles, so two at once use
# both cores. Three tiers (markers in pyproject.toml): `make test` is the default suite (8 minutes
# on 2 cores), `make test-slow` the checks over ~8 s each (whole runs and sweeps, CLI
# subprocesses, notebooks, injected faults; CI runs it after `make test`), `make test-heavy` the
# learning checks and studies (about 50 minutes on 2 cores; not in CI)
TEST_EXTRAS := dev,baselines,marl
PYTEST := $(BIN)/python -m pytest -q -n 2

test:
	$(MAKE) setup EXTRAS=$(TEST_EXTRAS)
	$(PYTEST)

test-slow:
	$(MAKE) setup EXTRAS=$(TEST_EXTRAS)
	$(PYTEST) -m "slow and not heavy"

test-heavy:
	$(MAKE) setup EXTRAS=$(TEST_EXTRAS)
	$(PYTEST) -m heavy

bench: setup
	$(BIN)/python benchmarks/env_throughput.py

# the head-to-head against SB3/SBX PPO, quick preset (a few minutes; see docs/gymnasium_sb3.md)
compare:
	$(MAKE) setup EXTRAS=dev,baselines
	$(BIN)/python benchmarks/compare.py --quick

# re-execute every notebook at full settings, in place: the outputs committed with them
notebooks: setup
	$(BIN)/python notebooks/run.py notebooks/0*.ipynb

lint: setup
	$(BIN)/ruff check agentic_jax tests benchmarks
