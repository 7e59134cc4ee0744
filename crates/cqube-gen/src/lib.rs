//! Deterministic synthetic exports for every catalog source.
//!
//! [`write_csv`] writes one source as a state system would export it: comma-delimited, a header of the
//! catalog's column names, RFC 4180 minimal quoting, LF line ends, UTF-8. Values follow the column
//! types, checks and keys, and every code a row mentions (school, cluster, block, district, management,
//! category, exam, question, inspection) comes from a shared [`Universe`], so sources generated from one
//! universe are referentially consistent. The same source and options give the same bytes on every
//! platform: the only randomness is ChaCha8 (a documented, portable stream) seeded from the options.
//!
//! ```
//! use cqube_core::Catalog;
//! use cqube_gen::{GenOptions, Universe, write_csv};
//!
//! let catalog = Catalog::builtin();
//! let source = catalog.get("student_attendance").unwrap();
//! let opts = GenOptions { seed: 1, rows: 10, dirty: false, universe: Universe::new(1, 50) };
//! let mut out = Vec::new();
//! let report = write_csv(source, &opts, &mut out)?;
//! assert_eq!(report.rows, 10);
//! assert!(out.starts_with(b"StudentAttendanceId,StudentId,SchoolId,AadhaarUID,AcademicYear,Month,1,2,"));
//! # Ok::<(), std::io::Error>(())
//! ```

mod dirty;
mod plan;
mod row;
mod universe;

use std::io::{self, Write};

use cqube_core::{ColumnType, DataSource};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

use crate::plan::Plan;
use crate::row::{Ctx, Spread, render_row};
pub use crate::universe::Universe;
use crate::universe::{below, mix};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Seeds the values of this file (the universe has its own seed).
    pub seed: u64,
    /// Data rows wanted; sources whose keys come from the universe stop when every key is used.
    pub rows: u64,
    /// Write realistic mess, some invalid rows and some duplicate keys (see [`GenReport`]).
    pub dirty: bool,
    /// The id space codes are drawn from.
    pub universe: Universe,
}

/// What [`write_csv`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenReport {
    /// Data rows, header excluded.
    pub rows: u64,
    /// Rows with exactly one deliberately invalid cell (dirty mode only).
    pub invalid_rows: u64,
    /// Valid rows repeating the key of an earlier valid row with different values (dirty mode only).
    pub duplicate_key_rows: u64,
    /// Bytes written, header included.
    pub bytes: u64,
}

/// Output is handed to the writer in chunks of about this size, so callers need no `BufWriter`.
const CHUNK: usize = 256 * 1024;
/// Per 10,000 dirty rows: invalid rows, then duplicate-key rows.
const INVALID_PER_10K: u64 = 100;
const DUPLICATE_PER_10K: u64 = 10;
/// Per 1,000 dirty lines: CRLF line ends.
const CRLF_PER_MILLE: u64 = 50;

/// Writes `opts.rows` rows of `source` (fewer when its key space is smaller) as a raw CSV export.
///
/// Fails with `InvalidInput` when the catalog does not know the source's columns, and with the writer's
/// error when writing fails.
pub fn write_csv<W: Write>(source: &DataSource, opts: &GenOptions, mut out: W) -> io::Result<GenReport> {
    if !source.columns_known() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("data source {}: the catalog does not know its columns", source.name),
        ));
    }
    let u = &opts.universe;
    let plan = Plan::new(source, u);
    let rows = opts.rows.min(plan.capacity);
    let file_seed = opts.seed ^ fnv1a(&source.name);
    let spread = Spread::new(plan.capacity, rows, file_seed);
    let mut rng = ChaCha8Rng::seed_from_u64(file_seed);
    let mut dirt = ChaCha8Rng::seed_from_u64(mix(file_seed ^ 0x6469_7274));
    let bad = dirty::bad_candidates(&plan);
    let mut report = GenReport { rows, ..GenReport::default() };
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + 64 * 1024);
    let (mut cells, mut ends) = (Vec::with_capacity(1024), Vec::with_capacity(plan.cols.len()));
    // The last valid, not yet repeated row: a duplicate-key row copies its key.
    let mut saved = Saved::default();

    for (i, col) in plan.cols.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        let start = buf.len();
        let quote = if opts.dirty {
            dirty::header_name(&col.name, &mut dirt, &mut buf)
        } else {
            buf.extend_from_slice(col.name.as_bytes());
            false
        };
        quote_from(&mut buf, start, quote);
    }
    end_line(&mut buf, opts.dirty, &mut dirt);

    for i in 0..rows {
        let fate = if opts.dirty { below(&mut dirt, 10_000) } else { u64::MAX };
        let mut duplicate = false;
        if fate >= INVALID_PER_10K && fate < INVALID_PER_10K + DUPLICATE_PER_10K && plan.has_key && saved.valid {
            saved.valid = false;
            // Free cells are drawn again until one differs, so the row is not an exact duplicate.
            for _ in 0..4 {
                let mut ctx = saved.ctx;
                render_row(&plan, u, &mut ctx, &mut rng, &mut cells, &mut ends);
                if saved.differs_outside_key(&plan, &cells, &ends) {
                    duplicate = true;
                    break;
                }
            }
        }
        let mut broken = None;
        if duplicate {
            report.duplicate_key_rows += 1;
        } else {
            let mut ctx = Ctx::for_row(&plan, spread, i);
            render_row(&plan, u, &mut ctx, &mut rng, &mut cells, &mut ends);
            if fate < INVALID_PER_10K && !bad.is_empty() {
                broken = Some(&bad[below(&mut dirt, bad.len() as u64) as usize]);
                report.invalid_rows += 1;
            } else if opts.dirty {
                saved.store(ctx, &cells, &ends);
            }
        }
        let mut start = 0;
        for (k, (col, &end)) in plan.cols.iter().zip(&ends).enumerate() {
            if k > 0 {
                buf.push(b',');
            }
            let cell = &cells[start..end];
            start = end;
            let field = buf.len();
            let quote = match broken {
                Some((at, how)) if *at == k => {
                    dirty::bad_cell(how, &mut dirt, &mut buf);
                    false
                }
                _ if opts.dirty => dirty::messy_cell(col, cell, &mut dirt, &mut buf),
                _ => {
                    buf.extend_from_slice(cell);
                    false
                }
            };
            if quote || matches!(col.ty, ColumnType::Text { .. }) {
                quote_from(&mut buf, field, quote);
            }
        }
        end_line(&mut buf, opts.dirty, &mut dirt);
        if buf.len() >= CHUNK {
            out.write_all(&buf)?;
            report.bytes += buf.len() as u64;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    out.flush()?;
    report.bytes += buf.len() as u64;
    Ok(report)
}

/// The row count a referentially consistent `gen --all` uses for `source` at `scale` (the rows of the
/// biggest transactional source).
///
/// Sources keyed only by universe entities (the masters, exam masters, inspections, per-school UDISE
/// tables) list every entity once whatever the scale. Student attendance and exam results get `scale`
/// rows, teacher attendance a tenth, everything else a hundredth (at least one row), each capped by the
/// number of distinct keys. Sources with unknown columns get 0.
pub fn default_rows(source: &DataSource, universe: &Universe, scale: u64) -> u64 {
    if !source.columns_known() {
        return 0;
    }
    let plan = Plan::new(source, universe);
    if plan.master_like {
        return plan.capacity;
    }
    let share = match source.name.as_str() {
        "student_attendance" | "periodic_exam_result_trans" | "semester_exam_result_trans" => scale,
        "teacher_attendance" => scale / 10,
        _ => scale / 100,
    };
    share.max(1).min(plan.capacity)
}

fn cell<'a>(cells: &'a [u8], ends: &[usize], k: usize) -> &'a [u8] {
    &cells[if k == 0 { 0 } else { ends[k - 1] }..ends[k]]
}

