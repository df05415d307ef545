//! One pod object. Differential: the slim decode the pods watch uses (`PodObject`) and the
//! full k8s-openapi `Pod` must render the same exposition bytes and give discovery the same
//! view of the pod.
#![no_main]

use k8s_openapi::api::core::v1::Pod;
use kubestate::discovery::pod::PodInfo;
use kubestate::kube::pod_object::PodObject;
use kubestate_fuzz::pod_renderer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let slim = serde_json::from_slice::<PodObject>(data);
    let full = serde_json::from_slice::<Pod>(data);
    let (Ok(slim), Ok(full)) = (slim, full) else {
        return;
    };
    let full = PodObject(full);
    let r = pod_renderer();
    assert_eq!(r.render_text(&slim), r.render_text(&full));
    assert_eq!(PodInfo::from_pod(&slim), PodInfo::from_pod(&full));
});
