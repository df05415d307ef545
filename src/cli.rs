//! Command-line flags, declared once: the table below feeds parsing and `--help`, with
//! kube-state-metrics' names and meanings so existing manifests keep working.

use crate::metrics::builtin::{self, Enabled};
use std::fmt;

/// What a flag takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Bool,
    Value,
}

struct FlagDef {
    name: &'static str,
    kind: Kind,
    default: &'static str,
    help: &'static str,
    /// One of klog's logging flags, which kube-state-metrics registers too.
    klog: bool,
}

const fn flag(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    help: &'static str,
) -> FlagDef {
    FlagDef {
        name,
        kind,
        default,
        help,
        klog: false,
    }
}

const fn klog(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    help: &'static str,
) -> FlagDef {
    FlagDef {
        name,
        kind,
        default,
        help,
        klog: true,
    }
}

use Kind::*;

static FLAGS: &[FlagDef] = &[
    flag("apiserver", Value, "", "The URL of the apiserver to use as a master (overrides the kubeconfig's server)."),
    flag("kubeconfig", Value, "", "Absolute path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)."),
    flag("context", Value, "", "The kubeconfig context to use (default: current-context)."),
    flag("host", Value, "::", "Host to expose metrics on."),
    flag("port", Value, "8080", "Port to expose metrics on."),
    flag("telemetry-host", Value, "::", "Host to expose kubestate self metrics on."),
    flag("telemetry-port", Value, "8081", "Port to expose kubestate self metrics on."),
    flag("resources", Value, "", "Comma-separated list of resources to be enabled (default: every supported default resource)."),
    flag("namespaces", Value, "", "Comma-separated list of namespaces to be enabled (default: all)."),
    flag("namespaces-denylist", Value, "", "Comma-separated list of namespaces not to be enabled."),
    flag("metric-allowlist", Value, "", "Comma-separated list of metrics (regexes) to be exposed. Mutually exclusive with the denylist."),
    flag("metric-denylist", Value, "", "Comma-separated list of metrics (regexes) not to be exposed. Mutually exclusive with the allowlist."),
    flag("metric-opt-in-list", Value, "", "Comma-separated list of opt-in metrics (regexes) to be exposed."),
    flag("metric-labels-allowlist", Value, "", "Kubernetes label keys per resource for the *_labels metrics, e.g. 'pods=[app,team],nodes=[*]'."),
    flag("metric-annotations-allowlist", Value, "", "Kubernetes annotation keys per resource for the *_annotations metrics, same syntax."),
    flag("shard", Value, "0", "The instance's shard index (zero-based); objects are assigned as kube-state-metrics assigns them."),
    flag("total-shards", Value, "1", "The total number of shards; 1 disables sharding."),
    flag("shard-strategy", Value, "jump", "How objects are assigned to shards: jump (as kube-state-metrics) or range (contiguous UID-hash ranges, which a Kubernetes 1.36+ API server with ShardedListAndWatch filters server-side)."),
    flag("pod", Value, "", "This pod's name (downward API): with --pod-namespace, shard by the StatefulSet that owns the pod."),
    flag("pod-namespace", Value, "", "This pod's namespace (downward API), for --pod."),
    flag("node", Value, "", "Only pods on this node (field selector spec.nodeName=<node>); needs --resources=pods."),
    flag("track-unscheduled-pods", Bool, "false", "Only pods not yet scheduled (spec.nodeName=), for a deployment beside per-node instances."),
    flag("enable-gzip-encoding", Bool, "false", "Gzip responses when the client sends Accept-Encoding: gzip."),
    flag("gzip-cache-max-mb", Value, "64", "With --enable-gzip-encoding: most MiB the cached gzip members of /metrics may hold, over all resources; beyond it the least recently scraped are dropped and a scrape compresses what is not cached. 0: nothing cached."),
    flag("use-apiserver-cache", Bool, "false", "Set resourceVersion=0 on LIST requests (served from the API server's cache)."),
    flag("disable-compression", Bool, "false", "Do not ask the API server for gzip-compressed responses (as the kubeconfig cluster field disable-compression, which also turns it off)."),
    flag("initial-sync", Value, "auto", "How the initial state is read: auto (streamed WatchList where the server supports it, else LIST), watch-list, or list."),
    flag("watch-list-idle-timeout-ms", Value, "10000", "In auto mode, silence before the initial-events-end bookmark after which a server is taken not to support WatchList."),
    flag("sd-config", Value, "", "YAML file of Prometheus Kubernetes service discovery jobs, served at /sd/<job> (http_sd)."),
    flag("sd-file-dir", Value, "", "Also write each discovery job to DIR/<job>.json (file_sd), atomically and only on change."),
    flag("sd-update-interval", Value, "5s", "At most one discovery update per job per interval (e.g. 5s, 500ms)."),
    flag("config", Value, "", "YAML file with the same options as the flags (flag names, or kube-state-metrics' config keys); flags given on the command line win."),
    flag("continue-without-config", Bool, "false", "Start even when the --config file does not exist."),
    flag("custom-resource-state-config", Value, "", "Inline custom resource state metrics config (YAML); wins over the file."),
    flag("custom-resource-state-config-file", Value, "", "Path to a custom resource state metrics config (YAML); reloaded when it changes."),
    flag("custom-resource-state-only", Bool, "false", "Only provide custom resource state metrics (no built-in resources)."),
    flag("continue-without-custom-resource-state-config-file", Bool, "false", "Start even if the custom resource state config file is missing, and pick it up once it appears."),
    flag("custom-resource-state-poll-ms", Value, "3000", "How often the custom resource state config file is checked for changes."),
    flag("log-level", Value, "info", "Log level: debug, info, warn or error."),
    flag("http-workers", Value, "4", "Worker threads serving the metrics port."),
    flag("server-read-header-timeout", Value, "5s", "The time a client has to send a complete request header (from connect, or from the first byte of a keep-alive request)."),
    flag("server-read-timeout", Value, "1m", "The time a client has to send a complete request."),
    flag("server-write-timeout", Value, "1m", "The time a response may take to be written; a client that does not read is dropped after it."),
    flag("server-idle-timeout", Value, "5m", "How long a keep-alive connection may wait for its next request."),
    flag("server-max-connections", Value, "1024", "Open connections per port; at the limit the longest-waiting idle connection is closed."),
    flag("tls-config", Value, "", "Path to a web config file (Prometheus exporter-toolkit format: TLS, client certificates, basic auth, headers), for both ports."),
    flag("web.config.file", Value, "", "Alias of --tls-config."),
    flag("auth-filter", Bool, "false", "Require a bearer token on /metrics (both ports) that the API server authenticates (TokenReview) and authorises for get on the path (SubjectAccessReview)."),
    flag("version", Bool, "false", "Print the version and exit."),
    flag("help", Bool, "false", "Print this help and exit."),
    flag("object-limit", Value, "0", "Objects listed per resource and LIST page (kube-state-metrics' meaning: LIST pages of this size, a page the server returns larger is cut to it, no streamed initial state); 0: no limit."),
    flag("auto-gomemlimit", Bool, "false", "kube-state-metrics: set GOMEMLIMIT from the container's memory limit. Accepted; kubestate has no Go runtime to tune."),
    flag("auto-gomemlimit-ratio", Value, "0.9", "kube-state-metrics: share of the memory limit for GOMEMLIMIT, in (0, 1]. Accepted; no effect here."),
    klog("v", Value, "0", "klog verbosity: 4 or more logs debug lines (as --log-level=debug, which wins when given). Also -v N."),
    klog("logtostderr", Bool, "true", "Log to stderr instead of files (kube-state-metrics' default: true)."),
    klog("alsologtostderr", Bool, "false", "With files, also log to stderr (lines at or above --alsologtostderrthreshold)."),
    klog("alsologtostderrthreshold", Value, "INFO", "Severity (INFO, WARNING, ERROR) from which --alsologtostderr copies lines to stderr."),
    klog("stderrthreshold", Value, "INFO", "Lines below this severity are not written to stderr (INFO, WARNING, ERROR or 0-3)."),
    klog("legacy_stderr_threshold_behavior", Bool, "false", "If true, --stderrthreshold is ignored when --logtostderr is true (klog's legacy behaviour)."),
    klog("log_file", Value, "", "With --logtostderr=false: append the log lines to this file."),
    klog("log_dir", Value, "", "With --logtostderr=false and no --log_file: write kubestate.<host>.<user>.log.<SEVERITY>.<time>.<pid> files (and kubestate.<SEVERITY> links) here; default the temporary directory."),
    klog("log_file_max_size", Value, "1800", "Size in MB at which a log file starts over (0: unlimited)."),
    klog("one_output", Bool, "false", "Write a line only to its own severity's file under --log_dir, not also to the lower ones."),
    klog("add_dir_header", Bool, "false", "klog: source directory in the line header. Accepted; no effect here."),
    klog("skip_headers", Bool, "false", "klog: no header prefix on lines. Accepted; no effect here (lines are logfmt)."),
    klog("skip_log_headers", Bool, "false", "klog: no header at the top of log files. Accepted; kubestate writes none."),
    klog("log_backtrace_at", Value, "", "klog: stack trace at file:N. Accepted; no effect here."),
    klog("vmodule", Value, "", "klog: per-file verbosity. Accepted; no effect here."),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    UnknownFlag(String),
    MissingValue(String),
    BadValue {
        flag: String,
        value: String,
        reason: String,
    },
    UnexpectedArgument(String),
    ConfigFile(String),
    UnknownResource(String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::UnknownFlag(n) => write!(f, "unknown flag --{n} (see --help)"),
            CliError::MissingValue(n) => write!(f, "flag --{n} needs a value"),
            CliError::BadValue {
                flag,
                value,
                reason,
            } => write!(f, "--{flag}={value}: {reason}"),
            CliError::ConfigFile(e) => write!(f, "--config: {e}"),
            CliError::UnexpectedArgument(a) => {
                write!(f, "unexpected argument {a:?}: kubestate takes only flags")
            }
            CliError::UnknownResource(r) => write!(
                f,
                "--resources: unknown resource {r:?} (known: {})",
                builtin::names().join(",")
            ),
        }
    }
}

