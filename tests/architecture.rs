//! The shape of `src/`, kept: every top-level module belongs to a layer, and a module may
//! import only from layers below it (or, within its layer, the few pairs listed in
//! `SAME_LAYER`); the top-level modules form no cycle. Read from the source itself: each
//! file's `crate::<module>` paths (in `use` lines and inline), comments and string literals
//! left out. See docs/architecture.md for what each layer holds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top to bottom. A new top-level module must be placed here.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "entry",
        &[
            "main",
            "lib",
            "cli",
            "app",
            "rbac",
            "config_file",
            "signals",
            "allocator",
        ],
    ),
    ("server", &["server"]),
    ("metrics, discovery", &["metrics", "discovery"]),
    ("store", &["store"]),
    (
        "leaves",
        &[
            "kube",
            "shard",
            "exposition",
            "telemetry",
            "log",
            "file_stamp",
        ],
    ),
];

/// Imports allowed between two modules of one layer (importer, imported). Everything else
/// in a layer stays independent: metrics and discovery share watches only through the
/// application, and telemetry is a leaf every part writes to.
const SAME_LAYER: &[(&str, &str)] = &[
    ("app", "cli"),
    ("app", "signals"),
    ("app", "allocator"),
    ("cli", "config_file"),
    ("rbac", "cli"),
    ("kube", "shard"),
    ("kube", "log"),
    ("kube", "file_stamp"),
    ("telemetry", "exposition"),
];

/// Macros exported at the crate root, by the module defining them.
const MACROS: &[(&str, &str)] = &[("log_event", "log")];

/// One import that breaks the shape.
#[derive(Debug, PartialEq, Eq)]
struct Violation {
    file: String,
    import: String,
    why: String,
}

/// `src/app/rebuild.rs` → `app`; `src/cli.rs` → `cli`.
fn top_module(rel: &str) -> String {
    let rel = rel.strip_prefix("src/").unwrap_or(rel);
    let first = rel.split('/').next().unwrap_or(rel);
    first.strip_suffix(".rs").unwrap_or(first).to_string()
}

