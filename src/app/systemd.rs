//! The sd_notify protocol, without libsystemd: `READY=1` once every resource has synced,
//! `WATCHDOG=1` keep-alives while the watch loops are alive, `STOPPING=1` on shutdown.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

pub struct Notifier {
    socket: UnixDatagram,
    addr: std::os::unix::net::SocketAddr,
}

impl Notifier {
    /// From `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace); `None` when
    /// not started by systemd with `Type=notify`.
    pub fn from_env() -> Option<Notifier> {
        let path = std::env::var_os("NOTIFY_SOCKET")?;
        Self::connect(&path.to_string_lossy()).ok()
    }

    pub fn connect(path: &str) -> std::io::Result<Notifier> {
        let addr = if let Some(name) = path.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?
        } else {
            std::os::unix::net::SocketAddr::from_pathname(path)?
        };
        Ok(Notifier {
            socket: UnixDatagram::unbound()?,
            addr,
        })
    }

    pub fn notify(&self, state: &str) -> std::io::Result<()> {
        self.socket
            .send_to_addr(state.as_bytes(), &self.addr)
            .map(|_| ())
    }
}

/// Half of `$WATCHDOG_USEC` (systemd's advice), when the watchdog is on for this process.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.parse::<u32>().ok()? != std::process::id() {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// `READY=1` once every watch has synced, then `WATCHDOG=1` every half watchdog period for
/// as long as every watch thread is alive (a dead loop lets systemd restart us).
pub fn spawn_notifier(
    n: std::sync::Arc<Notifier>,
    watches: Vec<std::sync::Arc<crate::kube::watch::WatchState>>,
) -> std::io::Result<()> {
    use crate::log::Level;
    use crate::log_event;
    std::thread::Builder::new()
        .name("systemd".into())
        .spawn(move || {
            while !watches.iter().all(|w| w.is_synced()) {
                std::thread::sleep(Duration::from_millis(100));
            }
            if let Err(e) = n.notify("READY=1") {
                log_event!(Level::Warn, "sd_notify failed", err = e);
            }
            let Some(every) = watchdog_interval() else {
                return;
            };
            loop {
                if watches.iter().all(|w| w.is_alive()) {
                    let _ = n.notify("WATCHDOG=1");
                } else {
                    log_event!(
                        Level::Error,
                        "a watch loop has died; withholding watchdog keep-alives"
                    );
                }
                std::thread::sleep(every);
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_datagrams_to_a_path_socket() {
        let dir = std::env::temp_dir().join(format!("kubestate-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::connect(path.to_str().unwrap()).unwrap();
        n.notify("READY=1").unwrap();
        let mut buf = [0u8; 64];
        let len = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"READY=1");
    }

    #[test]
    fn abstract_sockets_work() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("kubestate-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx = UnixDatagram::bind_addr(&addr).unwrap();
        Notifier::connect(&format!("@{name}"))
            .unwrap()
            .notify("WATCHDOG=1")
            .unwrap();
        let mut buf = [0u8; 64];
        let len = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"WATCHDOG=1");
    }
}
