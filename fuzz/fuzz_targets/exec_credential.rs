//! The stdout of a kubeconfig exec plugin (an `ExecCredential` document), and its
//! `expirationTimestamp` format on its own.
#![no_main]

use kubestate::kube::exec::parse_credential;
use kubestate::kube::time::parse_rfc3339;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for version in [
        "client.authentication.k8s.io/v1",
        "client.authentication.k8s.io/v1beta1",
    ] {
        if let Ok(c) = parse_credential(data, version) {
            assert!(c.token.is_some() || c.client_cert.is_some());
            let _ = format!("{c:?}");
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = parse_rfc3339(s);
    }
});
