//! Signals arrive as messages: SIGTERM/SIGINT ask for a graceful stop, SIGHUP for a reload.
//! They are blocked in every thread and taken by one `signals` thread with `sigwait`, so no
//! handler ever runs inside arbitrary code.

use crossbeam_channel::{Receiver, Sender};

/// What a signal asks of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Shutdown {
        signal: &'static str,
    },
    Reload,
    /// A kubeconfig file in use changed on disk: reconnect with what it now says.
    KubeconfigChanged,
}

fn signal_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset only write into the set we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGHUP);
        set
    }
}

/// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and so in every thread it
/// spawns afterwards: call this first in `main`) and starts the thread that receives them.
pub fn listen() -> std::io::Result<(Sender<Control>, Receiver<Control>)> {
    let set = signal_set();
    // SAFETY: pthread_sigmask with a valid set and a null old-set pointer.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc));
    }
    let (tx, rx) = crossbeam_channel::unbounded();
    let sender = tx.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let mut sig: libc::c_int = 0;
            // SAFETY: sigwait with a valid set and a valid out pointer.
            let rc = unsafe { libc::sigwait(&set, &mut sig) };
            if rc != 0 {
                continue;
            }
            let msg = match sig {
                libc::SIGHUP => Control::Reload,
                libc::SIGINT => Control::Shutdown { signal: "SIGINT" },
                _ => Control::Shutdown { signal: "SIGTERM" },
            };
            if sender.send(msg).is_err() {
                return;
            }
        })?;
    Ok((tx, rx))
}
