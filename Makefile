# The two commands of the quick start:
#   make demo   set up, then run kb on the embedded defaults (SQLite, local index, bundled model)
#   make test   set up (with the browser-test packages), then lint and run every test
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

test: setup-test
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/pytest
