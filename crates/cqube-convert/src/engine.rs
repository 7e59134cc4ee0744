use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use cqube_core::{Catalog, Column, DataSource, InferError};
use cqube_normalize::{
    Detected, HeaderError, HeaderMap, LineEndReader, LineEnds, Mapping, Quick, QuickRule, Slot, TextEncoding,
    ValueOptions,
};
use cqube_zip::{ZipOptions, ZipStream};
use serde::Serialize;

use crate::chunk::{Chunk, ChunkError, Chunker};
use crate::input::Input;
use crate::keys::KeySet;
use crate::profile::{ColumnNulls, Offenders, RejectTally, Rejected};
use crate::refs::{CodeSet, CrossChecks, Gatherer};
use crate::reject::{Reject, RejectSink};

/// What to do with a row that breaks a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Stop at the first bad row; no output is produced.
    #[default]
    Fail,
    /// Leave the row out, report it, and go on.
    Skip,
}

/// How an export is read, checked and written.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// Input field separator; sniffed from the first lines when `None`.
    pub delimiter: Option<u8>,
    /// Input encoding; detected (BOM, UTF-8 validity) when `None`.
    pub encoding: Option<TextEncoding>,
    /// Column mappings per data source name.
    pub mappings: BTreeMap<String, Mapping>,
    pub values: ValueOptions,
    pub on_error: OnError,
    /// With [`OnError::Skip`], stop once more than this many rows were rejected.
    pub max_errors: Option<u64>,
    /// Memory for duplicate-key detection (see `keys.rs`).
    pub key_memory_bytes: usize,
    /// Target size of the record-aligned chunks handed to workers.
    pub chunk_bytes: usize,
    /// Chunks read ahead, being converted or waiting to be written.
    pub chunks_in_flight: usize,
    /// The longest record accepted; past it a stray quote is the likely cause.
    pub max_record_bytes: usize,
    /// Source columns the caller knows the catalog lacks (a database source's watermark column): left out without
    /// a warning.
    pub known_extra_columns: Vec<String>,
    /// Treat every warning rule (a check cQube does not enforce) as an error: the row is rejected.
    pub strict: bool,
    /// `source.column` names whose warning rules are errors, as with `strict` for those columns only.
    pub strict_checks: Vec<String>,
    /// Codes to collect for other sources, and references to check against masters read before.
    pub cross: CrossChecks,
}

impl ConvertOptions {
    /// These options with `cross` as the cross-source checks.
    #[must_use]
    pub fn with_cross(self, cross: CrossChecks) -> ConvertOptions {
        ConvertOptions { cross, ..self }
    }
}

impl Default for ConvertOptions {
    fn default() -> Self {
        let threads = rayon::current_num_threads();
        ConvertOptions {
            delimiter: None,
            encoding: None,
            mappings: BTreeMap::new(),
            values: ValueOptions::default(),
            on_error: OnError::Fail,
            max_errors: None,
            key_memory_bytes: 32 << 20,
            chunk_bytes: 1 << 20,
            chunks_in_flight: threads + 2,
            max_record_bytes: 64 << 20,
            known_extra_columns: Vec::new(),
            strict: false,
            strict_checks: Vec::new(),
            cross: CrossChecks::default(),
        }
    }
}

/// Why a conversion stopped. Every message names the input, and the line where there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{input}: {source}")]
    Read { input: String, source: io::Error },
    #[error("{input}:{line}: quoted field never closed (a stray '\"'?)")]
    UnterminatedQuote { input: String, line: u64 },
    #[error("{input}:{line}: record longer than {limit} bytes (a stray '\"' opening a quoted field?)")]
    RecordTooLarge { input: String, line: u64, limit: usize },
    #[error("{input}: empty input: no header line")]
    Empty { input: String },
    #[error("{input}:1: header line is not valid UTF-8\n\nhint: pass --encoding (e.g. windows-1252)")]
    HeaderEncoding { input: String },
    #[error("{input}: {problem}")]
    UnknownSource { input: String, problem: InferError },
    #[error(
        "data source {0}: the catalog does not know its columns\n\nhint: describe them in a catalog override (--catalog FILE)"
    )]
    ColumnsUnknown(String),
    // Not `source`: the message already includes it, and a source would print twice in an error chain.
    #[error("{input}: {problem}")]
    Header { input: String, problem: HeaderError },
    #[error("constant for column {column}: value {value:?}: {rule}")]
    BadConstant { column: String, value: String, rule: String },
    #[error("{input}:{line}: {what}", line = reject.line, what = describe(reject))]
    Row { input: String, reject: Box<Reject> },
    #[error("{input}: more than {max} rows rejected; stopping\n\nhint: fix the export or raise --max-errors")]
    TooManyErrors { input: String, max: u64 },
    #[error("writing output: {0}")]
    Output(io::Error),
    #[error("writing rejects report: {0}")]
    Rejects(io::Error),
}

impl Error {
    /// Whether the input (rather than the output side or the setup) is at fault.
    pub fn is_input_error(&self) -> bool {
        !matches!(self, Error::Output(_) | Error::Rejects(_) | Error::BadConstant { .. })
    }
}

fn describe(r: &Reject) -> String {
    match &r.column {
        Some(column) => format!("column {column}: value {:?}: {}", r.value, r.rule),
        None => format!("{} (row: {:?})", r.rule, r.value),
    }
}

/// Progress so far, reported after each chunk.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Progress {
    /// Raw bytes read from the input (compressed bytes for gzip).
    pub bytes_in: u64,
    /// Size of the input, when known.
    pub total_bytes: Option<u64>,
    pub rows_in: u64,
    pub rows_out: u64,
    pub rows_rejected: u64,
}

