#!/usr/bin/env python3
"""Regenerates bench/RESULTS.md (and bench/results/summary.json) from the raw figures in
bench/results/: run-full.tsv / run-quick.tsv (bench/run.sh), shard.tsv (bench/shard.sh),
outage.tsv (bench/outage.sh), the
*.machine.json beside them, and bench/results/NOTES.md (hand-written observations, optional);
real-apiserver.md, range-bytes.md, gzip-levels.md, binary-size.md and auth-storm.md are included
as written."""
import json
import os
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
RES = os.path.join(HERE, "results")


def load(name):
    path = os.path.join(RES, name)
    if not os.path.exists(path):
        return None
    d = defaultdict(dict)
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 4:
            continue
        size, prog, metric, value = parts
        try:
            d[int(size)][(prog, metric)] = float(value)
        except ValueError:
            pass
    return d


def machine(name):
    path = os.path.join(RES, name)
    return json.load(open(path)) if os.path.exists(path) else None


def fmt(v, digits=2):
    if v is None:
        return "–"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    r = a / b
    return f"{r:.3f}" if r < 0.1 else f"{r:.2f}"


def per10k(d, prog, idle_key="idle_cpu_s", idle_window=None):
    """CPU seconds per 10k watch events, idle CPU over the same time subtracted."""
    cpu = d.get((prog, "churn_cpu_s"))
    ev = d.get(("sim", "churn_events"))
    win = d.get(("sim", "churn_window_s"))
    if cpu is None or not ev:
        return None, None
    idle = d.get((prog, idle_key))
    iw = idle_window or d.get(("sim", "idle_window_s"))
    base = idle / iw * win if idle is not None and iw else 0.0
    return cpu / ev * 10000, max(cpu - base, 0.0) / ev * 10000


