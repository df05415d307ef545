//! Secret families, in kube-state-metrics' order (`internal/store/secret.go`).

use crate::kube::secret::SecretMeta;
use crate::metrics::family::{identity_labels, Family};
use crate::metrics::ResourceDef;

pub static SECRET: ResourceDef<SecretMeta> = ResourceDef {
    name: "secrets",
    identity: secret_identity,
    families: FAMILIES,
};

fn secret_identity(o: &SecretMeta) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("secret", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<SecretMeta>] = &[];
