//! Realistic mess for validation tests: variations the normalizer accepts, and invalid cells it rejects.

use cqube_core::ColumnType;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

use crate::GenReport;
use crate::plan::{ColPlan, Plan, Role};
use crate::row::{Ctx, cell, int_bounds, render_row};
use crate::universe::{Universe, below, mix};

/// Per 10,000 dirty rows: invalid rows, then duplicate-key rows.
const INVALID_PER_10K: u64 = 100;
const DUPLICATE_PER_10K: u64 = 10;
/// Per 1,000 dirty lines: CRLF line ends.
const CRLF_PER_MILLE: u64 = 50;

/// Writes dirty rows: each clean row rendered first, then messed up, broken or turned into a duplicate.
/// Its own random stream decides the mess, so the values stream is the same as in a clean file.
pub(crate) struct Dirtier {
    dirt: ChaCha8Rng,
    bad: Vec<(usize, Bad)>,
    cells: Vec<u8>,
    ends: Vec<usize>,
    /// The last valid row not yet repeated: a duplicate-key row replays its context.
    saved: Option<Saved>,
}

struct Saved {
    ctx: Ctx,
    cells: Vec<u8>,
    ends: Vec<usize>,
}

impl Dirtier {
    pub(crate) fn new(plan: &Plan, file_seed: u64) -> Dirtier {
        Dirtier {
            dirt: ChaCha8Rng::seed_from_u64(mix(file_seed ^ 0x6469_7274)),
            bad: bad_candidates(plan),
            cells: Vec::with_capacity(1024),
            ends: Vec::with_capacity(plan.cols.len()),
            saved: None,
        }
    }

    pub(crate) fn header(&mut self, plan: &Plan, buf: &mut Vec<u8>) {
        for (k, col) in plan.cols.iter().enumerate() {
            if k > 0 {
                buf.push(b',');
            }
            let start = buf.len();
            let quote = header_name(&col.name, &mut self.dirt, buf);
            crate::quote_from(buf, start, quote);
        }
        self.end_line(buf);
    }

    /// Appends one row (with its line end) made from the clean row of context `ctx`.
    pub(crate) fn row(
        &mut self,
        plan: &Plan,
        u: &Universe,
        mut ctx: Ctx,
        rng: &mut impl RngCore,
        buf: &mut Vec<u8>,
        report: &mut GenReport,
    ) {
        let fate = below(&mut self.dirt, 10_000);
        let mut duplicate = false;
        if (INVALID_PER_10K..INVALID_PER_10K + DUPLICATE_PER_10K).contains(&fate)
            && let Some(saved) = self.saved.take()
        {
            // Free cells are drawn again until one differs, so the row is not an exact duplicate.
            for _ in 0..4 {
                let mut replay = saved.ctx;
                self.cells.clear();
                render_row(plan, u, &mut replay, rng, &mut self.cells, &mut self.ends, false);
                if (0..plan.cols.len()).any(|k| {
                    !plan.cols[k].in_key && cell(&saved.cells, &saved.ends, k) != cell(&self.cells, &self.ends, k)
                }) {
                    duplicate = true;
                    break;
                }
            }
        }
        let mut broken = None;
        if duplicate {
            report.duplicate_key_rows += 1;
        } else {
            self.cells.clear();
            render_row(plan, u, &mut ctx, rng, &mut self.cells, &mut self.ends, false);
            if fate < INVALID_PER_10K && !self.bad.is_empty() {
                broken = Some(below(&mut self.dirt, self.bad.len() as u64) as usize);
                report.invalid_rows += 1;
            } else if plan.has_key {
                let saved = self.saved.get_or_insert_with(|| Saved { ctx, cells: Vec::new(), ends: Vec::new() });
                saved.ctx = ctx;
                saved.cells.clone_from(&self.cells);
                saved.ends.clone_from(&self.ends);
            }
        }
        let start = buf.len();
        for (k, col) in plan.cols.iter().enumerate() {
            if k > 0 {
                buf.push(b',');
            }
            let field = buf.len();
            let quote = match broken.map(|b| &self.bad[b]) {
                Some((at, how)) if *at == k => {
                    bad_cell(how, &mut self.dirt, buf);
                    false
                }
                _ => messy_cell(col, cell(&self.cells, &self.ends, k), &mut self.dirt, buf),
            };
            if quote || matches!(col.ty, ColumnType::Text { .. }) {
                crate::quote_from(buf, field, quote);
            }
        }
        if buf.len() == start {
            // A lone empty field would be a blank line, which readers skip rather than read as a row.
            buf.extend_from_slice(b"\"\"");
        }
        self.end_line(buf);
    }

