//! The custom resource state config (`--custom-resource-state-config[-file]`) and its path
//! evaluation: the input is the YAML document, optionally followed by `\n---8<---\n` and a
//! JSON object every compiled family is rendered against (KSM's test object otherwise).
#![no_main]

use kubestate::metrics::custom::config::parse;
use kubestate::metrics::custom::render::render_family;
use kubestate_fuzz::split2;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const OBJECT: &str = r#"{"apiVersion":"myteam.io/v1","kind":"Foo","metadata":{"name":"foo",
"namespace":"ns","uid":"u","labels":{"foo":"bar"},"annotations":{"qux":"quxx"}},
"spec":{"replicas":1,"version":"v0.0.0","order":[{"id":1,"value":true},{"id":3,"value":false}]},
"status":{"active":{"type-a":1,"type-b":3},"phase":"foo","uptime":43.21,
"quantity_milli":"250m","quantity_binarySI":"5Gi","percentage":"28%",
"condition_values":[{"name":"a","value":45},{"name":"b","value":66}],
"conditions":[{"type":"Ready","status":"True"}],"timestamp":"2022-06-28T00:00:00Z"}}"#;

fuzz_target!(|data: &[u8]| {
    let (yaml, object) = split2(data);
    let Ok(yaml) = std::str::from_utf8(yaml) else {
        return;
    };
    let root: Value = match object {
        Some(o) => match serde_json::from_slice(o) {
            Ok(v) => v,
            Err(_) => return,
        },
        None => serde_json::from_str(OBJECT).expect("fixed object"),
    };
    let Ok(resources) = parse("fuzz", yaml) else {
        return;
    };
    let mut buf = Vec::new();
    for r in &resources {
        for f in &r.families {
            buf.clear();
            let _errors = render_family(f, &root, &mut buf);
            // label values come from JSON strings: whatever the object, the lines are UTF-8
            assert!(
                std::str::from_utf8(&buf).is_ok(),
                "{:?}",
                String::from_utf8_lossy(&buf)
            );
        }
    }
});
