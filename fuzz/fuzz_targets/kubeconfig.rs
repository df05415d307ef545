//! A kubeconfig file, loaded the way `--kubeconfig` loads it (the file is the input; files
//! it names are read from the scratch directory or not found). Nothing may panic, and a
//! loaded configuration's server URL is usable.
#![no_main]

use kubestate::kube::config::{ClusterConfig, ConfigOptions};
use kubestate_fuzz::{scratch_file, split2};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // optional second part: a `--context`
    let (file, context) = split2(data);
    let path = scratch_file("kubeconfig", file);
    let opts = ConfigOptions {
        kubeconfig: Some(path),
        context: context.map(|c| String::from_utf8_lossy(c).into_owned()),
        apiserver: None,
        disable_compression: false,
    };
    if let Ok(cfg) = ClusterConfig::load(&opts) {
        assert!(
            cfg.server.starts_with("https://") || cfg.server.starts_with("http://"),
            "{}",
            cfg.server
        );
        assert!(!cfg.server.ends_with('/'), "{}", cfg.server);
        let _ = format!("{cfg:?}");
        // exec credentials would run a command: only the static kinds are asked
        if !matches!(cfg.auth, kubestate::kube::config::Auth::Exec(_)) {
            let _ = cfg.authorization();
        }
    }
});
