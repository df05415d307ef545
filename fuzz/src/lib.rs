//! Helpers shared by the fuzz targets: parsers that only take a path get the input through a
//! per-process scratch file, and the pod renderer is built once.

use kubestate::metrics::family::RenderCtx;
use kubestate::metrics::filter::{KeyFilter, MetricFilter};
use kubestate::kube::pod_object::PodObject;
use kubestate::metrics::{pod, Renderer};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Writes `data` to this process's scratch file `name` and returns its path. The file lives
/// in a per-process directory so parallel fuzzing jobs (`-jobs=N`) do not share it.
pub fn scratch_file(name: &str, data: &[u8]) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("kubestate-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch dir");
        d
    });
    let path = dir.join(name);
    std::fs::write(&path, data).expect("write scratch file");
    path
}

/// Every pod family, opt-in ones included, every label and annotation: the widest surface.
pub fn pod_renderer() -> &'static Renderer<PodObject> {
    static R: OnceLock<Renderer<PodObject>> = OnceLock::new();
    R.get_or_init(|| {
        let all = MetricFilter::new(&[], &[], &[".*".to_string()]).expect("static regex");
        let ctx = RenderCtx {
            labels: KeyFilter::all(),
            annotations: KeyFilter::all(),
        };
        Renderer::new(&pod::POD, &all, ctx)
    })
}

/// Splits a two-part input at the first `\n---8<---\n` (the second part may be absent).
pub fn split2(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    const SEP: &[u8] = b"\n---8<---\n";
    match data.windows(SEP.len()).position(|w| w == SEP) {
        Some(i) => (&data[..i], Some(&data[i + SEP.len()..])),
        None => (data, None),
    }
}
