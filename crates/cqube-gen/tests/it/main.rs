//! Integration tests: generated files parsed back with the csv crate.

mod consistency;
mod dirty;
mod generate;

use cqube_core::{Catalog, Column, ColumnType, DataSource, canonical_name};
use cqube_gen::{GenOptions, GenReport, Universe, default_rows, write_csv};

/// Generates `rows` rows of the named source from a 300-school universe.
fn gen_source(source: &DataSource, rows: u64, dirty: bool, seed: u64, universe: &Universe) -> (Vec<u8>, GenReport) {
    let opts = GenOptions { seed, rows, dirty, universe: universe.clone() };
    let mut out = Vec::new();
    let report = write_csv(source, &opts, &mut out).unwrap();
    assert_eq!(report.bytes, out.len() as u64, "{}: reported bytes", source.name);
    (out, report)
}

fn gen_named(name: &str, rows: u64, dirty: bool, seed: u64) -> (Vec<u8>, GenReport) {
    let catalog = Catalog::builtin();
    gen_source(catalog.get(name).unwrap(), rows, dirty, seed, &Universe::new(11, 300))
}

/// Header and records, as a reader with default (RFC 4180) settings sees them.
fn parse(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    let header = rdr.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = rdr.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

/// The normalizer's rules, restated independently: the cell's normalized value (`None` for null), or why
/// it is rejected.
fn normalize(col: &Column, raw: &str) -> Result<Option<String>, String> {
    let v = raw.trim();
    if matches!(v, "" | "NULL" | "null" | "NA" | "N/A") {
        return if col.required { Err("required value empty".into()) } else { Ok(None) };
    }
    let value = match col.ty {
        ColumnType::Int { width } => {
            let int = v.strip_suffix(".0").unwrap_or(v);
            let n: i64 = int.parse().map_err(|_| format!("not an integer: {v:?}"))?;
            let (lo, hi) = width.bounds();
            if n < lo || n > hi {
                return Err(format!("{n} outside {}", width.sql_name()));
            }
            n.to_string()
        }
        ColumnType::Decimal => {
            v.parse::<f64>().map_err(|_| format!("not a number: {v:?}"))?;
            v.to_owned()
        }
        ColumnType::Date => iso_date(v).ok_or_else(|| format!("not a date: {v:?}"))?,
        ColumnType::Timestamp => {
            let ok = v.len() == 23 && iso_date(&v[..10]).is_some() && &v[10..11] == " " && &v[19..20] == ".";
            if !ok {
                return Err(format!("not a timestamp: {v:?}"));
            }
            v.to_owned()
        }
        ColumnType::Time => {
            let b = v.as_bytes();
            if !(b.len() == 8 && b[2] == b':' && b[5] == b':') {
                return Err(format!("not a time: {v:?}"));
            }
            v.to_owned()
        }
        ColumnType::Bool { .. } => match v {
            "true" | "false" | "1" | "0" => v.to_owned(),
            _ => return Err(format!("not a boolean: {v:?}")),
        },
        ColumnType::Text { max_chars } => {
            if max_chars.is_some_and(|m| v.chars().count() > m as usize) {
                return Err(format!("longer than {max_chars:?}: {v:?}"));
            }
            v.to_owned()
        }
    };
    match col.checks.iter().map(|r| &r.check).find(|c| !c.holds(&value)) {
        Some(check) => Err(format!("{value:?} fails {check}")),
        None => Ok(Some(value)),
    }
}

/// `YYYY-MM-DD` from any accepted layout, when the date exists.
fn iso_date(v: &str) -> Option<String> {
    let parts: Vec<&str> = v.split(['-', '/']).collect();
    let [first, middle, last] = parts.as_slice() else { return None };
    let (y, m, d) = if first.len() == 4 { (first, middle, last) } else { (last, middle, first) };
    let (y, m, d): (u32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let len = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    (y >= 1000 && (1..=12).contains(&m) && d >= 1 && d <= len[m as usize - 1]).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

/// A generated file checked like a validator would: rows with a rejected cell, and valid rows whose key
/// an earlier valid row already had.
struct Checked {
    rows: u64,
    invalid: u64,
    duplicates: u64,
    /// Rejected cells per invalid row (each must be exactly one).
    bad_cells: Vec<usize>,
}

fn check(source: &DataSource, bytes: &[u8]) -> Checked {
    let (header, rows) = parse(bytes);
    assert_eq!(header.len(), source.columns.len(), "{}", source.name);
    for (h, c) in header.iter().zip(&source.columns) {
        assert_eq!(canonical_name(h), canonical_name(&c.name), "{}: header {h:?}", source.name);
    }
    let key: Vec<usize> =
        source.key.iter().map(|k| source.columns.iter().position(|c| c.name == *k).unwrap()).collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Checked { rows: rows.len() as u64, invalid: 0, duplicates: 0, bad_cells: Vec::new() };
    for row in &rows {
        assert_eq!(row.len(), source.columns.len(), "{}", source.name);
        let values: Vec<Result<Option<String>, String>> =
            source.columns.iter().zip(row).map(|(c, raw)| normalize(c, raw)).collect();
        let bad = values.iter().filter(|v| v.is_err()).count();
        if bad > 0 {
            out.invalid += 1;
            out.bad_cells.push(bad);
        } else if !key.is_empty() {
            let k: Vec<Option<String>> = key.iter().map(|&i| values[i].clone().unwrap()).collect();
            if !seen.insert(k) {
                out.duplicates += 1;
            }
        }
    }
    out
}
