//! `--config FILE`: the same options as the flags, in YAML. Keys are flag names (`resources`,
//! `metric-labels-allowlist`, ...); kube-state-metrics' own config keys (`labels_allow_list`,
//! `use_api_server_cache`, set-valued maps like `resources: {pods: {}}`) are accepted too,
//! so an existing KSM config file keeps working. Flags given on the command line win.

use serde_yaml_ng::Value;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub enum ConfigFileError {
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    Yaml {
        path: PathBuf,
        message: String,
    },
    NotAMapping {
        path: PathBuf,
    },
    BadValue {
        path: PathBuf,
        key: String,
        reason: String,
    },
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigFileError::Read { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            ConfigFileError::Yaml { path, message } => write!(f, "{}: {message}", path.display()),
            ConfigFileError::NotAMapping { path } => {
                write!(
                    f,
                    "{}: expected a mapping of option names to values",
                    path.display()
                )
            }
            ConfigFileError::BadValue { path, key, reason } => {
                write!(f, "{}: key {key:?}: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for ConfigFileError {}

/// kube-state-metrics' YAML keys that are not simply the flag name with `_` for `-`.
fn flag_name(key: &str) -> String {
    match key {
        "labels_allow_list" => "metric-labels-allowlist".into(),
        "annotations_allow_list" => "metric-annotations-allowlist".into(),
        "use_api_server_cache" => "use-apiserver-cache".into(),
        "namespace" => "pod-namespace".into(),
        "custom_resource_config" => "custom-resource-state-config".into(),
        "custom_resource_config_file" => "custom-resource-state-config-file".into(),
        "custom_resources_only" => "custom-resource-state-only".into(),
        other => other.replace('_', "-"),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// Turns one value into the flag's textual form: lists join with commas; a map of lists is
/// an allowlist (`pods: [app]` → `pods=[app]`); a map of empties is a set (`{pods: {}}`).
fn flag_value(path: &Path, key: &str, v: &Value) -> Result<String, ConfigFileError> {
    let bad = |reason: &str| ConfigFileError::BadValue {
        path: path.to_path_buf(),
        key: key.to_string(),
        reason: reason.to_string(),
    };
    if let Some(s) = scalar(v) {
        return Ok(s);
    }
    match v {
        Value::Sequence(items) => {
            let parts: Option<Vec<String>> = items.iter().map(scalar).collect();
            Ok(parts
                .ok_or_else(|| bad("a list may only hold plain values"))?
                .join(","))
        }
        Value::Mapping(m) => {
            let mut parts = Vec::new();
            for (k, val) in m {
                let k = scalar(k).ok_or_else(|| bad("map keys must be plain values"))?;
                match val {
                    Value::Sequence(items) => {
                        let keys: Option<Vec<String>> = items.iter().map(scalar).collect();
                        let keys =
                            keys.ok_or_else(|| bad("allowlist entries must be plain values"))?;
                        parts.push(format!("{k}=[{}]", keys.join(",")));
                    }
                    Value::Mapping(inner) if inner.is_empty() => parts.push(k),
                    Value::Null => parts.push(k),
                    _ => return Err(bad("expected a list per key or an empty map")),
                }
            }
            Ok(parts.join(","))
        }
        _ => Err(bad("unsupported value")),
    }
}

/// Reads `path` into `--flag=value` arguments.
pub fn args_from_file(path: &Path) -> Result<Vec<String>, ConfigFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    args_from_yaml(&text, path)
}

pub fn args_from_yaml(text: &str, path: &Path) -> Result<Vec<String>, ConfigFileError> {
    let doc: Value = serde_yaml_ng::from_str(text).map_err(|e| ConfigFileError::Yaml {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let map = match doc {
        Value::Mapping(m) => m,
        Value::Null => return Ok(Vec::new()),
        _ => {
            return Err(ConfigFileError::NotAMapping {
                path: path.to_path_buf(),
            })
        }
    };
    let mut args = Vec::new();
    for (k, v) in &map {
        let key = scalar(k).ok_or_else(|| ConfigFileError::NotAMapping {
            path: path.to_path_buf(),
        })?;
        let name = flag_name(&key);
        // kube-state-metrics reads `config` and `help` into its options struct and acts on
        // neither from the file
        if name == "config" || name == "help" {
            continue;
        }
        let value = match v {
            // a bare number is nanoseconds to Go's YAML decoding of a time.Duration
            Value::Number(n) if name.starts_with("server-") && name.ends_with("-timeout") => {
                format!("{}ms", n.as_f64().unwrap_or(0.0) / 1e6)
            }
            _ => flag_value(path, &key, v)?,
        };
        args.push(format!("--{name}={value}"));
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(y: &str) -> Result<Vec<String>, ConfigFileError> {
        args_from_yaml(y, Path::new("test.yaml"))
    }

    #[test]
    fn flag_names_and_ksm_keys() {
        let a = args(
            "resources: [pods, nodes]\nport: 9090\nenable-gzip-encoding: true\nlabels_allow_list: {pods: [app, team], nodes: ['*']}\nuse_api_server_cache: true\nnamespaces_denylist: kube-system\n",
        )
        .unwrap();
        assert_eq!(
            a,
            vec![
                "--resources=pods,nodes",
                "--port=9090",
                "--enable-gzip-encoding=true",
                "--metric-labels-allowlist=pods=[app,team],nodes=[*]",
                "--use-apiserver-cache=true",
                "--namespaces-denylist=kube-system",
            ]
        );
        assert_eq!(
            args("resources: {pods: {}, nodes: {}}\n").unwrap(),
            vec!["--resources=pods,nodes"]
        );
    }

    /// Every key kube-state-metrics v2.20's options struct reads from its config file
    /// (`pkg/options/options.go` yaml tags) is an option here too.
    #[test]
    fn errors_name_file_and_key() {
        let e = args("port: [1, [2]]\n").unwrap_err().to_string();
        assert!(e.contains("test.yaml") && e.contains("port"), "{e}");
        let e = args("- a\n- b\n").unwrap_err().to_string();
        assert!(e.contains("mapping"), "{e}");
        let e = args("port: 1\n  bad: indent\n").unwrap_err().to_string();
        assert!(e.contains("test.yaml") && e.contains("line"), "{e}");
    }
}
