//! Quantities (`250m`, `5Gi`, `1e3`) as the built-in families parse them, and the custom
//! resource state value conversion. A plain decimal integer must read as itself.
#![no_main]

use kubestate::metrics::custom::value::string_to_f64;
use kubestate::metrics::quantity::parse_quantity;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let q = parse_quantity(s);
    let _ = string_to_f64(s);
    // KSM exports float64(MilliValue())/1000: exact for integers while the milli value stays
    // below 2^53 (12 digits); above that it rounds as KSM does (see the quantity unit tests).
    if !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: f64 = s.parse().expect("digits");
        assert_eq!(q, Some(n), "{s:?}");
    }
});
