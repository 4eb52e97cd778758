# firsthour: the two commands a new user needs are `make run` and `make test`.
# Everything they need (a Python venv with moto server) is installed on demand.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
MOTO_VERSION := 5.2.5
MOTO := $(VENV)/bin/moto_server
PORT ?= 3000
MOTO_PORT ?= 5000
TICK_SECONDS ?= 60
# LADDER_SPEEDUP=60 runs SLA ladders 60x faster (a 5-minute tier fires after 5 s): try a whole ladder in minutes.
LADDER_SPEEDUP ?= 1
CARGO ?= cargo
# The get.gov registry for `make run` (optional; see README "Government detection").
GOV_DOMAINS_FILE ?= $(wildcard ../shared/data/dotgov/current-full.csv)

.PHONY: run test venv build lint fmt clean-local

## venv: moto server (pinned) in a git-ignored virtualenv
venv: $(MOTO)

$(MOTO):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet 'moto[server]==$(MOTO_VERSION)'

build:
	$(CARGO) build --workspace --bins

## run: the whole system locally (intake on :$(PORT), moto on :$(MOTO_PORT), mail at /_local/mail)
run: venv build
	./target/debug/firsthour-local --port $(PORT) --moto-port $(MOTO_PORT) --tick-seconds $(TICK_SECONDS) --moto-bin scripts/moto --gov-domains "$(GOV_DOMAINS_FILE)" --ladder-speedup $(LADDER_SPEEDUP)

## test: every test, against a private moto on a free port
test: venv
	$(CARGO) build --workspace --bins
	./scripts/with-moto.sh scripts/moto $(CARGO) test --workspace

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
