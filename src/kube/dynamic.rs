//! An object of a type kubestate has no Rust struct for (custom resources): the whole JSON
//! document kept as a `serde_json::Value`, with its metadata decoded beside it so the watch
//! engine (UIDs, resourceVersions, sharding) treats it like any built-in object.

use super::object::KubeObject;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct DynamicObject {
    pub metadata: ObjectMeta,
    /// The full object, metadata included: custom resource paths start at the root.
    pub value: Value,
}

impl DynamicObject {
    /// Wraps an already decoded document; a missing or malformed `metadata` is empty.
    pub fn from_value(value: Value) -> Self {
        let metadata = value
            .get("metadata")
            .and_then(|m| ObjectMeta::deserialize(m).ok())
            .unwrap_or_default();
        DynamicObject { metadata, value }
    }
}

impl<'de> Deserialize<'de> for DynamicObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let metadata = match value.get("metadata") {
            Some(m) => ObjectMeta::deserialize(m).map_err(serde::de::Error::custom)?,
            None => ObjectMeta::default(),
        };
        Ok(DynamicObject { metadata, value })
    }
}

impl KubeObject for DynamicObject {
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_metadata_beside_the_document() {
        let o: DynamicObject = serde_json::from_str(
            r#"{"apiVersion":"example.io/v1","kind":"Widget","metadata":{"name":"w1","uid":"u-1","resourceVersion":"7"},"spec":{"size":3}}"#,
        )
        .unwrap();
        assert_eq!(o.uid(), "u-1");
        assert_eq!(o.resource_version(), Some("7"));
        assert_eq!(o.value["spec"]["size"], 3);
    }
}