impl std::error::Error for CliError {}

/// Parsed options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub apiserver: Option<String>,
    pub kubeconfig: Option<String>,
    pub context: Option<String>,
    pub host: String,
    pub port: u16,
    pub telemetry_host: String,
    pub telemetry_port: u16,
    pub resources: Vec<String>,
    pub namespaces: Vec<String>,
    pub namespaces_denylist: Vec<String>,
    pub metric_allowlist: Vec<String>,
    pub metric_denylist: Vec<String>,
    pub metric_opt_in_list: Vec<String>,
    pub metric_labels_allowlist: String,
    pub metric_annotations_allowlist: String,
    pub shard: i32,
    pub total_shards: i32,
    pub shard_strategy: crate::shard::Strategy,
    pub pod: Option<String>,
    pub pod_namespace: Option<String>,
    pub node: Option<String>,
    pub track_unscheduled_pods: bool,
    pub enable_gzip_encoding: bool,
    /// `--gzip-cache-max-mb`, in bytes.
    pub gzip_cache_max_bytes: usize,
    pub use_apiserver_cache: bool,
    /// No `Accept-Encoding: gzip` to the API server (kubectl's `--disable-compression`).
    pub disable_compression: bool,
    pub initial_sync: crate::kube::watch::InitialSync,
    pub watch_list_idle_ms: u64,
    pub sd_config: Option<String>,
    /// The `--config` file, watched for changes.
    pub config_file: Option<String>,
    pub sd_file_dir: Option<String>,
    pub sd_interval: std::time::Duration,
    pub log_level: crate::log::Level,
    pub http_workers: usize,
    pub server_read_header_timeout: std::time::Duration,
    pub server_read_timeout: std::time::Duration,
    pub server_write_timeout: std::time::Duration,
    pub server_idle_timeout: std::time::Duration,
    pub server_max_connections: usize,
    pub tls_config: Option<String>,
    pub auth_filter: bool,
    pub custom_resource_state_config: Option<String>,
    pub custom_resource_state_config_file: Option<String>,
    pub custom_resource_state_only: bool,
    pub continue_without_custom_resource_state_config_file: bool,
    pub custom_resource_state_poll_ms: u64,
    pub version: bool,
    pub help: bool,
    /// `--object-limit` (0: none).
    pub object_limit: u64,
    /// Where log lines go (the klog flags).
    pub log_output: crate::log::Output,
    /// `-v`: 4 or more means debug lines unless `--log-level` was given.
    pub verbosity: i32,
    pub log_level_given: bool,
    pub auto_gomemlimit: bool,
    pub auto_gomemlimit_ratio: String,
    /// Names of the kube-state-metrics flags given, in order, for the start-up report of
    /// those that have no effect here.
    pub given: Vec<String>,
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn parse_bool(flag: &str, v: &str) -> Result<bool, CliError> {
    match v {
        "true" | "1" | "t" | "T" | "TRUE" | "True" => Ok(true),
        "false" | "0" | "f" | "F" | "FALSE" | "False" => Ok(false),
        _ => Err(CliError::BadValue {
            flag: flag.into(),
            value: v.into(),
            reason: "expected true or false".into(),
        }),
    }
}