/// What a finished conversion did.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub input: String,
    pub source: String,
    /// How the source was chosen when not given: `file name` or `header`.
    pub source_inferred_by: Option<&'static str>,
    pub encoding: &'static str,
    pub encoding_reason: &'static str,
    pub delimiter: String,
    pub delimiter_detected: bool,
    pub gzip: bool,
    /// `cr` when lines end in a lone `\r` (read as line ends), else `lf`.
    pub line_ends: &'static str,
    pub rows_in: u64,
    pub rows_out: u64,
    pub rows_rejected: u64,
    /// Rows written that break a warning rule (a check cQube does not enforce); see `warned`.
    pub rows_warned: u64,
    /// Each warning rule broken, per column: how often, and the first case.
    pub warned: Vec<Warned>,
    /// Rows rejected (with `--on-error skip`) per rule and column, most first, with their offending values.
    pub rejected: Vec<Rejected>,
    /// Null cells per catalog column among the rows written, in catalog order.
    pub nulls: Vec<ColumnNulls>,
    /// Source columns not in the catalog, left out of the output.
    pub dropped_columns: Vec<String>,
    pub bytes_in: u64,
    /// Pipe-CSV bytes before compression (0 when only validating).
    pub csv_bytes: u64,
    /// Zip bytes written (0 when only validating).
    pub bytes_out: u64,
    /// Deflate bytes per level (index = level); only an emission at `--level auto` spreads them over several.
    #[serde(skip)]
    pub deflated_by_level: [u64; 10],
    /// Rows rejected because a code is missing from its master (`unknown_school`, ...), per column.
    pub misses: Vec<Missed>,
    /// The codes collected for [`CrossChecks::collect`], by column.
    #[serde(skip)]
    pub codes: Vec<(String, Arc<CodeSet>)>,
    /// Later copies of a key identical to its first copy (among the rejected duplicates): cQube collapses them.
    pub duplicates_exact: u64,
    /// Rows cQube itself would discard, were the file sent without our duplicate check: every copy of a key whose
    /// copies differ (INGESTION.md §2.6). Ours keeps each key's first copy instead.
    pub cqube_duplicate_discards: u64,
    /// Keys held for the duplicate check, and whether every row's key was checked.
    pub keys_tracked: u64,
    pub key_check_complete: bool,
    pub seconds: f64,
    /// What the caller should show even on success: a non-empty input that gave no rows, say.
    pub warnings: Vec<String>,
}

/// A warning rule broken in the rows written: counted, never a reason to reject.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warned {
    pub column: String,
    /// The rule, in words (`academic year YYYY-YY`).
    pub rule: String,
    /// Cells that break it.
    pub count: u64,
    pub first_line: u64,
    /// The first offending value, cut as in the rejects report.
    pub first_value: String,
    /// The offending values, most frequent first (at most [`MAX_VALUES`](crate::MAX_VALUES) kept).
    #[serde(flatten)]
    pub offenders: Offenders,
}

/// Rows whose code a master lacks, for one referring column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Missed {
    pub column: String,
    /// `unknown_school`, ...
    pub rule: &'static str,
    /// The master column looked in: `school_master.udise_sch_code`.
    pub master: String,
    pub count: u64,
    pub first_line: u64,
    pub first_value: String,
}

impl Summary {
    /// Input megabytes (10⁶ bytes) per second.
    pub fn mb_per_second(&self) -> f64 {
        if self.seconds > 0.0 { self.bytes_in as f64 / 1e6 / self.seconds } else { 0.0 }
    }
}

type DecodedReader = LineEndReader<
    io::Chain<io::Cursor<Vec<u8>>, cqube_normalize::Utf8Reader<io::Chain<io::Cursor<Vec<u8>>, Box<dyn Read + Send>>>>,
>;

/// An export whose encoding, delimiter, header and data source are known, ready to convert.
pub struct Prepared<'c> {
    pub input: String,
    pub source: &'c DataSource,
    pub source_inferred_by: Option<&'static str>,
    pub encoding: Detected,
    pub delimiter: u8,
    pub delimiter_detected: bool,
    pub gzip: bool,
    pub line_ends: LineEnds,
    pub header: Vec<String>,
    pub header_map: HeaderMap,
    size: Option<u64>,
    bytes_read: Arc<AtomicU64>,
    chunker: Chunker<DecodedReader>,
    options: ConvertOptions,
    started: Instant,
}

impl std::fmt::Debug for Prepared<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("input", &self.input)
            .field("source", &self.source.name)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

const SNIFF_BYTES: usize = 64 * 1024;

/// Reads the start of `input`: detects encoding and delimiter, reads the header, picks the data source
/// (given, else from the file name, else from the header) and maps the header onto its columns.
pub fn prepare<'c>(
    catalog: &'c Catalog,
    source: Option<&'c DataSource>,
    input: Input,
    options: &ConvertOptions,
) -> Result<Prepared<'c>, Error> {
    let started = Instant::now();
    let Input { name, size, mut reader, gzip, bytes_read } = input;
    let read_err = |source| Error::Read { input: name.clone(), source };
    let prefix = read_up_to(&mut reader, cqube_normalize::ENCODING_SAMPLE_BYTES).map_err(read_err)?;
    let encoding = match options.encoding {
        Some(given) => Detected::given(given, &prefix),
        None => cqube_normalize::detect_encoding(&prefix),
    };
    let mut decoded = cqube_normalize::utf8_reader(io::Cursor::new(prefix).chain(reader), &encoding);
    let initial = read_up_to(&mut decoded, SNIFF_BYTES).map_err(read_err)?;
    let line_ends = cqube_normalize::detect_line_ends(&initial);
    let mut decoded = LineEndReader::new(io::Cursor::new(initial).chain(decoded), line_ends);
    let initial = read_up_to(&mut decoded, SNIFF_BYTES).map_err(read_err)?;
    let (delimiter, delimiter_detected) = match options.delimiter {
        Some(d) => (d, false),
        None => cqube_normalize::detect_delimiter(&initial).map_or((b',', false), |d| (d, true)),
    };
    let mut chunker =
        Chunker::new(decoded, initial, delimiter, options.chunk_bytes.max(1), options.max_record_bytes.max(1024));
    let header_chunk = chunker
        .first_record()
        .map_err(|e| chunk_error(&name, e))?
        .ok_or_else(|| Error::Empty { input: name.clone() })?;
    let header =
        parse_header(&header_chunk.data, delimiter).ok_or_else(|| Error::HeaderEncoding { input: name.clone() })?;
    if header.iter().all(String::is_empty) {
        return Err(Error::Empty { input: name });
    }
    let (source, source_inferred_by) = if let Some(s) = source {
        (s, None)
    } else {
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let path = (name != "-").then_some(name.as_str());
        let filled =
            |s: &DataSource| options.mappings.get(&s.name).map(|m| mapped_columns(m, &header)).unwrap_or_default();
        match catalog.infer_source(path, &header, &filled) {
            Ok((s, by)) => (s, Some(by.as_str())),
            Err(problem) => return Err(Error::UnknownSource { input: name, problem }),
        }
    };
    if !source.columns_known() {
        return Err(Error::ColumnsUnknown(source.name.clone()));
    }
    let mapping = options.mappings.get(&source.name).cloned().unwrap_or_default();
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let header_map = cqube_normalize::map_header(source, &header_refs, &mapping)
        .map_err(|problem| Error::Header { input: name.clone(), problem })?;
    for (column, slot) in source.columns.iter().zip(&header_map.slots) {
        if let Slot::Constant(value) = slot {
            cqube_normalize::normalize_value(column, value, &options.values).map_err(|v| Error::BadConstant {
                column: column.name.clone(),
                value: value.clone(),
                rule: v.to_string(),
            })?;
        }
    }
    let (known, unexpected): (Vec<&String>, Vec<&String>) =
        header_map.dropped.iter().partition(|c| options.known_extra_columns.iter().any(|k| k.eq_ignore_ascii_case(c)));
    if !unexpected.is_empty() {
        tracing::warn!(input = %name, source = %source.name, dropped = ?unexpected, "columns not in the catalog are left out");
    }
    if !known.is_empty() {
        tracing::debug!(input = %name, source = %source.name, dropped = ?known, "columns used only by the emitter are left out");
    }
    Ok(Prepared {
        input: name,
        source,
        source_inferred_by,
        encoding,
        delimiter,
        delimiter_detected,
        gzip,
        line_ends,
        header,
        header_map,
        size,
        bytes_read,
        chunker,
        options: options.clone(),
        started,
    })
}

