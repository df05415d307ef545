#!/usr/bin/env bash
# Prints a JSON description of the machine and the versions under test.
#   bash bench/machine.sh KSM_BINARY [PARAMS]
set -euo pipefail
cd "$(dirname "$0")/.."
ksm=$1 params=${2:-}
KSM_VERSION=$("$ksm" version 2>&1 | head -1 || true) \
KS_VERSION=$(target/release/kubestate --version 2>&1 | head -1 || true) \
KS_COMMIT=$(git rev-parse --short HEAD) \
KS_DIRTY=$(git status --porcelain --untracked-files=no -- src Cargo.toml Cargo.lock | wc -l) \
RUSTC=$(rustc --version) GOV=$(go version) PARAMS=$params \
python3 - <<'PY'
import json, os, platform, time
def first(path, key):
    try:
        for line in open(path):
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""
mem_kib = int(first("/proc/meminfo", "MemTotal").split()[0])
print(json.dumps({
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "nproc": os.cpu_count(),
    "sched_nproc": len(os.sched_getaffinity(0)),
    "cpu_model": first("/proc/cpuinfo", "model name"),
    "mem_gib": round(mem_kib / 1048576, 1),
    "kernel": platform.release(),
    "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
    "kubestate": os.environ["KS_VERSION"],
    "kubestate_commit": os.environ["KS_COMMIT"] + ("-dirty" if os.environ["KS_DIRTY"] != "0" else ""),
    "kube_state_metrics": os.environ["KSM_VERSION"],
    "rustc": os.environ["RUSTC"],
    "go": os.environ["GOV"],
    "params": os.environ["PARAMS"],
}, indent=1))
PY