fn severity(flag: &str, v: &str) -> Result<crate::log::Level, CliError> {
    crate::log::parse_severity(v).ok_or_else(|| CliError::BadValue {
        flag: flag.into(),
        value: v.into(),
        reason: "expected a severity: INFO, WARNING, ERROR, FATAL or 0-3".into(),
    })
}

fn parse_num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, CliError>
where
    T::Err: fmt::Display,
{
    v.parse::<T>().map_err(|e| CliError::BadValue {
        flag: flag.into(),
        value: v.into(),
        reason: e.to_string(),
    })
}

/// `5s`, `500ms`, `2m`, `1h` (a subset of Go's duration syntax, as KSM's flags take).
pub fn parse_duration(flag: &str, v: &str) -> Result<std::time::Duration, CliError> {
    let bad = |reason: &str| CliError::BadValue {
        flag: flag.into(),
        value: v.into(),
        reason: reason.into(),
    };
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| bad("missing unit (ms, s, m or h)"))?;
    let (num, unit) = v.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad("not a number"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad("unit must be ms, s, m or h")),
    };
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// Zero would mean "no timeout" in Go; here a timeout is always in force.
fn positive(flag: &str, v: &str, d: std::time::Duration) -> Result<std::time::Duration, CliError> {
    if d.is_zero() {
        return Err(CliError::BadValue {
            flag: flag.into(),
            value: v.into(),
            reason: "must be greater than zero".into(),
        });
    }
    Ok(d)
}

impl Default for Options {
    fn default() -> Self {
        let mut o = Options {
            apiserver: None,
            kubeconfig: None,
            context: None,
            host: String::new(),
            port: 0,
            telemetry_host: String::new(),
            telemetry_port: 0,
            resources: Vec::new(),
            namespaces: Vec::new(),
            namespaces_denylist: Vec::new(),
            metric_allowlist: Vec::new(),
            metric_denylist: Vec::new(),
            metric_opt_in_list: Vec::new(),
            metric_labels_allowlist: String::new(),
            metric_annotations_allowlist: String::new(),
            shard: 0,
            total_shards: 1,
            shard_strategy: crate::shard::Strategy::Jump,
            pod: None,
            pod_namespace: None,
            node: None,
            track_unscheduled_pods: false,
            enable_gzip_encoding: false,
            gzip_cache_max_bytes: 64 << 20,
            use_apiserver_cache: false,
            disable_compression: false,
            initial_sync: crate::kube::watch::InitialSync::Auto,
            watch_list_idle_ms: 10_000,
            sd_config: None,
            config_file: None,
            sd_file_dir: None,
            sd_interval: std::time::Duration::from_secs(5),
            log_level: crate::log::Level::Info,
            http_workers: 4,
            server_read_header_timeout: std::time::Duration::from_secs(5),
            server_read_timeout: std::time::Duration::from_secs(60),
            server_write_timeout: std::time::Duration::from_secs(60),
            server_idle_timeout: std::time::Duration::from_secs(300),
            server_max_connections: 1024,
            tls_config: None,
            auth_filter: false,
            custom_resource_state_config: None,
            custom_resource_state_config_file: None,
            custom_resource_state_only: false,
            continue_without_custom_resource_state_config_file: false,
            custom_resource_state_poll_ms: 3000,
            version: false,
            help: false,
            object_limit: 0,
            log_output: crate::log::Output::default(),
            verbosity: 0,
            log_level_given: false,
            auto_gomemlimit: false,
            auto_gomemlimit_ratio: "0.9".into(),
            given: Vec::new(),
        };
        for f in FLAGS {
            if !f.default.is_empty() {
                o.set(f.name, f.default).expect("flag defaults are valid");
            }
        }
        o.resources = builtin::defaults()
            .into_iter()
            .map(str::to_string)
            .collect();
        o
    }
}

