//! The `--config` file: YAML options turned into command-line arguments.
#![no_main]

use kubestate::config_file::args_from_yaml;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match args_from_yaml(text, Path::new("/etc/kubestate/config.yaml")) {
        Ok(args) => {
            for a in &args {
                assert!(a.starts_with("--"), "{a:?}");
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
