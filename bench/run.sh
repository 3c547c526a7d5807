#!/usr/bin/env bash
# The benchmarks behind `make bench`: the batched writer (jishi_writer_bench), then HTTP with wrk
# against a real server on a fresh data dir. Prints a summary and writes it to
# bench/results/<date>-foundation.md. Expects a release build (make build-release).
#
# Environment (all optional):
#   JISHI_BUILD_DIR        build tree to use (default: build/release)
#   BENCH_WRITER_SECONDS   seconds per writer batch cap (default 3)
#   BENCH_HTTP_SECONDS     seconds per wrk run (default 10)
#   BENCH_GET_CONFIGS      wrk "threads:connections" pairs for GET /me (default "1:32 1:64 2:128")
#   BENCH_POST_CONFIG      wrk "threads:connections" for both POST runs (default "1:64")
#   BENCH_WRITE_USERS      users the writing POST rotates over (default 1000)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/bench"
BUILD_DIR=${JISHI_BUILD_DIR:-$ROOT/build/release}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
JISHI="$BUILD_DIR/src/app/jishi"
WRITER_BENCH="$BUILD_DIR/bench/jishi_writer_bench"
WRITER_SECONDS=${BENCH_WRITER_SECONDS:-3}
HTTP_SECONDS=${BENCH_HTTP_SECONDS:-10}
GET_CONFIGS=${BENCH_GET_CONFIGS:-"1:32 1:64 2:128"}
POST_CONFIG=${BENCH_POST_CONFIG:-"1:64"}
WRITE_USERS=${BENCH_WRITE_USERS:-1000}
START_TIMEOUT_S=30
STOP_TIMEOUT_S=20

die() {
  echo "bench: $*" >&2
  exit 1
}

for tool in wrk curl python3 awk; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "$tool is not installed (Debian: apt-get install $tool)"
done
[ -x "$JISHI" ] || die "no server binary at $JISHI (build first: make build-release)"
[ -x "$WRITER_BENCH" ] || die "no writer bench at $WRITER_BENCH (build first: make build-release)"

WORK=$(mktemp -d /tmp/jishi-bench.XXXXXX)
SERVER_PID=""

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  local pid=$SERVER_PID status=0
  SERVER_PID=""
  kill -TERM "$pid" 2>/dev/null || return 0
  # Poll with a deadline for a clean exit (the server drains its writer on SIGTERM).
  local deadline=$(($(date +%s) + STOP_TIMEOUT_S))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "bench: server did not stop within ${STOP_TIMEOUT_S}s of SIGTERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  wait "$pid" 2>/dev/null || status=$?
  return "$status"
}

cleanup() {
  stop_server || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Converts a wrk latency ("812.00us", "1.23ms", "2.01s") to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n = n / 1000; else if (v ~ /ms$/) n = n; else if (v ~ /m$/) n = n * 60000;
    else if (v ~ /s$/) n = n * 1000;
    printf "%.2f", n }'
}

