//! Generated data: clean exports of every source pass untouched; dirty ones are rejected exactly where the
//! generator broke them.

use cqube_convert::{ConvertOptions, OnError};
use cqube_gen::{GenOptions, Universe, write_csv};

use crate::{catalog, convert, skip};

fn generate(source: &str, rows: u64, dirty: bool) -> (Vec<u8>, cqube_gen::GenReport) {
    let source = catalog().get(source).unwrap();
    // enough schools that master-like sources reach `rows`
    let opts = GenOptions { seed: 7, rows, dirty, universe: Universe::new(7, 4000) };
    let mut out = Vec::new();
    let report = write_csv(source, &opts, &mut out).unwrap();
    (out, report)
}

#[test]
fn clean_exports_of_every_source_convert_without_rejects() {
    for source in catalog().sources().iter().filter(|s| s.columns_known()) {
        let (bytes, report) = generate(&source.name, 300, false);
        let out = convert(Some(&source.name), "generated.csv", bytes, &ConvertOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", source.name));
        assert_eq!(out.summary.rows_out, report.rows, "{}", source.name);
        assert_eq!(out.csv.lines().count() as u64, report.rows + 1, "{}", source.name);
    }
}

#[test]
fn dirty_exports_reject_exactly_the_broken_rows() {
    for name in [
        "student_attendance",
        "school_master",
        "periodic_exam_result_trans",
        "sch_enr_age",
        "user_location_master",
        "diksha_tpd",
    ] {
        let (bytes, report) = generate(name, 3000, true);
        assert!(report.invalid_rows > 0, "{name}: the generator broke some rows");
        let out = convert(Some(name), "dirty.csv", bytes, &skip()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let duplicates = out.rejects.iter().filter(|r| r.code == "duplicate_key").count() as u64;
        assert_eq!(duplicates, report.duplicate_key_rows, "{name}: duplicate keys");
        assert_eq!(
            out.summary.rows_rejected - duplicates,
            report.invalid_rows,
            "{name}: invalid rows {:?}",
            out.rejects
        );
        assert_eq!(out.summary.rows_out + out.summary.rows_rejected, report.rows, "{name}");
        // rejects are reported in input order, each naming a line
        assert!(out.rejects.windows(2).all(|w| w[0].line <= w[1].line), "{name}");
    }
}

#[test]
fn fail_mode_stops_at_the_first_broken_row() {
    let (bytes, _) = generate("student_attendance", 3000, true);
    let first_bad =
        convert(Some("student_attendance"), "dirty.csv", bytes.clone(), &skip()).unwrap().rejects[0].clone();
    let options = ConvertOptions { on_error: OnError::Fail, ..ConvertOptions::default() };
    match convert(Some("student_attendance"), "dirty.csv", bytes, &options) {
        Err(cqube_convert::Error::Row { input, reject }) => {
            assert_eq!(input, "dirty.csv");
            assert_eq!(*reject, first_bad);
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a dirty file must fail"),
    }
}

#[test]
fn max_errors_stops_a_skipping_run() {
    let (bytes, report) = generate("student_attendance", 3000, true);
    assert!(report.invalid_rows > 3);
    let options = ConvertOptions { max_errors: Some(3), ..skip() };
    let err = convert(Some("student_attendance"), "dirty.csv", bytes, &options).expect_err("stops");
    assert_eq!(
        err.to_string(),
        "dirty.csv: more than 3 rows rejected; stopping\n\nhint: fix the export or raise --max-errors"
    );
}

#[test]
fn conversion_is_deterministic_and_independent_of_chunking() {
    let (bytes, _) = generate("school_master", 2000, false);
    let small = ConvertOptions { chunk_bytes: 4096, chunks_in_flight: 3, ..ConvertOptions::default() };
    let a = convert(Some("school_master"), "s.csv", bytes.clone(), &ConvertOptions::default()).unwrap();
    let b = convert(Some("school_master"), "s.csv", bytes, &small).unwrap();
    assert_eq!(a.csv, b.csv);
}
