#!/usr/bin/env bash
# Every performance figure of firsthour, each printed with the command that
# measures it again, then a summary table (figure, value, target, pass/miss).
# See docs/performance.md.
#
# usage: [SKIP_BUILD=1] [SKIP_ARM64=1] [QUICK=1] scripts/bench.sh
#   SKIP_BUILD=1  use the release binaries already in target/release
#   SKIP_ARM64=1  skip the arm64 Lambda build (artifact sizes)
#   QUICK=1       fewer rounds and a 10,000-lead sweep at most (a smoke run)
# Figures are written to target/bench/*.json and target/bench/summary.md.
# The machine should be otherwise idle: moto, the functions and the
# measuring process share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."

AWSLAMBDARIC_VERSION=4.2.2
BOTO3_VERSION=1.44.5
BENCH_VENV=.venv-bench
OUT=target/bench
RELEASE=target/release

started=$(date +%s)
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/summary.md

if [ -n "${QUICK:-}" ]; then
  rounds=100 burst=300 runs=10 sizes=1000,10000 sweeps=3
else
  rounds=300 burst=1000 runs=20 sizes=1000,10000,100000 sweeps=3
fi

section() { printf '\n== %s\n$ %s\n' "$1" "$2"; }
elapsed() { echo "$(( $(date +%s) - started )) s"; }

# --- Setup: moto (.venv), the Python peer's venv, the release binaries.
make -s venv
if ! "$BENCH_VENV/bin/python" -c 'import awslambdaric, boto3' 2>/dev/null; then
  echo "installing awslambdaric $AWSLAMBDARIC_VERSION and boto3 $BOTO3_VERSION into $BENCH_VENV (the Python peer)"
  python3 -m venv "$BENCH_VENV"
  "$BENCH_VENV/bin/pip" install --quiet "awslambdaric==$AWSLAMBDARIC_VERSION" "boto3==$BOTO3_VERSION"
fi
if [ -z "${SKIP_BUILD:-}" ]; then
  section "release build (host)" "cargo build --release -p intake -p federal-router -p escalation -p firsthour-local -p firsthour-bench"
  cargo build --release -q -p intake -p federal-router -p escalation -p firsthour-local -p firsthour-bench
  echo "built ($(elapsed) so far)"
fi
for bin in intake federal-router escalation firsthour-bench firsthour-echo; do
  [ -x "$RELEASE/$bin" ] || { echo "$RELEASE/$bin is missing: run without SKIP_BUILD"; exit 1; }
done

# --- 1. CPU per lead (criterion).
section "1. CPU per lead: verify + parse + normalise + classify + route, ~2 KB webhook per content type" \
  "cargo bench -p firsthour --bench cpu_per_lead -- cpu_per_lead/   (per stage: -- cpu_stages)"
# Three runs of the group (the machine is shared): the median of their medians.
cargo bench -q -p firsthour --bench cpu_per_lead --no-run 2>&1 | grep -v '^ *Finished\|Executable' || true
for run in 1 2 3; do
  rm -rf target/criterion/cpu_per_lead
  cargo bench -q -p firsthour --bench cpu_per_lead -- 'cpu_per_lead/' 2>&1 | grep -E '^cpu_per_lead/[a-z_]+ +time:' || true
  python3 - "$OUT/cpu-run$run.json" <<'PY'
import json, pathlib, sys
figures = {}
for path in sorted(pathlib.Path("target/criterion/cpu_per_lead").glob("*/new/estimates.json")):
    figures[path.parent.parent.name] = json.loads(path.read_text())["median"]["point_estimate"] / 1000.0
json.dump(figures, open(sys.argv[1], "w"))
PY
done
python3 - "$OUT" <<'PY'
import json, os, statistics, sys
out = sys.argv[1]
runs = [json.load(open(os.path.join(out, f"cpu-run{i}.json"))) for i in (1, 2, 3)]
figures = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
for name, us in figures.items():
    each = ", ".join(f"{run[name]:.1f}" for run in runs)
    print(f"CPU per lead, {name}: median {us:.2f} µs over 3 runs ({each}) (target <= 20 µs)")
json.dump(figures, open(os.path.join(out, "cpu.json"), "w"))
PY

# --- 3. Cold start (no emulator: a Runtime API stand-in answers everything).
section "3. Cold start and peak RSS of the release bootstraps (intake: built-in .gov registry, file, none), the echo floor, and the Python peer" \
  "$RELEASE/firsthour-bench coldstart --runs $runs --python $BENCH_VENV/bin/python"
