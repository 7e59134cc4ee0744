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

use cqube_core::DataSource;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

use crate::dirty::Dirtier;
use crate::plan::Plan;
use crate::row::{Ctx, Spread, render_row};
pub use crate::universe::Universe;

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
    let mut dirtier = opts.dirty.then(|| Dirtier::new(&plan, file_seed));
    let mut report = GenReport { rows, ..GenReport::default() };
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + 64 * 1024);
    let mut ends = Vec::with_capacity(plan.cols.len());

    if let Some(d) = &mut dirtier {
        d.header(&plan, &mut buf);
    } else {
        for (k, col) in plan.cols.iter().enumerate() {
            if k > 0 {
                buf.push(b',');
            }
            let start = buf.len();
            buf.extend_from_slice(col.name.as_bytes());
            quote_from(&mut buf, start, false);
        }
        buf.push(b'\n');
    }
    for i in 0..rows {
        if let Some(d) = &mut dirtier {
            d.row(&plan, u, Ctx::for_row(&plan, spread, i), &mut rng, &mut buf, &mut report);
        } else {
            let start = buf.len();
            render_row(&plan, u, &mut Ctx::for_row(&plan, spread, i), &mut rng, &mut buf, &mut ends, true);
            if buf.len() == start {
                // A lone empty field would be a blank line, which readers skip rather than read as a row.
                buf.extend_from_slice(b"\"\"");
            }
            buf.push(b'\n');
        }
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

/// Quotes the field that starts at `start` when asked to or when it holds `,`, `"`, CR or LF, doubling
/// its quotes (RFC 4180).
pub(crate) fn quote_from(buf: &mut Vec<u8>, start: usize, force: bool) {
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