# run_wrk NAME THREADS:CONNECTIONS [wrk args...]: runs wrk, keeps its output in $WORK/wrk-NAME.txt
# and sets RPS, P50_MS, P99_MS and ERRORS (non-2xx responses plus socket errors).
run_wrk() {
  local name=$1 tc=$2
  shift 2
  local threads=${tc%%:*} connections=${tc##*:}
  local out="$WORK/wrk-$name.txt"
  wrk -t"$threads" -c"$connections" -d"${HTTP_SECONDS}s" --latency "$@" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed for $name"; }
  RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
  P50_MS=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
  P99_MS=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
  ERRORS=$(awk '/Non-2xx or 3xx responses:/ { e += $NF }
                /Socket errors:/ { gsub(",", ""); e += $4 + $6 + $8 + $10 }
                END { print e + 0 }' "$out")
  [ -n "$RPS" ] || { cat "$out" >&2; die "could not parse wrk output for $name"; }
  printf '  %-12s -t%s -c%-4s %8s req/s  p50 %7s ms  p99 %7s ms  errors %s\n' \
    "$name" "$threads" "$connections" "$RPS" "$P50_MS" "$P99_MS" "$ERRORS"
}

# post JSON_BODY PATH [curl args...]: prints the response body; fails unless 2xx.
post() {
  local body=$1 path=$2
  shift 2
  curl -sS --fail-with-body --max-time 30 -X POST "$BASE_URL$path" \
    -H 'Content-Type: application/json' "$@" --data "$body"
}

echo "== machine"
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
NPROC=$(nproc)
KERNEL=$(uname -sr)
cache_value() { # a CMakeCache.txt entry of the build dir, or nothing
  awk -F= -v k="$1" 'index($0, k ":") == 1 { print $2 }' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true
}
COMPILER=$(cache_value CMAKE_CXX_COMPILER)
COMPILER=$("${COMPILER:-c++}" --version 2>/dev/null | head -n1 || true)
BUILD_TYPE=$(cache_value CMAKE_BUILD_TYPE)
CXX_FLAGS="$(cache_value CMAKE_CXX_FLAGS) $(cache_value CMAKE_CXX_FLAGS_RELEASE)"
[ "$BUILD_TYPE" = Release ] || echo "bench: warning: $BUILD_DIR is a '$BUILD_TYPE' build, not Release" >&2
TMP_FS=$(df -T /tmp 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 }')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# CPU already busy before we start (other users of the machine), over a one-second window.
cpu_busy_pct() {
  local a b
  a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
  sleep 1
  b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
  echo "$a $b" | awk '{ t = $4 - $2; printf "%.0f", (t > 0 ? 100 * ($3 - $1) / t : 0) }'
}
BUSY_BEFORE=$(cpu_busy_pct)
echo "  cpu: $NPROC x $CPU_MODEL; kernel $KERNEL; $COMPILER; build $BUILD_TYPE ($CXX_FLAGS)"
echo "  /tmp: $TMP_FS; load average before: $LOAD_BEFORE; CPU busy before: $BUSY_BEFORE%"

echo "== writer (batched single writer, WAL, synchronous=FULL, ${WRITER_SECONDS}s per cap)"
"$WRITER_BENCH" --seconds "$WRITER_SECONDS" --caps 1,100,1000 >"$WORK/writer.txt" ||
  { cat "$WORK/writer.txt" >&2; die "jishi_writer_bench failed"; }
sed 's/^/  /' "$WORK/writer.txt"
SQLITE_VERSION=$(awk '/sqlite_version=/ { sub(/.*sqlite_version=/, ""); print $1 }' "$WORK/writer.txt")
writer_field() { # writer_field CAP FIELD
  awk -v cap="batch_max=$1" -v f="$2" '$2 == cap {
    for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }' \
    "$WORK/writer.txt"
}
WRITER_1000=$(writer_field 1000 commands_per_s)
[ -n "$WRITER_1000" ] || die "no batch_max=1000 line from jishi_writer_bench"

LEDGER_BENCH="$BUILD_DIR/bench/jishi_ledger_bench"
echo "== ledger (transfers through the writer, in-process, ${WRITER_SECONDS}s per kind)"
"$LEDGER_BENCH" --seconds "$WRITER_SECONDS" >"$WORK/ledger.txt" ||
  { cat "$WORK/ledger.txt" >&2; die "jishi_ledger_bench failed"; }
sed 's/^/  /' "$WORK/ledger.txt"
ledger_field() { # ledger_field KIND FIELD
  awk -v kind="kind=$1" -v f="$2" '$2 == kind {
    for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }' \
    "$WORK/ledger.txt"
}
LEDGER_SINGLE=$(ledger_field single transfers_per_s)

echo "== http server"
DATA_DIR="$WORK/data"
"$JISHI" serve --data-dir "$DATA_DIR" --listen 127.0.0.1:0 --set access_log=false \
  --set rate_limit_per_s=1000000000 --set rate_limit_burst=1000000000 \
  --set password_hash_cost=min >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
