//! Cross-source checks within a plan (issue 16): the codes of the plan's masters (schools, clusters, blocks,
//! districts, exams, questions), collected as each master is produced, and looked up by the rows of the files that
//! refer to them. Masters go first in dependency order, so a dependent's codes are known before it starts. A
//! reference is checked only when its master is in the plan or supplied (`--masters DIR`, masters emitted before).
//! A master an earlier run of the same job delivered is read again for its codes (`run.rs`, `recollect_codes`).
//!
//! Memory: 8 bytes per distinct code plus 256 KiB per master column (`cqube_convert::CodeSet`): about 12 MiB for
//! the 1.5 million schools of a large state, at most twice that while a master is read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;
use cqube_convert::{CodeSet, ConvertOptions, CrossChecks, Input, Lookup, NoRejects, OnError};
use cqube_core::Catalog;

use crate::plan::{Item, ItemInput};
use crate::status::{ExitStatus, engine_failure, fail};

/// A master column: (source, column).
type MasterColumn = (String, String);

/// Codes of masters emitted before this plan, read from a `cqube_emission` folder (`--masters DIR`).
#[derive(Debug, Default, Clone)]
pub struct Supplied {
    codes: BTreeMap<MasterColumn, Arc<CodeSet>>,
}

impl Supplied {
    /// Reads every master zip in `dir` (laid out as `emit` takes a folder) that some source of the catalog refers
    /// to, keeping the codes of its referred columns. Rows cQube would drop (bad types, null keys) are not codes.
    pub fn load(
        dir: &Path,
        catalog: &Catalog,
        options: &ConvertOptions,
        limits: &cqube_zip::check::Limits,
    ) -> anyhow::Result<Supplied> {
        if !dir.is_dir() {
            let e = anyhow::anyhow!(
                "--masters {}: not a directory\n\nhint: give the cqube_emission folder the masters were emitted from",
                dir.display()
            );
            return Err(fail(ExitStatus::Usage, e));
        }
        let referred = referred_columns(catalog);
        let items = crate::plan::build(catalog, &[dir.to_path_buf()], None, &[], &[], options)?;
        let mut supplied = Supplied::default();
        for item in items.iter().filter(|i| referred.iter().any(|(m, _)| *m == i.source)) {
            let ItemInput::Zip(path) = &item.input else { continue };
            let source = catalog.get(&item.source).context("source left the catalog")?;
            let collect: Vec<String> =
                referred.iter().filter(|(m, _)| *m == item.source).map(|(_, c)| c.clone()).collect();
            let cross = CrossChecks { collect, lookups: Vec::new() };
            let options = ConvertOptions { on_error: OnError::Skip, max_errors: None, cross, ..options.clone() };
            let entry = crate::zip_check::open_entry(path, source, limits).map_err(|e| fail(ExitStatus::Input, e))?;
            let input =
                Input::from_reader(&path.display().to_string(), None, entry).map_err(|e| fail(ExitStatus::Input, e))?;
            let summary = cqube_convert::prepare(catalog, Some(source), input, &options)
                .and_then(|p| p.validate(&mut NoRejects, &mut |_| {}))
                .map_err(engine_failure)
                .with_context(|| format!("--masters: reading {}", path.display()))?;
            tracing::info!(source = %item.source, path = %path.display(), rows = summary.rows_out, "master codes read");
            supplied.add(&item.source, &summary.codes);
        }
        Ok(supplied)
    }

    fn add(&mut self, master: &str, codes: &[(String, Arc<CodeSet>)]) {
        for (column, set) in codes {
            tracing::debug!(master, column = %column, codes = set.len(), bytes = set.memory_bytes(), "master codes kept");
            let merged = match self.codes.remove(&(master.to_owned(), column.clone())) {
                Some(before) => Arc::new(before.union(set)),
                None => Arc::clone(set),
            };
            self.codes.insert((master.to_owned(), column.clone()), merged);
        }
    }
}

/// Every master column some source of the catalog refers to.
fn referred_columns(catalog: &Catalog) -> BTreeSet<MasterColumn> {
    catalog.sources().iter().flat_map(|s| &s.references).map(|r| (r.master.clone(), r.master_column.clone())).collect()
}

/// The master codes of one plan: what each file collects and what it checks.
#[derive(Debug)]
pub struct Masters {
    /// Master columns that a file of the plan refers to and that a file of the plan provides.
    wanted: BTreeSet<MasterColumn>,
    codes: Mutex<Supplied>,
}

impl Masters {
    /// For the plan `items`, starting from the `supplied` codes.
    pub fn new(catalog: &Catalog, items: &[Item], supplied: Supplied) -> Masters {
        let in_plan: BTreeSet<&str> = items.iter().map(|i| i.source.as_str()).collect();
        let wanted = in_plan
            .iter()
            .filter_map(|s| catalog.get(s))
            .flat_map(|s| &s.references)
            .filter(|r| in_plan.contains(r.master.as_str()))
            .map(|r| (r.master.clone(), r.master_column.clone()))
            .collect();
        Masters { wanted, codes: Mutex::new(supplied) }
    }

    /// What `source`'s conversion collects (its columns the plan refers to) and checks (its references whose
    /// master's codes are known by now).
    pub fn cross_checks(&self, catalog: &Catalog, source: &str) -> CrossChecks {
        let collect = self.wanted.iter().filter(|(m, _)| m == source).map(|(_, c)| c.clone()).collect();
        let codes = self.codes.lock().unwrap_or_else(PoisonError::into_inner);
        let lookups = catalog
            .get(source)
            .map(|s| s.references.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|r| {
                let set = codes.codes.get(&(r.master.clone(), r.master_column.clone()))?;
                Some(Lookup {
                    column: r.column.clone(),
                    rule: r.rule,
                    master: format!("{}.{}", r.master, r.master_column),
                    codes: Arc::clone(set),
                })
            })
            .collect();
        CrossChecks { collect, lookups }
    }

    /// Records the codes a master's conversion collected (merged with those supplied for it).
    pub fn add(&self, master: &str, codes: &[(String, Arc<CodeSet>)]) {
        self.codes.lock().unwrap_or_else(PoisonError::into_inner).add(master, codes);
    }
}
