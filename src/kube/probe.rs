//! A byte-level identity probe, so a shard does not pay the full decode cost for the objects
//! other shards own.
//!
//! Ownership needs three things from a watch line: the event type, `metadata.uid` and
//! `metadata.resourceVersion`. Kubernetes writes them near the start (`type` first, then
//! `kind`/`apiVersion`/`metadata`, with `uid` and `resourceVersion` early in metadata), so
//! the probe walks the JSON structure only until it has them, stepping over the values of
//! other keys with a structural skipper that neither builds nor validates them. Order is not
//! relied on for correctness, only for speed: keys may come in any order, and the `uid` keys
//! of `ownerReferences` (or anywhere else below metadata) are never mistaken for the object's.
//!
//! The probe answers only when the answer is certain; anything unusual (a backslash escape in
//! a key or value it needs, a non-string uid, malformed structure before the answer is found,
//! a missing field) yields "unknown", and the caller falls back to the serde path, which
//! reports errors properly. What comes *after* the answer is not read at all, so a line that
//! is damaged past that point is not noticed here: for an object another shard owns that is
//! the point, and an owned object is then decoded in full, which does notice.
//!
//! [`ValueScanner`] is the skipper; it is resumable across buffer refills, which is how the
//! LIST decoder (`super::list`) cuts items out of a response stream without decoding them.

/// What the probe settled about one watch event line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventProbe<'a> {
    /// An `ADDED`, `MODIFIED` or `DELETED` event whose object has this identity.
    Object(Identity<'a>),
    /// The type is known and is something else (`BOOKMARK`, `ERROR`, ...): decode in full.
    NotObject,
    /// The probe could not be sure: decode in full.
    Unknown,
}

/// The object's own `metadata.uid` and `metadata.resourceVersion`, exactly as written
/// (the probe answers only for strings without escapes, so no unescaping is involved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity<'a> {
    pub uid: &'a str,
    pub resource_version: &'a str,
}

/// Probes a watch event line, `{"type":..,"object":{..}}`.
pub fn probe_event(line: &[u8]) -> EventProbe<'_> {
    let mut c = Cursor { b: line, i: 0 };
    probe_event_at(&mut c).unwrap_or(EventProbe::Unknown)
}

/// Probes one object, `{"metadata":{..},..}`: `None` when not sure.
pub fn probe_object(obj: &[u8]) -> Option<Identity<'_>> {
    let mut c = Cursor { b: obj, i: 0 };
    object_identity(&mut c)
}

/// The event types whose object is a Kubernetes object with an identity.
fn is_object_event(kind: &str) -> bool {
    matches!(kind, "ADDED" | "MODIFIED" | "DELETED")
}

fn probe_event_at<'a>(c: &mut Cursor<'a>) -> Option<EventProbe<'a>> {
    c.ws();
    c.expect(b'{')?;
    c.ws();
    let mut kind_known = false;
    // the object's identity when `object` came before `type`
    let mut early: Option<Identity<'a>> = None;
    loop {
        let key = c.plain_string()?;
        c.ws();
        c.expect(b':')?;
        c.ws();
        match key {
            "type" => {
                if !is_object_event(c.plain_string()?) {
                    return Some(EventProbe::NotObject);
                }
                if let Some(id) = early {
                    return Some(EventProbe::Object(id));
                }
                kind_known = true;
            }
            "object" if kind_known => return object_identity(c).map(EventProbe::Object),
            "object" => {
                // the type is still to come: note the identity, then step over the object
                let start = c.i;
                early = Some(object_identity(c)?);
                c.i = start;
                c.skip_value()?;
            }
            _ => c.skip_value()?,
        }
        c.ws();
        match c.next()? {
            b',' => c.ws(),
            // the event ended without both a type and an object with an identity
            _ => return None,
        }
    }
}

