//! Which families and which Kubernetes label/annotation keys are exposed, parsed exactly as
//! kube-state-metrics parses `--metric-allowlist`/`--metric-denylist`/`--metric-opt-in-list`
//! and `--metric-labels-allowlist`/`--metric-annotations-allowlist`.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// A flag value that could not be parsed; `Display` names the flag and the culprit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    BadRegex {
        flag: &'static str,
        pattern: String,
        reason: String,
    },
    AllowAndDeny,
    BadAllowlist {
        flag: &'static str,
        value: String,
        reason: String,
    },
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterError::BadRegex {
                flag,
                pattern,
                reason,
            } => {
                write!(
                    f,
                    "--{flag}: invalid regular expression {pattern:?}: {reason}"
                )
            }
            FilterError::AllowAndDeny => write!(
                f,
                "--metric-allowlist and --metric-denylist are mutually exclusive; set only one"
            ),
            FilterError::BadAllowlist {
                flag,
                value,
                reason,
            } => {
                write!(f, "--{flag}: cannot parse {value:?}: {reason}")
            }
        }
    }
}

impl std::error::Error for FilterError {}

/// Family-name filter: allow- or denylist AND the opt-in list for families declared opt-in.
/// Each pattern is compiled as given, unanchored, and a name matches if any pattern finds a
/// match in it, as kube-state-metrics v2.20 does. Its allow/deny lists are ECMAScript
/// regexes (regexp2 in ECMAScript mode: lookarounds work, so `^kube_pod_(?!info$).+`
/// denies every pod family but `kube_pod_info`), compiled here with `regress`; its opt-in
/// list is Go's RE2 `regexp`, for which `regex-lite` accepts the same syntax.
#[derive(Debug, Default, Clone)]
pub struct MetricFilter {
    allow: Vec<regress::Regex>,
    deny: Vec<regress::Regex>,
    opt_in: Vec<regex_lite::Regex>,
}

/// regexp2 parses .NET group syntax even in ECMAScript mode, so KSM takes a leading inline
/// flag group such as `(?i)`, which ECMAScript has only as a modifier group: `(?i)x` is
/// rewritten to the equivalent `(?i:x)` (non-capturing, so group numbers stay the same).
fn ecma_source(p: &str) -> std::borrow::Cow<'_, str> {
    if let Some(rest) = p.strip_prefix("(?") {
        if let Some((flags, body)) = rest.split_once(')') {
            if !flags.is_empty() && flags.chars().all(|c| matches!(c, 'i' | 'm' | 's')) {
                return format!("(?{flags}:{body})").into();
            }
        }
    }
    p.into()
}

fn compile_ecma(flag: &'static str, list: &[String]) -> Result<Vec<regress::Regex>, FilterError> {
    list.iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            regress::Regex::new(&ecma_source(p)).map_err(|e| FilterError::BadRegex {
                flag,
                pattern: p.clone(),
                reason: e.to_string(),
            })
        })
        .collect()
}

fn compile_re2(flag: &'static str, list: &[String]) -> Result<Vec<regex_lite::Regex>, FilterError> {
    list.iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            regex_lite::Regex::new(p).map_err(|e| FilterError::BadRegex {
                flag,
                pattern: p.clone(),
                reason: e.to_string(),
            })
        })
        .collect()
}

impl MetricFilter {
    pub fn new(allow: &[String], deny: &[String], opt_in: &[String]) -> Result<Self, FilterError> {
        let allow = compile_ecma("metric-allowlist", allow)?;
        let deny = compile_ecma("metric-denylist", deny)?;
        if !allow.is_empty() && !deny.is_empty() {
            return Err(FilterError::AllowAndDeny);
        }
        Ok(MetricFilter {
            allow,
            deny,
            opt_in: compile_re2("metric-opt-in-list", opt_in)?,
        })
    }

    /// Whether a family is exposed.
    pub fn includes(&self, name: &str, opt_in: bool) -> bool {
        if opt_in && !self.opt_in.iter().any(|r| r.is_match(name)) {
            return false;
        }
        if !self.allow.is_empty() {
            return self.allow.iter().any(|r| r.find(name).is_some());
        }
        !self.deny.iter().any(|r| r.find(name).is_some())
    }
}

/// Which Kubernetes label (or annotation) keys of one resource become `label_*` labels.
#[derive(Debug, Clone, Default)]
pub struct KeyFilter {
    /// `false`: the resource is not in the allowlist, its `*_labels` family has no samples.
    pub listed: bool,
    all: bool,
    exact: HashSet<String>,
    /// Keys with one `*`: (prefix, suffix).
    partial: Vec<(String, String)>,
}

