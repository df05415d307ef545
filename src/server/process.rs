//! `process_*` self-metrics read from /proc, as the Prometheus client's process collector
//! exposes them (CPU seconds, memory, fds, start time).

use crate::exposition::text::{header, line};

fn clock_ticks() -> f64 {
    100.0 // USER_HZ on every Linux ABI kubestate targets
}

fn page_size() -> f64 {
    4096.0
}

fn boot_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

pub fn render(out: &mut Vec<u8>) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    // fields after the ")" that closes the command name
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // rest[0] is field 3 (state): utime=14, stime=15, starttime=22, vsize=23, rss=24
    let cpu = (num(11) + num(12)) / clock_ticks();
    let start = boot_time().unwrap_or(0.0) + num(19) / clock_ticks();
    header(
        out,
        "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.",
        "counter",
    );
    line(out, "process_cpu_seconds_total", &[], cpu);
    let fds = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0);
    header(
        out,
        "process_open_fds",
        "Number of open file descriptors.",
        "gauge",
    );
    line(out, "process_open_fds", &[], fds as f64);
    if let Ok(limits) = std::fs::read_to_string("/proc/self/limits") {
        if let Some(max) = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(3))
            .and_then(|v| v.parse::<f64>().ok())
        {
            header(
                out,
                "process_max_fds",
                "Maximum number of open file descriptors.",
                "gauge",
            );
            line(out, "process_max_fds", &[], max);
        }
    }
    header(
        out,
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        "gauge",
    );
    line(
        out,
        "process_resident_memory_bytes",
        &[],
        num(21) * page_size(),
    );
    header(
        out,
        "process_virtual_memory_bytes",
        "Virtual memory size in bytes.",
        "gauge",
    );
    line(out, "process_virtual_memory_bytes", &[], num(20));
    header(
        out,
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        "gauge",
    );
    line(out, "process_start_time_seconds", &[], start);
}