#[derive(Default)]
struct Saved {
    valid: bool,
    ctx: Ctx,
    cells: Vec<u8>,
    ends: Vec<usize>,
}

impl Saved {
    fn store(&mut self, ctx: Ctx, cells: &[u8], ends: &[usize]) {
        self.valid = true;
        self.ctx = ctx;
        self.cells.clear();
        self.cells.extend_from_slice(cells);
        self.ends.clear();
        self.ends.extend_from_slice(ends);
    }

    fn differs_outside_key(&self, plan: &Plan, cells: &[u8], ends: &[usize]) -> bool {
        (0..plan.cols.len())
            .filter(|&k| !plan.cols[k].in_key)
            .any(|k| cell(&self.cells, &self.ends, k) != cell(cells, ends, k))
    }
}

/// Quotes the field that starts at `start` when asked to or when it holds `,`, `"`, CR or LF, doubling
/// its quotes (RFC 4180).
fn quote_from(buf: &mut Vec<u8>, start: usize, force: bool) {
    let special = |b: &u8| matches!(b, b',' | b'"' | b'\r' | b'\n');
    if !force && !buf[start..].iter().any(special) {
        return;
    }
    let field = buf.split_off(start);
    buf.push(b'"');
    for &b in &field {
        if b == b'"' {
            buf.push(b'"');
        }
        buf.push(b);
    }
    buf.push(b'"');
}

fn end_line(buf: &mut Vec<u8>, dirty: bool, dirt: &mut ChaCha8Rng) {
    if dirty && below(dirt, 1000) < CRLF_PER_MILLE {
        buf.push(b'\r');
    }
    buf.push(b'\n');
}

/// FNV-1a: a fixed, platform-independent hash that gives each source its own stream.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_is_minimal_and_doubles_quotes() {
        let quoted = |field: &str, force: bool| {
            let mut b = b"x,".to_vec();
            b.extend_from_slice(field.as_bytes());
            quote_from(&mut b, 2, force);
            String::from_utf8(b).unwrap()
        };
        assert_eq!(quoted("plain", false), "x,plain");
        assert_eq!(quoted("", false), "x,");
        assert_eq!(quoted("a,b", false), "x,\"a,b\"");
        assert_eq!(quoted("say \"hi\"", false), "x,\"say \"\"hi\"\"\"");
        assert_eq!(quoted("two\nlines\r", false), "x,\"two\nlines\r\"");
        assert_eq!(quoted("12", true), "x,\"12\"");
    }

    #[test]
    fn unknown_columns_are_an_input_error() {
        let catalog = cqube_core::Catalog::builtin()
            .with_overrides(r#"[{"name":"blank","dir":"blank","file_stem":"blank"}]"#)
            .unwrap();
        let opts = GenOptions { seed: 1, rows: 1, dirty: false, universe: Universe::new(1, 5) };
        let err = write_csv(catalog.get("blank").unwrap(), &opts, Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("blank"));
        assert_eq!(default_rows(catalog.get("blank").unwrap(), &opts.universe, 100), 0);
    }
}
