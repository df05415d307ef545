//! A LIST response body, read in small pieces so the resumable scanner is cut at every
//! boundary. Differential: the streaming splitter agrees with serde about the list metadata
//! and every item, the identity probe agrees with serde about each item's uid and
//! resourceVersion, and a sharded read keeps exactly the items the shard owns.
#![no_main]

use kubestate::kube::list::{decode_list, split_list};
use kubestate::kube::probe::probe_object;
use kubestate::kube::watch::split_owned;
use kubestate::kube::pod_object::PodObject;
use kubestate::shard::Shard;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::io::Read;

/// The serde view of what the probe reads; derived, so duplicated keys are an error rather
/// than a silent last-wins (the probe answers from the first).
#[derive(serde::Deserialize)]
struct Object {
    metadata: Option<Meta>,
}

#[derive(serde::Deserialize)]
struct Meta {
    uid: Option<Value>,
    #[serde(rename = "resourceVersion")]
    resource_version: Option<Value>,
}

/// Hands out at most `step` bytes per read.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let step = 1 + first as usize % 64;
    let reader = || Trickle { data: body, step };

    let mut split_items: Vec<Value> = Vec::new();
    let split = split_list(reader(), |raw| {
        let v: Value = serde_json::from_slice(raw)?;
        if let (Some(id), Ok(obj)) = (probe_object(raw), serde_json::from_slice::<Object>(raw)) {
            let meta = obj.metadata.expect("probe saw metadata");
            assert_eq!(meta.uid, Some(Value::from(id.uid)));
            assert_eq!(
                meta.resource_version,
                Some(Value::from(id.resource_version))
            );
        }
        split_items.push(v);
        Ok(())
    });

    let mut decoded_items: Vec<Value> = Vec::new();
    let decoded = decode_list(reader(), |v: Value| decoded_items.push(v));
    if let (Ok(a), Ok(b)) = (&split, &decoded) {
        assert_eq!(a, b, "list metadata");
        assert_eq!(split_items, decoded_items, "items");
    }

    // a shard keeps the owned items, decoded the same as without sharding
    let shard = Shard::jump(1, 2);
    let mut plain: Vec<PodObject> = Vec::new();
    let all = decode_list(reader(), |p: PodObject| plain.push(p));
    let mut owned: Vec<PodObject> = Vec::new();
    let some = split_owned(reader(), shard, |p: PodObject| owned.push(p));
    if let (Ok(_), Ok(_)) = (all, some) {
        let expected: Vec<&PodObject> = plain
            .iter()
            .filter(|p| shard.owns(p.metadata.uid.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(expected, owned.iter().collect::<Vec<_>>());
    }
});
