//! The resume journal: an append-only file of JSON lines, one per fact (job, upload started, part stored, done).
//!
//! Appending a line per part keeps each write small however many parts a file has (rewriting a whole state file
//! per part would cost O(parts²)). Each append is followed by `sync_data`, because the journal's promise is that a
//! part it lists is stored: after a crash or power loss a line that was never synced could claim a part the next
//! run then skips. A torn last line (a kill mid-write) is ignored on reading.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use cqube_protocol::Acknowledgement;
use serde::{Deserialize, Serialize};

use crate::Error;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JournalEntry {
    /// The first line: what the job is, so `resume JOB` can run it again.
    Job {
        /// Job id.
        job: String,
        /// The job's parameters (the emitter's business), kept verbatim.
        spec: serde_json::Value,
    },
    /// An item's multipart upload was created.
    Upload {
        /// The item (the emitter's stable name for one file to emit).
        item: String,
        /// Source identity when the upload started (path, size, mtime); a different one means start over.
        identity: String,
        /// Our upload id.
        upload_id: String,
        /// Object key.
        key: String,
    },
    /// A part is stored.
    Part {
        /// The item.
        item: String,
        /// The upload it belongs to.
        upload_id: String,
        /// The part.
        #[serde(flatten)]
        part: StoredPartRecord,
        /// Under `--level auto`, the zip level of every block cut so far, as runs of (level, blocks): what a
        /// resumed run replays so its parts come out byte-identical. Empty (and absent from older journals): one
        /// fixed level, the job's.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        levels: Vec<(u32, u64)>,
    },
    /// An upload was aborted (its parts no longer count).
    Aborted {
        /// The item.
        item: String,
        /// The aborted upload.
        upload_id: String,
    },
    /// The item was acknowledged.
    Done {
        /// The item.
        item: String,
        /// The server's acknowledgement.
        ack: Box<Acknowledgement>,
    },
}

/// A stored part as the journal remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPartRecord {
    /// Part number.
    pub part_number: u32,
    /// The ETag the store returned.
    pub etag: String,
    /// Its size.
    pub size: u64,
    /// XXH3-64 of its bytes.
    pub checksum: u64,
}

/// What the journal says about one item.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemState {
    /// The open upload, if one was started and not aborted: (upload id, key, source identity).
    pub upload: Option<(String, String, String)>,
    /// Parts stored for that upload.
    pub parts: BTreeMap<u32, StoredPartRecord>,
    /// The longest level schedule its parts recorded (see [`JournalEntry::Part`]): each is a prefix of the later
    /// ones, so the longest covers every stored part.
    pub levels: Vec<(u32, u64)>,
    /// The acknowledgement, once done.
    pub done: Option<Acknowledgement>,
}

impl ItemState {
    /// Forgets the parts of an upload that no longer counts.
    pub fn clear_parts(&mut self) {
        self.parts.clear();
        self.levels.clear();
    }
}

/// The state a journal replays to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JournalState {
    /// The job's spec from its first line.
    pub spec: Option<serde_json::Value>,
    /// Per item.
    pub items: BTreeMap<String, ItemState>,
}

impl JournalState {
    /// The state a journal's lines describe, up to the first line that does not parse.
    pub fn parse(journal: impl BufRead) -> std::io::Result<JournalState> {
        let mut state = JournalState::default();
        for line in journal.lines() {
            // A torn last line from a kill mid-append carries nothing that was promised.
            let Ok(entry) = serde_json::from_str::<JournalEntry>(&line?) else { break };
            state.apply(entry);
        }
        Ok(state)
    }

    fn apply(&mut self, entry: JournalEntry) {
        match entry {
            JournalEntry::Job { spec, .. } => self.spec = Some(spec),
            JournalEntry::Upload { item, identity, upload_id, key } => {
                let state = self.items.entry(item).or_default();
                state.upload = Some((upload_id, key, identity));
                state.clear_parts();
            }
            JournalEntry::Part { item, upload_id, part, levels } => {
                let state = self.items.entry(item).or_default();
                if state.upload.as_ref().is_some_and(|u| u.0 == upload_id) {
                    state.parts.insert(part.part_number, part);
                    let blocks = |runs: &[(u32, u64)]| runs.iter().map(|r| r.1).sum::<u64>();
                    if blocks(&levels) > blocks(&state.levels) {
                        state.levels = levels;
                    }
                }
            }
            JournalEntry::Aborted { item, upload_id } => {
                let state = self.items.entry(item).or_default();
                if state.upload.as_ref().is_some_and(|u| u.0 == upload_id) {
                    state.upload = None;
                    state.clear_parts();
                }
            }
            JournalEntry::Done { item, ack } => {
                let state = self.items.entry(item).or_default();
                state.upload = None;
                state.clear_parts();
                state.done = Some(*ack);
            }
        }
    }
}