    fn end_line(&mut self, buf: &mut Vec<u8>) {
        if below(&mut self.dirt, 1000) < CRLF_PER_MILLE {
            buf.push(b'\r');
        }
        buf.push(b'\n');
    }
}

/// One deliberately invalid cell.
#[derive(Debug, Clone)]
pub(crate) enum Bad {
    NonNumeric,
    /// A value just outside the column's range check, when breaking it rejects the row (month 13).
    OutOfRange(String),
    ImpossibleDate,
    RequiredEmpty,
    TooLong(usize),
    NotAcademicYear,
}

/// The cells an invalid row may break, with how. Key columns are left alone unless a serial column keeps
/// the key unique whatever the other key cells hold, so an invalid row never collides with another key.
pub(crate) fn bad_candidates(plan: &Plan) -> Vec<(usize, Bad)> {
    let mut out = Vec::new();
    for (i, c) in plan.cols.iter().enumerate() {
        if c.in_key && (!plan.serial || matches!(c.role, Role::Serial | Role::Uuid | Role::SerialText)) {
            continue;
        }
        if c.required {
            out.push((i, Bad::RequiredEmpty));
        }
        match c.ty {
            ColumnType::Int { width } => {
                out.push((i, Bad::NonNumeric));
                if c.range.is_some() && c.range_rejects {
                    let (lo, hi) = int_bounds(c, width);
                    let (_, whi) = width.bounds();
                    out.push((i, Bad::OutOfRange(if hi < whi { hi + 1 } else { lo - 1 }.to_string())));
                }
            }
            ColumnType::Decimal => {
                out.push((i, Bad::NonNumeric));
                if let Some((_, hi)) = c.range.filter(|_| c.range_rejects) {
                    out.push((i, Bad::OutOfRange(format!("{:.2}", hi + 1.0))));
                }
            }
            ColumnType::Date => out.push((i, Bad::ImpossibleDate)),
            ColumnType::Text { max_chars } => {
                if let Some(m) = max_chars {
                    out.push((i, Bad::TooLong(m as usize + 1)));
                }
                if c.academic_year_rejects {
                    out.push((i, Bad::NotAcademicYear));
                }
            }
            _ => {}
        }
    }
    out
}

/// Writes the raw text of an invalid cell.
pub(crate) fn bad_cell(bad: &Bad, rng: &mut impl RngCore, out: &mut Vec<u8>) {
    match bad {
        Bad::NonNumeric => out.extend_from_slice([b"abc".as_slice(), b"12a", b"seven"][below(rng, 3) as usize]),
        Bad::OutOfRange(v) => out.extend_from_slice(v.as_bytes()),
        Bad::ImpossibleDate => {
            out.extend_from_slice([b"31/02/2021".as_slice(), b"2021-02-30", b"31-04-2020"][below(rng, 3) as usize]);
        }
        Bad::RequiredEmpty => {}
        Bad::TooLong(n) => out.extend(b"Overlong".iter().cycle().take(*n)),
        Bad::NotAcademicYear => out.extend_from_slice(b"2020-22"),
    }
}

const NULL_TOKENS: [&[u8]; 5] = [b"NA", b"N/A", b"null", b"NULL", b"  "];
const MESSY_TEXT: &[u8] = b"Near \"Old\" Tank, Ward 5\nBehind Market";