impl KeyFilter {
    /// Every key (`[*]`).
    pub fn all() -> Self {
        KeyFilter {
            listed: true,
            all: true,
            ..Default::default()
        }
    }

    fn from_keys(keys: &[String]) -> Self {
        // `res=[]` lists no key: like kube-state-metrics, the family then has no samples.
        let mut f = KeyFilter {
            listed: !keys.is_empty(),
            ..Default::default()
        };
        if keys.first().map(|k| k == "*").unwrap_or(false) {
            f.all = true;
            return f;
        }
        for k in keys {
            if k == "*" {
                // Only a leading lone '*' means "all keys"; KSM ignores it elsewhere.
                continue;
            }
            match k.split_once('*') {
                Some((pre, suf)) => f.partial.push((pre.to_string(), suf.to_string())),
                None => {
                    f.exact.insert(k.clone());
                }
            }
        }
        f
    }

    pub fn allows(&self, key: &str) -> bool {
        if self.all || self.exact.contains(key) {
            return true;
        }
        self.partial.iter().any(|(p, s)| {
            key.len() >= p.len() + s.len()
                && key.starts_with(p.as_str())
                && key.ends_with(s.as_str())
        })
    }
}

/// A parsed `--metric-labels-allowlist` value: resource → keys; `*` as resource applies to
/// every enabled resource and replaces all other entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    pub entries: BTreeMap<String, Vec<String>>,
}

