#!/usr/bin/env bash
# p50/p90/p99 latency of the local intake for a JSON lead, over N requests
# (default 300), against the release binaries on moto.
# usage: [PROFILE=release|local] [SKIP_BUILD=1] scripts/intake-latency.sh [N]
# The machine should be otherwise idle: moto and the functions share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300}
profile=${PROFILE:-release}
make -s venv
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --profile "$profile" --bins -q
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
port=$(free_port); moto_port=$(free_port)
./target/$profile/firsthour-local --port "$port" --moto-port "$moto_port" --bin-dir "target/$profile" --quiet >/dev/null 2>&1 &
runner=$!
trap 'kill -INT $runner 2>/dev/null; wait $runner 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/thank-you" 2>/dev/null && break; sleep 0.1; done
times=$(mktemp)
for i in $(seq 1 "$n"); do
  curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$port/leads/bench" \
    -H 'content-type: application/json' \
    -d "{\"email\":\"lead$i@example.com\",\"first_name\":\"Bench\",\"last_name\":\"Lead $i\",\"company\":\"Example Inc\",\"message\":\"Latency run\"}" >>"$times"
done
python3 - "$times" "$profile" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])]
bad = [r for r in rows if r[0] != "202"]
ms = sorted(float(r[1]) * 1000 for r in rows)
pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
print(f"local intake ({sys.argv[2]} build), JSON lead, {len(ms)} sequential requests: p50 {pick(0.5):.1f} ms, p90 {pick(0.9):.1f} ms, p99 {pick(0.99):.1f} ms, non-202: {len(bad)}")
PY
rm -f "$times"
