//! The `--sd-config` file: service discovery jobs.
#![no_main]

use kubestate::discovery::config::parse;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text, Path::new("/etc/kubestate/sd.yaml"), || {
        Ok("monitoring".to_string())
    }) {
        Ok(cfg) => {
            let _ = format!("{cfg:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