/// The code of a Rust file without comments, string and char literals (their text could
/// mention `crate::` without importing it). Line structure is kept.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == b'\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && starts_token(b, i)
        {
            // raw string r"..." / r#"..."#
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(c as char);
                i += 1;
                continue;
            }
            j += 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while j < b.len() && !b[j..].starts_with(&close) {
                if b[j] == b'\n' {
                    out.push('\n');
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j + close.len();
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                } else if b[i] == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            out.push_str("\"\"");
            i += 1;
        } else if c == b'\'' {
            // a char literal ('x', '\n', '"'); otherwise a lifetime
            if b.get(i + 1) == Some(&b'\\') {
                i += 3; // the quote, the backslash and the escaped character
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            } else if b.get(i + 2) == Some(&b'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push('\'');
                i += 1;
            }
        } else {
            // copy one UTF-8 character
            let ch = src[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Whether the `r` at `i` starts a raw string (`r"`, `r#"`, `br"`) rather than ending a name.
fn starts_token(b: &[u8], i: usize) -> bool {
    match i.checked_sub(1).map(|p| b[p]) {
        None => true,
        Some(b'b') => i < 2 || !is_ident(b[i - 2]),
        Some(c) => !is_ident(c),
    }
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules a file's code names through `crate::` (`crate::a::b`, and each
/// first-level name of `crate::{a::x, b}`), with the path as written for messages.
fn crate_refs(code: &str) -> Vec<(String, String)> {
    let mut refs = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + "crate::".len()..];
        rest = after;
        if matches!(before, Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue; // `kubestate::crate::`-like or `$crate::`
        }
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            let mut names = Vec::new();
            for (i, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        names.push(&group[start..i]);
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(&group[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            for n in names {
                let n = n.trim();
                let top = ident_at(n);
                if !top.is_empty() {
                    refs.push((top.to_string(), format!("crate::{n}")));
                }
            }
        } else {
            let top = ident_at(after);
            let path_end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(after.len());
            if !top.is_empty() {
                refs.push((
                    top.to_string(),
                    format!("crate::{}", after[..path_end].trim_end_matches(':')),
                ));
            }
        }
    }
    refs
}

/// Checks `files` (path relative to the crate root, content): every import against the
/// layers, then the module graph for cycles.
fn check(files: &[(String, String)]) -> Vec<Violation> {
    let layer_of: BTreeMap<&str, usize> = LAYERS
        .iter()
        .enumerate()
        .flat_map(|(i, (_, mods))| mods.iter().map(move |m| (*m, LAYERS.len() - 1 - i)))
        .collect();
    let layer_name = |rank: usize| LAYERS[LAYERS.len() - 1 - rank].0;
    let mut violations = Vec::new();
    let mut graph: BTreeMap<String, BTreeMap<String, (String, String)>> = BTreeMap::new();
    for (file, src) in files {
        let from = top_module(file);
        let Some(&from_rank) = layer_of.get(from.as_str()) else {
            violations.push(Violation {
                file: file.clone(),
                import: String::new(),
                why: format!("top-level module `{from}` is in no layer (add it to LAYERS)"),
            });
            continue;
        };
        for (top, path) in crate_refs(&code_only(src)) {
            let to = MACROS
                .iter()
                .find(|(m, _)| *m == top)
                .map(|(_, module)| module.to_string())
                .unwrap_or(top);
            if to == from {
                continue;
            }
            let Some(&to_rank) = layer_of.get(to.as_str()) else {
                continue; // a crate-root item that is no module
            };
            graph
                .entry(from.clone())
                .or_default()
                .entry(to.clone())
                .or_insert_with(|| (file.clone(), path.clone()));
            let why = if to_rank > from_rank {
                Some(format!(
                    "`{from}` ({}) imports `{to}` from the layer above ({})",
                    layer_name(from_rank),
                    layer_name(to_rank)
                ))
            } else if to_rank == from_rank && !SAME_LAYER.contains(&(from.as_str(), to.as_str())) {
                Some(format!(
                    "`{from}` imports `{to}` of its own layer ({}), not an allowed pair",
                    layer_name(from_rank)
                ))
            } else {
                None
            };
            if let Some(why) = why {
                violations.push(Violation {
                    file: file.clone(),
                    import: path,
                    why,
                });
            }
        }
    }
    for cycle in cycles(&graph) {
        let (file, import) = graph[&cycle[0]][&cycle[1]].clone();
        violations.push(Violation {
            file,
            import,
            why: format!("import cycle: {}", cycle.join(" -> ")),
        });
    }
    violations
}

/// Each cycle of the module graph once, as a path that returns to its start.
fn cycles<V>(graph: &BTreeMap<String, BTreeMap<String, V>>) -> Vec<Vec<String>> {
    fn dfs<V>(
        graph: &BTreeMap<String, BTreeMap<String, V>>,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut c = path[at..].to_vec();
            c.push(node.to_string());
            found.push(c);
            return;
        }
        if done.contains(node) {
            return;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flat_map(|e| e.keys()) {
            dfs(graph, next, path, done, found);
        }
        path.pop();
        done.insert(node.to_string());
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for start in graph.keys() {
        dfs(graph, start, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

fn read_tree(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_tree(&p, root, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let rel = p.strip_prefix(root).expect("under the root");
            let text = std::fs::read_to_string(&p).expect("readable source");
            out.push((rel.display().to_string(), text));
        }
    }
}

#[test]
fn src_keeps_its_layers_and_has_no_import_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    read_tree(&root.join("src"), root, &mut files);
    assert!(files.len() > 50, "read {} files", files.len());
    let violations = check(&files);
    let report: Vec<String> = violations
        .iter()
        .map(|v| format!("{}: {}: {}", v.file, v.import, v.why))
        .collect();
    assert!(report.is_empty(), "\n{}\n", report.join("\n"));
}

#[cfg(test)]
mod checker {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect()
    }

    #[test]
    fn an_upward_import_is_named_with_file_and_path() {
        let v = check(&files(&[
            (
                "src/kube/watch.rs",
                "use crate::server::telemetry::Telemetry;\n",
            ),
            ("src/server/mod.rs", "pub mod telemetry;\n"),
        ]));
        assert_eq!(
            v,
            vec![Violation {
                file: "src/kube/watch.rs".into(),
                import: "crate::server::telemetry::Telemetry".into(),
                why: "`kube` (leaves) imports `server` from the layer above (server)".into(),
            }]
        );
    }

    #[test]
    fn inline_paths_grouped_imports_and_macros_count_comments_and_strings_do_not() {
        let v = check(&files(&[(
            "src/store/mod.rs",
            "// crate::metrics::family is mentioned here\n\
             /* and crate::server here */\n\
             /// [`crate::app::run`] in a doc comment\n\
             const S: &str = \"crate::cli::Options\";\n\
             const R: &str = r#\"crate::cli \"quoted\"\"#;\n\
             const Q: char = '\"';\n\
             fn f<'a>(x: &'a str) { crate::log_event!(x); }\n\
             use crate::{exposition::format, metrics::{family, filter}};\n\
             fn g() -> crate::discovery::Thing { todo!() }\n",
        )]));
        let got: Vec<(&str, &str)> = v
            .iter()
            .map(|v| (v.import.as_str(), v.why.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "crate::metrics::{family, filter}",
                    "`store` (store) imports `metrics` from the layer above (metrics, discovery)"
                ),
                (
                    "crate::discovery::Thing",
                    "`store` (store) imports `discovery` from the layer above (metrics, discovery)"
                ),
            ]
        );
    }

    #[test]
    fn a_cycle_within_a_layer_and_an_unlisted_pair_are_reported() {
        let v = check(&files(&[
            (
                "src/metrics/pod.rs",
                "use crate::discovery::manager::SdObject;\n",
            ),
            (
                "src/discovery/pod.rs",
                "use crate::metrics::common::Meta;\n",
            ),
        ]));
        let whys: Vec<&str> = v.iter().map(|v| v.why.as_str()).collect();
        assert!(
            whys.contains(&"`metrics` imports `discovery` of its own layer (metrics, discovery), not an allowed pair"),
            "{whys:?}"
        );
        assert!(
            whys.contains(&"import cycle: discovery -> metrics -> discovery"),
            "{whys:?}"
        );
    }

    #[test]
    fn an_allowed_same_layer_pair_passes_and_a_module_outside_every_layer_fails() {
        assert_eq!(
            check(&files(&[(
                "src/kube/watch.rs",
                "use crate::shard::Shard;\n"
            )])),
            vec![]
        );
        let v = check(&files(&[("src/newthing.rs", "")]));
        assert_eq!(v.len(), 1);
        assert!(v[0].why.contains("`newthing` is in no layer"), "{v:?}");
    }

    #[test]
    fn downward_imports_pass() {
        assert_eq!(
            check(&files(&[
                (
                    "src/app/mod.rs",
                    "use crate::server::serve; use crate::kube::watch::X;\n"
                ),
                (
                    "src/server/routes.rs",
                    "use crate::metrics::custom::CustomWriters;\n"
                ),
                ("src/metrics/mod.rs", "use crate::store::Store;\n"),
                ("src/store/mod.rs", "use crate::exposition::gzip;\n"),
            ])),
            vec![]
        );
    }
}
