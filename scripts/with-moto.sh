#!/usr/bin/env bash
# Runs a command with a private moto server on a free loopback port.
# usage: scripts/with-moto.sh path/to/moto_server command [args...]
# Exports AWS_ENDPOINT_URL and dummy credentials; stops moto afterwards,
# and exits with the command's status.
set -euo pipefail
moto_bin=$1
shift

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
log=$(mktemp -t moto.XXXXXX.log)
"$moto_bin" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
cleanup() { kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; rm -f "$log"; }
trap cleanup EXIT INT TERM

for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then echo "moto failed to start:"; cat "$log"; exit 1; fi
  sleep 0.1
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export FIRSTHOUR_TEST_EMULATOR="$AWS_ENDPOINT_URL"
echo "moto server on $AWS_ENDPOINT_URL"
"$@"