"$RELEASE/firsthour-bench" coldstart --runs "$runs" --python "$BENCH_VENV/bin/python" --out "$OUT/coldstart.json"

# --- 2 and 5. Intake overhead and burst, on a private moto.
section "2 + 5. Intake overhead (vs the bare AWS calls) and a burst of webhooks, on a private moto" \
  "scripts/with-moto.sh scripts/moto $RELEASE/firsthour-bench intake --rounds $rounds --burst $burst --concurrency 50"
scripts/with-moto.sh scripts/moto "$RELEASE/firsthour-bench" intake \
  --rounds "$rounds" --burst "$burst" --concurrency 50 --bin-dir "$RELEASE" --out "$OUT/intake.json"

# --- 4. Sweep scaling, on another private moto.
section "4. Escalation sweep over a growing table, 100 leads due" \
  "scripts/with-moto.sh scripts/moto $RELEASE/firsthour-bench sweep --sizes $sizes --due 100 --sweeps $sweeps"
scripts/with-moto.sh scripts/moto "$RELEASE/firsthour-bench" sweep \
  --sizes "$sizes" --due 100 --sweeps "$sweeps" --out "$OUT/sweep.json"

# --- 6. Artifact sizes (arm64, as deployed).
if [ -z "${SKIP_ARM64:-}" ]; then
  section "6. Stripped arm64 release bootstraps" \
    "PATH=\$PWD/.venv-sam/bin:\$PATH cargo lambda build --release --arm64 -p intake -p federal-router -p escalation"
  make -s sam-venv
  arm_started=$(date +%s)
  PATH="$PWD/.venv-sam/bin:$PATH" cargo lambda build --release --arm64 -p intake -p federal-router -p escalation 2>&1 | tail -2
  echo "arm64 build took $(( $(date +%s) - arm_started )) s"
  python3 - "$OUT/artifacts.json" <<'PY'
import io, json, os, subprocess, sys, zipfile
sizes = {}
for name in ("intake", "federal-router", "escalation"):
    path = f"target/lambda/{name}/bootstrap"
    kind = subprocess.run(["file", "-b", path], capture_output=True, text=True).stdout.strip()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(path, "bootstrap")
    sizes[name] = {"bytes": os.path.getsize(path), "zip_bytes": len(buffer.getvalue()),
                   "stripped": "not stripped" not in kind, "file": kind}
    print(f"{name}: bootstrap {sizes[name]['bytes'] / 2**20:.1f} MiB, zipped {sizes[name]['zip_bytes'] / 2**20:.1f} MiB ({kind.split(',')[0]}, {'stripped' if 'not stripped' not in kind else 'NOT stripped'})")
json.dump(sizes, open(sys.argv[1], "w"))
PY
fi

# --- Summary.
total=$(( $(date +%s) - started ))
section "Summary ($(date -u +%Y-%m-%d), total ${total} s)" "cat $OUT/summary.md"
python3 - "$OUT" "$total" "$runs" "$rounds" "$burst" "$sweeps" <<'PY' | tee "$OUT/summary.md"
import json, os, sys
out, total, runs, rounds, burst, sweeps = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
def load(name):
    path = os.path.join(out, name + ".json")
    return json.load(open(path)) if os.path.exists(path) else None
rows = []
def row(figure, value, target, ok):
    rows.append((figure, value, target, "—" if ok is None else ("pass" if ok else "MISS")))
cpu = load("cpu")
for name, us in (cpu or {}).items():
    row(f"CPU per lead, {name}", f"{us:.1f} µs", "≤ 20 µs", us <= 20)
intake = load("intake")
if intake:
    o, b = intake["overhead"], intake["burst"]
    row("Intake overhead (local intake p50 / bare TransactWriteItems+PutEvents p50)",
        f"{o['ratio']:.2f} ({o['intake_p50_ms']:.1f} / {o['bare_p50_ms']:.1f} ms)", "≤ 1.3", o["ratio"] <= 1.3)
    row("  local plumbing alone (gateway + Runtime API + function, no AWS call) p50",
        f"{o['plumbing_p50_ms']:.1f} ms", "", None)
    row(f"Burst throughput ({b['requests']} webhooks, {b['concurrency']} senders)",
        f"{b['throughput_rps']:.0f} req/s", "", None)
    row("Burst latency p50 / p99", f"{b['p50_ms']:.0f} / {b['p99_ms']:.0f} ms", "", None)
    row("Burst: 202s / leads / LeadReceived events",
        f"{b['accepted']} / {b['leads']} / {b['events']}", f"{b['requests']} each", b["exact"])
    row(f"Burst vs moto raw PutItem ({b['concurrency']} concurrent, {b['moto_put_rps']:.0f}/s)",
        f"{b['ratio_to_moto']:.2f}", "", None)
    row(f"Burst vs the intake's own calls issued directly ({b['concurrency']} concurrent, {b['same_calls_rps']:.0f}/s)",
        f"{b['ratio_to_same_calls']:.2f}", "", None)