impl Allowlist {
    /// Parses `res=[k1,k2],res2=[*]` with KSM's rules: `=` must be followed by `[`, no empty
    /// entries or stray commas, at most one `*` inside a key; `known` decides valid resource
    /// names (`*` is always valid).
    pub fn parse(
        flag: &'static str,
        value: &str,
        known: &dyn Fn(&str) -> bool,
    ) -> Result<Self, FilterError> {
        let err = |reason: &str| FilterError::BadAllowlist {
            flag,
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let mut entries = BTreeMap::new();
        let s = value.trim();
        if s.is_empty() {
            return Ok(Allowlist { entries });
        }
        let mut rest = s;
        loop {
            let eq = rest
                .find('=')
                .ok_or_else(|| err("expected resource=[keys]"))?;
            let res = rest[..eq].trim();
            if res.is_empty() {
                return Err(err("empty resource name"));
            }
            if res != "*" && !known(res) {
                return Err(err(&format!("unknown resource {res:?}")));
            }
            let after = &rest[eq + 1..];
            if !after.starts_with('[') {
                return Err(err("'=' must be followed by '['"));
            }
            let close = after.find(']').ok_or_else(|| err("missing ']'"))?;
            let inner = &after[1..close];
            let mut keys = Vec::new();
            if !inner.trim().is_empty() {
                for k in inner.split(',') {
                    let k = k.trim();
                    if k.is_empty() {
                        return Err(err("empty key"));
                    }
                    if k.matches('*').count() > 1 {
                        return Err(err(&format!("key {k:?} has more than one '*'")));
                    }
                    keys.push(k.to_string());
                }
            }
            entries.insert(res.to_string(), keys);
            rest = &after[close + 1..];
            if rest.is_empty() {
                break;
            }
            rest = rest
                .strip_prefix(',')
                .ok_or_else(|| err("expected ',' between entries"))?;
            if rest.is_empty() {
                return Err(err("trailing ','"));
            }
        }
        Ok(Allowlist { entries })
    }

    /// The key filter for one resource.
    pub fn for_resource(&self, resource: &str) -> KeyFilter {
        if let Some(keys) = self.entries.get("*") {
            return KeyFilter::from_keys(keys);
        }
        match self.entries.get(resource) {
            Some(keys) => KeyFilter::from_keys(keys),
            None => KeyFilter::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(r: &str) -> bool {
        matches!(r, "pods" | "nodes" | "namespaces" | "deployments")
    }

    #[test]
    fn allowlist_parses_ksm_syntax() {
        let a = Allowlist::parse("x", "pods=[app,team],nodes=[*]", &known).unwrap();
        assert!(a.for_resource("pods").allows("app"));
        assert!(!a.for_resource("pods").allows("other"));
        assert!(a.for_resource("nodes").allows("anything"));
        assert!(!a.for_resource("deployments").listed);
        let empty = Allowlist::parse("x", "pods=[]", &known).unwrap();
        assert!(!empty.for_resource("pods").listed);
        let w = Allowlist::parse("x", "*=[monitoring.example.org/*]", &known).unwrap();
        let f = w.for_resource("deployments");
        assert!(f.allows("monitoring.example.org/team"));
        assert!(!f.allows("other.org/team"));
    }

    #[test]
    fn allowlist_rejects_bad_forms() {
        for bad in [
            "pods",
            "pods=app",
            "pods=[a,,b]",
            "pods=[a],",
            "foo=[a]",
            "pods=[a*b*]",
            "pods=[a]nodes=[b]",
        ] {
            assert!(Allowlist::parse("x", bad, &known).is_err(), "{bad}");
        }
    }

    #[test]
    fn star_first_means_all_later_star_ignored() {
        let a = Allowlist::parse("x", "pods=[*,app]", &known).unwrap();
        assert!(a.for_resource("pods").allows("zzz"));
        let b = Allowlist::parse("x", "pods=[app,*]", &known).unwrap();
        assert!(b.for_resource("pods").allows("app"));
        assert!(!b.for_resource("pods").allows("zzz"));
    }

    #[test]
    fn metric_filter_is_unanchored_and_exclusive() {
        let f =
            MetricFilter::new(&[], &["kube_pod_container_status_terminated".into()], &[]).unwrap();
        assert!(!f.includes("kube_pod_container_status_terminated_reason", false));
        assert!(f.includes("kube_pod_info", false));
        assert!(!f.includes("kube_pod_nodeselectors", true));
        let o = MetricFilter::new(&[], &[], &["kube_pod_nodeselectors".into()]).unwrap();
        assert!(o.includes("kube_pod_nodeselectors", true));
        assert_eq!(
            MetricFilter::new(&["a".into()], &["b".into()], &[]).unwrap_err(),
            FilterError::AllowAndDeny
        );
        assert!(MetricFilter::new(&["(".into()], &[], &[]).is_err());
    }

    /// What regexp2 in ECMAScript mode (KSM's allow/deny lists) and RE2 (its opt-in list)
    /// accept and match, pattern by pattern.
    #[test]
    fn ecmascript_allow_deny_re2_opt_in() {
        let deny = |p: &str| MetricFilter::new(&[], &[p.to_string()], &[]).unwrap();
        let allow = |p: &str| MetricFilter::new(&[p.to_string()], &[], &[]).unwrap();
        // negative lookahead: every pod family but kube_pod_info
        let f = deny("^kube_pod_(?!info$).+");
        assert!(f.includes("kube_pod_info", false));
        assert!(!f.includes("kube_pod_labels", false));
        assert!(!f.includes("kube_pod_container_info", false));
        assert!(f.includes("kube_node_info", false));
        // positive lookahead and lookbehind
        let f = allow("^kube_(?=deployment).*_replicas$");
        assert!(f.includes("kube_deployment_spec_replicas", false));
        assert!(!f.includes("kube_statefulset_replicas", false));
        let f = allow("(?<!status_)replicas$");
        assert!(f.includes("kube_deployment_spec_replicas", false));
        assert!(!f.includes("kube_deployment_status_replicas", false));
        // unanchored, as regexp2's MatchString: a substring match counts
        assert!(!deny("pod_info").includes("kube_pod_info", false));
        assert!(allow("kube_pod").includes("kube_pod_info", false));
        // ECMAScript \d and \w are ASCII, backreferences work
        assert!(allow("^kube_(\\w+)_\\1$").includes("kube_pod_pod", false));
        assert!(!allow("^kube_(\\w+)_\\1$").includes("kube_pod_node", false));
        // a leading .NET inline flag group, which regexp2 accepts
        assert!(allow("(?i)KUBE_POD_INFO").includes("kube_pod_info", false));
        assert!(!allow("(?i)KUBE_POD_INFO").includes("kube_node_info", false));
        assert!(allow("(?i)^(kube)_POD_\\1$").includes("kube_pod_kube", false));
        assert!(allow("(?i:KUBE)_pod_info").includes("kube_pod_info", false));
        // invalid in ECMAScript: one clear error naming flag and pattern
        let e = MetricFilter::new(&["kube_(?<!".into()], &[], &[]).unwrap_err();
        assert!(e.to_string().contains("--metric-allowlist"), "{e}");
        assert!(MetricFilter::new(&[], &["a{2,1}".into()], &[]).is_err());
        // the opt-in list is Go's RE2: inline flags yes, lookarounds no
        let o = MetricFilter::new(&[], &[], &["(?i)KUBE_POD_NODESELECTORS".into()]).unwrap();
        assert!(o.includes("kube_pod_nodeselectors", true));
        assert!(MetricFilter::new(&[], &[], &["kube_(?!x)".into()]).is_err());
    }
}
