//! Streaming decode of a LIST response: each item is decoded from the socket and handed on
//! at once, so a page of raw JSON is never held in memory (the start-up spike that made
//! kube-state-metrics users size for gigabytes).
//!
//! Two ways: [`decode_list`] decodes every item into `T` straight from the socket;
//! [`split_list`] only cuts each item's bytes out of the stream (into one reused buffer) and
//! leaves the decision to decode to its caller, which is how a shard skips the objects other
//! shards own for the price of finding where they end.

use super::probe::{Scan, ValueScanner};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::Deserialize;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::marker::PhantomData;

/// Largest list item [`split_list`] accepts; etcd caps objects at 1.5 MiB, so anything near
/// this is garbage rather than an object (the same bound as a watch line).
pub const MAX_ITEM_BYTES: usize = 16 * 1024 * 1024;

/// The list's own metadata.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
pub struct ListMeta {
    #[serde(rename = "resourceVersion", default)]
    pub resource_version: String,
    #[serde(rename = "continue", default)]
    pub continue_token: Option<String>,
    #[serde(rename = "remainingItemCount", default)]
    pub remaining_item_count: Option<i64>,
    /// Present when the server applied a `shardSelector` (KEP-5866); a server without
    /// `ShardedListAndWatch` ignores the parameter and omits this.
    #[serde(rename = "shardInfo", default)]
    pub shard_info: Option<ShardInfo>,
}

/// `metadata.shardInfo` of a sharded list.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
pub struct ShardInfo {
    #[serde(default)]
    pub selector: String,
}

/// Decodes `{"metadata":{..},"items":[..]}` from `reader`, calling `on_item` for each item
/// in order. Returns the list metadata, or the first decode error.
pub fn decode_list<T, R, F>(reader: R, on_item: F) -> Result<ListMeta, serde_json::Error>
where
    T: DeserializeOwned,
    R: Read,
    F: FnMut(T),
{
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(64 * 1024, reader));
    let meta = ListSeed {
        on_item,
        _t: PhantomData,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(meta)
}

/// Reads `{"metadata":{..},"items":[..]}` from `reader` like [`decode_list`], but hands
/// `on_item` each item's raw bytes (possibly with leading whitespace) instead of a decoded
/// item. The list structure and item boundaries are checked; an item's content is the
/// callback's business, and its first error ends the list.
pub fn split_list<R, F>(reader: R, mut on_item: F) -> Result<ListMeta, serde_json::Error>
where
    R: Read,
    F: FnMut(&[u8]) -> Result<(), serde_json::Error>,
{
    let mut r = RawStream {
        r: BufReader::with_capacity(64 * 1024, reader),
        offset: 0,
    };
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut meta = ListMeta::default();
    let mut saw_items = false;
    r.expect(b'{', "a Kubernetes list object")?;
    if r.peek()? == Some(b'}') {
        r.consume(1);
    } else {
        loop {
            buf.clear();
            r.value(Some(&mut buf))?;
            let key: std::borrow::Cow<str> = serde_json::from_slice(&buf)?;
            r.expect(b':', "':' after an object key")?;
            match key.as_ref() {
                "metadata" => {
                    buf.clear();
                    r.value(Some(&mut buf))?;
                    meta = serde_json::from_slice(&buf)?;
                }
                "items" => {
                    saw_items = true;
                    r.items(&mut buf, &mut on_item)?;
                }
                _ => r.value(None)?,
            }
            match r.next()? {
                Some(b',') => {}
                Some(b'}') => break,
                _ => return Err(r.error("expected ',' or '}' in the list object")),
            }
        }
    }
    if r.peek()?.is_some() {
        return Err(r.error("trailing characters after the list object"));
    }
    if !saw_items {
        return Err(de::Error::missing_field("items"));
    }
    Ok(meta)
}

/// The response body as bytes, for [`split_list`]: JSON tokens are read only at the list's
/// own level; values are found whole by the structural scanner.
struct RawStream<R> {
    r: BufReader<R>,
    /// Bytes consumed so far, for error messages.
    offset: u64,
}

impl<R: Read> RawStream<R> {
    fn error(&self, what: &str) -> serde_json::Error {
        de::Error::custom(format_args!(
            "list response: {what} at byte {}",
            self.offset
        ))
    }

    fn consume(&mut self, n: usize) {
        self.r.consume(n);
        self.offset += n as u64;
    }

    /// The next byte that is not whitespace, left unread; `None` at the end.
    fn peek(&mut self) -> Result<Option<u8>, serde_json::Error> {
        loop {
            let buf = self.r.fill_buf().map_err(serde_json::Error::io)?;
            if buf.is_empty() {
                return Ok(None);
            }
            let n = buf.len();
            match buf
                .iter()
                .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
            {
                Some(p) => {
                    let b = buf[p];
                    self.consume(p);
                    return Ok(Some(b));
                }
                None => self.consume(n),
            }
        }
    }

    fn next(&mut self) -> Result<Option<u8>, serde_json::Error> {
        let b = self.peek()?;
        if b.is_some() {
            self.consume(1);
        }
        Ok(b)
    }

    fn expect(&mut self, want: u8, what: &str) -> Result<(), serde_json::Error> {
        match self.next()? {
            Some(b) if b == want => Ok(()),
            _ => Err(self.error(&format!("expected {what}"))),
        }
    }

