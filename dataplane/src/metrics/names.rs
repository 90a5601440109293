//! Bounded label values. Model and provider names get a stable small id the first time a
//! published table names them ([`Names`], locked only at publish and at scrape), so series
//! keep their identity across reloads; past the cap a new name is `other`, and a name no table
//! declares is `_unknown`. [`TableLabels`] is what one table resolves to, built at publish
//! beside the other prepared values, so a request looks its labels up without touching a lock
//! or allocating.

use std::sync::{Arc, PoisonError, RwLock};

use compiler::table::{HopRef, RoutingTable};
use rustc_hash::FxHashMap;

/// A label value's id.
pub(crate) type Id = u16;

/// A name no table declares (an unknown model, an undeclared `provider:model`).
pub(crate) const UNKNOWN: Id = 0;
/// A name past the cap.
pub(crate) const OTHER: Id = 1;

/// Most model names with series of their own (10 bits in a key).
pub(crate) const MAX_MODELS: usize = 1 << 10;
/// Most provider names with series of their own (8 bits in a key).
pub(crate) const MAX_PROVIDERS: usize = 1 << 8;

#[derive(Debug)]
pub(crate) struct Names {
    cap: usize,
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    list: Vec<Arc<str>>,
    by_name: FxHashMap<Arc<str>, Id>,
}

impl Names {
    pub(crate) fn new(cap: usize) -> Names {
        let mut inner = Inner::default();
        for n in ["_unknown", "other"] {
            inner.list.push(n.into());
        }
        Names {
            cap,
            inner: RwLock::new(inner),
        }
    }

    /// The id of `name`, given one if it is new and there is room (at publish).
    pub(crate) fn intern(&self, name: &str) -> Id {
        let mut g = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(&id) = g.by_name.get(name) {
            return id;
        }
        if g.list.len() >= self.cap {
            return OTHER;
        }
        let id = Id::try_from(g.list.len()).unwrap_or(OTHER);
        let name: Arc<str> = name.into();
        g.list.push(Arc::clone(&name));
        g.by_name.insert(name, id);
        id
    }

    /// Every name by id (at scrape).
    pub(crate) fn snapshot(&self) -> Vec<Arc<str>> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .list
            .clone()
    }
}

/// One table's label ids, resolved at publish.
#[derive(Debug, Default)]
pub(crate) struct TableLabels {
    /// Routable names (virtual models, declared ids, each target's upstream model) → id.
    models: FxHashMap<Box<str>, Id>,
    /// By provider index.
    providers: Box<[Id]>,
    /// A target's upstream model, by target index.
    targets: Box<[Id]>,
}

impl TableLabels {
    pub(crate) fn new(table: &RoutingTable, models: &Names, providers: &Names) -> TableLabels {
        let mut by_name = FxHashMap::default();
        let mut add = |n: &str| {
            if !by_name.contains_key(n) {
                by_name.insert(Box::from(n), models.intern(n));
            }
        };
        for m in table.virtual_models().iter() {
            add(&m.name);
        }
        for d in table.declared_models().iter() {
            add(&d.id);
        }
        for t in table.targets().iter() {
            add(&t.upstream);
        }
        let targets = table
            .targets()
            .iter()
            .map(|t| by_name.get(&*t.upstream).copied().unwrap_or(UNKNOWN))
            .collect();
        TableLabels {
            models: by_name,
            providers: table
                .providers()
                .iter()
                .map(|p| providers.intern(&p.name))
                .collect(),
            targets,
        }
    }

    /// The id of a model name as a route names it (`Route::model`); `_unknown` when the table
    /// does not declare it.
    pub(crate) fn model(&self, name: &str) -> Id {
        self.models.get(name).copied().unwrap_or(UNKNOWN)
    }

    pub(crate) fn provider(&self, hop: &HopRef<'_>) -> Id {
        self.providers
            .get(hop.provider_id.index())
            .copied()
            .unwrap_or(UNKNOWN)
    }

    /// The model that serves `hop`: its target's upstream model, `_unknown` for a model the
    /// provider does not declare.
    pub(crate) fn served(&self, hop: &HopRef<'_>) -> Id {
        hop.target_id
            .and_then(|t| self.targets.get(t.index()).copied())
            .unwrap_or(UNKNOWN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_capped() {
        let n = Names::new(4);
        let a = n.intern("a");
        assert_eq!(n.intern("b"), a + 1);
        assert_eq!(n.intern("a"), a);
        assert_eq!(n.intern("c"), OTHER, "past the cap");
        let names = n.snapshot();
        assert_eq!(&*names[usize::from(a)], "a");
        assert_eq!(&*names[usize::from(UNKNOWN)], "_unknown");
    }
}