impl Options {
    fn set(&mut self, name: &str, v: &str) -> Result<(), CliError> {
        let opt = |v: &str| {
            if v.is_empty() {
                None
            } else {
                Some(v.to_string())
            }
        };
        match name {
            "apiserver" => self.apiserver = opt(v),
            "kubeconfig" => self.kubeconfig = opt(v),
            "context" => self.context = opt(v),
            "host" => self.host = v.to_string(),
            "port" => self.port = parse_num(name, v)?,
            "telemetry-host" => self.telemetry_host = v.to_string(),
            "telemetry-port" => self.telemetry_port = parse_num(name, v)?,
            "resources" => self.resources = list(v),
            "namespaces" => self.namespaces = list(v),
            "namespaces-denylist" => self.namespaces_denylist = list(v),
            "metric-allowlist" => self.metric_allowlist = list(v),
            "metric-denylist" => self.metric_denylist = list(v),
            "metric-opt-in-list" => self.metric_opt_in_list = list(v),
            "metric-labels-allowlist" => self.metric_labels_allowlist = v.to_string(),
            "metric-annotations-allowlist" => self.metric_annotations_allowlist = v.to_string(),
            "shard" => self.shard = parse_num(name, v)?,
            "total-shards" => self.total_shards = parse_num(name, v)?,
            "shard-strategy" => {
                self.shard_strategy =
                    crate::shard::Strategy::parse(v).ok_or_else(|| CliError::BadValue {
                        flag: name.into(),
                        value: v.into(),
                        reason: "expected jump or range".into(),
                    })?
            }
            "pod" => self.pod = opt(v),
            "pod-namespace" => self.pod_namespace = opt(v),
            "node" => self.node = opt(v),
            "track-unscheduled-pods" => self.track_unscheduled_pods = parse_bool(name, v)?,
            "enable-gzip-encoding" => self.enable_gzip_encoding = parse_bool(name, v)?,
            "gzip-cache-max-mb" => {
                let mb: usize = parse_num(name, v)?;
                self.gzip_cache_max_bytes = mb.saturating_mul(1 << 20);
            }
            "use-apiserver-cache" => self.use_apiserver_cache = parse_bool(name, v)?,
            "disable-compression" => self.disable_compression = parse_bool(name, v)?,
            "log-level" => {
                self.log_level = crate::log::Level::parse(v).ok_or_else(|| CliError::BadValue {
                    flag: name.into(),
                    value: v.into(),
                    reason: "expected debug, info, warn or error".into(),
                })?
            }
            "initial-sync" => {
                self.initial_sync =
                    crate::kube::watch::InitialSync::parse(v).ok_or_else(|| CliError::BadValue {
                        flag: name.into(),
                        value: v.into(),
                        reason: "expected auto, watch-list or list".into(),
                    })?
            }
            "watch-list-idle-timeout-ms" => {
                self.watch_list_idle_ms = parse_num::<u64>(name, v)?.max(100)
            }
            "sd-config" => self.sd_config = opt(v),
            "config" => self.config_file = opt(v),
            "sd-file-dir" => self.sd_file_dir = opt(v),
            "sd-update-interval" => self.sd_interval = parse_duration(name, v)?,
            "http-workers" => self.http_workers = parse_num::<usize>(name, v)?.clamp(1, 64),
            "server-read-header-timeout" => {
                self.server_read_header_timeout = positive(name, v, parse_duration(name, v)?)?
            }
            "server-read-timeout" => {
                self.server_read_timeout = positive(name, v, parse_duration(name, v)?)?
            }
            "server-write-timeout" => {
                self.server_write_timeout = positive(name, v, parse_duration(name, v)?)?
            }
            "server-idle-timeout" => {
                self.server_idle_timeout = positive(name, v, parse_duration(name, v)?)?
            }
            "server-max-connections" => {
                self.server_max_connections = parse_num::<usize>(name, v)?.clamp(8, 1 << 20)
            }
            "tls-config" | "web.config.file" => self.tls_config = opt(v),
            "auth-filter" => self.auth_filter = parse_bool(name, v)?,
            "custom-resource-state-config" => self.custom_resource_state_config = opt(v),
            "custom-resource-state-config-file" => self.custom_resource_state_config_file = opt(v),
            "custom-resource-state-only" => self.custom_resource_state_only = parse_bool(name, v)?,
            "continue-without-custom-resource-state-config-file" => {
                self.continue_without_custom_resource_state_config_file = parse_bool(name, v)?
            }
            "custom-resource-state-poll-ms" => {
                self.custom_resource_state_poll_ms = parse_num::<u64>(name, v)?.max(100)
            }
            "version" => self.version = parse_bool(name, v)?,
            "help" => self.help = parse_bool(name, v)?,
            "object-limit" => {
                let n: i64 = parse_num(name, v)?;
                if n < 0 {
                    return Err(CliError::BadValue {
                        flag: name.into(),
                        value: v.into(),
                        reason: "must be equal or greater than 0".into(),
                    });
                }
                self.object_limit = n as u64;
            }
            "auto-gomemlimit" => self.auto_gomemlimit = parse_bool(name, v)?,
            "auto-gomemlimit-ratio" => {
                let r: f64 = parse_num(name, v)?;
                if !(r > 0.0 && r <= 1.0) {
                    return Err(CliError::BadValue {
                        flag: name.into(),
                        value: v.into(),
                        reason: "must be greater than 0 and less than or equal to 1".into(),
                    });
                }
                self.auto_gomemlimit_ratio = v.to_string();
            }
            "v" => self.verbosity = parse_num(name, v)?,
            "logtostderr" => self.log_output.to_stderr = parse_bool(name, v)?,
            "alsologtostderr" => self.log_output.also_to_stderr = parse_bool(name, v)?,
            "alsologtostderrthreshold" => self.log_output.also_threshold = severity(name, v)?,
            "stderrthreshold" => self.log_output.stderr_threshold = severity(name, v)?,
            "legacy_stderr_threshold_behavior" => {
                self.log_output.legacy_threshold = parse_bool(name, v)?
            }
            "log_file" => self.log_output.file = opt(v),
            "log_dir" => self.log_output.dir = opt(v),
            "log_file_max_size" => self.log_output.max_mb = parse_num(name, v)?,
            "one_output" => self.log_output.one_output = parse_bool(name, v)?,
            "add_dir_header" | "skip_headers" | "skip_log_headers" => {
                parse_bool(name, v)?;
            }
            "log_backtrace_at" | "vmodule" => {}
            _ => {}
        }
        Ok(())
    }

