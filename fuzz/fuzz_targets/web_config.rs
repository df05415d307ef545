//! The `--tls-config` (exporter-toolkit web config) file, loaded as at start-up: YAML,
//! validation, and the TLS configuration built from it (certificate files named in it are
//! read from the scratch directory, and usually missing).
#![no_main]

use kubestate::server::tls::load;
use kubestate_fuzz::scratch_file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("web-config.yml", data);
    if let Err(e) = load(&path) {
        let _ = e.to_string();
    }
});