    /// Reads one whole value, appending its bytes to `out` if given.
    fn value(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<(), serde_json::Error> {
        let mut scanner = ValueScanner::new();
        let mut len = 0usize;
        loop {
            let buf = self.r.fill_buf().map_err(serde_json::Error::io)?;
            if buf.is_empty() {
                return Err(self.error("unexpected end of the response"));
            }
            let (used, done) = match scanner.feed(buf) {
                Scan::Complete(n) => (n, true),
                Scan::NeedMore => (buf.len(), false),
                Scan::Invalid(why) => return Err(self.error(why)),
            };
            if let Some(out) = out.as_deref_mut() {
                out.extend_from_slice(&buf[..used]);
            }
            self.consume(used);
            len += used;
            if done {
                return Ok(());
            }
            if len > MAX_ITEM_BYTES {
                return Err(self.error(&format!("value longer than {MAX_ITEM_BYTES} bytes")));
            }
        }
    }

    /// Reads the `items` array (or `null`), handing each item to `on_item`.
    fn items<F>(&mut self, buf: &mut Vec<u8>, on_item: &mut F) -> Result<(), serde_json::Error>
    where
        F: FnMut(&[u8]) -> Result<(), serde_json::Error>,
    {
        match self.peek()? {
            Some(b'[') => self.consume(1),
            Some(b'n') => {
                // "items": null from some aggregated APIs
                buf.clear();
                self.value(Some(buf))?;
                if buf.as_slice() != b"null" {
                    return Err(self.error("expected an array of items"));
                }
                return Ok(());
            }
            _ => return Err(self.error("expected an array of items")),
        }
        if self.peek()? == Some(b']') {
            self.consume(1);
            return Ok(());
        }
        loop {
            buf.clear();
            self.value(Some(buf))?;
            on_item(buf)?;
            match self.next()? {
                Some(b',') => {}
                Some(b']') => return Ok(()),
                _ => return Err(self.error("expected ',' or ']' after a list item")),
            }
        }
    }
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
        assert_eq!(meta.shard_info, None);
        assert_eq!(meta.remaining_item_count, Some(3));
    }

    #[test]
    fn items_before_metadata_and_null_items_work() {
        let body = br#"{"items":null,"metadata":{"resourceVersion":"7"}}"#;
        let meta = decode_list::<Pod, _, _>(&body[..], |_| panic!("no items")).unwrap();
        assert_eq!(meta.resource_version, "7");
    }

    #[test]
    fn shard_info_is_read_from_the_list_metadata() {
        let body = br#"{"metadata":{"resourceVersion":"9","shardInfo":{"selector":"shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000')"}},"items":[]}"#;
        for meta in [
            decode_list::<Pod, _, _>(&body[..], |_| {}).unwrap(),
            split_list(&body[..], |_| Ok(())).unwrap(),
        ] {
            let info = meta.shard_info.expect("shardInfo");
            assert!(info.selector.starts_with("shardRange(object.metadata.uid"));
        }
    }

    /// Hands out at most `step` bytes per read, so items straddle buffer refills.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn split_names(body: &[u8], step: usize) -> Result<(Vec<String>, ListMeta), String> {
        let mut names = Vec::new();
        let meta = split_list(Trickle { data: body, step }, |item| {
            let p: Pod = serde_json::from_slice(item)?;
            names.push(p.metadata.name.unwrap_or_default());
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        Ok((names, meta))
    }

    #[test]
    fn split_agrees_with_decode_in_any_chunking() {
        let bodies: [&[u8]; 5] = [
            br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"42","continue":"abc","remainingItemCount":3},
            "items":[{"metadata":{"name":"a","uid":"1"}},{"metadata":{"name":"b\"]}","uid":"2"},"spec":{"containers":[]}}]}"#,
            br#"{"items":null,"metadata":{"resourceVersion":"7"}}"#,
            br#" { "items" : [ ] , "metadata" : { "resourceVersion" : "8" } , "extra" : [1, {"a": null}] } "#,
            br#"{"\u0069tems":[{"metadata":{"name":"esc"}}],"metadata":{}}"#,
            b"{\"metadata\":{},\"items\":[\n{\"metadata\":{\"name\":\"x\"}}\n,\n{\"metadata\":{\"name\":\"y\"}}\n]}\n",
        ];
        for body in bodies {
            let mut want = Vec::new();
            let want_meta =
                decode_list::<Pod, _, _>(body, |p| want.push(p.metadata.name.unwrap_or_default()))
                    .unwrap();
            for step in [1, 2, 3, 7, 64, 1 << 20] {
                let (names, meta) = split_names(body, step).unwrap();
                assert_eq!(names, want, "step {step}");
                assert_eq!(meta, want_meta, "step {step}");
            }
        }
    }

    #[test]
    fn split_rejects_what_decode_rejects() {
        let bad: [&[u8]; 9] = [
            br#"{"metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"a"}}"#,
            br#"{"metadata":{}}"#,
            br#"{"items":[{"spec":{"containers":5}}]}"#,
            br#"{"items":{}}"#,
            br#"{"items":[{"metadata":{}}}"#,
            br#"{"items":[{"metadata":{}} {}]}"#,
            br#"{"items":[]} x"#,
            br#"{"items" []}"#,
            br#"["items"]"#,
        ];
        for body in bad {
            assert!(
                decode_list::<Pod, _, _>(body, |_| {}).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
            for step in [1, 5, 1 << 20] {
                let err = split_names(body, step).unwrap_err();
                assert!(!err.is_empty());
            }
        }
        let err = split_names(br#"{"items":[{"a":1}]]}"#, 1).unwrap_err();
        assert_eq!(
            err,
            "list response: expected ',' or '}' in the list object at byte 19"
        );
    }

    #[test]
    fn split_stops_at_the_first_item_error() {
        let body = br#"{"items":[{"n":1},{"n":2},{"n":3}]}"#;
        let mut seen = 0;
        let err = split_list(&body[..], |_| {
            seen += 1;
            if seen == 2 {
                return Err(de::Error::custom("no thanks"));
            }
            Ok(())
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "no thanks");
        assert_eq!(seen, 2);
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
