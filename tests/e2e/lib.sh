# Helpers shared by the end-to-end scripts (sourced by run.sh; not run on its own).
# Expects: E2E_TMP, API_URL, PKI (dir with ca.crt, admin.crt, admin.key) once the control
# plane is up, and KS_PORT once kubestate runs.

PASSED=0
FAILED=0
FAILURES=()

log() { echo "e2e: $*" >&2; }

# Records one assertion: `check "description" command args...` (never aborts the run).
check() {
  local what="$1"
  shift
  if "$@"; then
    PASSED=$((PASSED + 1))
    echo "ok   - $what" >&2
  else
    FAILED=$((FAILED + 1))
    FAILURES+=("$what")
    echo "FAIL - $what" >&2
  fi
}

# TERM, then KILL after 10 s.
stop_pid() { # <pid>
  local pid="$1" i
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.2
  done
  log "pid $pid did not stop within 10 s of SIGTERM; SIGKILL"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# A loopback port nothing listens on right now, not handed out before in this run.
USED_PORTS=" "
free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    case "$USED_PORTS" in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      USED_PORTS+="$p "
      echo "$p"
      return 0
    fi
  done
  log "no free port found"
  return 1
}

# Polls `command args...` every 0.2 s for up to <seconds>; returns 1 on timeout.
wait_until() {
  local secs="$1"
  shift
  local end=$((SECONDS + secs))
  while true; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    [ "$SECONDS" -ge "$end" ] && return 1
    sleep 0.2
  done
}

# Calls the API server as cluster admin (client certificate):
#   api METHOD PATH [BODY [CONTENT-TYPE]]
# Prints the response body; fails (with the body on stderr) on a non-2xx status.
api() {
  local method="$1" path="$2" body="${3:-}" ctype="${4:-application/json}"
  local out code
  out="$E2E_TMP/api.out"
  local args=(-sS --max-time 30 -o "$out" -w '%{http_code}' -X "$method"
    --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key")
  if [ -n "$body" ]; then
    args+=(-H "Content-Type: $ctype" --data-binary "$body")
  fi
  code="$(curl "${args[@]}" "$API_URL$path")" || { log "curl $method $path failed"; return 1; }
  if [ "${code:0:1}" != 2 ]; then
    log "$method $path -> HTTP $code: $(head -c 600 "$out")"
    return 1
  fi
  cat "$out"
}

# POST a JSON object to a collection, quietly.
create() { api POST "$1" "$2" >/dev/null; }
# JSON merge patch, quietly (also for /status subresources).
merge_patch() { api PATCH "$1" "$2" application/merge-patch+json >/dev/null; }

# --- kubestate scrapes ----------------------------------------------------------------

# The current exposition (Prometheus text; what Prometheus' text parser sees).
scrape() {
  curl -sfS --max-time 20 -H 'Accept: text/plain; version=0.0.4' "http://127.0.0.1:$KS_PORT/metrics"
}

# Scrapes into $SCRAPE; fails unless the scrape worked and holds kube_* families (so that
# "absent" assertions cannot pass on a failed or empty scrape).
SCRAPE=""
fresh_scrape() {
  SCRAPE="$(scrape)" || return 1
  grep -q '^# TYPE kube_pod_info ' <<<"$SCRAPE"
}

# True when the exposition contains this exact line.
has_line() { fresh_scrape && grep -Fxq -- "$1" <<<"$SCRAPE"; }
# True when no line of the exposition contains this fixed string.
lacks() { fresh_scrape && ! grep -Fq -- "$1" <<<"$SCRAPE"; }
# True when some sample of metric <name> contains all the given fixed strings.
has_series() {
  local name="$1"
  shift
  fresh_scrape || return 1
  local lines s
  lines="$(grep -E "^${name}\{" <<<"$SCRAPE")" || return 1
  for s in "$@"; do
    lines="$(grep -F -- "$s" <<<"$lines")" || return 1
  done
}
# True when the exposition has a family of this name (# TYPE line).
has_family() { fresh_scrape && grep -q "^# TYPE $1 " <<<"$SCRAPE"; }