def size_table(n, d):
    g = lambda p, m: d.get((p, m))
    mib = lambda p, m: None if g(p, m) is None else g(p, m) / 1024
    sec = lambda p, m: None if g(p, m) is None else g(p, m) / 1000
    rows = []

    def row(label, ks, ksl, ksm, note=""):
        rows.append(f"| {label} | {fmt(ks)} | {fmt(ksl)} | {fmt(ksm)} | {ratio(ks, ksm)} | {ratio(ksl, ksm)} |{note}")

    row("time to ready (s)", sec("ks", "ready_ms"), sec("ks_list", "ready_ms"), sec("ksm", "ready_ms"))
    row("CPU from start to ready (s)", g("ks", "sync_cpu_s"), g("ks_list", "sync_cpu_s"), g("ksm", "sync_cpu_s"))
    row("peak start-up RSS, VmHWM before any scrape (MiB)", mib("ks", "peak_rss_kib"), mib("ks_list", "peak_rss_kib"), mib("ksm", "peak_rss_kib"))
    row("peak RSS incl. the readiness scrape, VmHWM (MiB)", mib("ks", "peak_rss_scrape_kib"), mib("ks_list", "peak_rss_scrape_kib"), mib("ksm", "peak_rss_scrape_kib"))
    row("RSS after sync (MiB)", mib("ks", "rss_kib"), mib("ks_list", "rss_kib"), mib("ksm", "rss_kib"))
    for kind in ("plain", "gzip"):
        for p in ("p50", "p99"):
            row(f"scrape {kind} {p} (ms)", g("ks", f"scrape_{kind}_{p}_ms"), None, g("ksm", f"scrape_{kind}_{p}_ms"))
    row("gzip scrape right after churn (ms)", g("ks", "scrape_gzip_after_churn_ms"), None, g("ksm", "scrape_gzip_after_churn_ms"))
    row("gzip scrape during churn (ms)", g("ks", "scrape_gzip_during_churn_ms"), None, g("ksm", "scrape_gzip_during_churn_ms"))
    ks_dur, ks_plain = g("ks", "scrape_gzip_during_churn_ms"), g("ks", "scrape_plain_p50_ms")
    if ks_dur is not None and ks_plain:
        rows.append(f"| kubestate: gzip during churn / plain p50 | {ratio(ks_dur, ks_plain)} | | | | |")
    ks_plain_churn = g("ks", "scrape_plain_during_churn_ms")
    row("plain scrape during churn, right after that one (ms)", ks_plain_churn, None, None)
    if ks_dur is not None and ks_plain_churn:
        rows.append(f"| kubestate: gzip during churn / the plain scrape right after it | {ratio(ks_dur, ks_plain_churn)} | | | | |")
    worst = g("ks", "gzip_over_plain_during_churn_max")
    if worst is not None:
        rows.append(f"| kubestate: the same, worst of the window's scrapes | {fmt(worst)} | | | | |")
    row("gzip bytes during churn (KiB)", None if g("ks", "scrape_gzip_during_churn_bytes") is None else g("ks", "scrape_gzip_during_churn_bytes") / 1024, None,
        None if g("ksm", "scrape_gzip_during_churn_bytes") is None else g("ksm", "scrape_gzip_during_churn_bytes") / 1024)
    row("exposition bytes, plain (KiB)", None if g("ks", "bytes_plain") is None else g("ks", "bytes_plain") / 1024, None,
        None if g("ksm", "bytes_plain") is None else g("ksm", "bytes_plain") / 1024)
    row("exposition bytes, gzip (KiB)", None if g("ks", "bytes_gzip") is None else g("ks", "bytes_gzip") / 1024, None,
        None if g("ksm", "bytes_gzip") is None else g("ksm", "bytes_gzip") / 1024)
    row("samples in one scrape", g("ks", "samples"), None, g("ksm", "samples"))
    row("metric families (# TYPE lines)", g("ks", "families"), None, g("ksm", "families"))
    raw_ks, net_ks = per10k(d, "ks")
    raw_ksm, net_ksm = per10k(d, "ksm")
    row("CPU s per 10k pod watch events (idle subtracted)", net_ks, None, net_ksm)
    row("CPU s per 10k pod watch events (raw)", raw_ks, None, raw_ksm)
    iw = g("sim", "idle_window_s")
    idle = lambda p: None if g(p, "idle_cpu_s") is None or not iw else g(p, "idle_cpu_s") / iw * 100
    row(f"idle CPU over {fmt(iw, 0)} s (% of one core)", idle("ks"), None, idle("ksm"))
    row("RSS after the churn window (MiB)", mib("ks", "rss_after_churn_kib"), None, mib("ksm", "rss_after_churn_kib"))
    row("RSS after churn with gzip scrapes (MiB)", mib("ks", "rss_after_gzip_churn_kib"), None, mib("ksm", "rss_after_gzip_churn_kib"))
    gc = g("ks", "gzip_cache_bytes")
    row("gzip cache after that window (MiB)", None if gc is None else gc / 2**20, None, None)
    truth = g("sim", "pods_after_churn")
    row("kube_pod_info samples after churn" + ("" if truth is None else f" (server: {fmt(truth)})"),
        g("ks", "pods_after_churn"), None, g("ksm", "pods_after_churn"))
    row("time until that count equals the server's (ms)", g("ks", "pods_agree_ms"), None, g("ksm", "pods_agree_ms"))
    head = (f"### {n:,} pods, {fmt(g('sim', 'nodes'))} nodes ({fmt(g('sim', 'objects'))} objects)\n\n"
            f"Churn window: {fmt(g('sim', 'churn_events'))} pod watch events in {fmt(g('sim', 'churn_window_s'))} s.\n\n"
            "| figure | kubestate watch-list | kubestate list | KSM | ratio watch-list/KSM | ratio list/KSM |\n"
            "|---|---:|---:|---:|---:|---:|\n")
    return head + "\n".join(rows) + "\n"


def shard_table(d):
    out = []
    for n, x in sorted(d.items()):
        g = lambda p, m: x.get((p, m))
        out.append(f"### {n:,} pods; shard 0 of 4 owns {fmt(g('sim', 'shard0_pods'))} pods; "
                   f"{fmt(g('sim', 'churn_events'))} pod watch events in {fmt(g('sim', 'churn_window_s'))} s\n")
        out.append("| program | CPU start→ready (s) | time to ready (s) | peak RSS (MiB) | RSS after sync (MiB) | CPU s / 10k events (idle subtracted) | CPU s / 10k events (raw) |")
        out.append("|---|---:|---:|---:|---:|---:|---:|")
        vals = {}
        for p, label in (("ks", "kubestate unsharded"), ("ks_shard", "kubestate shard 0/4"),
                         ("ksm", "KSM unsharded"), ("ksm_shard", "KSM shard 0/4")):
            raw, net = per10k(x, p, idle_key="idle10_cpu_s", idle_window=10.0)
            vals[p] = (g(p, "sync_cpu_s"), net, raw, g(p, "peak_rss_kib"))
            out.append(f"| {label} | {fmt(g(p, 'sync_cpu_s'))} | {fmt(None if g(p, 'ready_ms') is None else g(p, 'ready_ms') / 1000)} | "
                       f"{fmt(None if g(p, 'peak_rss_kib') is None else g(p, 'peak_rss_kib') / 1024)} | "
                       f"{fmt(None if g(p, 'rss_kib') is None else g(p, 'rss_kib') / 1024)} | {fmt(net, 3)} | {fmt(raw, 3)} |")
        out.append("")
        out.append("| ratio shard/unsharded | CPU start→ready | CPU per event (idle subtracted) | peak RSS |")
        out.append("|---|---:|---:|---:|")
        for a, b, label in (("ks_shard", "ks", "kubestate"), ("ksm_shard", "ksm", "KSM")):
            out.append(f"| {label} | {ratio(vals[a][0], vals[b][0])} | {ratio(vals[a][1], vals[b][1])} | {ratio(vals[a][3], vals[b][3])} |")
        out.append("")
    return "\n".join(out) + "\n"


