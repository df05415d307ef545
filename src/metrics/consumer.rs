//! Feeds a resource's store from its watch: render on every event, stage a relist aside and
//! swap it in whole.

use super::Renderer;
use crate::kube::object::KubeObject;
use crate::kube::watch::Consumer;
use crate::store::{ObjectMap, Store};
use std::sync::Arc;

pub struct MetricsConsumer<T: 'static> {
    renderer: Arc<Renderer<T>>,
    store: Arc<Store>,
    staging: Option<ObjectMap>,
}

impl<T> MetricsConsumer<T> {
    pub fn new(renderer: Arc<Renderer<T>>, store: Arc<Store>) -> Self {
        MetricsConsumer {
            renderer,
            store,
            staging: None,
        }
    }
}

impl<T: KubeObject> Consumer<T> for MetricsConsumer<T> {
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
