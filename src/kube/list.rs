//! Streaming decode of a LIST response: each item is decoded from the socket and handed on
//! at once, so a page of raw JSON is never held in memory (the start-up spike that made
//! kube-state-metrics users size for gigabytes).

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::Deserialize;
use std::fmt;
use std::io::Read;
use std::marker::PhantomData;

/// The list's own metadata.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
pub struct ListMeta {
    #[serde(rename = "resourceVersion", default)]
    pub resource_version: String,
    #[serde(rename = "continue", default)]
    pub continue_token: Option<String>,
    #[serde(rename = "remainingItemCount", default)]
    pub remaining_item_count: Option<i64>,
}

/// Decodes `{"metadata":{..},"items":[..]}` from `reader`, calling `on_item` for each item
/// in order. Returns the list metadata, or the first decode error.
pub fn decode_list<T, R, F>(reader: R, on_item: F) -> Result<ListMeta, serde_json::Error>
where
    T: DeserializeOwned,
    R: Read,
    F: FnMut(T),
{
    let mut de =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(64 * 1024, reader));
    let meta = ListSeed {
        on_item,
        _t: PhantomData,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(meta)
}

struct ListSeed<T, F> {
    on_item: F,
    _t: PhantomData<fn() -> T>,
}

impl<'de, T: DeserializeOwned, F: FnMut(T)> DeserializeSeed<'de> for ListSeed<T, F> {
    type Value = ListMeta;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<ListMeta, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned, F: FnMut(T)> Visitor<'de> for ListSeed<T, F> {
    type Value = ListMeta;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes list object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<ListMeta, A::Error> {
        let mut meta = ListMeta::default();
        let mut saw_items = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "metadata" => meta = map.next_value()?,
                "items" => {
                    saw_items = true;
                    map.next_value_seed(ItemsSeed {
                        on_item: &mut self.on_item,
                        _t: PhantomData,
                    })?
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !saw_items {
            return Err(de::Error::missing_field("items"));
        }
        Ok(meta)
    }
}

struct ItemsSeed<'a, T, F> {
    on_item: &'a mut F,
    _t: PhantomData<fn() -> T>,
}

impl<'de, T: DeserializeOwned, F: FnMut(T)> DeserializeSeed<'de> for ItemsSeed<'_, T, F> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: DeserializeOwned, F: FnMut(T)> Visitor<'de> for ItemsSeed<'_, T, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of items")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(()) // "items": null from some aggregated APIs
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<T>()? {
            (self.on_item)(item);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;

    #[test]
    fn decodes_items_one_by_one() {
        let body = br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"42","continue":"abc","remainingItemCount":3},
            "items":[{"metadata":{"name":"a","uid":"1"}},{"metadata":{"name":"b","uid":"2"},"spec":{"containers":[]}}]}"#;
        let mut names = Vec::new();
        let meta =
            decode_list::<Pod, _, _>(&body[..], |p| names.push(p.metadata.name.unwrap())).unwrap();
        assert_eq!(names, vec!["a", "b"]);
        assert_eq!(meta.resource_version, "42");
        assert_eq!(meta.continue_token.as_deref(), Some("abc"));
        assert_eq!(meta.remaining_item_count, Some(3));
    }

    #[test]
    fn items_before_metadata_and_null_items_work() {
        let body = br#"{"items":null,"metadata":{"resourceVersion":"7"}}"#;
        let meta = decode_list::<Pod, _, _>(&body[..], |_| panic!("no items")).unwrap();
        assert_eq!(meta.resource_version, "7");
    }

    #[test]
    fn truncated_or_wrong_bodies_fail() {
        let truncated =
            br#"{"metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"a"}}"#;
        assert!(decode_list::<Pod, _, _>(&truncated[..], |_| {}).is_err());
        assert!(decode_list::<Pod, _, _>(&br#"{"metadata":{}}"#[..], |_| {}).is_err());
        assert!(
            decode_list::<Pod, _, _>(&br#"{"items":[{"spec":{"containers":5}}]}"#[..], |_| {})
                .is_err()
        );
    }
}