    /// Parses arguments (without the program name), after the `--config` file's options so
    /// that the command line wins.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Options, CliError> {
        let args: Vec<String> = args.into_iter().collect();
        let mut config = None;
        let mut continue_without = false;
        let mut i = 0;
        while i < args.len() {
            let a = args[i].as_str();
            if let Some(v) = a.strip_prefix("--config=") {
                config = Some(v.to_string());
            } else if a == "--config" {
                config = args.get(i + 1).cloned();
                i += 1;
            } else if a == "--continue-without-config" || a == "--continue-without-config=true" {
                continue_without = true;
            }
            i += 1;
        }
        let mut all = Vec::new();
        if let Some(path) = config.filter(|p| !p.is_empty()) {
            match crate::config_file::args_from_file(std::path::Path::new(&path)) {
                Ok(file_args) => all.extend(file_args),
                Err(crate::config_file::ConfigFileError::Read { source, .. })
                    if continue_without && source.kind() == std::io::ErrorKind::NotFound =>
                {
                    crate::log_event!(
                        crate::log::Level::Warn,
                        "config file not found, continuing with flags only",
                        file = path
                    );
                }
                Err(e) => return Err(CliError::ConfigFile(e.to_string())),
            }
        }
        all.extend(args);
        Self::parse_args(all)
    }

    fn parse_args(args: Vec<String>) -> Result<Options, CliError> {
        let mut o = Options::default();
        let mut it = args.into_iter().peekable();
        let mut explicit_resources = false;
        while let Some(arg) = it.next() {
            let body = if let Some(b) = arg.strip_prefix("--") {
                b.to_string()
            } else if let Some(b) = arg.strip_prefix('-').filter(|b| !b.is_empty()) {
                match b {
                    "h" => "help".to_string(),
                    // pflag shorthand with the value attached: -v2
                    v if v.len() > 1
                        && v.starts_with('v')
                        && v[1..].bytes().all(|c| c.is_ascii_digit()) =>
                    {
                        format!("v={}", &v[1..])
                    }
                    other => other.to_string(),
                }
            } else {
                return Err(CliError::UnexpectedArgument(arg));
            };
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (body.to_string(), None),
            };
            let def = FLAGS
                .iter()
                .find(|f| f.name == name)
                .ok_or_else(|| CliError::UnknownFlag(name.clone()))?;
            let value = match (def.kind, inline) {
                (_, Some(v)) => v,
                (Bool, None) => "true".to_string(),
                (Value, None) => it
                    .next()
                    .ok_or_else(|| CliError::MissingValue(name.clone()))?,
            };
            explicit_resources |= name == "resources";
            o.log_level_given |= name == "log-level";
            o.set(&name, &value)?;
            if !o.given.contains(&name) {
                o.given.push(name);
            }
        }
        if o.verbosity >= 4 && !o.log_level_given {
            o.log_level = crate::log::Level::Debug;
        }
        for r in &o.resources {
            if builtin::by_name(r).is_none() {
                return Err(CliError::UnknownResource(r.clone()));
            }
        }
        o.resources.sort();
        o.resources.dedup();
        if o.total_shards < 1 || o.shard < 0 || o.shard >= o.total_shards {
            return Err(CliError::BadValue {
                flag: "shard".into(),
                value: format!("{} of --total-shards={}", o.shard, o.total_shards),
                reason: "needs 0 <= shard < total-shards".into(),
            });
        }
        if (o.node.is_some() || o.track_unscheduled_pods)
            && explicit_resources
            && o.resources.iter().any(|r| r != "pods")
        {
            return Err(CliError::BadValue {
                flag: if o.node.is_some() {
                    "node".into()
                } else {
                    "track-unscheduled-pods".into()
                },
                value: o.resources.join(","),
                reason: "per-node sharding applies to pods only: use --resources=pods".into(),
            });
        }
        if (o.node.is_some() || o.track_unscheduled_pods) && !explicit_resources {
            o.resources = vec!["pods".to_string()];
        }
        Ok(o)
    }

    /// `--version` and `version`, shaped like the Prometheus version line kube-state-metrics
    /// prints, with the git revision `build.rs` stamped in.
    pub fn version_text() -> String {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        format!(
            "kubestate, version {} (revision: {})\n  platform:         {}/{}",
            env!("CARGO_PKG_VERSION"),
            option_env!("KUBESTATE_REVISION").unwrap_or("unknown"),
            std::env::consts::OS,
            arch
        )
    }

    /// The kube-state-metrics flags given that change nothing here (klog's own
    /// "no effect when -logtostderr=true" included), for one line at start.
    pub fn no_effect_flags(&self) -> Vec<String> {
        let out = &self.log_output;
        self.given
            .iter()
            .filter(|n| match n.as_str() {
                "add_dir_header" | "skip_headers" | "skip_log_headers" | "log_backtrace_at"
                | "vmodule" => true,
                "log_file"
                | "log_dir"
                | "log_file_max_size"
                | "one_output"
                | "alsologtostderr"
                | "alsologtostderrthreshold" => {
                    out.to_stderr
                        || (n.as_str() == "log_dir" && out.file.is_some())
                        || (n.as_str() == "one_output" && out.file.is_some())
                }
                _ => false,
            })
            .map(|n| format!("--{n}"))
            .collect()
    }

    pub fn help_text() -> String {
        let mut s = String::from(
            "kubestate: Kubernetes object-state metrics (kube-state-metrics compatible).\n\nUsage:\n  kubestate [flags]\n  kubestate [command]\n\nAvailable Commands:\n  help        Print this help.\n  rbac        Print the ClusterRole the given flags need.\n  version     Print version information.\n\nFlags:\n",
        );
        let section = |klog: bool, s: &mut String| {
            for f in FLAGS.iter().filter(|f| f.klog == klog) {
                let arg = if f.kind == Bool {
                    String::new()
                } else {
                    " value".to_string()
                };
                let dash = if f.name.len() == 1 { "-" } else { "--" };
                s.push_str(&format!("  {dash}{}{}\n        {}", f.name, arg, f.help));
                if !f.default.is_empty() && f.kind != Bool {
                    s.push_str(&format!(" (default {:?})", f.default));
                }
                s.push('\n');
            }
        };
        section(false, &mut s);
        s.push_str("\nLogging flags (klog's, as kube-state-metrics takes them):\n");
        section(true, &mut s);
        s.push_str("\nResources (--resources; * = opt-in, not in the default):\n");
        let mut line = String::from(" ");
        for b in builtin::BUILTIN {
            let opt_in = if b.enabled == Enabled::OptIn { "*" } else { "" };
            let word = format!(" {}{opt_in}", b.name);
            if line.len() + word.len() > 88 {
                s.push_str(&line);
                s.push('\n');
                line = String::from(" ");
            }
            line.push_str(&word);
        }
        s.push_str(&line);
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lives here, not beside `config_file`: the file's keys are checked through the flag
    /// parser, and `config_file` sits below `cli`.
    #[test]
    fn every_ksm_config_key_is_accepted() {
        let yaml = "annotations_allow_list: {pods: [team]}
labels_allow_list: {pods: [app]}
metric_allowlist: []
metric_denylist: {kube_pod_info: {}}
metric_opt_in_list: [kube_pod_nodeselectors]
resources: {pods: {}}
apiserver: https://127.0.0.1:6443
custom_resource_config: ''
custom_resource_state_config_file: ''
custom_resource_config_file: ''
continue_without_custom_resource_state_config_file: true
host: 127.0.0.1
kubeconfig: /etc/kubeconfig
namespace: monitoring
node: ''
pod: ''
tls_config: ''
telemetry_host: 127.0.0.1
config: /ignored.yaml
continue_without_config: true
namespaces: [default]
namespaces_denylist: []
auto-gomemlimit-ratio: 0.8
port: 9090
telemetry_port: 9091
total_shards: 1
server_read_timeout: 30s
server_write_timeout: 30000000000
server_idle_timeout: 5m
server_read_header_timeout: 5s
shard: 0
auto-gomemlimit: true
custom_resources_only: false
enable_gzip_encoding: true
help: true
track_unscheduled_pods: false
use_api_server_cache: true
object_limit: 100
auth_filter: false
";
        let a = crate::config_file::args_from_yaml(yaml, std::path::Path::new("ksm.yaml")).unwrap();
        assert!(
            a.contains(&"--server-write-timeout=30000ms".to_string()),
            "{a:?}"
        );
        assert!(!a
            .iter()
            .any(|x| x.starts_with("--help") || x.starts_with("--config=")));
        let o = Options::parse(a).unwrap();
        assert_eq!(o.port, 9090);
        assert_eq!(o.object_limit, 100);
        assert_eq!(o.pod_namespace.as_deref(), Some("monitoring"));
        assert_eq!(o.server_write_timeout, std::time::Duration::from_secs(30));
        assert_eq!(o.auto_gomemlimit_ratio, "0.8");
        assert!(o.auto_gomemlimit && o.use_apiserver_cache && o.enable_gzip_encoding);
        assert!(
            !o.help,
            "help in the file does nothing, as in kube-state-metrics"
        );
        assert_eq!(o.metric_denylist, vec!["kube_pod_info"]);
    }

    fn parse(a: &[&str]) -> Result<Options, CliError> {
        Options::parse(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_match_kube_state_metrics() {
        let o = parse(&[]).unwrap();
        assert_eq!(o.port, 8080);
        assert_eq!(o.telemetry_port, 8081);
        assert_eq!(o.host, "::");
        assert!(!o.enable_gzip_encoding);
        assert_eq!(o.resources.len(), 32);
        assert!(!o.resources.contains(&"endpoints".to_string()));
        assert!(o.resources.contains(&"endpointslices".to_string()));
    }

    #[test]
    fn both_forms_and_bools() {
        let o = parse(&[
            "--port=9000",
            "--telemetry-port",
            "9001",
            "--enable-gzip-encoding",
            "--resources=pods,nodes",
            "--v=2",
            "--use-apiserver-cache=false",
        ])
        .unwrap();
        assert_eq!((o.port, o.telemetry_port), (9000, 9001));
        assert!(o.enable_gzip_encoding);
        assert!(!o.use_apiserver_cache);
        assert_eq!(o.resources, vec!["nodes", "pods"]);
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(
            parse(&["--bogus"]).unwrap_err(),
            CliError::UnknownFlag("bogus".into())
        );
        assert_eq!(
            parse(&["--resources=pods,foos"]).unwrap_err(),
            CliError::UnknownResource("foos".into())
        );
        assert!(matches!(
            parse(&["--port=x"]).unwrap_err(),
            CliError::BadValue { .. }
        ));
        assert_eq!(
            parse(&["--kubeconfig"]).unwrap_err(),
            CliError::MissingValue("kubeconfig".into())
        );
        assert!(matches!(
            parse(&["stray"]).unwrap_err(),
            CliError::UnexpectedArgument(_)
        ));
    }

    #[test]
    fn sharding_flags_are_validated() {
        let o = parse(&["--shard=1", "--total-shards=3"]).unwrap();
        assert_eq!((o.shard, o.total_shards), (1, 3));
        assert!(parse(&["--shard=3", "--total-shards=3"]).is_err());
        assert!(parse(&["--total-shards=0"]).is_err());
        assert_eq!(o.shard_strategy, crate::shard::Strategy::Jump);
        let o = parse(&["--shard=1", "--total-shards=3", "--shard-strategy=range"]).unwrap();
        assert_eq!(o.shard_strategy, crate::shard::Strategy::Range);
        assert!(parse(&["--shard-strategy=modulo"]).is_err());
        let n = parse(&["--node=worker-1"]).unwrap();
        assert_eq!(n.resources, vec!["pods"]);
        assert!(parse(&["--node=w", "--resources=pods,nodes"]).is_err());
    }

    #[test]
    fn config_file_values_lose_to_flags() {
        let dir = std::env::temp_dir().join(format!("kubestate-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("c.yaml");
        std::fs::write(&f, "port: 9999\nresources: [pods]\ntelemetry_port: 7777\n").unwrap();
        let o = parse(&[&format!("--config={}", f.display()), "--port=1234"]).unwrap();
        assert_eq!(o.port, 1234);
        assert_eq!(o.telemetry_port, 7777);
        assert_eq!(o.resources, vec!["pods"]);
        let missing = dir.join("missing.yaml");
        assert!(matches!(
            parse(&[&format!("--config={}", missing.display())]),
            Err(CliError::ConfigFile(_))
        ));
        assert!(parse(&[
            &format!("--config={}", missing.display()),
            "--continue-without-config"
        ])
        .is_ok());
        std::fs::write(&f, "port: [oops\n").unwrap();
        let e = parse(&[&format!("--config={}", f.display())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.yaml"), "{e}");
    }

    #[test]
    fn server_flags() {
        let d = Options::default();
        assert_eq!(
            d.server_read_header_timeout,
            std::time::Duration::from_secs(5)
        );
        assert_eq!(d.server_idle_timeout, std::time::Duration::from_secs(300));
        assert_eq!(d.server_max_connections, 1024);
        assert!(!d.auth_filter && d.tls_config.is_none());
        let o = parse(&[
            "--server-read-header-timeout=500ms",
            "--server-write-timeout=2s",
            "--web.config.file=/etc/web.yml",
            "--auth-filter",
        ])
        .unwrap();
        assert_eq!(
            o.server_read_header_timeout,
            std::time::Duration::from_millis(500)
        );
        assert_eq!(o.server_write_timeout, std::time::Duration::from_secs(2));
        assert_eq!(o.tls_config.as_deref(), Some("/etc/web.yml"));
        assert!(o.auth_filter);
        assert!(parse(&["--server-idle-timeout=0s"]).is_err());
        assert!(parse(&["--server-read-timeout=x"]).is_err());
    }

    /// KSM v2.20's `cli-arguments.md`: every flag it lists, in the forms pflag takes.
    #[test]
    fn every_kube_state_metrics_flag_is_accepted() {
        let o = parse(&[
            "--add_dir_header",
            "--alsologtostderr",
            "--alsologtostderrthreshold=WARNING",
            "--auto-gomemlimit",
            "--auto-gomemlimit-ratio",
            "0.8",
            "--legacy_stderr_threshold_behavior=true",
            "--log_backtrace_at=main.go:10",
            "--log_dir=/tmp/logs",
            "--log_file=/tmp/ksm.log",
            "--log_file_max_size=10",
            "--logtostderr=false",
            "--one_output",
            "--object-limit=500",
            "--skip_headers",
            "--skip_log_headers",
            "--stderrthreshold",
            "2",
            "-v",
            "4",
            "--vmodule=server=5",
            "--enable-gzip-encoding",
        ])
        .unwrap();
        assert_eq!(o.object_limit, 500);
        assert!(o.auto_gomemlimit);
        assert_eq!(o.auto_gomemlimit_ratio, "0.8");
        assert_eq!(o.verbosity, 4);
        assert_eq!(
            o.log_level,
            crate::log::Level::Debug,
            "-v=4 means debug lines"
        );
        let l = &o.log_output;
        assert!(!l.to_stderr && l.also_to_stderr && l.legacy_threshold && l.one_output);
        assert_eq!(l.file.as_deref(), Some("/tmp/ksm.log"));
        assert_eq!(l.dir.as_deref(), Some("/tmp/logs"));
        assert_eq!(l.max_mb, 10);
        assert_eq!(l.stderr_threshold, crate::log::Level::Error);
        assert_eq!(l.also_threshold, crate::log::Level::Warn);
        // --log_file wins over --log_dir and --one_output, as in klog
        assert_eq!(
            o.no_effect_flags(),
            vec![
                "--add_dir_header",
                "--log_backtrace_at",
                "--log_dir",
                "--one_output",
                "--skip_headers",
                "--skip_log_headers",
                "--vmodule"
            ]
        );
        // with the default --logtostderr the file flags are klog's "no effect" too
        let d = parse(&["--log_file=/x", "-v=2", "--v", "1", "-v3"]).unwrap();
        assert_eq!(d.no_effect_flags(), vec!["--log_file"]);
        assert_eq!(d.verbosity, 3);
        assert_eq!(d.log_level, crate::log::Level::Info);
        let explicit = parse(&["--log-level=warn", "-v=9"]).unwrap();
        assert_eq!(explicit.log_level, crate::log::Level::Warn);
        assert!(parse(&[]).unwrap().log_output == crate::log::Output::default());
    }

    #[test]
    fn kube_state_metrics_validation() {
        assert!(parse(&["--object-limit=-1"]).is_err());
        assert!(parse(&["--object-limit=x"]).is_err());
        assert!(parse(&["--auto-gomemlimit-ratio=0"]).is_err());
        assert!(parse(&["--auto-gomemlimit-ratio=1.5"]).is_err());
        assert!(parse(&["--stderrthreshold=LOUD"]).is_err());
        assert!(parse(&["-v=x"]).is_err());
        assert!(parse(&["--logtostderr=maybe"]).is_err());
        assert_eq!(parse(&[]).unwrap().object_limit, 0);
    }

    #[test]
    fn gzip_cache_limit_is_in_mib() {
        assert_eq!(parse(&[]).unwrap().gzip_cache_max_bytes, 64 << 20);
        let o = parse(&["--gzip-cache-max-mb=16"]).unwrap();
        assert_eq!(o.gzip_cache_max_bytes, 16 << 20);
        assert_eq!(
            parse(&["--gzip-cache-max-mb", "0"])
                .unwrap()
                .gzip_cache_max_bytes,
            0
        );
        assert!(parse(&["--gzip-cache-max-mb=-1"]).is_err());
        assert!(parse(&["--gzip-cache-max-mb=64Mi"]).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("x", "5s").unwrap(),
            std::time::Duration::from_secs(5)
        );
        assert_eq!(
            parse_duration("x", "250ms").unwrap(),
            std::time::Duration::from_millis(250)
        );
        assert_eq!(
            parse_duration("x", "1m").unwrap(),
            std::time::Duration::from_secs(60)
        );
        assert!(parse_duration("x", "5").is_err());
        assert!(parse_duration("x", "5d").is_err());
    }

    #[test]
    fn help_lists_every_flag() {
        let h = Options::help_text();
        for f in FLAGS {
            let dash = if f.name.len() == 1 { "-" } else { "--" };
            assert!(h.contains(&format!("{dash}{}", f.name)), "{}", f.name);
        }
    }

    #[test]
    fn help_lists_every_builtin_resource_and_marks_the_opt_in_ones() {
        let h = Options::help_text();
        let words: Vec<&str> = h
            .split_once("\nResources")
            .expect("resources section")
            .1
            .split_whitespace()
            .collect();
        for b in builtin::BUILTIN {
            let want = match b.enabled {
                Enabled::OptIn => format!("{}*", b.name),
                Enabled::ByDefault => b.name.to_string(),
            };
            assert!(words.contains(&want.as_str()), "{want} in\n{h}");
        }
        assert!(words.contains(&"endpoints*") && words.contains(&"pods"));
    }
}

#[cfg(test)]
mod crs_flag_tests {
    use super::*;

    #[test]
    fn custom_resource_state_flags() {
        let o = Options::parse(
            [
                "--custom-resource-state-config=spec: {}",
                "--custom-resource-state-config-file=/etc/crs.yaml",
                "--custom-resource-state-only",
                "--continue-without-custom-resource-state-config-file=true",
                "--custom-resource-state-poll-ms=50",
            ]
            .iter()
            .map(|s| s.to_string()),
        )
        .unwrap();
        assert_eq!(o.custom_resource_state_config.as_deref(), Some("spec: {}"));
        assert_eq!(
            o.custom_resource_state_config_file.as_deref(),
            Some("/etc/crs.yaml")
        );
        assert!(o.custom_resource_state_only);
        assert!(o.continue_without_custom_resource_state_config_file);
        assert_eq!(o.custom_resource_state_poll_ms, 100);
        let d = Options::default();
        assert!(!d.custom_resource_state_only);
        assert_eq!(d.custom_resource_state_config, None);
        assert_eq!(d.custom_resource_state_poll_ms, 3000);
    }
}