/// Writes one valid cell as a careless export would: null tokens, `12.0`, other date layouts, stray
/// spaces, needless quotes, text with commas, quotes and a newline. Every variation normalizes back to
/// the clean value. Returns whether the field must be quoted.
pub(crate) fn messy_cell(col: &ColPlan, cell: &[u8], rng: &mut impl RngCore, out: &mut Vec<u8>) -> bool {
    let r = below(rng, 1000);
    // Attendance days hold a literal NULL even when clean: a null like an empty cell.
    if cell.is_empty() || cell == b"NULL" {
        if r < 400 {
            out.extend_from_slice(NULL_TOKENS[(r % 5) as usize]);
        } else {
            out.extend_from_slice(cell);
        }
        return false;
    }
    let pad = below(rng, 1000) < 15;
    if pad {
        out.push(b' ');
    }
    match col.ty {
        ColumnType::Int { .. } if r < 30 => {
            out.extend_from_slice(cell);
            out.extend_from_slice(b".0");
        }
        ColumnType::Date if r < 450 && cell.len() == 10 => {
            let (y, m, d) = (&cell[..4], &cell[5..7], &cell[8..]);
            let parts: [&[u8]; 5] = match r % 3 {
                0 => [d, b"/", m, b"/", y],
                1 => [d, b"-", m, b"-", y],
                _ => [y, b"/", m, b"/", d],
            };
            for p in parts {
                out.extend_from_slice(p);
            }
        }
        ColumnType::Text { max_chars } if r < 20 && free_text(col) => {
            let max = max_chars.map_or(MESSY_TEXT.len(), |m| (m as usize).min(MESSY_TEXT.len()));
            if max == MESSY_TEXT.len() {
                out.extend_from_slice(MESSY_TEXT);
            } else {
                out.extend_from_slice(cell);
            }
        }
        _ => out.extend_from_slice(cell),
    }
    if pad {
        out.extend_from_slice(b"  ");
    }
    below(rng, 1000) < 15
}

/// Text whose value means nothing to other sources, so replacing it changes no reference.
fn free_text(col: &ColPlan) -> bool {
    col.role == Role::Generic && col.one_of.is_empty() && !col.academic_year && col.fixed_digits.is_none()
}

/// A header name as exports spell it: other case, words split by spaces, stray spaces, quotes. Each
/// variant compares equal to the catalog name under `cqube_core::canonical_name`. Returns whether to quote.
pub(crate) fn header_name(name: &str, rng: &mut impl RngCore, out: &mut Vec<u8>) -> bool {
    match below(rng, 10) {
        0 => out.extend_from_slice(name.to_ascii_lowercase().as_bytes()),
        1 => out.extend_from_slice(name.to_ascii_uppercase().as_bytes()),
        2 | 3 => {
            let mut prev_lower = false;
            let mut start = true;
            for ch in name.chars() {
                if ch == '_' || ch == ' ' {
                    out.push(b' ');
                    start = true;
                    prev_lower = false;
                    continue;
                }
                if ch.is_ascii_uppercase() && prev_lower {
                    out.push(b' ');
                    start = true;
                }
                let c = if start { ch.to_ascii_uppercase() } else { ch };
                let mut b = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                start = false;
                prev_lower = ch.is_ascii_lowercase();
            }
        }
        4 => {
            out.push(b' ');
            out.extend_from_slice(name.as_bytes());
            out.push(b' ');
        }
        5 => {
            out.extend_from_slice(name.as_bytes());
            return true;
        }
        _ => out.extend_from_slice(name.as_bytes()),
    }
    false
}

#[cfg(test)]
mod tests {
    use cqube_core::canonical_name;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::SeedableRng;

    use super::*;

    #[test]
    fn header_variants_keep_the_canonical_name() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut seen = std::collections::BTreeSet::new();
        for name in ["StudentAttendanceId", "udise_sch_code", "Diksha UUID", "AC_YEAR", "17"] {
            for _ in 0..40 {
                let mut out = Vec::new();
                header_name(name, &mut rng, &mut out);
                let variant = String::from_utf8(out).unwrap();
                assert_eq!(canonical_name(&variant), canonical_name(name), "{variant:?}");
                seen.insert(variant);
            }
        }
        assert!(seen.contains("Student Attendance Id") && seen.contains("Udise Sch Code"), "{seen:?}");
    }
}
