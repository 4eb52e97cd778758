#!/usr/bin/env bash
# `sam build` of the template with cargo-lambda and zig (cross-compiling the
# arm64 bootstraps), all from PyPI into .venv-sam. Prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s sam-venv
export PATH="$PWD/.venv-sam/bin:$PATH" SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
start=$(date +%s)
(cd infra && sam build --beta-features "$@")
echo "sam build took $(( $(date +%s) - start )) s"
ls -l infra/.aws-sam/build/*/bootstrap 2>/dev/null || true