impl Prepared<'_> {
    /// Converts the rest of the input into a one-entry zip (`<stem>.csv`) written to `out`.
    pub fn convert<W: Write>(
        self,
        out: W,
        zip: ZipOptions,
        rejects: &mut dyn RejectSink,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<(W, Summary), Error> {
        let entry = format!("{}.csv", self.source.file_stem);
        let zip = ZipStream::new(out, &entry, zip).map_err(Error::Output)?;
        self.convert_into(zip, rejects, progress)
    }

    /// [`Prepared::convert`], each zip block at the level `levels` chooses (see [`ZipStream::with_levels`]).
    pub fn convert_with_levels<W: Write>(
        self,
        out: W,
        zip: ZipOptions,
        levels: Box<dyn cqube_zip::LevelSource>,
        rejects: &mut dyn RejectSink,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<(W, Summary), Error> {
        let entry = format!("{}.csv", self.source.file_stem);
        let zip = ZipStream::with_levels(out, &entry, zip, levels).map_err(Error::Output)?;
        self.convert_into(zip, rejects, progress)
    }

    fn convert_into<W: Write>(
        self,
        mut zip: ZipStream<W>,
        rejects: &mut dyn RejectSink,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<(W, Summary), Error> {
        let mut summary = self.run(Some(&mut zip), rejects, progress)?;
        let (out, entry) = zip.finish().map_err(Error::Output)?;
        summary.bytes_out = entry.zip_bytes;
        summary.deflated_by_level = entry.deflated_by_level;
        Ok((out, summary))
    }

    /// Reads and checks the rest of the input without writing anything but rejects.
    pub fn validate(self, rejects: &mut dyn RejectSink, progress: &mut dyn FnMut(&Progress)) -> Result<Summary, Error> {
        self.run(None, rejects, progress)
    }

    fn run(
        self,
        mut out: Option<&mut dyn Write>,
        rejects: &mut dyn RejectSink,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Summary, Error> {
        let Prepared { input, source, chunker, options, bytes_read, size, .. } = self;
        let mut work = Work::new(source, &self.header_map, self.header.len(), self.delimiter, &options);
        // The BOM was dropped before the chunker counts bytes; offsets in messages are the file's.
        work.offset_base = self.encoding.bom_len as u64;
        let work = Arc::new(work);
        let mut csv_bytes = 0;
        if let Some(out) = out.as_deref_mut() {
            let mut header = Vec::new();
            cqube_encode::write_record(
                &mut header,
                source.delimiter,
                source.columns.iter().map(|c| Some(c.name.as_str())),
            );
            out.write_all(&header).map_err(Error::Output)?;
            csv_bytes += header.len() as u64;
        }
        let mut state = Tally {
            input: &input,
            source,
            options: &options,
            keys: (!source.key.is_empty()).then(|| KeySet::with_budget(options.key_memory_bytes)),
            rows_in: 0,
            rows_out: 0,
            rejected: 0,
            csv_bytes,
            warned: BTreeMap::new(),
            rows_warned: 0,
            rejected_by: RejectTally::default(),
            nulls: vec![0; source.columns.len()],
            gatherers: work.collect.iter().map(|_| Gatherer::default()).collect(),
            misses: BTreeMap::new(),
            duplicate_keys: std::collections::HashMap::new(),
            duplicates_exact: 0,
            cqube_duplicate_discards: 0,
            duplicates_preview_complete: true,
        };
        pipeline(chunker, &work, options.chunks_in_flight.max(1), |chunk| {
            work.recycle(state.take(chunk, &mut out, rejects)?);
            progress(&Progress {
                bytes_in: bytes_read.load(Ordering::Relaxed),
                total_bytes: size,
                rows_in: state.rows_in,
                rows_out: state.rows_out,
                rows_rejected: state.rejected,
            });
            Ok(())
        })
        .map_err(|e| match e {
            PipelineError::Chunk(e) => chunk_error(&input, e),
            PipelineError::Stopped(e) => e,
        })?;
        Ok(Summary {
            source: source.name.clone(),
            source_inferred_by: self.source_inferred_by,
            encoding: self.encoding.encoding.label(),
            encoding_reason: self.encoding.reason,
            delimiter: char::from(self.delimiter).to_string(),
            delimiter_detected: self.delimiter_detected,
            gzip: self.gzip,
            line_ends: match self.line_ends {
                LineEnds::Cr => "cr",
                LineEnds::Lf => "lf",
            },
            rows_in: state.rows_in,
            rows_out: state.rows_out,
            rows_rejected: state.rejected,
            rows_warned: state.rows_warned,
            warned: state.warned(),
            rejected: std::mem::take(&mut state.rejected_by).finish(),
            nulls: source
                .columns
                .iter()
                .zip(&state.nulls)
                .map(|(c, &nulls)| ColumnNulls { column: c.name.clone(), nulls })
                .collect(),
            misses: state.misses(&work),
            codes: work
                .collect
                .iter()
                .zip(std::mem::take(&mut state.gatherers))
                .map(|(&column, g)| (source.columns[column].name.clone(), Arc::new(g.finish())))
                .collect(),
            dropped_columns: self.header_map.dropped.clone(),
            bytes_in: bytes_read.load(Ordering::Relaxed),
            csv_bytes: state.csv_bytes,
            bytes_out: 0,
            deflated_by_level: [0; 10],
            duplicates_exact: state.duplicates_exact,
            cqube_duplicate_discards: state.cqube_duplicate_discards,
            keys_tracked: state.keys.as_ref().map_or(0, KeySet::tracked),
            key_check_complete: state.keys.as_ref().is_none_or(KeySet::complete),
            seconds: self.started.elapsed().as_secs_f64(),
            warnings: [
                (state.rows_in == 0).then(|| "no data rows: the input holds a header and nothing else".to_owned()),
                (!state.duplicates_preview_complete).then(|| {
                    format!(
                        "what cQube's duplicate rule would discard is counted for the first {MAX_DUPLICATE_KEYS} \
                         duplicated keys only"
                    )
                }),
            ]
            .into_iter()
            .flatten()
            .collect(),
            input,
        })
    }
}

/// The ordered, single-threaded end of the pipeline: counts, duplicate keys, rejects, output.
struct Tally<'a> {
    input: &'a str,
    source: &'a DataSource,
    options: &'a ConvertOptions,
    keys: Option<KeySet>,
    rows_in: u64,
    rows_out: u64,
    rejected: u64,
    csv_bytes: u64,
    /// Per (column, rule) broken: the count, the first line and value, the offending values.
    warned: BTreeMap<(usize, usize), (u64, u64, String, Offenders)>,
    rows_warned: u64,
    rejected_by: RejectTally,
    /// Per column: null cells of the rows written.
    nulls: Vec<u64>,
    /// One per collected column.
    gatherers: Vec<Gatherer>,
    /// Per referring column: rows rejected for a missing code, the first line and value.
    misses: BTreeMap<usize, (u64, u64, String)>,
    /// Per key seen more than once: its copies so far and whether they differ.
    duplicate_keys: std::collections::HashMap<u64, (u64, bool)>,
    duplicates_exact: u64,
    cqube_duplicate_discards: u64,
    duplicates_preview_complete: bool,
}

/// Keys seen more than once whose copies are counted for the preview of cQube's duplicate rule (24 MiB at most);
/// past it, the preview says it is partial.
const MAX_DUPLICATE_KEYS: usize = 1 << 20;

impl Tally<'_> {
    fn take(
        &mut self,
        mut c: ChunkOutput,
        out: &mut Option<&mut dyn Write>,
        sink: &mut dyn RejectSink,
    ) -> Result<Vec<u8>, Error> {
        self.rows_in += c.rows_in;
        let copies = self.keys.as_mut().map(|keys| keys.insert_all(&c.key_hashes, &c.row_hashes)).unwrap_or_default();
        self.preview_cqube_duplicates(&c.key_hashes, &copies);
        let duplicates: Vec<usize> = copies.iter().map(|&(row, _)| row).collect();
        for &row in &duplicates {
            c.rejects.push(self.duplicate_reject(&c, row));
        }
        c.rejects.sort_by_key(|r| r.line);
        if self.options.on_error == OnError::Fail {
            if let Some(first) = c.rejects.drain(..).next() {
                sink.record(self.input, &first).map_err(Error::Rejects)?;
                return Err(Error::Row { input: self.input.to_owned(), reject: Box::new(first) });
            }
        } else {
            for r in &c.rejects {
                sink.record(self.input, r).map_err(Error::Rejects)?;
                self.rejected_by.add(r);
                if let Some(column) = r.reference_column {
                    let entry = self.misses.entry(column).or_insert_with(|| (0, r.line, r.value.clone()));
                    entry.0 += 1;
                }
            }
            self.rejected += c.rejects.len() as u64;
            if let Some(max) = self.options.max_errors.filter(|&max| self.rejected > max) {
                return Err(Error::TooManyErrors { input: self.input.to_owned(), max });
            }
        }
        self.count_warnings(&c.warnings, &c.row_lines, &duplicates);
        self.count_nulls(&c, &duplicates);
        // Codes of rows dropped as duplicates are their first copy's codes too.
        for &(slot, code) in &c.codes {
            self.gatherers[slot as usize].push(code);
        }
        if !duplicates.is_empty() {
            c.encoded = remove_rows(&c.encoded, &c.row_ends, &duplicates);
        }
        self.rows_out += (c.row_lines.len() - duplicates.len()) as u64;
        self.csv_bytes += c.encoded.len() as u64;
        if let Some(out) = out {
            out.write_all(&c.encoded).map_err(Error::Output)?;
        }
        Ok(c.encoded)
    }

    /// cQube's own duplicate rule on these later copies (INGESTION.md §2.6): an exact copy collapses into the first,
    /// a copy that differs makes cQube discard every copy of its key, the first and the exact ones included.
    fn preview_cqube_duplicates(&mut self, key_hashes: &[u64], copies: &[(usize, bool)]) {
        for &(row, same) in copies {
            let full = self.duplicate_keys.len() >= MAX_DUPLICATE_KEYS;
            let key = key_hashes[row];
            let Some((count, differ)) = (match self.duplicate_keys.get_mut(&key) {
                Some(state) => Some(state),
                None if full => None,
                None => Some(self.duplicate_keys.entry(key).or_insert((1, false))),
            }) else {
                self.duplicates_preview_complete = false;
                continue;
            };
            *count += 1;
            match (same, *differ) {
                (_, true) => self.cqube_duplicate_discards += 1,
                (true, false) => self.duplicates_exact += 1,
                (false, false) => {
                    *differ = true;
                    self.cqube_duplicate_discards += *count;
                }
            }
        }
    }

    /// Counts the warnings of the rows written (not of those dropped as duplicates).
    fn count_warnings(&mut self, warnings: &[Warning], row_lines: &[u64], duplicates: &[usize]) {
        let dropped: Vec<u64> = duplicates.iter().map(|&row| row_lines[row]).collect();
        let mut last_line = None;
        for w in warnings.iter().filter(|w| !dropped.contains(&w.line)) {
            let entry = self
                .warned
                .entry((w.column, w.rule))
                .or_insert_with(|| (0, w.line, w.value.clone(), Offenders::default()));
            entry.0 += 1;
            entry.3.add(&crate::reject::cut(&w.value));
            if last_line != Some(w.line) {
                self.rows_warned += 1;
                last_line = Some(w.line);
            }
        }
    }

    /// The reference misses, in catalog order.
    fn misses(&self, work: &Work) -> Vec<Missed> {
        self.misses
            .iter()
            .filter_map(|(&column, (count, first_line, value))| {
                let (_, rule, master) = work.lookups[column].as_ref()?;
                Some(Missed {
                    column: self.source.columns[column].name.clone(),
                    rule: rule.as_str(),
                    master: master.clone(),
                    count: *count,
                    first_line: *first_line,
                    first_value: value.clone(),
                })
            })
            .collect()
    }

    /// The warning counts, in catalog order.
    fn warned(&self) -> Vec<Warned> {
        self.warned
            .iter()
            .map(|(&(column, rule), (count, first_line, value, offenders))| {
                let column = &self.source.columns[column];
                Warned {
                    column: column.name.clone(),
                    rule: column.checks[rule].check.to_string(),
                    count: *count,
                    first_line: *first_line,
                    first_value: crate::reject::cut(value).into_owned(),
                    offenders: offenders.clone().sorted(),
                }
            })
            .collect()
    }

    /// The null cells of the rows written: the chunk's, less those of its rows dropped as duplicates.
    fn count_nulls(&mut self, c: &ChunkOutput, duplicates: &[usize]) {
        for (total, chunk) in self.nulls.iter_mut().zip(&c.nulls) {
            *total += chunk;
        }
        for &row in duplicates {
            let fields = self.written_fields(c, row);
            for (total, field) in self.nulls.iter_mut().zip(fields.iter()) {
                *total -= u64::from(field.is_empty());
            }
        }
    }

    /// A row of the chunk's output, read back into its fields.
    fn written_fields(&self, c: &ChunkOutput, row: usize) -> csv::StringRecord {
        let start = if row == 0 { 0 } else { c.row_ends[row - 1] as usize };
        let line = &c.encoded[start..c.row_ends[row] as usize];
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(self.source.delimiter)
            .has_headers(false)
            .escape(Some(b'\\'))
            .from_reader(line);
        rdr.records().next().and_then(Result::ok).unwrap_or_default()
    }

    fn duplicate_reject(&self, c: &ChunkOutput, row: usize) -> Reject {
        let fields = self.written_fields(c, row);
        let values: Vec<&str> = self
            .source
            .key
            .iter()
            .map(|k| self.source.columns.iter().position(|c| &c.name == k).and_then(|i| fields.get(i)).unwrap_or(""))
            .collect();
        Reject::new(
            c.row_lines[row],
            Some(&self.source.key.join("+")),
            &values.join("|"),
            "duplicate key: an earlier row has the same key (cQube would discard both)".to_owned(),
            "duplicate_key",
        )
    }
}

fn remove_rows(encoded: &[u8], ends: &[u32], drop: &[usize]) -> Vec<u8> {
    let mut kept = Vec::with_capacity(encoded.len());
    let mut start = 0;
    let mut drop = drop.iter().peekable();
    for (row, &end) in ends.iter().enumerate() {
        if drop.next_if_eq(&&row).is_none() {
            kept.extend_from_slice(&encoded[start..end as usize]);
        }
        start = end as usize;
    }
    kept
}

/// Everything a worker needs to convert a chunk, shared by all workers.
struct Work {
    /// The source's columns, with the warnings `strict`/`strict_checks` raise made errors.
    columns: Vec<Column>,
    /// Per column: whether it has warning rules left to count.
    warns: Vec<bool>,
    slots: Vec<Slot>,
    quick: Vec<QuickRule>,
    is_key: Vec<bool>,
    /// Per column: the master codes it must be found among (set, rule, master column).
    lookups: Vec<Option<(Arc<CodeSet>, cqube_core::ReferenceRule, String)>>,
    /// Columns whose codes are collected, and per column its place among them.
    collect: Vec<usize>,
    collect_slot: Vec<Option<u32>>,
    /// Per column: whether its codes are integers (compared without leading zeros).
    integer: Vec<bool>,
    header_len: usize,
    in_delimiter: u8,
    out_delimiter: u8,
    values: ValueOptions,
    fail_fast: bool,
    /// Added to text offsets to give file offsets (the BOM's length) in messages.
    offset_base: u64,
    /// Output buffers already written, for the next chunks: fresh ones cost page faults, and glibc keeps
    /// memory in per-thread arenas when a buffer is allocated on one thread and freed on another.
    spare: Mutex<Vec<Vec<u8>>>,
}

impl Work {
    fn new(
        source: &DataSource,
        map: &HeaderMap,
        header_len: usize,
        in_delimiter: u8,
        options: &ConvertOptions,
    ) -> Work {
        let mut columns = source.columns.clone();
        for c in &mut columns {
            if options.strict || options.strict_checks.iter().any(|n| *n == format!("{}.{}", source.name, c.name)) {
                c.raise_warnings();
            }
        }
        let lookups = source
            .columns
            .iter()
            .map(|c| {
                let l = options.cross.lookups.iter().find(|l| l.column == c.name)?;
                Some((Arc::clone(&l.codes), l.rule, l.master.clone()))
            })
            .collect();
        let collect: Vec<usize> =
            (0..source.columns.len()).filter(|&i| options.cross.collect.contains(&source.columns[i].name)).collect();
        Work {
            is_key: source.columns.iter().map(|c| source.key.contains(&c.name)).collect(),
            lookups,
            collect_slot: (0..source.columns.len())
                .map(|i| collect.iter().position(|&c| c == i).map(|slot| slot as u32))
                .collect(),
            collect,
            integer: source.columns.iter().map(|c| matches!(c.ty, cqube_core::ColumnType::Int { .. })).collect(),
            warns: columns.iter().map(Column::has_warnings).collect(),
            columns,
            slots: map.slots.clone(),
            quick: source.columns.iter().map(|c| QuickRule::new(c, &options.values, source.delimiter)).collect(),
            header_len,
            in_delimiter,
            out_delimiter: source.delimiter,
            values: options.values.clone(),
            fail_fast: options.on_error == OnError::Fail,
            offset_base: 0,
            spare: Mutex::new(Vec::new()),
        }
    }

    /// An empty output buffer with room for `len` bytes.
    fn output_buffer(&self, len: usize) -> Vec<u8> {
        let mut buf = self.spare.lock().unwrap_or_else(PoisonError::into_inner).pop().unwrap_or_default();
        buf.reserve(len);
        buf
    }

    /// Keeps a written buffer for [`Work::output_buffer`]. There are never more than the chunks in flight.
    fn recycle(&self, mut buf: Vec<u8>) {
        buf.clear();
        self.spare.lock().unwrap_or_else(PoisonError::into_inner).push(buf);
    }
}

/// One chunk, converted.
struct ChunkOutput {
    index: u64,
    rows_in: u64,
    /// Pipe-CSV of the rows that passed, and for each: where it ends, its input line, its key hash.
    encoded: Vec<u8>,
    row_ends: Vec<u32>,
    row_lines: Vec<u64>,
    key_hashes: Vec<u64>,
    /// For each keyed row: a 32-bit hash of the row as written (exact copies have equal ones).
    row_hashes: Vec<u32>,
    /// The fingerprints of the collected columns of the rows that passed: (place among them, fingerprint).
    codes: Vec<(u32, u64)>,
    rejects: Vec<Reject>,
    /// Warning rules broken by the rows that passed, in row order.
    warnings: Vec<Warning>,
    /// Per column: null cells of the rows that passed.
    nulls: Vec<u64>,
}

/// One cell that breaks a warning rule: its column and rule (positions in the catalog), line and value.
struct Warning {
    column: usize,
    rule: usize,
    line: u64,
    value: String,
}

/// Parses, maps, normalizes and encodes one chunk. Runs on the rayon pool.
fn convert_chunk(w: &Work, chunk: &Chunk) -> ChunkOutput {
    let mut rows = Rows {
        w,
        keyed: w.is_key.contains(&true),
        key: Vec::new(),
        codes: Vec::new(),
        out: ChunkOutput {
            index: chunk.index,
            rows_in: 0,
            encoded: w.output_buffer(chunk.data.len() + chunk.data.len() / 8),
            row_ends: Vec::new(),
            row_lines: Vec::new(),
            key_hashes: Vec::new(),
            row_hashes: Vec::new(),
            codes: Vec::new(),
            rejects: Vec::new(),
            warnings: Vec::new(),
            nulls: vec![0; w.columns.len()],
        },
        nulls: Vec::new(),
    };
    // Checked once for the whole chunk (nearly always valid): then no record or field needs checking.
    let valid_utf8 = std::str::from_utf8(&chunk.data).is_ok();
    if valid_utf8 && plain_lines(&chunk.data, w.in_delimiter) {
        split_lines(chunk, w.in_delimiter, &mut rows);
    } else {
        read_records(chunk, w.in_delimiter, valid_utf8, &mut rows);
    }
    rows.out
}

/// Whether the csv reader would read each line of `data` as one record cut at every delimiter: no quotes,
/// no line end but `\n` and `\r\n` (csv also ends a record at a lone `\r`), no byte-order mark.
fn plain_lines(data: &[u8], delimiter: u8) -> bool {
    !matches!(delimiter, b'"' | b'\r' | b'\n')
        // csv drops a byte-order mark at the start of its input
        && !data.starts_with("\u{feff}".as_bytes())
        && memchr::memchr(b'"', data).is_none()
        && memchr::memchr_iter(b'\r', data).all(|i| data.get(i + 1) == Some(&b'\n'))
}

/// Cuts a [`plain_lines`] chunk into records as the csv reader would (skipping empty lines), in one pass,
/// without copying fields.
fn split_lines(chunk: &Chunk, delimiter: u8, rows: &mut Rows) {
    let data = chunk.data.as_slice();
    let mut ends = Vec::new();
    let mut start = 0;
    let mut line = chunk.first_line;
    let mut record = |from: usize, to: usize, ends: &mut Vec<usize>, line: u64| {
        let text = &data[from..to];
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        ends.push(text.len());
        text.is_empty() || rows.push(&Split { line: text, ends }, line, None)
    };
    for (i, &b) in data.iter().enumerate() {
        if b == delimiter {
            ends.push(i - start);
        } else if b == b'\n' {
            if !record(start, i, &mut ends, line) {
                return;
            }
            ends.clear();
            start = i + 1;
            line += 1;
        }
    }
    if start < data.len() {
        record(start, data.len(), &mut ends, line);
    }
}

/// Reads a chunk with the csv reader: quoted fields, lone `\r` line ends, invalid UTF-8.
fn read_records(chunk: &Chunk, delimiter: u8, valid_utf8: bool, rows: &mut Rows) {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(chunk.data.as_slice());
    let mut record = csv::ByteRecord::new();
    // Reading from a slice cannot fail, and with `flexible` ragged rows are not errors either.
    while rdr.read_byte_record(&mut record).unwrap_or(false) {
        let line = chunk.first_line + record_line(&chunk.data, record.position()) - 1;
        let invalid = (!valid_utf8 && std::str::from_utf8(record.as_slice()).is_err())
            .then(|| first_invalid_byte(chunk, record.position()));
        if !rows.push(&record, line, invalid) {
            break;
        }
    }
}

/// The first byte that is not UTF-8 at or after where csv began reading a record (one of the record's own, since
/// the record is not UTF-8): its value and its offset in the text.
fn first_invalid_byte(chunk: &Chunk, position: Option<&csv::Position>) -> (u8, u64) {
    let start = position.map_or(0, |p| p.byte() as usize).min(chunk.data.len());
    let at = start + std::str::from_utf8(&chunk.data[start..]).err().map_or(0, |e| e.valid_up_to());
    (chunk.data.get(at).copied().unwrap_or(0), chunk.first_byte + at as u64)
}

/// The 1-based line where a record read by csv starts. csv gives the position where it began reading, which is
/// before the line ends it skips first: the `\n` of a `\r\n` (it stops at the `\r`) and empty lines.
fn record_line(data: &[u8], position: Option<&csv::Position>) -> u64 {
    let Some(position) = position else { return 1 };
    let skipped = data.get(position.byte() as usize..).unwrap_or_default();
    let line_ends = skipped.iter().take_while(|&&b| b == b'\r' || b == b'\n').filter(|&&b| b == b'\n').count();
    position.line() + line_ends as u64
}

/// A record's fields, from the csv reader or from [`split_lines`].
trait Fields {
    fn count(&self) -> usize;
    fn field(&self, i: usize) -> &[u8];
}

impl Fields for csv::ByteRecord {
    fn count(&self) -> usize {
        self.len()
    }

    fn field(&self, i: usize) -> &[u8] {
        &self[i]
    }
}

/// One line of a [`plain_lines`] chunk and where each of its fields ends.
struct Split<'a> {
    line: &'a [u8],
    ends: &'a [usize],
}