PORT=""
deadline=$(($(date +%s) + START_TIMEOUT_S))
while [ -z "$PORT" ]; do
  PORT=$(sed -n 's|^jishi listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$WORK/server.out")
  [ -n "$PORT" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    cat "$WORK/server.err" >&2
    SERVER_PID=""
    die "the server exited before listening"
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    cat "$WORK/server.err" >&2
    die "the server did not print its port within ${START_TIMEOUT_S}s"
  fi
  sleep 0.05
done
BASE_URL="http://127.0.0.1:$PORT"
echo "  listening on $BASE_URL (data dir $DATA_DIR)"

TOKEN=$(python3 "$BENCH/register_users.py" "$BASE_URL" bench 1) || die "registering the bench user failed"
[ -n "$TOKEN" ] || die "no session.token in the register response"

# The replayed request: run once for real here, then repeated verbatim by wrk.
REPLAY_KEY="bench-replay-1"
REPLAY_BODY='{"kind":"merchant","name":"bench","credit_code":"91330106MA2CDE7R6C"}'
post "$REPLAY_BODY" /api/v1/orgs -H "Authorization: Bearer $TOKEN" \
  -H "Idempotency-Key: $REPLAY_KEY" >"$WORK/replay-first.json" ||
  { cat "$WORK/replay-first.json" >&2; die "creating the replayed organisation failed"; }
replayed=$(curl -sS -o /dev/null -D - --max-time 30 -X POST "$BASE_URL/api/v1/orgs" \
  -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
  -H "Idempotency-Key: $REPLAY_KEY" --data "$REPLAY_BODY" | tr -d '\r' |
  awk 'tolower($1) == "idempotent-replayed:" { print $2 }')
[ "$replayed" = "true" ] || die "a repeated request was not answered as a replay"

# The pool of users the writing POST rotates over.
echo "  registering $WRITE_USERS users for the writing POST"
TOKENS_FILE="$WORK/tokens.txt"
python3 "$BENCH/register_users.py" "$BASE_URL" writer "$WRITE_USERS" >"$TOKENS_FILE" ||
  die "registering the writer pool failed"
[ "$(grep -c . "$TOKENS_FILE")" -eq "$WRITE_USERS" ] || die "expected $WRITE_USERS tokens"

echo "== http (wrk, ${HTTP_SECONDS}s per run; wrk shares the machine's $NPROC cores with the server)"
GET_ROWS=""
BEST_GET_RPS=0 BEST_GET_P99=0 BEST_GET_CONFIG=""
for tc in $GET_CONFIGS; do
  run_wrk get-me "$tc" -H "Authorization: Bearer $TOKEN" "$BASE_URL/api/v1/me"
  [ "$ERRORS" -eq 0 ] || die "GET /api/v1/me had $ERRORS errors (see above)"
  GET_ROWS="$GET_ROWS| GET /api/v1/me | -t${tc%%:*} -c${tc##*:} | $RPS | $P50_MS | $P99_MS |
"
  # Best = most req/s; within 3% of each other the lower p99 wins (more connections than the
  # server can use only add queueing).
  better=$(awk -v r="$RPS" -v p="$P99_MS" -v br="$BEST_GET_RPS" -v bp="$BEST_GET_P99" \
    'BEGIN { b = (r > br * 1.03 || (r >= br * 0.97 && p < bp)); print (b ? "yes" : "no") }')
  if [ "$better" = yes ]; then
    BEST_GET_RPS=$RPS BEST_GET_P99=$P99_MS BEST_GET_CONFIG="-t${tc%%:*} -c${tc##*:}"
  fi
done

JISHI_BENCH_TOKEN=$TOKEN JISHI_BENCH_IDEMPOTENCY_KEY=$REPLAY_KEY JISHI_BENCH_BODY=$REPLAY_BODY \
  run_wrk post-replay "$POST_CONFIG" -s "$BENCH/post_idempotent.lua" "$BASE_URL/api/v1/orgs"
[ "$ERRORS" -eq 0 ] || die "the replayed POST had $ERRORS errors (see above)"
REPLAY_RPS=$RPS REPLAY_P50=$P50_MS REPLAY_P99=$P99_MS

# writer_metric NAME: a value from the server's /metrics (the writer's batch histogram).
writer_metric() {
  curl -sS --max-time 10 "$BASE_URL/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}
BATCHES_BEFORE=$(writer_metric jishi_writer_batch_commands_count)
COMMANDS_BEFORE=$(writer_metric jishi_writer_batch_commands_sum)
JISHI_BENCH_TOKENS_FILE=$TOKENS_FILE \
  run_wrk post-write "$POST_CONFIG" -s "$BENCH/post_write.lua" "$BASE_URL/api/v1/orgs"
[ "$ERRORS" -eq 0 ] || die "the writing POST had $ERRORS errors (see above)"
WRITE_RPS=$RPS WRITE_P50=$P50_MS WRITE_P99=$P99_MS
BATCHES_AFTER=$(writer_metric jishi_writer_batch_commands_count)
COMMANDS_AFTER=$(writer_metric jishi_writer_batch_commands_sum)
MEAN_HTTP_BATCH=$(awk -v c0="${COMMANDS_BEFORE:-0}" -v c1="${COMMANDS_AFTER:-0}" \
  -v b0="${BATCHES_BEFORE:-0}" -v b1="${BATCHES_AFTER:-0}" \
  'BEGIN { if (b1 > b0) printf "%.1f", (c1 - c0) / (b1 - b0); else print "n/a" }')
echo "  writer during post-write: mean batch $MEAN_HTTP_BATCH commands"

stop_server || die "the server did not exit cleanly on SIGTERM"

echo "== payments over HTTP (bench/pay_bench.py: its own server; a Python client on the same cores)"
python3 "$BENCH/pay_bench.py" "$JISHI" "${BENCH_PAY_SECONDS:-10}" "${BENCH_PAY_THREADS:-8}" \
  >"$WORK/pay.txt" || { cat "$WORK/pay.txt" >&2; die "pay_bench failed"; }
sed 's/^/  /' "$WORK/pay.txt"
grep -q "verify_ledger=ok" "$WORK/pay.txt" || die "the ledger did not verify after the payments bench"
pay_field() { # pay_field KIND FIELD
  awk -v kind="kind=$1" -v f="$2" '$2 == kind {
    for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }' "$WORK/pay.txt"
}
PAY_WALLET=$(pay_field wallet payments_per_s)
PAY_CARD=$(pay_field card payments_per_s)
LEDGER_TWO_PHASE=$(ledger_field two_phase transfers_per_s)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

DATE=$(date +%F)
mkdir -p "$BENCH/results"
RESULT="$BENCH/results/$DATE-foundation.md"
HEADLINE="headline writer_1000_per_s=$WRITER_1000 ledger_single_per_s=$LEDGER_SINGLE http_get_per_s=$BEST_GET_RPS http_get_p99_ms=$BEST_GET_P99 http_post_write_per_s=$WRITE_RPS http_post_replay_per_s=$REPLAY_RPS ledger_two_phase_per_s=$LEDGER_TWO_PHASE pay_wallet_http_per_s=$PAY_WALLET pay_card_e2e_per_s=$PAY_CARD"
{
  echo "# Foundation benchmarks, $DATE"
  echo
  echo "Produced by \`bench/run.sh\` (\`make bench\`)."
  echo
  echo "## Machine"
  echo
  echo "- nproc: $NPROC"
  echo "- CPU: $CPU_MODEL"
  echo "- kernel: $KERNEL"
  echo "- compiler: $COMPILER"
  echo "- build: CMAKE_BUILD_TYPE=$BUILD_TYPE, flags \`$CXX_FLAGS\`, build dir ${BUILD_DIR#"$ROOT"/}"
  echo "- SQLite: $SQLITE_VERSION"
  echo "- /tmp filesystem (database files): $TMP_FS"
  echo "- load average before / after: $LOAD_BEFORE / $LOAD_AFTER; CPU busy in the second before:" \
    "$BUSY_BEFORE% (a shared machine: other work skews every figure)"
  echo
  echo "## Writer: trivial commands (one INSERT each), WAL, synchronous=FULL"
  echo
  echo "| batch_commands_max | commands/s | batches (fsyncs)/s | mean batch |"
  echo "|---:|---:|---:|---:|"
  for cap in 1 100 1000; do
    echo "| $cap | $(writer_field "$cap" commands_per_s) | $(writer_field "$cap" batches_per_s) |" \
      "$(writer_field "$cap" mean_batch) |"
  done
  echo
  echo "${WRITER_SECONDS}s per cap on a fresh database; target ≥ 200000/s at cap 1000."
  echo
  echo "Checkout (jishi vs the PostgreSQL peer): bench/compare.py writes <date>-checkout.md."
  echo
  echo "## Payments over HTTP (bench/pay_bench.py, ${BENCH_PAY_THREADS:-8} Python clients on the same cores)"
  echo
  echo "| kind | payments/s | p50 ms | p99 ms | errors |"
  echo "|---|---:|---:|---:|---:|"
  for kind in wallet card; do
    echo "| $kind | $(pay_field "$kind" payments_per_s) | $(pay_field "$kind" p50_ms) |" \
      "$(pay_field "$kind" p99_ms) | $(pay_field "$kind" errors) |"
  done
  echo
  echo "wallet: create an intent + confirm from the wallet (two durable writes). card: create +"
  echo "confirm (a signed gateway call) + the simulator's cashier + its signed notification, until"
  echo "the money is captured into escrow (end to end). The ledger verifies afterwards."
  echo
  echo "## Ledger: transfers through the writer (in-process, $(ledger_field single transfers_per_command) transfers per command)"
  echo
  echo "| kind | transfers/s | commands/s | p50 ms per command | p99 ms per command | writer CPU µs per transfer | writer busy | COMMIT ms |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for kind in single two_phase; do
    echo "| $kind | $(ledger_field "$kind" transfers_per_s) | $(ledger_field "$kind" commands_per_s) |" \
      "$(ledger_field "$kind" p50_ms) | $(ledger_field "$kind" p99_ms) |" \
      "$(ledger_field "$kind" writer_cpu_us_per_transfer) | $(ledger_field "$kind" writer_busy) |" \
      "$(ledger_field "$kind" commit_ms) |"
  done
  echo
  echo "Latency includes queueing: the bench keeps $(ledger_field single in_flight_commands) commands in flight." \
    "Writer busy is the writer thread's CPU seconds per second (the rest is COMMIT's fsync and" \
    "waiting for a core). Target (issue 3): ≥ 100000/s."
  echo
  echo "## HTTP (wrk on the same machine, ${HTTP_SECONDS}s per run)"
  echo
  echo "| request | wrk | req/s | p50 ms | p99 ms |"
  echo "|---|---|---:|---:|---:|"
  printf '%s' "$GET_ROWS"
  echo "| POST /api/v1/orgs, same Idempotency-Key (replay) | -t${POST_CONFIG%%:*} -c${POST_CONFIG##*:} | $REPLAY_RPS | $REPLAY_P50 | $REPLAY_P99 |"
  echo "| POST /api/v1/orgs, new org each (write) | -t${POST_CONFIG%%:*} -c${POST_CONFIG##*:} | $WRITE_RPS | $WRITE_P50 | $WRITE_P99 |"
  echo
  echo "Best GET (most req/s; within 3%, lowest p99): $BEST_GET_CONFIG. Target ≥ 50000 req/s on 2 cores. The writing POST rotated"
  echo "over $WRITE_USERS users; during it the server's writer averaged $MEAN_HTTP_BATCH commands per"
  echo "batch (jishi_writer_batch_commands in /metrics)."
  echo
  echo '```'
  echo "$HEADLINE"
  echo '```'
} >"$RESULT"

echo "== summary (also in ${RESULT#"$ROOT"/})"
echo
sed -n '/^## Writer/,$p' "$RESULT" | grep -v '^```'
