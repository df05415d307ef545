//! The dependency budget a security review holds us to: the number of distinct crates compiled
//! into the Linux binary stays within what the README states, and every one of them is under
//! a permissive license.

use std::collections::BTreeSet;
use std::process::Command;

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// The budget as the README states it: "Dependency budget: **N** crates".
fn readme_budget() -> usize {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let line = readme
        .lines()
        .find(|l| l.contains("Dependency budget:"))
        .expect("README states the dependency budget");
    line.split("**")
        .nth(1)
        .and_then(|n| n.trim().parse().ok())
        .expect("budget written as **N**")
}

#[test]
fn crate_count_stays_within_the_readme_budget() {
    let out = cargo()
        .args([
            "tree",
            "--locked",
            "-e",
            "normal",
            "--target",
            "x86_64-unknown-linux-gnu",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "kubestate")
        .map(str::to_string)
        .collect();
    let budget = readme_budget();
    assert!(budget <= 75, "the budget may never exceed 75");
    assert!(
        names.len() <= budget,
        "{} crates compiled, budget {budget}: {names:?}",
        names.len()
    );
}

/// Every license expression must be satisfiable with permissive licenses only.
#[test]
fn every_dependency_has_a_permissive_license() {
    let permissive = [
        "MIT",
        "Apache-2.0",
        "Apache-2.0 WITH LLVM-exception",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "ISC",
        "Zlib",
        "0BSD",
        "CC0-1.0",
        "Unicode-3.0",
        "Unicode-DFS-2016",
        "Unlicense",
        "BSL-1.0",
        "MIT-0",
    ];
    let out = cargo()
        .args([
            "metadata",
            "--locked",
            "--format-version",
            "1",
            "--filter-platform",
            "x86_64-unknown-linux-gnu",
        ])
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata json");
    let mut bad = Vec::new();
    for p in meta["packages"].as_array().expect("packages") {
        let name = p["name"].as_str().unwrap_or("?");
        let license = p["license"].as_str().unwrap_or("");
        // "A OR B" needs one permissive side; "A AND B" needs both; "/" is the old OR
        let ok = !license.is_empty()
            && license.replace('/', " OR ").split(" OR ").any(|alt| {
                alt.trim_matches(|c| c == '(' || c == ')' || c == ' ')
                    .split(" AND ")
                    .all(|l| {
                        permissive.contains(&l.trim_matches(|c| c == '(' || c == ')' || c == ' '))
                    })
            });
        if !ok {
            bad.push(format!("{name}: {license:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "non-permissive or missing licenses: {bad:?}"
    );
}
