//! Runs the real kubestate binary for end-to-end tests: free ports, stderr captured to a
//! file, scrapes over plain HTTP, killed on drop.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Kubestate {
    child: Child,
    pub port: u16,
    pub telemetry_port: u16,
    pub log: PathBuf,
}

/// The kubestate binary Cargo built for the tests (`option_env!` rather than `env!` because
/// examples that share this support code are built without the variable).
pub fn binary() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_kubestate") {
        Some(p) => PathBuf::from(p),
        None => {
            let exe = std::env::current_exe().expect("current exe");
            let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
            dir.join("kubestate")
        }
    }
}

/// A port that was free a moment ago (bind :0, read it, release it).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// Status, headers and body of a response.
pub type Reply = (u16, Vec<(String, String)>, Vec<u8>);

fn http_get(port: u16, path: &str, headers: &[(&str, &str)]) -> Option<Reply> {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent();
    let mut req = agent.get(&format!("http://127.0.0.1:{port}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.call().ok()?;
    let status = resp.status().as_u16();
    let hs = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let mut body = Vec::new();
    resp.into_body()
        .into_with_config()
        .limit(1 << 30)
        .reader()
        .read_to_end(&mut body)
        .ok()?;
    Some((status, hs, body))
}

impl Kubestate {
    /// Starts kubestate against `kubeconfig` with extra `args`.
    pub fn start(kubeconfig: &Path, args: &[&str]) -> Kubestate {
        Self::start_with_env(kubeconfig, args, &[])
    }

    /// Like [`Kubestate::start`] with extra environment variables.
    pub fn start_with_env(kubeconfig: &Path, args: &[&str], env: &[(&str, &str)]) -> Kubestate {
        Self::start_with_probe(kubeconfig, args, env, &|port| {
            http_get(port, "/healthz", &[]).is_some()
        })
    }

    /// Like [`Kubestate::start_with_env`], taking it as started once `up(port)` holds (for
    /// HTTPS, where the plain-HTTP health probe cannot work).
    pub fn start_with_probe(
        kubeconfig: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        up: &dyn Fn(u16) -> bool,
    ) -> Kubestate {
        let port = free_port();
        let telemetry_port = free_port();
        let log = std::env::temp_dir().join(format!("kubestate-e2e-{port}.log"));
        let stderr = std::fs::File::create(&log).expect("create log file");
        let child = Command::new(binary())
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .arg("--host=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg("--telemetry-host=127.0.0.1")
            .arg(format!("--telemetry-port={telemetry_port}"))
            .args(args)
            .envs(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn kubestate");
        let k = Kubestate {
            child,
            port,
            telemetry_port,
            log,
        };
        k.wait_for(Duration::from_secs(10), || up(port))
            .unwrap_or_else(|| panic!("kubestate did not start; log:\n{}", k.logs()));
        k
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `cond` every 20 ms until it holds or `timeout` passes.
    pub fn wait_for(&self, timeout: Duration, mut cond: impl FnMut() -> bool) -> Option<()> {
        let end = Instant::now() + timeout;
        loop {
            if cond() {
                return Some(());
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        http_get(self.port, path, headers)
            .unwrap_or_else(|| panic!("GET {path} failed; log:\n{}", self.logs()))
    }

    pub fn telemetry(&self) -> String {
        let (_, _, b) = http_get(self.telemetry_port, "/metrics", &[]).expect("telemetry scrape");
        String::from_utf8(b).expect("utf8")
    }

    /// GET the telemetry port's `/metrics` with `Authorization: auth`.
    pub fn get_telemetry(&self, auth: &str) -> Reply {
        http_get(self.telemetry_port, "/metrics", &[("Authorization", auth)])
            .unwrap_or_else(|| panic!("telemetry scrape failed; log:\n{}", self.logs()))
    }

    pub fn scrape(&self) -> String {
        String::from_utf8(self.get("/metrics", &[]).2).expect("utf8 exposition")
    }

    pub fn wait_ready(&self) {
        self.wait_for(Duration::from_secs(20), || {
            self.get("/readyz", &[]).0 == 200
        })
        .unwrap_or_else(|| panic!("kubestate never became ready; log:\n{}", self.logs()));
    }

    /// Waits until a scrape satisfies `cond`; panics with the last scrape otherwise.
    pub fn wait_scrape(
        &self,
        timeout: Duration,
        what: &str,
        cond: impl Fn(&str) -> bool,
    ) -> String {
        let mut last = String::new();
        let ok = self.wait_for(timeout, || {
            last = self.scrape();
            cond(&last)
        });
        if ok.is_none() {
            panic!(
                "timed out waiting for {what}\nlast scrape (head):\n{}\nlog:\n{}",
                &last[..last.len().min(3000)],
                self.logs()
            );
        }
        last
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`TERM`, `HUP`, ...) with kill(1).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill -{sig} failed");
    }

    /// Waits for the process to exit, up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(s) = self.exit_status() {
                return Some(s);
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Kubestate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Runs the binary to completion with `args` (for flag errors): (exit code, stderr).
pub fn run_to_exit(args: &[&str]) -> (i32, String) {
    let out = Command::new(binary())
        .args(args)
        .output()
        .expect("run kubestate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `promtool check metrics` on an exposition: whether it exited 0, and what it printed
/// (empty when it found nothing to lint).
pub fn promtool_check_metrics(body: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool not found: install Debian's prometheus package (bash .ci/run does)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
