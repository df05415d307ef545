//! Feeds a resource's store from its watch: render on every event, stage a relist aside and
//! swap it in whole.

use super::Renderer;
use crate::kube::object::KubeObject;
use crate::kube::watch::Consumer;
use crate::store::{ObjectMap, RenderedObject, Store};
use std::marker::PhantomData;
use std::sync::Arc;

/// Turns an object into the lines its store keeps: a built-in resource's [`Renderer`], or
/// a custom resource's compiled families.
pub trait RenderObject<T>: Send + Sync {
    fn render(&self, obj: &T) -> RenderedObject;
}

impl<T> RenderObject<T> for Renderer<T> {
    fn render(&self, obj: &T) -> RenderedObject {
        Renderer::render(self, obj)
    }
}

pub struct MetricsConsumer<T: 'static, R = Renderer<T>> {
    renderer: Arc<R>,
    store: Arc<Store>,
    staging: Option<ObjectMap>,
    _t: PhantomData<fn(&T)>,
}

impl<T, R: RenderObject<T>> MetricsConsumer<T, R> {
    pub fn new(renderer: Arc<R>, store: Arc<Store>) -> Self {
        MetricsConsumer {
            renderer,
            store,
            staging: None,
            _t: PhantomData,
        }
    }
}

impl<T: KubeObject, R: RenderObject<T>> Consumer<T> for MetricsConsumer<T, R> {
    fn upsert(&mut self, obj: &T) {
        self.store.upsert(obj.uid(), self.renderer.render(obj));
    }

    fn delete(&mut self, obj: &T) {
        self.store.delete(obj.uid());
    }

    fn relist_begin(&mut self) {
        self.staging = Some(ObjectMap::with_capacity(self.store.len()));
    }

    fn relist_item(&mut self, obj: &T) {
        if let Some(m) = &mut self.staging {
            m.insert(obj.uid().into(), Arc::new(self.renderer.render(obj)));
        }
    }

    fn relist_commit(&mut self) {
        if let Some(m) = self.staging.take() {
            self.store.replace(m);
        }
    }

    fn relist_abort(&mut self) {
        self.staging = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::negotiate::Format;
    use crate::metrics::filter::MetricFilter;
    use crate::store::ResourceWriter;
    use k8s_openapi::api::core::v1::Namespace;

    fn ns(name: &str, uid: &str) -> Namespace {
        serde_json::from_value(serde_json::json!({"metadata": {"name": name, "uid": uid}})).unwrap()
    }

    fn scrape(w: &ResourceWriter) -> String {
        let mut out = Vec::new();
        w.write(&mut out, Format::Text);
        String::from_utf8(out).unwrap()
    }

    /// A scrape during a relist sees the old content until the relist commits, and objects
    /// missing from the relist are gone after it.
    #[test]
    fn relist_is_invisible_until_committed() {
        let filter = MetricFilter::new(&["kube_namespace_status_phase".into()], &[], &[]).unwrap();
        let renderer = Arc::new(crate::metrics::Renderer::new(
            &crate::metrics::namespace::NAMESPACE,
            &filter,
            Default::default(),
        ));
        let store = Arc::new(Store::new());
        let writer = ResourceWriter::new("namespaces", renderer.headers(), vec![store.clone()]);
        let mut c = MetricsConsumer::new(renderer, store);
        c.upsert(&ns("old-a", "1"));
        c.upsert(&ns("old-b", "2"));
        let before = scrape(&writer);
        c.relist_begin();
        c.relist_item(&ns("old-a", "1"));
        c.relist_item(&ns("new-c", "3"));
        assert_eq!(scrape(&writer), before, "half a relist must not be visible");
        c.relist_commit();
        let after = scrape(&writer);
        assert!(after.contains("namespace=\"old-a\"") && after.contains("namespace=\"new-c\""));
        assert!(
            !after.contains("namespace=\"old-b\""),
            "deleted while disconnected: gone"
        );
        // an aborted relist leaves everything as it was
        c.relist_begin();
        c.relist_item(&ns("never", "9"));
        c.relist_abort();
        assert_eq!(scrape(&writer), after);
    }
}
