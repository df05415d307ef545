//! One logfmt line per event on stderr: `ts=… level=warn resource=pods msg="…" err="…"`.
//! The klog flags kube-state-metrics takes (`--logtostderr`, `--log_file`, `--log_dir`,
//! `--stderrthreshold`, ...) pick where the same lines go: see [`Output`].

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        match s.to_ascii_lowercase().as_str() {
            "debug" => Some(Level::Debug),
            "info" => Some(Level::Info),
            "warn" | "warning" => Some(Level::Warn),
            "error" => Some(Level::Error),
            _ => None,
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

pub fn set_level(l: Level) {
    LEVEL.store(l as u8, Ordering::Relaxed);
}

pub fn enabled(l: Level) -> bool {
    l as u8 >= LEVEL.load(Ordering::Relaxed)
}

/// Formats one line; quoting only where logfmt needs it.
pub fn format_line(
    ts: &str,
    level: Level,
    msg: &str,
    fields: &[(&str, &dyn fmt::Display)],
) -> String {
    let mut line = String::with_capacity(128);
    let _ = write!(line, "ts={ts} level={} msg=", level.as_str());
    push_value(&mut line, msg);
    for (k, v) in fields {
        line.push(' ');
        line.push_str(k);
        line.push('=');
        push_value(&mut line, &v.to_string());
    }
    line.push('\n');
    line
}

fn push_value(line: &mut String, v: &str) {
    let needs_quotes = v.is_empty()
        || v.chars()
            .any(|c| c == ' ' || c == '"' || c == '=' || c.is_control());
    if !needs_quotes {
        line.push_str(v);
        return;
    }
    line.push('"');
    for c in v.chars() {
        match c {
            '"' => line.push_str("\\\""),
            '\\' => line.push_str("\\\\"),
            '\n' => line.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(line, "\\u{{{:x}}}", c as u32);
            }
            c => line.push(c),
        }
    }
    line.push('"');
}

/// RFC 3339 UTC timestamp with milliseconds, without a date crate.
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // civil-from-days (Howard Hinnant)
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if month <= 2 { y + 1 } else { y };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Where log lines go, with klog's meanings so a kube-state-metrics manifest's logging flags
/// keep theirs. klog's severities are INFO, WARNING, ERROR; a debug line is INFO to klog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// `--logtostderr` (kube-state-metrics' default true): stderr only, no files.
    pub to_stderr: bool,
    /// `--alsologtostderr`: with files, lines at or above `also_threshold` to stderr too.
    pub also_to_stderr: bool,
    /// `--alsologtostderrthreshold` (default INFO).
    pub also_threshold: Level,
    /// `--stderrthreshold`: kube-state-metrics sets INFO and opts out of klog's legacy
    /// behaviour, so it filters stderr even with `--logtostderr`.
    pub stderr_threshold: Level,
    /// `--legacy_stderr_threshold_behavior`: the threshold is ignored with `--logtostderr`.
    pub legacy_threshold: bool,
    /// `--log_file` (wins over `--log_dir`), only without `--logtostderr`.
    pub file: Option<String>,
    /// `--log_dir`: one file per severity, named as klog names them; without either, klog
    /// writes into the temporary directory.
    pub dir: Option<String>,
    /// `--log_file_max_size` in MB (0: unlimited): a full file starts over.
    pub max_mb: u64,
    /// `--one_output`: a line goes to its own severity's file only, not also to the lower ones.
    pub one_output: bool,
}

impl Default for Output {
    fn default() -> Self {
        Output {
            to_stderr: true,
            also_to_stderr: false,
            also_threshold: Level::Info,
            stderr_threshold: Level::Info,
            legacy_threshold: false,
            file: None,
            dir: None,
            max_mb: 1800,
            one_output: false,
        }
    }
}

/// klog severity names or numbers (`INFO`/`0`, `WARNING`/`1`, `ERROR`/`2`, `FATAL`/`3`).
pub fn parse_severity(s: &str) -> Option<Level> {
    match s.to_ascii_uppercase().as_str() {
        "INFO" | "0" => Some(Level::Info),
        "WARNING" | "1" => Some(Level::Warn),
        "ERROR" | "2" | "FATAL" | "3" => Some(Level::Error),
        _ => None,
    }
}

/// An open log file and how much has been written to it.
struct OpenFile {
    file: std::fs::File,
    written: u64,
}