/// Reads an object up to its metadata's uid and resourceVersion.
fn object_identity<'a>(c: &mut Cursor<'a>) -> Option<Identity<'a>> {
    c.ws();
    c.expect(b'{')?;
    c.ws();
    loop {
        let key = c.plain_string()?;
        c.ws();
        c.expect(b':')?;
        c.ws();
        if key == "metadata" {
            return metadata_identity(c);
        }
        c.skip_value()?;
        c.ws();
        match c.next()? {
            b',' => c.ws(),
            _ => return None, // no metadata
        }
    }
}

fn metadata_identity<'a>(c: &mut Cursor<'a>) -> Option<Identity<'a>> {
    c.expect(b'{')?;
    c.ws();
    let mut uid = None;
    let mut rv = None;
    loop {
        let key = c.plain_string()?;
        c.ws();
        c.expect(b':')?;
        c.ws();
        match key {
            "uid" => uid = Some(c.plain_string()?),
            "resourceVersion" => rv = Some(c.plain_string()?),
            _ => c.skip_value()?,
        }
        if let (Some(uid), Some(resource_version)) = (uid, rv) {
            return Some(Identity {
                uid,
                resource_version,
            });
        }
        c.ws();
        match c.next()? {
            b',' => c.ws(),
            _ => return None, // metadata ended without both
        }
    }
}

/// A read position in a complete byte slice.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn next(&mut self) -> Option<u8> {
        let b = *self.b.get(self.i)?;
        self.i += 1;
        Some(b)
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    /// A string with no escapes and no control characters, borrowed from the input; `None`
    /// for anything else, since only such a string is certainly equal to its raw bytes.
    fn plain_string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let rest = &self.b[self.i..];
        let end = find_quote_or_backslash(rest)?;
        if rest[end] != b'"' {
            return None;
        }
        let s = &rest[..end];
        if s.iter().any(|&b| b < 0x20) {
            return None; // serde rejects raw control characters
        }
        self.i += end + 1;
        std::str::from_utf8(s).ok()
    }

    fn skip_value(&mut self) -> Option<()> {
        match ValueScanner::new().feed(&self.b[self.i..]) {
            Scan::Complete(n) => {
                self.i += n;
                Some(())
            }
            Scan::NeedMore | Scan::Invalid(_) => None,
        }
    }
}

/// The position of the first `"` or `\` in `b`, eight bytes at a time: the probe and the
/// LIST decoder spend most of their time inside strings, and this is their inner loop.
/// Not `memchr2`: JSON strings of an object are mostly short (names, label values), where
/// it needs about 20% more instructions than this word loop.
pub(crate) fn find_quote_or_backslash(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i + 8 <= b.len() {
        let w = u64::from_le_bytes(b[i..i + 8].try_into().expect("slice of eight bytes"));
        let q = w ^ (ONES * b'"' as u64);
        let s = w ^ (ONES * b'\\' as u64);
        // "has a zero byte": exact for the lowest flagged byte, which is all we use
        let hit = (q.wrapping_sub(ONES) & !q | s.wrapping_sub(ONES) & !s) & HIGH;
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|p| i + p)
}

/// How far [`ValueScanner::feed`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The value ends this many bytes into the chunk just fed.
    Complete(usize),
    /// The whole chunk belongs to the value; feed the next one.
    NeedMore,
    /// Not a JSON value (what was wrong, for an error message).
    Invalid(&'static str),
}

/// Deepest nesting the scanner follows; serde_json refuses deeper input too.
const MAX_DEPTH: u32 = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScanState {
    /// Before the value: whitespace allowed.
    Start,
    /// Inside `{}`/`[]`, outside any string.
    Container,
    /// Inside a string; `escaped` when the previous byte was an unpaired backslash.
    Str { escaped: bool },
    /// Inside a top-level number or literal, which ends at a delimiter.
    Scalar,
}

/// Finds the end of one JSON value without decoding it: strings (escapes included) and
/// bracket nesting are followed exactly, brackets must match, but the tokens between them
/// are not validated. Resumable: a value may arrive in any number of chunks.
#[derive(Debug)]
pub(crate) struct ValueScanner {
    /// Bit `d` is set when the container at depth `d` is an object.
    objects: u128,
    depth: u32,
    state: ScanState,
}