impl Fields for Split<'_> {
    fn count(&self) -> usize {
        self.ends.len()
    }

    fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] + 1 };
        &self.line[start..self.ends[i]]
    }
}

/// A chunk's output as its records are converted.
struct Rows<'w> {
    w: &'w Work,
    keyed: bool,
    key: Vec<u8>,
    /// The row's collected fingerprints.
    codes: Vec<(u32, u64)>,
    /// The row's null columns.
    nulls: Vec<u32>,
    out: ChunkOutput,
}

impl Rows<'_> {
    /// Converts one record found at `line`; `false` when the chunk stops here (a rejected row, failing fast).
    /// `invalid` is the first byte that is not UTF-8 and its offset in the text, for a record that is not.
    fn push(&mut self, record: &impl Fields, line: u64, invalid: Option<(u8, u64)>) -> bool {
        let c = &mut self.out;
        c.rows_in += 1;
        let start = c.encoded.len();
        let warnings_before = c.warnings.len();
        self.key.clear();
        self.codes.clear();
        self.nulls.clear();
        let outcome = match invalid {
            None => encode_row(
                self.w,
                record,
                line,
                &mut c.encoded,
                (&mut self.key, &mut self.codes, &mut self.nulls),
                &mut c.warnings,
            ),
            Some(invalid) => Err(utf8_reject(self.w, record, line, invalid)),
        };
        match outcome {
            Ok(()) => {
                if self.keyed {
                    c.key_hashes.push(xxhash_rust::xxh3::xxh3_64(&self.key));
                    c.row_hashes.push(xxhash_rust::xxh3::xxh3_64(&c.encoded[start..]) as u32);
                }
                c.encoded.push(b'\n');
                c.row_ends.push(c.encoded.len() as u32);
                c.row_lines.push(line);
                c.codes.extend_from_slice(&self.codes);
                for &column in &self.nulls {
                    c.nulls[column as usize] += 1;
                }
                true
            }
            Err(reject) => {
                c.encoded.truncate(start);
                c.warnings.truncate(warnings_before);
                c.rejects.push(reject);
                !self.w.fail_fast
            }
        }
    }
}

