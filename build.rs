//! Stamps the git revision into the binary (`kube_state_metrics_build_info{revision}` and
//! `--version`) when built from a checkout, so a running instance can be traced to its
//! source. Anything else (a tarball, no git installed) builds as `unknown`.
//! `KUBESTATE_REVISION` set in the environment wins, for builds from an exported tree.

use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=KUBESTATE_REVISION");
    if std::env::var_os("KUBESTATE_REVISION").is_some() {
        return;
    }
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dir = Path::new(&dir);
    // Only this checkout's own .git (a directory, or a file in a worktree): a crate built
    // inside some other repository must not take that repository's revision.
    let revision = if dir.join(".git").exists() {
        git(dir, &["rev-parse", "--short", "HEAD"])
    } else {
        None
    };
    if revision.is_some() {
        // HEAD moves on checkout; the branch it points to moves on commit (loose or packed).
        let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
        if let Some(r) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
            watched.push(r);
        }
        for w in watched {
            if let Some(p) = git(
                dir,
                &["rev-parse", "--path-format=absolute", "--git-path", &w],
            ) {
                if Path::new(&p).exists() {
                    println!("cargo:rerun-if-changed={p}");
                }
            }
        }
    }
    println!(
        "cargo:rustc-env=KUBESTATE_REVISION={}",
        revision.as_deref().unwrap_or("unknown")
    );
}
