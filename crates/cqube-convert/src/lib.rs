//! The streaming conversion engine: a raw export in, a cQube-ready zip out.
//!
//! ```text
//! Input (file | stdin, gzip by content)
//!   -> Utf8Reader (BOM, UTF-16, windows-1252)          cqube-normalize
//!   -> Chunker: record-aligned chunks                  here, one reader thread
//!   -> per chunk on the rayon pool: parse (csv), map to catalog columns, normalize and check each
//!      value, encode pipe-CSV                          cqube-normalize + cqube-encode
//!   -> in input order: duplicate keys, rejects, counts here, the calling thread
//!   -> ZipStream: parallel deflate, one entry          cqube-zip
//! ```
//!
//! Memory is bounded by configuration: `chunks_in_flight` chunks of about `chunk_bytes` (each held
//! as input and as output), the zip writer's blocks in flight, and the key set's budget. Nothing is
//! written to disk.

mod chunk;
mod engine;
mod input;
mod keys;
mod profile;
mod refs;
mod reject;

pub use engine::{ConvertOptions, Error, Missed, OnError, Prepared, Progress, Summary, Warned, prepare};
pub use input::Input;
pub use profile::{ColumnNulls, MAX_VALUES, Offenders, Rejected, ValueCount};
pub use refs::{CodeSet, CrossChecks, Lookup, fingerprint};
pub use reject::{NoRejects, Reject, RejectCsv, RejectSink, SharedRejects};