/// Names the first output column whose source field is not UTF-8 (or the row, if that field is dropped).
fn utf8_reject(w: &Work, record: &impl Fields, line: u64, (byte, offset): (u8, u64)) -> Reject {
    let offset = w.offset_base + offset;
    let rule = format!(
        "not valid UTF-8: byte 0x{byte:02X} at offset {offset} (pass --encoding if the file is in another encoding)"
    );
    let bad = (0..record.count()).position(|i| std::str::from_utf8(record.field(i)).is_err()).unwrap_or(0);
    let column =
        w.columns.iter().zip(&w.slots).find(|(_, slot)| **slot == Slot::Field(bad)).map(|(c, _)| c.name.as_str());
    let value = String::from_utf8_lossy(if bad < record.count() { record.field(bad) } else { b"" });
    Reject::new(line, column, &value, rule, "invalid_utf8")
}

/// Appends one record's output fields (no line end), its key bytes, collected codes and null columns, or says why
/// the row is rejected. The record must be valid UTF-8.
fn encode_row(
    w: &Work,
    record: &impl Fields,
    line: u64,
    out: &mut Vec<u8>,
    (key, codes, nulls): (&mut Vec<u8>, &mut Vec<(u32, u64)>, &mut Vec<u32>),
    warnings: &mut Vec<Warning>,
) -> Result<(), Reject> {
    if record.count() != w.header_len {
        let rule = format!("row has {} fields, the header has {}", record.count(), w.header_len);
        let row = (0..record.count().min(50))
            .map(|i| String::from_utf8_lossy(record.field(i)))
            .collect::<Vec<_>>()
            .join(&char::from(w.in_delimiter).to_string());
        return Err(Reject::new(line, None, &row, rule, "field_count"));
    }
    for (i, ((column, slot), quick)) in w.columns.iter().zip(&w.slots).zip(&w.quick).enumerate() {
        if i > 0 {
            out.push(w.out_delimiter);
        }
        let raw = match slot {
            Slot::Field(f) => record.field(*f),
            Slot::Constant(value) => value.as_bytes(),
            Slot::Absent => b"",
        };
        let written = out.len();
        let null = match quick.classify(raw) {
            Quick::Verbatim => {
                // One-byte cells (attendance codes) are most cells; a `memcpy` call costs more than they do.
                if let [byte] = raw {
                    out.push(*byte);
                } else {
                    out.extend_from_slice(raw);
                }
                false
            }
            Quick::Null => true,
            Quick::Slow => {
                let raw = std::str::from_utf8(raw).expect("callers pass records already checked to be UTF-8");
                let value = cqube_normalize::normalize_value(column, raw, &w.values)
                    .map_err(|v| Reject::new(line, Some(&column.name), raw, v.to_string(), v.code()))?;
                if let Some(v) = &value {
                    if w.warns[i] {
                        let broken = cqube_normalize::warned(column, v);
                        warnings.extend(broken.map(|rule| Warning { column: i, rule, line, value: v.to_string() }));
                    }
                    cqube_encode::write_field(out, v, w.out_delimiter);
                }
                value.is_none()
            }
        };
        if out.len() == written {
            // Empty as written, null or not: cQube reads it as null.
            nulls.push(i as u32);
        }
        if w.is_key[i] {
            // The value as written: quoting is one-to-one, so equal keys are equal written bytes.
            key.extend_from_slice(if null { NULL_KEY } else { &out[written..] });
            key.push(0x1f);
        }
        if let Some(slot) = w.collect_slot[i].filter(|_| !null) {
            codes.push((slot, crate::refs::fingerprint(&out[written..], w.integer[i])));
        }
        if let Some((set, rule, master)) = w.lookups[i].as_ref().filter(|_| !null)
            && !set.contains(crate::refs::fingerprint(&out[written..], w.integer[i]))
        {
            let value = String::from_utf8_lossy(&out[written..]);
            let what = format!("{rule}: not in {master}, which cQube joins on: the row would be lost");
            return Err(Reject::new(line, Some(&column.name), &value, what, rule.as_str()).of_reference(i));
        }
    }
    Ok(())
}

