//! Object-state metric families, one file per resource, and the renderer that turns an
//! object into the bytes its store keeps.

#[cfg(test)]
pub mod catalog_check;
pub mod family;
pub mod filter;
pub mod quantity;
pub mod time;

pub mod deployment;
pub mod namespace;
pub mod node;
pub mod pod;

use crate::store::RenderedObject;
use family::{Family, RenderCtx, Samples};
use filter::MetricFilter;

/// A resource's metric declaration: its name as `--resources` spells it, the identity labels
/// every line starts with, and its families in kube-state-metrics' order.
pub struct ResourceDef<T: 'static> {
    pub name: &'static str,
    pub identity: fn(&T) -> Vec<u8>,
    pub families: &'static [Family<T>],
}

/// Renders objects of one resource with the families the filters left enabled.
pub struct Renderer<T: 'static> {
    def: &'static ResourceDef<T>,
    enabled: Vec<usize>,
    ctx: RenderCtx,
}

impl<T> Renderer<T> {
    pub fn new(def: &'static ResourceDef<T>, filter: &MetricFilter, ctx: RenderCtx) -> Self {
        let enabled = def
            .families
            .iter()
            .enumerate()
            .filter(|(_, f)| filter.includes(f.def.name, f.def.opt_in))
            .map(|(i, _)| i)
            .collect();
        Renderer { def, enabled, ctx }
    }

    pub fn resource(&self) -> &'static str {
        self.def.name
    }

    /// `# HELP`/`# TYPE` of each enabled family, in order.
    pub fn headers(&self) -> Vec<Vec<u8>> {
        self.enabled
            .iter()
            .map(|&i| self.def.families[i].def.header())
            .collect()
    }

    /// Names of the enabled families, in order.
    pub fn family_names(&self) -> Vec<&'static str> {
        self.enabled
            .iter()
            .map(|&i| self.def.families[i].def.name)
            .collect()
    }

    /// Every enabled family's lines for one object.
    pub fn render(&self, obj: &T) -> RenderedObject {
        let identity = (self.def.identity)(obj);
        let mut buf = Vec::with_capacity(1024);
        let mut ends = Vec::with_capacity(self.enabled.len());
        for &i in &self.enabled {
            let fam = &self.def.families[i];
            let mut s = Samples::new(&mut buf, fam.def.name, &identity);
            (fam.generate)(obj, &self.ctx, &mut s);
            ends.push(buf.len() as u32);
        }
        RenderedObject::new(buf, ends)
    }
}

#[cfg(test)]
pub mod testing {
    //! Helpers for the per-resource object-in/lines-out tests.
    use super::*;
    use crate::metrics::filter::KeyFilter;

    /// Renders `obj` with every family (opt-in included) and returns the lines of the named
    /// families, in generation order.
    pub fn render_lines<T>(def: &'static ResourceDef<T>, obj: &T, ctx: RenderCtx, names: &[&str]) -> Vec<String> {
        let all = MetricFilter::new(&[], &[], &[".*".to_string()]).expect("static regex");
        let r = Renderer::new(def, &all, ctx);
        let out = r.render(obj);
        let text = String::from_utf8(out.bytes().to_vec()).expect("utf8");
        text.lines()
            .filter(|l| {
                let name = l.split(['{', ' ']).next().unwrap_or("");
                names.contains(&name)
            })
            .map(str::to_string)
            .collect()
    }

    /// A context whose allowlists allow every label and annotation.
    pub fn allow_all() -> RenderCtx {
        RenderCtx {
            labels: KeyFilter::all(),
            annotations: KeyFilter::all(),
        }
    }

    /// Parses a JSON fixture into a Kubernetes type.
    pub fn obj<T: serde::de::DeserializeOwned>(json: &str) -> T {
        serde_json::from_str(json).expect("fixture decodes")
    }
}
