//! Secrets are decoded without their payload: only metadata and type are kept, so secret
//! values are never held in memory, logged or exposed (serde skips `data`/`stringData`
//! without building them).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecretMeta {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(rename = "type", default)]
    pub type_: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_not_kept() {
        let s: SecretMeta = serde_json::from_str(
            r#"{"metadata":{"name":"db","namespace":"a"},"type":"Opaque","data":{"password":"aHVudGVyMg=="},"stringData":{"x":"hunter2"}}"#,
        )
        .unwrap();
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("aHVudGVyMg") && !dbg.contains("hunter2"));
        assert_eq!(s.type_.as_deref(), Some("Opaque"));
    }
}