def outage_md(d, m):
    """bench/outage.sh: one row per program, the figures of every run."""
    progs = (("ks", "kubestate"), ("ksm", "KSM v2.20.0"))
    runs = sorted(d)
    p = (m or {}).get("params", "")
    out = ["## API server outage (`bench/outage.sh`)\n",
           machine_md(m),
           f"Fresh simulated API server per run and program, four resources watched (pods, nodes, "
           f"namespaces, deployments); an outage in which every request gets the same error status and "
           f"the open watches are cut, a pod created halfway through it ({p}). Requests: what the "
           f"server received during the outage. Recovery: seconds from the server answering again to "
           f"that pod in `/metrics` (polled every 50 ms).\n",
           "| program | requests during the outage, per run | median | recovery (s), per run | median | worst |",
           "|---|---|---:|---|---:|---:|"]
    med = lambda xs: sorted(xs)[len(xs) // 2] if xs else None
    for prog, label in progs:
        reqs = [d[r][(prog, "outage_requests")] for r in runs if (prog, "outage_requests") in d[r]]
        rec = [d[r][(prog, "recovery_s")] for r in runs if (prog, "recovery_s") in d[r]]
        if not reqs:
            continue
        out.append(f"| {label} | {', '.join(str(int(x)) for x in reqs)} | {int(med(reqs))} | "
                   f"{', '.join(fmt(x) for x in rec)} | {fmt(med(rec))} | {fmt(max(rec))} |")
    return "\n".join(out) + "\n"


def callgrind_md():
    path = os.path.join(RES, "callgrind.tsv")
    if not os.path.exists(path):
        return None
    kv = dict(line.rstrip("\n").split("\t", 1) for line in open(path) if "\t" in line)
    num = lambda k: float(kv[k]) if kv.get(k) else None
    pods, plain, gz = num("pods"), num("plain_bytes"), num("gzip_bytes")
    rows = ["## Instruction counts (`bench/callgrind.sh`)\n",
            f"- commit {kv.get('commit', '?')}; valgrind callgrind, `render-bench` example (release build), "
            f"{fmt(pods)} generated pods (pods resource only, default families); Ir = instructions executed, "
            "inclusive of everything the phase calls. Exact and repeatable, unlike the wall-clock figures above.\n",
            "| phase | Ir | per pod | per exposition byte (uncompressed) |",
            "|---|---:|---:|---:|"]
    for key, label, size in (("ir_render", "render every pod into the store", None),
                             ("ir_scrape_plain", f"one plain scrape ({fmt(plain / 1e6 if plain else None)} MB)", plain),
                             ("ir_scrape_gzip", f"one gzip scrape, cold member cache ({fmt(gz / 1e6 if gz else None)} MB out)", plain),
                             ("ir_scrape_gzip_churn", "one gzip scrape right after 1% of the pods changed", plain),
                             ("ir_scrape_gzip_warm", "one gzip scrape, warm member cache", plain)):
        ir = num(key)
        rows.append(f"| {label} | {fmt(ir)} | {fmt(ir / pods if ir and pods else None)} | "
                    f"{fmt(ir / size if ir and size else None)} |")
    events = num("events")
    if events and num("ir_event_total"):
        rows += ["", f"Watch events (`event-bench`, {fmt(events)} pod MODIFIED lines of ~5 KB, unsharded, "
                 "decode + render + store update):\n",
                 "| part | Ir per event |", "|---|---:|"]
        for key, label in (("ir_event_total", "whole event"), ("ir_event_decode", "decode (one pass)"),
                           ("ir_event_render_store", "render + store update")):
            ir = num(key)
            rows.append(f"| {label} | {fmt(ir / events if ir else None)} |")
    if num("ir_watch_unsharded"):
        rows += ["", f"Sharding (`probe-bench`, {fmt(pods)} pods, shard 0 of 4 vs unsharded):\n",
                 "| path | unsharded Ir | 1-of-4 shard Ir | ratio |", "|---|---:|---:|---:|"]
        for label, u, sh, r in (("watch lines (every event)", "ir_watch_unsharded", "ir_watch_shard_1of4", "shard_ratio_watch"),
                                ("LIST of all pods", "ir_list_unsharded", "ir_list_shard_1of4", "shard_ratio_list")):
            rows.append(f"| {label} | {fmt(num(u))} | {fmt(num(sh))} | {kv.get(r, '–')} |")
        if num("ir_list_unsharded_streaming"):
            rows.append(f"\nThe former unsharded LIST path (each item decoded straight from the reader) took "
                        f"{fmt(num('ir_list_unsharded_streaming'))} Ir.")
    return "\n".join(rows) + "\n"


def machine_md(m):
    if not m:
        return ""
    return (f"- machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['mem_gib']} GiB RAM, Linux {m['kernel']}; "
            f"load average at start {' '.join(m['loadavg_at_start'])}\n"
            f"- kubestate {m['kubestate']} (commit {m['kubestate_commit']}), {m['rustc']}\n"
            f"- kube-state-metrics: `{m['kube_state_metrics']}`, built from the Go module with {m['go']}\n"
            f"- run {m['date']}, parameters: {m['params']}\n")


def main():
    parts = ["# Benchmark results: kubestate vs kube-state-metrics v2.20.0\n",
             "Generated by `bench/report.py` from the raw figures in `bench/results/` "
             "(`bench/run.sh`, `bench/shard.sh`). What each figure means and how it is measured: "
             "`bench/README.md`. Ratios are kubestate / KSM (below 1: kubestate uses less).\n"]
    notes = os.path.join(RES, "NOTES.md")
    if os.path.exists(notes):
        parts.append(open(notes).read().rstrip() + "\n")
    summary = {}
    for mode in ("full", "quick"):
        d = load(f"run-{mode}.tsv")
        if not d:
            continue
        parts.append(f"## Side by side (`bench/run.sh{' --quick' if mode == 'quick' else ''}`)\n")
        parts.append(machine_md(machine(f"run-{mode}.machine.json")))
        for n in sorted(d):
            parts.append(size_table(n, d[n]))
        summary[f"run-{mode}"] = {str(n): {f"{p}.{m}": v for (p, m), v in x.items()} for n, x in d.items()}
    s = load("shard.tsv")
    if s:
        parts.append("## Sharding (`bench/shard.sh`)\n")
        parts.append(machine_md(machine("shard.machine.json")))
        parts.append(shard_table(s))
        summary["shard"] = {str(n): {f"{p}.{m}": v for (p, m), v in x.items()} for n, x in s.items()}
    o = load("outage.tsv")
    if o:
        parts.append(outage_md(o, machine("outage.machine.json")))
        summary["outage"] = {str(n): {f"{p}.{m}": v for (p, m), v in x.items()} for n, x in o.items()}
    real = os.path.join(RES, "real-apiserver.md")  # bench/real_apiserver.sh
    if os.path.exists(real):
        head, _, body = open(real).read().partition("\n")
        parts.append(head + "\n\n" + machine_md(machine("real-apiserver.machine.json")))
        parts.append(body.strip() + "\n")
    for hand in ("range-bytes.md",  # bench/range_bytes.sh, by hand
                 "gzip-levels.md",  # the gzip-levels example, by hand
                 "apiserver-gzip.md",  # bench/apiserver_gzip.sh, by hand
                 "idle-rss.md",  # bench/idle_rss.sh, by hand
                 "binary-size.md"):  # static stripped binary, by hand
        path = os.path.join(RES, hand)
        if os.path.exists(path):
            parts.append(open(path).read().rstrip() + "\n")
    cg = callgrind_md()
    if cg:
        parts.append(cg)
    storm = os.path.join(RES, "auth-storm.md")
    if os.path.exists(storm):
        parts.append(open(storm).read().rstrip() + "\n")
    open(os.path.join(HERE, "RESULTS.md"), "w").write("\n".join(parts))
    json.dump(summary, open(os.path.join(RES, "summary.json"), "w"), indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