impl ValueScanner {
    pub(crate) fn new() -> Self {
        ValueScanner {
            objects: 0,
            depth: 0,
            state: ScanState::Start,
        }
    }

    /// Scans the next chunk of the value.
    pub(crate) fn feed(&mut self, b: &[u8]) -> Scan {
        let mut i = 0;
        loop {
            match self.state {
                ScanState::Start => {
                    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
                        i += 1;
                    }
                    let Some(&first) = b.get(i) else {
                        return Scan::NeedMore;
                    };
                    i += 1;
                    match first {
                        b'"' => self.state = ScanState::Str { escaped: false },
                        b'{' | b'[' => {
                            if let Err(e) = self.open(first) {
                                return e;
                            }
                            self.state = ScanState::Container;
                        }
                        b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => self.state = ScanState::Scalar,
                        _ => return Scan::Invalid("expected a JSON value"),
                    }
                }
                ScanState::Str { escaped } => {
                    if escaped {
                        if i >= b.len() {
                            return Scan::NeedMore;
                        }
                        i += 1;
                        self.state = ScanState::Str { escaped: false };
                    }
                    let Some(p) = find_quote_or_backslash(&b[i..]) else {
                        return Scan::NeedMore;
                    };
                    i += p + 1;
                    if b[i - 1] == b'\\' {
                        self.state = ScanState::Str { escaped: true };
                    } else if self.depth == 0 {
                        return Scan::Complete(i);
                    } else {
                        self.state = ScanState::Container;
                    }
                }
                ScanState::Scalar => {
                    match b[i..].iter().position(|c| {
                        matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                    }) {
                        Some(p) => return Scan::Complete(i + p),
                        None => return Scan::NeedMore,
                    }
                }
                ScanState::Container => loop {
                    let Some(&c) = b.get(i) else {
                        return Scan::NeedMore;
                    };
                    i += 1;
                    match c {
                        b'"' => {
                            // most strings end in this chunk with no escape: step over them
                            // here rather than through the state machine
                            match find_quote_or_backslash(&b[i..]) {
                                Some(p) if b[i + p] == b'"' => i += p + 1,
                                _ => {
                                    self.state = ScanState::Str { escaped: false };
                                    break;
                                }
                            }
                        }
                        b'{' | b'[' => {
                            if let Err(e) = self.open(c) {
                                return e;
                            }
                        }
                        b'}' | b']' => {
                            let top = self.depth - 1;
                            let is_object = self.objects >> top & 1 == 1;
                            if is_object != (c == b'}') {
                                return Scan::Invalid("mismatched brackets");
                            }
                            self.objects &= !(1 << top);
                            self.depth = top;
                            if top == 0 {
                                return Scan::Complete(i);
                            }
                        }
                        _ => {}
                    }
                },
            }
        }
    }

    fn open(&mut self, c: u8) -> Result<(), Scan> {
        if self.depth >= MAX_DEPTH {
            return Err(Scan::Invalid("nested too deeply"));
        }
        if c == b'{' {
            self.objects |= 1 << self.depth;
        }
        self.depth += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::borrow::Cow;

    /// The serde reading the probe must agree with (the watch engine's `IdentityEvent`).
    #[derive(Deserialize)]
    struct SerdeEvent<'a> {
        #[serde(rename = "type", borrow)]
        kind: Cow<'a, str>,
        #[serde(borrow, default)]
        object: SerdeObject<'a>,
    }
    #[derive(Deserialize, Default)]
    struct SerdeObject<'a> {
        #[serde(borrow, default)]
        metadata: SerdeMeta<'a>,
    }
    #[derive(Deserialize, Default)]
    struct SerdeMeta<'a> {
        #[serde(borrow, default)]
        uid: Option<Cow<'a, str>>,
        #[serde(rename = "resourceVersion", borrow, default)]
        resource_version: Option<Cow<'a, str>>,
    }

    /// Asserts that a definite probe answer is the one serde gives for the same line.
    fn assert_agrees(line: &str) -> EventProbe<'_> {
        let p = probe_event(line.as_bytes());
        let serde: Result<SerdeEvent, _> = serde_json::from_str(line);
        match p {
            EventProbe::Unknown => {}
            EventProbe::NotObject => {
                // a claim about the type only: the caller decodes such a line in full
                if let Ok(ev) = serde {
                    assert!(!is_object_event(&ev.kind), "{line}");
                }
            }
            EventProbe::Object(id) => {
                let ev = serde.unwrap_or_else(|e| panic!("probe sure, serde not ({e}): {line}"));
                assert!(is_object_event(&ev.kind), "{line}");
                assert_eq!(ev.object.metadata.uid.as_deref(), Some(id.uid), "{line}");
                assert_eq!(
                    ev.object.metadata.resource_version.as_deref(),
                    Some(id.resource_version),
                    "{line}"
                );
            }
        }
        p
    }

    /// For a damaged line the probe may answer only where serde does, or, when the damage
    /// lies beyond what the probe reads (or inside a value it skips), with the undamaged
    /// line's answer: never with an identity that is in neither.
    fn assert_agrees_damaged<'a>(original: &str, damaged: &'a str) -> EventProbe<'a> {
        let p = probe_event(damaged.as_bytes());
        if serde_json::from_str::<SerdeEvent>(damaged).is_ok() {
            return assert_agrees(damaged);
        }
        if let EventProbe::Object(_) = p {
            assert_eq!(p, probe_event(original.as_bytes()), "{original}\n{damaged}");
        }
        p
    }

    fn object(uid: &'static str, rv: &'static str) -> EventProbe<'static> {
        EventProbe::Object(Identity {
            uid,
            resource_version: rv,
        })
    }

    #[test]
    fn reads_the_identity_of_object_events() {
        let cases = [
            // Kubernetes' own order
            (
                r#"{"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a","namespace":"d","uid":"u-1","resourceVersion":"17","labels":{"uid":"x"}},"spec":{}}}"#,
                object("u-1", "17"),
            ),
            // object before type, metadata last, rv before uid
            (
                r#"{"object":{"spec":{"uid":"no"},"metadata":{"resourceVersion":"5","uid":"u-2"}},"type":"DELETED"}"#,
                object("u-2", "5"),
            ),
            // ownerReferences (with their own uid) before the object's uid
            (
                r#"{"type":"MODIFIED","object":{"metadata":{"ownerReferences":[{"kind":"ReplicaSet","uid":"owner","name":"rs"}],"annotations":{"uid":"ann","a\"uid\"":"\"uid\":\"q\""},"uid":"u-3","resourceVersion":"9"}}}"#,
                object("u-3", "9"),
            ),
            // other top-level keys, nested arrays and escapes in values that are skipped
            (
                r#"{"kind":"x","extra":[1,-2.5e3,true,false,null,[[]],{"a":{"b":[{}]}}],"type":"ADDED","object":{"metadata":{"name":"we\\ird\"}]","uid":"u-4","resourceVersion":"1"}}}"#,
                object("u-4", "1"),
            ),
            // unicode outside the needed strings, and in them without escapes
            (
                r#"{"type":"ADDED","object":{"metadata":{"name":"caf\u00e9 ☕","uid":"ü-5","resourceVersion":"2"}}}"#,
                object("ü-5", "2"),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(assert_agrees(line), want, "{line}");
        }
    }

    #[test]
    fn whitespace_and_pretty_printing_are_fine() {
        let line = "  {\n  \"type\" : \"ADDED\" ,\r\n\t\"object\" : {\n    \"metadata\" : {\n      \"uid\" : \"u\" ,\n      \"resourceVersion\" : \"3\"\n    }\n  }\n}\n";
        assert_eq!(assert_agrees(line), object("u", "3"));
        let pretty = serde_json::to_string_pretty(&serde_json::json!({
            "type": "MODIFIED",
            "object": {"metadata": {"uid": "p", "resourceVersion": "4", "labels": {"a": "b"}}}
        }))
        .unwrap();
        assert_eq!(assert_agrees(&pretty), object("p", "4"));
    }

    #[test]
    fn other_event_types_are_not_objects() {
        for line in [
            r#"{"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"12","annotations":{"k8s.io/initial-events-end":"true"}}}}"#,
            r#"{"type":"ERROR","object":{"kind":"Status","status":"Failure","code":410,"reason":"Expired"}}"#,
            r#"{"object":{"metadata":{"uid":"u","resourceVersion":"1"}},"type":"BOOKMARK"}"#,
            r#"{"type":"SURPRISE","object":{}}"#,
        ] {
            assert_eq!(assert_agrees(line), EventProbe::NotObject, "{line}");
        }
    }

    #[test]
    fn anything_uncertain_is_unknown() {
        for line in [
            // escapes in the needed strings or keys
            r#"{"type":"ADDED","object":{"metadata":{"uid":"u\u0031","resourceVersion":"1"}}}"#,
            r#"{"type":"ADDED","object":{"metadata":{"uid":"u\"","resourceVersion":"1"}}}"#,
            r#"{"type":"ADDED","object":{"metadata":{"u\u0069d":"u","resourceVersion":"1"}}}"#,
            r#"{"type":"ADD\u0045D","object":{"metadata":{"uid":"u","resourceVersion":"1"}}}"#,
            // missing or non-string fields
            r#"{"type":"ADDED","object":{"metadata":{"uid":"u"}}}"#,
            r#"{"type":"ADDED","object":{"metadata":{"resourceVersion":"1"}}}"#,
            r#"{"type":"ADDED","object":{"metadata":{"uid":null,"resourceVersion":"1"}}}"#,
            r#"{"type":"ADDED","object":{"metadata":{"uid":7,"resourceVersion":"1"}}}"#,
            r#"{"type":"ADDED","object":{"spec":{"metadata":{"uid":"u","resourceVersion":"1"}}}}"#,
            r#"{"type":"ADDED","object":{}}"#,
            r#"{"type":"ADDED"}"#,
            r#"{"object":{"metadata":{"uid":"u","resourceVersion":"1"}}}"#,
            r#"{}"#,
            // malformed before the answer
            r#"{"type":"ADDED","object":{"metadata":{"labels":{"a":["b"}},"uid":"u","resourceVersion":"1"}}}"#,
            r#"{"type":"ADDED","object":{"metadata":{"uid" "u","resourceVersion":"1"}}}"#,
            r#"{"type":"ADDED" "object":{"metadata":{"uid":"u","resourceVersion":"1"}}}"#,
            r#"["ADDED",{"metadata":{"uid":"u","resourceVersion":"1"}}]"#,
            "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"uid\":\"a\tb\",\"resourceVersion\":\"1\"}}}",
            "",
            "not json",
        ] {
            assert_eq!(assert_agrees(line), EventProbe::Unknown, "{line}");
        }
        // invalid UTF-8 in a needed string
        assert_eq!(
            probe_event(b"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"uid\":\"\xff\",\"resourceVersion\":\"1\"}}}"),
            EventProbe::Unknown
        );
    }

    #[test]
    fn truncation_never_gives_a_different_answer() {
        let line = r#"{"type":"MODIFIED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"n","ownerReferences":[{"uid":"o","name":"x\"y"}],"uid":"u-9","resourceVersion":"42","labels":{"a":"b"}},"spec":{"x":[1,2]}}}"#;
        let full = assert_agrees(line);
        assert_eq!(full, object("u-9", "42"));
        let answered_at = line.find(r#""42""#).unwrap() + 4;
        for cut in 0..line.len() {
            let p = probe_event(&line.as_bytes()[..cut]);
            if cut < answered_at {
                assert_eq!(p, EventProbe::Unknown, "cut at {cut}");
            } else {
                // the rest is never read: the answer is the full line's
                assert_eq!(p, full, "cut at {cut}");
            }
        }
    }

    #[test]
    fn objects_are_probed_alone() {
        let item = br#"{"metadata":{"name":"a","uid":"1","resourceVersion":"8"},"spec":{}}"#;
        assert_eq!(
            probe_object(item),
            Some(Identity {
                uid: "1",
                resource_version: "8"
            })
        );
        assert_eq!(probe_object(br#"{"metadata":{"name":"a"}}"#), None);
        assert_eq!(probe_object(br#"{"metadata":{"uid":"1""#), None);
    }

    #[test]
    fn scanner_finds_the_end_of_values_in_any_chunking() {
        let cases: [(&[u8], usize); 8] = [
            (br#""a\"b\\" rest"#, 8),
            (br#"{"a":[1,{"b":"}]"}],"c":"\\"} tail"#, 29),
            (b"  [ ] ,", 5),
            (b"123,", 3),
            (b"-1.5e+3}", 7),
            (b"true ", 4),
            (b"null]", 4),
            (br#"{"\u00e9\\\"":{}}x"#, 17),
        ];
        for (input, end) in cases {
            // whole
            assert_eq!(
                ValueScanner::new().feed(input),
                Scan::Complete(end),
                "{input:?}"
            );
            // in every split into two chunks
            for cut in 0..end {
                let mut s = ValueScanner::new();
                assert_eq!(s.feed(&input[..cut]), Scan::NeedMore, "{input:?} cut {cut}");
                assert_eq!(
                    s.feed(&input[cut..]),
                    Scan::Complete(end - cut),
                    "{input:?}"
                );
            }
            // byte by byte
            let mut s = ValueScanner::new();
            for (i, b) in input.iter().enumerate() {
                match s.feed(std::slice::from_ref(b)) {
                    Scan::NeedMore => {}
                    Scan::Complete(n) => {
                        assert_eq!(i + n, end, "{input:?}");
                        break;
                    }
                    Scan::Invalid(e) => panic!("{input:?}: {e}"),
                }
            }
        }
    }

    #[test]
    fn scanner_rejects_what_is_not_a_value() {
        assert!(matches!(ValueScanner::new().feed(b"{]"), Scan::Invalid(_)));
        assert!(matches!(ValueScanner::new().feed(b"[}"), Scan::Invalid(_)));
        assert!(matches!(ValueScanner::new().feed(b"}"), Scan::Invalid(_)));
        assert!(matches!(ValueScanner::new().feed(b":"), Scan::Invalid(_)));
        let deep = "[".repeat(200);
        assert!(matches!(
            ValueScanner::new().feed(deep.as_bytes()),
            Scan::Invalid(_)
        ));
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert_eq!(
            ValueScanner::new().feed(ok.as_bytes()),
            Scan::Complete(ok.len())
        );
    }

    #[test]
    fn quote_search_matches_a_plain_search() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..64 {
            for _ in 0..50 {
                let b: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        [b'a', b'"', b'\\', 0x21, 0x5b, 0x5d, 0xa2, 0xdc, 0x00][(seed % 9) as usize]
                    })
                    .collect();
                let want = b.iter().position(|&c| c == b'"' || c == b'\\');
                assert_eq!(find_quote_or_backslash(&b), want, "{b:?}");
            }
        }
    }

    /// Deterministic generator of varied JSON for the property test.
    struct Gen(u64);

    impl Gen {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }

        fn pick<'s>(&mut self, of: &[&'s str]) -> &'s str {
            of[self.below(of.len() as u64) as usize]
        }

        /// A string that is sometimes a tricky one: escapes, a quoted `"uid"`, unicode.
        fn string(&mut self) -> String {
            let s = self.pick(&[
                "a",
                "uid",
                "resourceVersion",
                "metadata",
                "object",
                "type",
                "x\"uid\":\"y",
                "back\\slash",
                "{[}]",
                "é☕",
                "\u{1}",
                "",
            ]);
            serde_json::to_string(s).unwrap()
        }

        /// Any JSON value, as text, with keys in the generator's order.
        fn value(&mut self, depth: u32) -> String {
            match self.below(if depth > 3 { 4 } else { 6 }) {
                0 => self.string(),
                1 => self
                    .pick(&["0", "-12.5e3", "true", "false", "null", "7"])
                    .to_string(),
                2 => format!(r#""\u00{:02x}""#, self.below(128)),
                3 => "[]".to_string(),
                4 => {
                    let items: Vec<String> =
                        (0..self.below(4)).map(|_| self.value(depth + 1)).collect();
                    format!("[{}]", items.join(","))
                }
                _ => {
                    let mut keys = std::collections::BTreeSet::new();
                    let fields: Vec<String> = (0..self.below(5))
                        .filter_map(|_| {
                            let k = self.string();
                            keys.insert(k.clone())
                                .then(|| format!("{k}:{}", self.value(depth + 1)))
                        })
                        .collect();
                    format!("{{{}}}", fields.join(","))
                }
            }
        }

        /// An object with `fields` (key, value text) and some noise, in a random order.
        fn object(&mut self, mut fields: Vec<(String, String)>) -> String {
            for k in ["extra", "spec", "status", "ownerReferences", "labels"] {
                if self.below(2) == 0 {
                    let v = if k == "ownerReferences" {
                        r#"[{"uid":"owner-uid","resourceVersion":"0"}]"#.to_string()
                    } else {
                        self.value(1)
                    };
                    fields.push((format!("\"{k}\""), v));
                }
            }
            for i in (1..fields.len()).rev() {
                let j = self.below(i as u64 + 1) as usize;
                fields.swap(i, j);
            }
            let ws = self.pick(&["", " ", "\n  "]);
            let body: Vec<String> = fields
                .into_iter()
                .map(|(k, v)| format!("{ws}{k}{ws}:{ws}{v}"))
                .collect();
            format!("{{{}{ws}}}", body.join(","))
        }
    }

    fn outcome_index(p: EventProbe) -> usize {
        match p {
            EventProbe::Object(_) => 0,
            EventProbe::NotObject => 1,
            EventProbe::Unknown => 2,
        }
    }

    #[test]
    fn probe_agrees_with_serde_on_generated_events() {
        let mut g = Gen(0x2545_f491_4f6c_dd1d);
        let mut counts = [0usize; 3];
        for _ in 0..20_000 {
            let mut meta = Vec::new();
            if g.below(10) != 0 {
                let uid = g.pick(&["\"u-1\"", "\"a\\u0062c\"", "null", "\"\"", "\"ü\""]);
                meta.push(("\"uid\"".to_string(), uid.to_string()));
            }
            if g.below(10) != 0 {
                let rv = g.pick(&["\"123\"", "\"9\"", "1", "\"4\\\"\""]);
                meta.push(("\"resourceVersion\"".to_string(), rv.to_string()));
            }
            meta.push(("\"name\"".to_string(), g.string()));
            let meta = g.object(meta);
            let obj = g.object(vec![
                ("\"metadata\"".to_string(), meta),
                ("\"kind\"".to_string(), "\"Pod\"".to_string()),
            ]);
            let kind = g.pick(&[
                "\"ADDED\"",
                "\"MODIFIED\"",
                "\"DELETED\"",
                "\"BOOKMARK\"",
                "\"ERROR\"",
            ]);
            let mut fields = vec![("\"type\"".to_string(), kind.to_string())];
            if g.below(20) != 0 {
                fields.push(("\"object\"".to_string(), obj));
            }
            let line = g.object(fields);
            let outcome = if g.below(10) == 0 {
                // damage it somewhere
                let b = line.as_bytes();
                let cut = g.below(b.len() as u64) as usize;
                let damaged = match g.below(3) {
                    0 => b[..cut].to_vec(),
                    1 => [&b[..cut], &b[cut + 1..]].concat(),
                    _ => [&b[..cut], b"]", &b[cut..]].concat(),
                };
                let Ok(damaged) = String::from_utf8(damaged) else {
                    continue;
                };
                outcome_index(assert_agrees_damaged(&line, &damaged))
            } else {
                outcome_index(assert_agrees(&line))
            };
            counts[outcome] += 1;
        }
        // the generator exercises every outcome, most often a definite one
        assert!(counts.iter().all(|&c| c > 500), "{counts:?}");
    }
}