cold = load("coldstart")
if cold:
    for name in ("intake", "federal-router", "escalation"):
        c = cold[name]
        row(f"Cold start {name} (start → first invocation answered)", f"{c['answered_ms']:.1f} ms", "≤ 20 ms", c["answered_ms"] <= 20)
        row(f"Peak RSS {name}", f"{c['peak_rss_mb']:.1f} MB", "≤ 30 MB", c["peak_rss_mb"] <= 30)
    for name, label in (("intake-registry-file", "intake reading the .gov registry file instead"),
                        ("intake-no-registry", "intake with no .gov registry (FIRSTHOUR_GOV_DOMAINS_FILE=none)")):
        if name in cold:
            c = cold[name]
            row(f"  {label}", f"{c['answered_ms']:.1f} ms, {c['peak_rss_mb']:.1f} MB", "", None)
    if "built_in_registry_cost" in cold:
        cost = cold["built_in_registry_cost"]
        row("Built-in .gov registry: intake cold start / peak RSS over no registry",
            f"{cost['ms']:+.2f} ms / {cost['mb']:+.2f} MB", "≤ 1 ms / ≤ 2 MB", cost["ms"] <= 1 and cost["mb"] <= 2)
    if "firsthour-echo" in cold:
        e = cold["firsthour-echo"]
        row("Echo floor (lambda_runtime answering its event) cold start / peak RSS",
            f"{e['answered_ms']:.1f} ms / {e['peak_rss_mb']:.1f} MB", "", None)
        for name, ratio in cold.get("floor_ratio", {}).items():
            row(f"  {name} / echo floor (time, peak RSS)", f"{ratio['time']:.2f}x, {ratio['rss']:.2f}x", "", None)
    if "python-peer" in cold:
        p = cold["python-peer"]
        row("Python peer (boto3 + awslambdaric) cold start / peak RSS",
            f"{p['answered_ms']:.0f} ms / {p['peak_rss_mb']:.0f} MB", "", None)
        row("Python peer / intake", f"{cold['python_ratio']['time']:.1f}x time, {cold['python_ratio']['rss']:.1f}x memory", "", None)
sweep = load("sweep")
for s in (sweep or {}).get("sizes", []):
    row(f"Sweep, {s['stored']:,} leads, {s['due']} due: items read / sweep time",
        f"{s['scanned']:.0f} / {s['sweep_ms']:.0f} ms", f"≈ {s['due']} read", s["scanned_max"] <= s["due"] * 1.1)
artifacts = load("artifacts")
for name, a in (artifacts or {}).items():
    row(f"arm64 bootstrap {name} (zipped)", f"{a['bytes'] / 2**20:.1f} MiB ({a['zip_bytes'] / 2**20:.1f} MiB)", "", None)
print(f"| figure | value | target | |")
print("|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
print()
print("Commands (from the repository root, after `cargo build --release -p intake -p federal-router -p escalation -p firsthour-local -p firsthour-bench`):")
print(f"- CPU per lead: `cargo bench -p firsthour --bench cpu_per_lead -- cpu_per_lead/` (each stage alone: `-- cpu_stages`)")
print(f"- overhead + burst: `scripts/with-moto.sh scripts/moto target/release/firsthour-bench intake --rounds {rounds} --burst {burst} --concurrency 50`")
print(f"- cold start: `target/release/firsthour-bench coldstart --runs {runs} --python .venv-bench/bin/python`")
print(f"- sweep: `scripts/with-moto.sh scripts/moto target/release/firsthour-bench sweep --sizes 1000,10000,100000 --due 100 --sweeps {sweeps}`")
print("- artifacts: `PATH=$PWD/.venv-sam/bin:$PATH cargo lambda build --release --arm64 -p intake -p federal-router -p escalation`")
print()
misses = [r[0] for r in rows if r[3] == "MISS"]
print(f"Total: {total} s. " + (f"Missed: {', '.join(misses)}." if misses else "Every target met."))
PY