/// A null key part: unlike the empty string, which text columns can hold.
const NULL_KEY: &[u8] = b"\x1e";

enum PipelineError {
    Chunk(ChunkError),
    Stopped(Error),
}

enum Message {
    Done(ChunkOutput),
    End { chunks: u64 },
    Failed { after: u64, error: ChunkError },
}

/// Reads chunks on one thread, converts them on the rayon pool and hands the results to `take` in input
/// order. At most `in_flight` chunks exist at once (read, converting, or waiting for their turn).
fn pipeline<R: Read + Send>(
    mut chunker: Chunker<R>,
    work: &Arc<Work>,
    in_flight: usize,
    mut take: impl FnMut(ChunkOutput) -> Result<(), Error>,
) -> Result<(), PipelineError> {
    let (done_tx, done_rx) = crossbeam_channel::bounded::<Message>(in_flight + 1);
    let (permit_tx, permit_rx) = crossbeam_channel::bounded::<()>(in_flight);
    for _ in 0..in_flight {
        permit_tx.send(()).expect("the channel has room for every permit");
    }
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut chunks = 0;
            // A closed permit channel means the consumer stopped early.
            while permit_rx.recv().is_ok() {
                match chunker.next_chunk() {
                    Ok(Some(chunk)) => {
                        chunks += 1;
                        let (work, done) = (Arc::clone(work), done_tx.clone());
                        rayon::spawn(move || {
                            let _ = done.send(Message::Done(convert_chunk(&work, &chunk)));
                        });
                    }
                    Ok(None) => {
                        let _ = done_tx.send(Message::End { chunks });
                        return;
                    }
                    Err(error) => {
                        let _ = done_tx.send(Message::Failed { after: chunks, error });
                        return;
                    }
                }
            }
        });
        // Dropping the receiver and the permit sender on return unblocks the reader if we stop early.
        let (done_rx, permit_tx) = (done_rx, permit_tx);
        let mut waiting: BTreeMap<u64, ChunkOutput> = BTreeMap::new();
        let mut next = 0;
        let mut end = None;
        let mut failure = None;
        loop {
            while let Some(chunk) = waiting.remove(&next) {
                take(chunk).map_err(PipelineError::Stopped)?;
                next += 1;
                let _ = permit_tx.send(());
            }
            if end == Some(next) {
                return Ok(());
            }
            if let Some((after, _)) = &failure
                && *after == next
            {
                let (_, error) = failure.take().expect("checked above");
                return Err(PipelineError::Chunk(error));
            }
            match done_rx.recv() {
                Ok(Message::Done(chunk)) => {
                    waiting.insert(chunk.index, chunk);
                }
                Ok(Message::End { chunks }) => end = Some(chunks),
                Ok(Message::Failed { after, error }) => failure = Some((after, error)),
                Err(_) => {
                    let error = io::Error::other("the reader thread stopped without a word");
                    return Err(PipelineError::Chunk(ChunkError::Io(error)));
                }
            }
        }
    })
}

