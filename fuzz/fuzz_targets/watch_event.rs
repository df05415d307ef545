//! One watch event line, as the watch loop decodes it. Differential: what the byte-level
//! probe says about type, uid and resourceVersion must agree with serde, and the sharded and
//! unsharded decodes must agree about the objects they both decode.
#![no_main]

use kubestate::kube::probe::{probe_event, EventProbe};
use kubestate::kube::watch::{decode_event_line, EventLine};
use kubestate::kube::pod_object::PodObject;
use kubestate::shard::Shard;
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

/// The serde view of the fields the probe reads; derived, so a duplicated key is an error
/// (the probe answers from the first occurrence, serde would not say which).
#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    object: Option<Object>,
}

#[derive(Deserialize)]
struct Object {
    metadata: Option<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    uid: Option<serde_json::Value>,
    #[serde(rename = "resourceVersion")]
    resource_version: Option<serde_json::Value>,
}

fn is_object_event(kind: &str) -> bool {
    matches!(kind, "ADDED" | "MODIFIED" | "DELETED")
}

fuzz_target!(|line: &[u8]| {
    let probed = probe_event(line);
    if let Ok(ev) = serde_json::from_slice::<Event>(line) {
        match probed {
            EventProbe::Object(id) => {
                assert!(
                    is_object_event(&ev.kind),
                    "probe: object event, serde: {:?}",
                    ev.kind
                );
                let meta = ev
                    .object
                    .and_then(|o| o.metadata)
                    .expect("probe saw metadata");
                assert_eq!(meta.uid, Some(serde_json::Value::from(id.uid)));
                assert_eq!(
                    meta.resource_version,
                    Some(serde_json::Value::from(id.resource_version))
                );
            }
            EventProbe::NotObject => {
                assert!(
                    !is_object_event(&ev.kind),
                    "probe: not an object, serde: {:?}",
                    ev.kind
                )
            }
            EventProbe::Unknown => {}
        }
    }

    let plain = decode_event_line::<PodObject>(None, line);
    for shard in [
        Shard::jump(0, 2),
        Shard::jump(1, 3),
    ] {
        let sharded = decode_event_line::<PodObject>(Some(shard), line);
        let (Ok(plain), Ok(sharded)) = (&plain, sharded) else {
            continue;
        };
        match (plain, sharded) {
            (
                EventLine::Object { deleted, obj, rv },
                EventLine::Object {
                    deleted: d2,
                    obj: o2,
                    rv: rv2,
                },
            ) => {
                assert_eq!(*deleted, d2);
                assert_eq!(obj, &o2);
                assert_eq!(rv, &rv2);
                assert!(shard.owns(obj.metadata.uid.as_deref().unwrap_or("")));
            }
            (EventLine::Object { obj, rv, .. }, EventLine::Skipped { rv: rv2 }) => {
                assert_eq!(rv, &rv2);
                assert!(!shard.owns(obj.metadata.uid.as_deref().unwrap_or("")));
            }
            (EventLine::Other { kind, .. }, EventLine::Other { kind: k2, .. }) => {
                assert_eq!(*kind, k2)
            }
            (p, s) => panic!(
                "unsharded and sharded decodes disagree: {} vs {}",
                name(p),
                name(&s)
            ),
        }
    }
});

fn name<T>(l: &EventLine<'_, T>) -> &'static str {
    match l {
        EventLine::Skipped { .. } => "skipped",
        EventLine::Object { .. } => "object",
        EventLine::Other { .. } => "other",
    }
}
