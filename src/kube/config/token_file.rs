//! Bearer tokens kept in files (the service-account token, a kubeconfig `tokenFile`), which
//! rotate underneath a running process.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::error::LoadError;
use crate::file_stamp::FileStamp;

/// How often a token file is checked for changes at most: a stat per request would be
/// wasteful with dozens of watch threads, and the kubelet rotates tokens long before expiry.
const TOKEN_RECHECK_INTERVAL: Duration = Duration::from_secs(1);

/// A bearer token kept in a file.
///
/// The kubelet rewrites projected service-account tokens well before they expire, so the
/// file is re-read whenever its [`FileStamp`] changes, checked at most once a second
/// (`TOKEN_RECHECK_INTERVAL`). Shared by all watch threads, hence the mutex.
pub struct TokenFile {
    path: PathBuf,
    recheck: Duration,
    state: Mutex<TokenState>,
}

struct TokenState {
    token: String,
    /// The file as it was when `token` was read.
    stamp: Option<FileStamp>,
    checked_at: Instant,
}

impl TokenFile {
    /// Reads the token now, so that a missing or empty file is a startup error.
    pub fn new(path: PathBuf) -> Result<TokenFile, LoadError> {
        Self::with_recheck(path, TOKEN_RECHECK_INTERVAL)
    }

    pub(super) fn with_recheck(path: PathBuf, recheck: Duration) -> Result<TokenFile, LoadError> {
        let state = read_token_file(&path)?;
        Ok(TokenFile {
            path,
            recheck,
            state: Mutex::new(state),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the next [`TokenFile::token`] look at the file again, as if the recheck
    /// interval had passed.
    #[cfg(test)]
    pub(super) fn expire_recheck(&self) {
        self.state.lock().checked_at = Instant::now()
            .checked_sub(self.recheck + Duration::from_secs(1))
            .expect("the monotonic clock is far past its origin");
    }

    /// The current token. If the file changed but cannot be read (or is empty) right now,
    /// the previous token is returned, like client-go does: a rotation in progress must not
    /// fail requests, and the old token normally stays valid for a while.
    pub fn token(&self) -> String {
        let mut state = self.state.lock();
        if state.checked_at.elapsed() < self.recheck {
            return state.token.clone();
        }
        state.checked_at = Instant::now();
        // A file that cannot be stat'ed right now (mid-rotation) is not a change.
        let now = FileStamp::of(&self.path);
        if now.is_some() && now != state.stamp {
            if let Ok(fresh) = read_token_file(&self.path) {
                *state = fresh;
            }
        }
        state.token.clone()
    }
}

fn read_token_file(path: &Path) -> Result<TokenState, LoadError> {
    let io_err = |source| LoadError::Io {
        what: "token file",
        path: path.to_path_buf(),
        source,
    };
    // Stamp first: if the file is replaced between the two calls we re-read next time.
    let stamp = FileStamp::of(path);
    let raw = std::fs::read_to_string(path).map_err(io_err)?;
    let token = raw.trim().to_string();
    if token.is_empty() {
        return Err(LoadError::EmptyToken {
            path: path.to_path_buf(),
        });
    }
    Ok(TokenState {
        token,
        stamp,
        checked_at: Instant::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::config::tests::TempDir;

    #[test]
    fn token_file_keeps_old_token_while_file_is_unreadable() {
        let dir = TempDir::new("tok");
        let path = dir.write("token", "old");
        let tf = TokenFile::with_recheck(path.clone(), Duration::ZERO).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(tf.token(), "old");
        dir.write("token", "");
        assert_eq!(tf.token(), "old");
        dir.write("token", "new!");
        assert_eq!(tf.token(), "new!");
    }
}