fn chunk_error(input: &str, e: ChunkError) -> Error {
    let input = input.to_owned();
    match e {
        ChunkError::Io(source) => Error::Read { input, source },
        ChunkError::UnterminatedQuote { line } => Error::UnterminatedQuote { input, line },
        ChunkError::RecordTooLarge { line, limit } => Error::RecordTooLarge { input, line, limit },
    }
}

/// The catalog columns a mapping fills for this header: renamed source columns present in it, and constants.
fn mapped_columns(mapping: &Mapping, header: &[&str]) -> Vec<String> {
    let present = |name: &str| header.iter().any(|h| cqube_core::canonical_name(h) == cqube_core::canonical_name(name));
    let renamed =
        mapping.columns.iter().filter(|(from, to)| !to.trim().is_empty() && present(from)).map(|(_, to)| to.trim());
    renamed.chain(mapping.constants.keys().map(String::as_str)).map(str::to_owned).collect()
}

fn read_up_to(r: &mut impl Read, limit: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(limit);
    r.take(limit as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

fn parse_header(record: &[u8], delimiter: u8) -> Option<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(record);
    let mut rec = csv::ByteRecord::new();
    rdr.read_byte_record(&mut rec).ok()?;
    rec.iter().map(|f| std::str::from_utf8(f).ok().map(|s| s.trim().to_owned())).collect()
}

#[cfg(test)]
mod tests {
    use cqube_core::Catalog;

    use super::*;

    /// student_attendance, its header in catalog order but for one dropped source column at the end.
    fn work(on_error: OnError) -> Work {
        work_with(&ConvertOptions { on_error, ..ConvertOptions::default() })
    }

    fn work_with(options: &ConvertOptions) -> Work {
        let catalog = Catalog::builtin();
        let source = catalog.get("student_attendance").expect("a built-in source");
        let mut header: Vec<&str> = source.columns.iter().map(|c| c.name.as_str()).collect();
        header.push("remarks");
        let map = cqube_normalize::map_header(source, &header, &Mapping::default()).expect("the catalog's own header");
        Work::new(source, &map, header.len(), b',', options)
    }

    fn row(id: u32, days: &str, month: &str) -> String {
        format!("{id},2004010200{id},20040102009,,2022-23,{month},{days},x\n")
    }

    fn convert(w: &Work, data: &[u8], split: bool) -> ChunkOutput {
        let chunk = Chunk { index: 0, first_line: 7, first_byte: 0, data: data.to_vec() };
        let mut rows = Rows {
            w,
            keyed: true,
            key: Vec::new(),
            codes: Vec::new(),
            out: ChunkOutput {
                index: 0,
                rows_in: 0,
                encoded: Vec::new(),
                row_ends: Vec::new(),
                row_lines: Vec::new(),
                key_hashes: Vec::new(),
                row_hashes: Vec::new(),
                codes: Vec::new(),
                rejects: Vec::new(),
                warnings: Vec::new(),
                nulls: vec![0; w.columns.len()],
            },
            nulls: Vec::new(),
        };
        if split {
            split_lines(&chunk, w.in_delimiter, &mut rows);
        } else {
            read_records(&chunk, w.in_delimiter, true, &mut rows);
        }
        rows.out
    }

    #[test]
    fn splitting_lines_agrees_with_the_csv_reader() {
        let days = ["1,"; 30].concat() + "1";
        let nulls = ["NULL,"; 30].concat();
        let mut data = String::new();
        data += &row(1, &days, "4");
        data += &row(2, &days, "4").replace('\n', "\r\n");
        data += "\n\r\n";
        data += &row(3, &(nulls.clone() + " 2 "), "12");
        data += &row(4, &days.replacen("1,1,1", "1,8,1", 1), "4"); // breaks the day range, a warning: kept
        data += &row(5, &days, "x");
        data += "6,1,2\n"; // too few fields
        data += &row(7, &days, "NULL"); // required
        data += &row(8, &(nulls + ""), "+01");
        data += &row(9, &days, "4").replace('\n', "");
        let data = data.as_bytes();
        assert!(plain_lines(data, b','));
        for on_error in [OnError::Skip, OnError::Fail] {
            let w = work(on_error);
            let (split, csv) = (convert(&w, data, true), convert(&w, data, false));
            assert_eq!(split.rows_in, csv.rows_in);
            assert_eq!(String::from_utf8_lossy(&split.encoded), String::from_utf8_lossy(&csv.encoded));
            assert_eq!(
                (&split.row_ends, &split.row_lines, &split.key_hashes, &split.row_hashes),
                (&csv.row_ends, &csv.row_lines, &csv.key_hashes, &csv.row_hashes)
            );
            assert_eq!(split.rejects, csv.rejects);
            assert_eq!(split.nulls, csv.nulls);
            let warned =
                |c: &ChunkOutput| c.warnings.iter().map(|w| (w.column, w.line, w.value.clone())).collect::<Vec<_>>();
            assert_eq!(warned(&split), warned(&csv));
        }
        let skip = convert(&work(OnError::Skip), data, true);
        // AadhaarUID is empty in every row written; day 30 (column 35) is null in rows 3 and 8 only.
        assert_eq!((skip.nulls[3], skip.nulls[35], skip.nulls[0]), (6, 2, 0), "{:?}", skip.nulls);
        assert_eq!((skip.rows_in, skip.row_lines.as_slice()), (9, [7, 8, 11, 12, 16, 17].as_slice()));
        let lines: Vec<u64> = skip.rejects.iter().map(|r| r.line).collect();
        assert_eq!(lines, [13, 14, 15]);
        let warnings: Vec<(usize, u64, &str)> =
            skip.warnings.iter().map(|w| (w.column, w.line, w.value.as_str())).collect();
        assert_eq!(warnings, [(7, 12, "8")], "day 2 (column 8) of line 12");
        let strict = work_with(&ConvertOptions { on_error: OnError::Skip, strict: true, ..ConvertOptions::default() });
        let raised = convert(&strict, data, true);
        assert_eq!(raised.rejects.iter().map(|r| r.line).collect::<Vec<_>>(), [12, 13, 14, 15], "--strict rejects it");
        assert!(raised.warnings.is_empty());
    }

    #[test]
    fn only_plain_lines_are_split() {
        assert!(plain_lines(b"1,2\r\n3,4", b','));
        assert!(!plain_lines(b"1,\"2\"\n", b','), "quotes");
        assert!(!plain_lines(b"1,2\r3,4\n", b','), "a lone CR ends a record");
        assert!(!plain_lines(b"1,2\r", b','), "a lone CR ends a record");
        assert!(!plain_lines("\u{feff}1,2\n".as_bytes(), b','), "byte-order mark");
        assert!(!plain_lines(b"1\r2\n", b'\r'));
    }
}