/// An open journal file, appended to as the job goes.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// The journal file of job `job` in `dir`.
    pub fn path(dir: &Path, job: &str) -> PathBuf {
        dir.join(format!("{job}.jsonl"))
    }

    /// Reads a journal without opening it for writing; `None` when there is none.
    pub fn read(path: &Path) -> Result<Option<JournalState>, Error> {
        let err = |source| Error::Journal { path: path.display().to_string(), source };
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        JournalState::parse(BufReader::new(file)).map(Some).map_err(err)
    }

    /// Starts a new journal for `job` (replacing any old one) with its spec as the first line.
    pub fn create(dir: &Path, job: &str, spec: serde_json::Value) -> Result<Journal, Error> {
        let path = Journal::path(dir, job);
        let err = |source| Error::Journal { path: path.display().to_string(), source };
        std::fs::create_dir_all(dir).map_err(err)?;
        let file = File::create(&path).map_err(err)?;
        let mut journal = Journal { path, file };
        journal.append(&JournalEntry::Job { job: job.to_owned(), spec })?;
        Ok(journal)
    }

    /// Opens an existing journal to append to it.
    pub fn reopen(dir: &Path, job: &str) -> Result<Journal, Error> {
        let path = Journal::path(dir, job);
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|source| Error::Journal { path: path.display().to_string(), source })?;
        Ok(Journal { path, file })
    }

    /// Appends one entry and syncs it to disk.
    pub fn append(&mut self, entry: &JournalEntry) -> Result<(), Error> {
        let mut line = serde_json::to_vec(entry)
            .map_err(|e| Error::Journal { path: self.path.display().to_string(), source: std::io::Error::other(e) })?;
        line.push(b'\n');
        let err = |source| Error::Journal { path: self.path.display().to_string(), source };
        self.file.write_all(&line).map_err(err)?;
        self.file.sync_data().map_err(err)
    }

    /// Removes the journal once the whole job is done.
    pub fn remove(&self) -> Result<(), Error> {
        std::fs::remove_file(&self.path)
            .map_err(|source| Error::Journal { path: self.path.display().to_string(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(n: u32) -> StoredPartRecord {
        StoredPartRecord { part_number: n, etag: format!("\"e{n}\""), size: 5, checksum: u64::from(n) }
    }

    #[test]
    fn replay_keeps_parts_of_the_open_upload_only_and_ignores_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), "job1", serde_json::json!({"inputs": ["x"]})).unwrap();
        let upload = |id: &str| JournalEntry::Upload {
            item: "a".into(),
            identity: "i".into(),
            upload_id: id.into(),
            key: "k".into(),
        };
        j.append(&upload("u1")).unwrap();
        let part_of =
            |id: &str, n, levels| JournalEntry::Part { item: "a".into(), upload_id: id.into(), part: part(n), levels };
        j.append(&part_of("u1", 1, vec![(5, 9)])).unwrap();
        j.append(&JournalEntry::Aborted { item: "a".into(), upload_id: "u1".into() }).unwrap();
        j.append(&upload("u2")).unwrap();
        j.append(&part_of("u2", 2, Vec::new())).unwrap();
        j.append(&part_of("u1", 3, vec![(7, 1)])).unwrap();
        drop(j);
        let path = Journal::path(dir.path(), "job1");
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"type\":\"part\",\"ite").unwrap();

        let state = Journal::read(&path).unwrap().unwrap();
        assert_eq!(state.spec.unwrap()["inputs"][0], "x");
        let a = &state.items["a"];
        assert_eq!(a.upload.as_ref().unwrap().0, "u2");
        assert_eq!(a.parts.keys().copied().collect::<Vec<_>>(), [2]);
        assert!(a.levels.is_empty(), "the aborted upload's levels went with it");
        assert!(Journal::read(&dir.path().join("none.jsonl")).unwrap().is_none());
    }

    #[test]
    fn the_longest_level_schedule_of_the_open_upload_is_kept_and_old_lines_have_none() {
        let lines = [
            r#"{"type":"upload","item":"a","identity":"i","upload_id":"u","key":"k"}"#,
            // A line from before level schedules: one fixed level.
            r#"{"type":"part","item":"a","upload_id":"u","part_number":1,"etag":"e","size":5,"checksum":1}"#,
            r#"{"type":"part","item":"a","upload_id":"u","part_number":3,"etag":"e","size":5,"checksum":3,"levels":[[5,8],[6,30]]}"#,
            // Acknowledged out of order: a shorter prefix of the same schedule.
            r#"{"type":"part","item":"a","upload_id":"u","part_number":2,"etag":"e","size":5,"checksum":2,"levels":[[5,8],[6,12]]}"#,
        ];
        let state = JournalState::parse(lines.join("\n").as_bytes()).unwrap();
        let a = &state.items["a"];
        assert_eq!(a.parts.len(), 3);
        assert_eq!(a.levels, [(5, 8), (6, 30)]);
        let entry = JournalEntry::Part { item: "a".into(), upload_id: "u".into(), part: part(1), levels: Vec::new() };
        assert!(!serde_json::to_string(&entry).unwrap().contains("levels"), "fixed-level lines stay as they were");
    }
}