struct Sink {
    out: Output,
    /// `--log_file`, or the INFO/WARNING/ERROR files of `--log_dir`, opened on first use.
    files: [Option<OpenFile>; 3],
    failed: bool,
}

static SINK: std::sync::Mutex<Option<Sink>> = std::sync::Mutex::new(None);

/// Applies the klog flags, once at start. Without a call every line goes to stderr.
pub fn configure(out: Output) {
    let mut g = SINK.lock().unwrap_or_else(|e| e.into_inner());
    *g = Some(Sink {
        out,
        files: [None, None, None],
        failed: false,
    });
}

impl Sink {
    fn wants_stderr(&self, level: Level) -> bool {
        let o = &self.out;
        let sev = level.max(Level::Info);
        if o.to_stderr {
            return o.legacy_threshold || sev >= o.stderr_threshold;
        }
        (o.also_to_stderr && sev >= o.also_threshold) || sev >= o.stderr_threshold
    }

    fn path(&self, slot: usize) -> std::path::PathBuf {
        if let Some(f) = &self.out.file {
            return f.into();
        }
        let dir = self
            .out
            .dir
            .clone()
            .map(std::path::PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let host = hostname();
        let user = std::env::var("USER").unwrap_or_else(|_| "unknownuser".into());
        let ts = now_rfc3339();
        // klog: program.host.user.log.SEVERITY.yyyymmdd-hhmmss.pid
        let stamp = format!(
            "{}{}{}-{}{}{}",
            &ts[0..4],
            &ts[5..7],
            &ts[8..10],
            &ts[11..13],
            &ts[14..16],
            &ts[17..19]
        );
        let sev = ["INFO", "WARNING", "ERROR"][slot];
        dir.join(format!(
            "kubestate.{host}.{user}.log.{sev}.{stamp}.{}",
            std::process::id()
        ))
    }

    fn write_file(&mut self, slot: usize, line: &[u8], truncate: bool) -> std::io::Result<()> {
        let max = self.out.max_mb.saturating_mul(1024 * 1024);
        let full =
            matches!(&self.files[slot], Some(f) if max > 0 && f.written + line.len() as u64 > max);
        if self.files[slot].is_none() || full {
            let path = self.path(slot);
            let mut opts = std::fs::OpenOptions::new();
            opts.create(true).write(true);
            // klog appends to --log_file at start and truncates it when it is full
            if truncate || full {
                opts.truncate(true);
            } else {
                opts.append(true);
            }
            let file = opts.open(&path)?;
            if self.out.file.is_none() {
                let link = path
                    .with_file_name(format!("kubestate.{}", ["INFO", "WARNING", "ERROR"][slot]));
                let _ = std::fs::remove_file(&link);
                if let Some(name) = path.file_name() {
                    let _ = std::os::unix::fs::symlink(name, &link);
                }
            }
            self.files[slot] = Some(OpenFile { file, written: 0 });
        }
        let f = self.files[slot].as_mut().expect("opened above");
        f.file.write_all(line)?;
        f.written += line.len() as u64;
        Ok(())
    }

    fn write(&mut self, level: Level, line: &[u8]) {
        if self.wants_stderr(level) {
            let _ = std::io::stderr().lock().write_all(line);
        }
        if self.out.to_stderr || self.failed {
            return;
        }
        let res = if self.out.file.is_some() {
            self.write_file(0, line, false)
        } else {
            // a line goes to its severity's file and, unless --one_output, every lower one
            let own = match level {
                Level::Debug | Level::Info => 0,
                Level::Warn => 1,
                Level::Error => 2,
            };
            let from = if self.out.one_output { own } else { 0 };
            (from..=own).try_for_each(|slot| self.write_file(slot, line, false))
        };
        if let Err(e) = res {
            // reported once on stderr; from then on the lines go to stderr alone
            self.failed = true;
            let msg = format_line(
                &now_rfc3339(),
                Level::Error,
                "cannot write the log file, logging to stderr only",
                &[("err", &e)],
            );
            let _ = std::io::stderr().lock().write_all(msg.as_bytes());
        }
        if self.failed && !self.wants_stderr(level) {
            let _ = std::io::stderr().lock().write_all(line);
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknownhost".into())
}

pub fn emit(level: Level, msg: &str, fields: &[(&str, &dyn fmt::Display)]) {
    let line = format_line(&now_rfc3339(), level, msg, fields);
    let mut g = SINK.lock().unwrap_or_else(|e| e.into_inner());
    match g.as_mut() {
        Some(sink) => sink.write(level, line.as_bytes()),
        None => {
            drop(g);
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }
}

/// `log_event!(Level::Warn, "watch closed", resource = "pods", err = e)`.
#[macro_export]
macro_rules! log_event {
    ($lvl:expr, $msg:expr $(, $k:ident = $v:expr)* $(,)?) => {
        if $crate::log::enabled($lvl) {
            $crate::log::emit($lvl, $msg, &[$((stringify!($k), &$v as &dyn std::fmt::Display)),*]);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_quotes_only_when_needed() {
        let e = "boom \"x\"";
        let l = format_line(
            "T",
            Level::Warn,
            "watch closed",
            &[("resource", &"pods"), ("err", &e), ("rv", &12)],
        );
        assert_eq!(
            l,
            "ts=T level=warn msg=\"watch closed\" resource=pods err=\"boom \\\"x\\\"\" rv=12\n"
        );
    }

    fn sink(out: Output) -> Sink {
        Sink {
            out,
            files: [None, None, None],
            failed: false,
        }
    }

    #[test]
    fn stderr_threshold_as_kube_state_metrics_sets_klog() {
        let s = sink(Output::default());
        assert!(s.wants_stderr(Level::Debug) && s.wants_stderr(Level::Info));
        let s = sink(Output {
            stderr_threshold: Level::Error,
            ..Output::default()
        });
        assert!(!s.wants_stderr(Level::Warn) && s.wants_stderr(Level::Error));
        let s = sink(Output {
            stderr_threshold: Level::Error,
            legacy_threshold: true,
            ..Output::default()
        });
        assert!(
            s.wants_stderr(Level::Info),
            "legacy: threshold ignored with logtostderr"
        );
        let s = sink(Output {
            to_stderr: false,
            stderr_threshold: Level::Error,
            also_to_stderr: true,
            also_threshold: Level::Warn,
            ..Output::default()
        });
        assert!(!s.wants_stderr(Level::Info) && s.wants_stderr(Level::Warn));
        assert_eq!(parse_severity("warning"), Some(Level::Warn));
        assert_eq!(parse_severity("2"), Some(Level::Error));
        assert_eq!(parse_severity("loud"), None);
    }

    #[test]
    fn log_file_appends_and_starts_over_when_full() {
        let dir = std::env::temp_dir().join(format!("kubestate-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.log");
        std::fs::write(&path, "before\n").unwrap();
        let mut s = sink(Output {
            to_stderr: false,
            stderr_threshold: Level::Error,
            file: Some(path.display().to_string()),
            ..Output::default()
        });
        s.write(Level::Info, b"one\n");
        s.write(Level::Warn, b"two\n");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "before\none\ntwo\n"
        );
        s.out.max_mb = 0;
        s.write(Level::Info, b"three\n");
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("three\n"));
        // a tiny limit: 1 MB is the unit, so fake a nearly full file
        s.out.max_mb = 1;
        s.files[0].as_mut().unwrap().written = 1024 * 1024;
        s.write(Level::Info, b"fresh\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "fresh\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn log_dir_files_per_severity_as_klog_names_them() {
        let dir = std::env::temp_dir().join(format!("kubestate-logdir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut s = sink(Output {
            to_stderr: false,
            stderr_threshold: Level::Error,
            dir: Some(dir.display().to_string()),
            ..Output::default()
        });
        s.write(Level::Info, b"i\n");
        s.write(Level::Warn, b"w\n");
        let read =
            |sev: &str| std::fs::read_to_string(dir.join(format!("kubestate.{sev}"))).unwrap();
        assert_eq!(read("INFO"), "i\nw\n");
        assert_eq!(read("WARNING"), "w\n");
        let target = std::fs::read_link(dir.join("kubestate.INFO")).unwrap();
        let name = target.to_string_lossy();
        assert!(
            name.starts_with("kubestate.") && name.contains(".log.INFO."),
            "{name}"
        );
        assert!(
            name.ends_with(&format!(".{}", std::process::id())),
            "{name}"
        );
        s.out.one_output = true;
        s.write(Level::Error, b"e\n");
        assert_eq!(read("ERROR"), "e\n");
        assert_eq!(read("INFO"), "i\nw\n", "--one_output: own severity only");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn timestamp_shape() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }
}
