//! A job: what it is (its spec, whose hash is its id), its journal, and the resume rules that decide what an
//! earlier run's journal still counts for.

use std::path::{Path, PathBuf};

use cqube_upload::{Journal, JournalState};
use serde::{Deserialize, Serialize};
use sha2::Digest;

/// What a job is; its hash is the job id, so the same command finds the same journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSpec {
    pub api: String,
    pub inputs: Vec<PathBuf>,
    pub source: Option<String>,
    pub normalize: bool,
    /// The configured sources a `run` was narrowed to (empty: all).
    #[serde(default)]
    pub only: Vec<String>,
    /// Zip entry time for converted files, fixed per job so a resumed conversion is byte-identical.
    pub zip_modified_unix: u64,
    /// What else decides the bytes and their cut into parts; a resumed job keeps the first run's values so its
    /// parts match the stored ones.
    #[serde(default)]
    pub level: Option<crate::Level>,
    #[serde(default)]
    pub part_size_bytes: Option<usize>,
    #[serde(default)]
    pub on_error: Option<String>,
    /// `--strict` (or its env var) as the first run was given it: warnings reject rows, which changes the bytes.
    #[serde(default)]
    pub strict: Option<bool>,
    /// `--full`: watermarks are ignored.
    #[serde(default)]
    pub full: bool,
    /// `--masters DIR`: masters emitted before, whose codes the cross-source checks use (which rows are left out).
    #[serde(default)]
    pub masters: Option<PathBuf>,
}

impl JobSpec {
    /// The job id: the same API, inputs, source and narrowing give the same id.
    pub fn id(&self) -> String {
        let mut h = sha2::Sha256::new();
        let identity = serde_json::json!([self.api, self.inputs, self.source, self.normalize, self.only]);
        h.update(identity.to_string().as_bytes());
        hex::encode(&h.finalize()[..8])
    }

    /// The spec a journal's first line records.
    pub fn from_journal(state: &JournalState) -> anyhow::Result<JobSpec> {
        use anyhow::Context;
        let value = state.spec.clone().context("the journal has no job line")?;
        serde_json::from_value(value).context("reading the job line")
    }
}

/// Whether database sources start after their last acknowledged watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watermarks {
    /// Only rows past the watermark of the source's last acknowledged emission.
    Incremental,
    /// Every row (`--full`).
    Ignored,
}

/// A job with its journal open: fresh, or continuing an earlier run's.
#[derive(Debug)]
pub struct Job {
    pub(crate) id: String,
    pub(crate) spec: JobSpec,
    pub(crate) journal: Journal,
    pub(crate) state: JournalState,
    /// A new run: journal entries of an earlier one are not continued.
    pub(crate) fresh: bool,
}

impl Job {
    /// Opens the journal of `spec` in `dir`. With `resume` and an earlier run's journal, the job continues it and
    /// keeps the first run's zip time, level, part size and error rule, so regenerated parts match the stored ones.
    /// Otherwise the journal starts over, and an earlier run's open uploads are remembered only to be aborted.
    pub fn open(mut spec: JobSpec, resume: bool, dir: &Path) -> Result<Job, cqube_upload::Error> {
        let id = spec.id();
        let previous = Journal::read(&Journal::path(dir, &id))?;
        match previous {
            Some(state) if resume => {
                if let Ok(old) = JobSpec::from_journal(&state) {
                    spec.zip_modified_unix = old.zip_modified_unix;
                    spec.level = old.level;
                    spec.part_size_bytes = old.part_size_bytes;
                    spec.on_error = old.on_error;
                }
                Ok(Job { journal: Journal::reopen(dir, &id)?, id, spec, state, fresh: false })
            }
            previous => {
                let journal = Journal::create(dir, &id, serde_json::to_value(&spec).map_err(json_error)?)?;
                let items = previous
                    .map(|s| s.items)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, mut v)| {
                        // Without --resume an old job's open uploads are aborted, not continued.
                        v.done = None;
                        v.clear_parts();
                        (k, v)
                    })
                    .collect();
                Ok(Job { journal, id, spec, state: JournalState { spec: None, items }, fresh: true })
            }
        }
    }

    /// The job id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The spec, with a resumed run's first values.
    pub fn spec(&self) -> &JobSpec {
        &self.spec
    }

    /// Whether this run continues an earlier one's journal.
    pub fn resumed(&self) -> bool {
        !self.fresh
    }
}

fn json_error(e: serde_json::Error) -> cqube_upload::Error {
    cqube_upload::Error::Journal { path: "job spec".into(), source: std::io::Error::other(e) }
}

/// Whether an item's open upload from the journal is dropped: on a fresh run, or when the source changed.
pub(crate) fn starts_over(previous: &cqube_upload::ItemState, fresh: bool, identity: &str) -> bool {
    !matches!(&previous.upload, Some((_, _, old)) if !fresh && old == identity)
}

#[cfg(test)]
mod tests {
    use cqube_upload::ItemState;

    use super::*;

    #[test]
    fn a_changed_source_or_a_fresh_run_starts_over() {
        let open = ItemState { upload: Some(("u".into(), "k".into(), "size=1".into())), ..ItemState::default() };
        assert!(!starts_over(&open, false, "size=1"));
        assert!(starts_over(&open, false, "size=2"));
        assert!(starts_over(&open, true, "size=1"));
        assert!(starts_over(&ItemState::default(), false, "size=1"));
    }
}
