# The two commands of the quick start:
#   make demo   set up, then run kb on the embedded defaults (SQLite, local index, bundled model)
#   make test   set up (with the browser-test packages), then lint and run every test
# and `make bench`: the speed benchmarks (scripts/bench.sh; --full for 100,000 chunks)
.PHONY: setup setup-test demo test lint bench

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --test

demo: setup
	.venv/bin/kb demo

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

bench: setup
	scripts/bench.sh

test: setup-test
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/pytest
