//! The pods watch decodes `PodObject` (only the fields the pod families and pod discovery
//! read) instead of a whole k8s-openapi `Pod`: for every pod of a generated cluster and its
//! churn, both decodes must render the same bytes and give discovery the same `PodInfo`.

mod support;

use k8s_openapi::api::core::v1::Pod;
use kubestate::discovery::pod::PodInfo;
use kubestate::kube::pod_object::PodObject;
use kubestate::metrics::family::RenderCtx;
use kubestate::metrics::filter::{KeyFilter, MetricFilter};
use kubestate::metrics::{pod, Renderer};
use support::cluster_gen::{churn, generate, ClusterSpec, Mutation};

#[test]
fn slim_and_full_pod_decodes_render_the_same_bytes() {
    let spec = ClusterSpec {
        pods: 600,
        nodes: 20,
        namespaces: 8,
        ..ClusterSpec::default()
    };
    let mut pods: Vec<serde_json::Value> = generate(&spec)
        .into_iter()
        .filter(|(r, _)| r == "pods")
        .map(|(_, v)| v)
        .collect();
    pods.extend((0..200).filter_map(|step| match churn(&spec, step) {
        Mutation::Create(_, v) | Mutation::Update(_, v) => Some(v),
        Mutation::Delete { .. } => None,
    }));
    // every family, opt-in ones included, every label and annotation
    let all = MetricFilter::new(&[], &[], &[".*".to_string()]).expect("static regex");
    let ctx = RenderCtx {
        labels: KeyFilter::all(),
        annotations: KeyFilter::all(),
    };
    let renderer = Renderer::new(&pod::POD, &all, ctx);
    let mut bytes = 0;
    for v in &pods {
        let json = serde_json::to_string(v).expect("encodes");
        let full = PodObject(serde_json::from_str::<Pod>(&json).expect("full decode"));
        let slim: PodObject = serde_json::from_str(&json).expect("slim decode");
        let text = renderer.render_text(&slim);
        assert_eq!(text, renderer.render_text(&full), "{json}");
        assert_eq!(PodInfo::from_pod(&slim), PodInfo::from_pod(&full), "{json}");
        bytes += text.len();
    }
    assert!(
        pods.len() > 700 && bytes > 700 * 3000,
        "{} pods, {bytes} bytes",
        pods.len()
    );
}
