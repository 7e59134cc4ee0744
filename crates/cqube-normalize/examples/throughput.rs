//! Quick throughput check of the hot paths (the criterion benches live in `benches/`):
//! `cargo run --release -p cqube-normalize --example throughput [label filter]`; on a busy machine, count
//! instructions instead: `perf stat -e instructions:u target/release/examples/throughput "day code"`.
#![allow(clippy::print_stdout, reason = "an example that reports measurements")]

use std::hint::black_box;
use std::io::Read;
use std::time::Instant;

use cqube_core::{Catalog, Column};
use cqube_normalize::{TextEncoding, ValueOptions, detect_encoding, normalize_value, utf8_reader};
use encoding_rs::WINDOWS_1252;

/// Runs `rounds` passes over `cells` five times and reports the fastest run: other processes only add time.
fn measure(label: &str, column: &Column, cells: &[&str], rounds: usize) {
    if std::env::args().nth(1).is_some_and(|filter| !label.contains(&filter)) {
        return;
    }
    let opts = ValueOptions::default();
    let bytes: usize = cells.iter().map(|c| c.len()).sum::<usize>() * rounds;
    let mut best = f64::INFINITY;
    let mut accepted = 0usize;
    for _ in 0..5 {
        let start = Instant::now();
        accepted = 0;
        for _ in 0..rounds {
            for cell in cells {
                accepted += usize::from(matches!(normalize_value(column, black_box(cell), &opts), Ok(Some(_))));
            }
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    let n = (cells.len() * rounds) as f64;
    println!(
        "{label:<34} {:>6.1} ns/cell {:>8.1} MB/s ({accepted} of {} accepted)",
        best * 1e9 / n,
        bytes as f64 / best / 1e6,
        cells.len() * rounds
    );
}

fn main() {
    let catalog = Catalog::builtin();
    let col = |source: &str, name: &str| {
        catalog.get(source).and_then(|s| s.column(name)).expect("built-in catalog column").clone()
    };
    let rounds = 500_000;

    measure(
        "smallint day code, range check",
        &col("student_attendance", "17"),
        &["1", "2", "NULL", "1", "5", "1"],
        rounds,
    );
    let day_unchecked = Column { checks: Vec::new(), ..col("student_attendance", "17") };
    measure("smallint day code, no check", &day_unchecked, &["1", "2", "NULL", "1", "5", "1"], rounds);
    measure("bigint UDISE code", &col("school_master", "udise_sch_code"), &["07501010100", "75010101002"], rounds);
    measure("decimal latitude, checks", &col("school_master", "latitude"), &["19.86473199", "74.9167344"], rounds);
    measure(
        "text (Devanagari, unbounded)",
        &col("school_master", "school_name"),
        &["शासकीय विद्यालय", "D1B1C1S1"],
        rounds,
    );
    let date = Column { ty: cqube_core::ColumnType::Date, checks: Vec::new(), ..col("school_master", "school_name") };
    measure("date yyyy-MM-dd (borrowed)", &date, &["2023-04-09", "2021-12-31"], rounds);
    measure("date dd/MM/yyyy (rewritten)", &date, &["09/04/2023", "31/12/2021"], rounds);
    let ts = Column { ty: cqube_core::ColumnType::Timestamp, ..date.clone() };
    measure("timestamp with Z offset", &ts, &["2023-04-09T10:30:05.250Z"], rounds);

    let text = "100|750101010010001|75010101001|2020-21|7|1|1|NULL|शासकीय विद्यालय\n".repeat(1_000_000);
    let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let latin: String = text.replace("शासकीय विद्यालय", "Café €");
    let cp1252: Vec<u8> = WINDOWS_1252.encode(&latin).0.into_owned();
    for (label, bytes) in [("utf-16le -> utf-8", &utf16), ("windows-1252 -> utf-8", &cp1252)] {
        if std::env::args().nth(1).is_some_and(|filter| !label.contains(&filter)) {
            continue;
        }
        let detected = detect_encoding(&bytes[..4096]);
        assert_ne!(detected.encoding, TextEncoding::Utf8);
        let start = Instant::now();
        let mut out = 0usize;
        let mut reader = utf8_reader(&bytes[..], &detected);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).expect("reading from memory");
            if n == 0 {
                break;
            }
            out += n;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{label:<34} {:>8.1} MB/s of input ({} MB in, {} MB out)",
            bytes.len() as f64 / secs / 1e6,
            bytes.len() / 1_000_000,
            out / 1_000_000
        );
    }
}
