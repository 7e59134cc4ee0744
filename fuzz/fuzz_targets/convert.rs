//! The whole reader on any bytes (record splitter, header mapping, value rules, encoder), twice: cut into the
//! smallest chunks and into one. The splitter must not change anything: same rows out, same rejects, same error.
#![no_main]

use std::io::Cursor;

use cqube_convert::{ConvertOptions, Input, OnError, Reject, RejectSink};
use cqube_core::Catalog;
use libfuzzer_sys::fuzz_target;

#[derive(Default)]
struct Collected(Vec<Reject>);

impl RejectSink for Collected {
    fn record(&mut self, _input: &str, reject: &Reject) -> std::io::Result<()> {
        self.0.push(reject.clone());
        Ok(())
    }
}

fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(Catalog::builtin)
}

fn run(source: &str, data: &[u8], chunk_bytes: usize) -> Result<(String, Vec<Reject>), String> {
    let catalog = catalog();
    let options = ConvertOptions {
        on_error: OnError::Skip,
        chunk_bytes,
        chunks_in_flight: 2,
        // Above every input (`-max_len`), so the limit (at least the chunk size) cannot differ between the runs.
        max_record_bytes: 1 << 20,
        ..ConvertOptions::default()
    };
    let input = Input::from_reader("fuzz.csv", None, Cursor::new(data.to_vec())).map_err(|e| e.to_string())?;
    let prepared = cqube_convert::prepare(catalog, catalog.get(source), input, &options).map_err(|e| e.to_string())?;
    let mut rejects = Collected::default();
    let summary = prepared.validate(&mut rejects, &mut |_| {}).map_err(|e| e.to_string())?;
    Ok((format!("{} {} {}", summary.rows_in, summary.rows_out, summary.rows_rejected), rejects.0))
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, data)) = data.split_first() else { return };
    let sources = ["block_master", "student_attendance", "school_master", "diksha_tpd"];
    let source = sources[usize::from(pick) % sources.len()];
    let whole = run(source, data, 1 << 20);
    let cut = run(source, data, 1);
    assert_eq!(whole, cut);
});
