//! "Has this file changed since I last looked?", for everything reloaded when its file
//! changes: token files, kubeconfig client certificates, the endpoint TLS certificate and
//! client CA, the custom resource state config.
//!
//! A stamp is cheap (one `stat`) so callers can poll; reading and parsing happen only when
//! it differs. It covers the modification time and size (an in-place rewrite) and the
//! device and inode (a file replaced by rename, as the kubelet and cert-manager do through
//! a `..data` symlink swap, even when time and size happen to match). A file that cannot be
//! stat'ed has no stamp, so "missing" is a state of its own and its return is a change.
//!
//! A leaf: imports nothing from the crate, so any layer may use it.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What identifies one version of a file's contents without reading them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// None where the platform or filesystem keeps no modification time.
    modified: Option<SystemTime>,
    len: u64,
    /// Device and inode (zero where the platform has none).
    identity: (u64, u64),
}

impl FileStamp {
    /// The stamp of `path` now (symlinks followed), or None if it cannot be stat'ed.
    pub fn of(path: &Path) -> Option<FileStamp> {
        let md = std::fs::metadata(path).ok()?;
        Some(FileStamp {
            modified: md.modified().ok(),
            len: md.len(),
            identity: identity(&md),
        })
    }

    /// The stamps of several files a value is built from (certificate and key), in order.
    pub fn of_all(paths: &[PathBuf]) -> Vec<Option<FileStamp>> {
        paths.iter().map(|p| FileStamp::of(p)).collect()
    }

    /// Whether the platform recorded a modification time: without one, an in-place
    /// rewrite of the same size is invisible and a caller must compare contents.
    pub fn has_mtime(&self) -> bool {
        self.modified.is_some()
    }
}

#[cfg(unix)]
fn identity(md: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (md.dev(), md.ino())
}

#[cfg(not(unix))]
fn identity(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("kubestate-stamp-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn set_mtime(path: &Path, t: SystemTime) {
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(t).unwrap();
    }

    #[test]
    fn missing_file_has_no_stamp_and_its_creation_is_a_change() {
        let dir = scratch("missing");
        let path = dir.join("f");
        assert_eq!(FileStamp::of(&path), None);
        std::fs::write(&path, "x").unwrap();
        let created = FileStamp::of(&path);
        assert!(created.is_some_and(|s| s.has_mtime()));
        std::fs::remove_file(&path).unwrap();
        assert_ne!(FileStamp::of(&path), created);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unchanged_file_keeps_its_stamp() {
        let dir = scratch("same");
        let path = dir.join("f");
        std::fs::write(&path, "token").unwrap();
        let a = FileStamp::of(&path);
        let _ = std::fs::read(&path).unwrap();
        assert_eq!(FileStamp::of(&path), a);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rewrite_with_new_size_or_new_mtime_is_a_change() {
        let dir = scratch("rewrite");
        let path = dir.join("f");
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        std::fs::write(&path, "aaaa").unwrap();
        set_mtime(&path, t0);
        let first = FileStamp::of(&path).unwrap();

        // Same size, same mtime: indistinguishable without reading (callers that must
        // see such a rewrite compare contents).
        std::fs::write(&path, "bbbb").unwrap();
        set_mtime(&path, t0);
        assert_eq!(FileStamp::of(&path), Some(first));

        std::fs::write(&path, "bbbbb").unwrap();
        set_mtime(&path, t0);
        assert_ne!(FileStamp::of(&path), Some(first), "size changed");

        std::fs::write(&path, "aaaa").unwrap();
        set_mtime(&path, t0 + Duration::from_secs(1));
        assert_ne!(FileStamp::of(&path), Some(first), "mtime changed");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn replacement_by_rename_is_a_change_even_with_equal_time_and_size() {
        let dir = scratch("rename");
        let path = dir.join("f");
        let next = dir.join("f.new");
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        std::fs::write(&path, "aaaa").unwrap();
        set_mtime(&path, t0);
        let first = FileStamp::of(&path);
        std::fs::write(&next, "bbbb").unwrap();
        set_mtime(&next, t0);
        std::fs::rename(&next, &path).unwrap();
        assert_ne!(FileStamp::of(&path), first);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn of_all_keeps_order_and_missing_entries() {
        let dir = scratch("all");
        let a = dir.join("a");
        std::fs::write(&a, "1").unwrap();
        let stamps = FileStamp::of_all(&[a.clone(), dir.join("absent")]);
        assert_eq!(stamps, vec![FileStamp::of(&a), None]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
