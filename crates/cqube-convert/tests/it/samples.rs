//! Every real cQube file we have converts, with the catalog's header, every row, and the values cQube expects.

use crate::{Converted, catalog, convert, fixtures, mock_emission, read_back};

/// Data records in an input, counted by an independent parse.
fn records(bytes: &[u8], delimiter: u8) -> usize {
    csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(bytes).byte_records().count()
}

fn check_file(name: &str, bytes: &[u8]) -> Converted {
    let out = convert(None, name, bytes.to_vec(), &crate::skip()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let source = catalog().get(&out.summary.source).unwrap();
    assert_eq!(out.summary.source_inferred_by, Some("file name"), "{name}");
    assert_eq!(out.entry, format!("{}.csv", source.file_stem), "{name}");
    let first_line = out.csv.lines().next().unwrap();
    assert_eq!(first_line, source.header_line(), "{name}: header in catalog order, exact names");
    assert!(!out.csv.contains('\r'), "{name}: LF line ends only");
    assert!(!out.csv.starts_with('\u{feff}'), "{name}: no BOM");
    assert!(out.rejects.is_empty(), "{name}: {:?}", &out.rejects[..out.rejects.len().min(3)]);
    let input_rows = records(bytes, out.summary.delimiter.as_bytes()[0]);
    assert_eq!(out.summary.rows_in as usize, input_rows, "{name}");
    assert_eq!(out.summary.rows_out as usize, input_rows, "{name}");
    let rows = read_back(&out.csv, source.delimiter);
    assert_eq!(rows.len(), input_rows + 1, "{name}: header + every row");
    assert!(rows.iter().all(|r| r.len() == source.columns.len()), "{name}: every row has every column");
    out
}

#[test]
fn every_sample_converts() {
    let dir = fixtures().join("cqube/samples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            check_file(&path.display().to_string(), &std::fs::read(&path).unwrap());
            seen += 1;
        }
    }
    assert_eq!(seen, 16);
}

#[test]
fn every_mock_emission_file_converts() {
    let files = mock_emission();
    assert_eq!(files.len(), 18);
    for (path, bytes) in files {
        check_file(&format!("cqube_emission/{path}"), &bytes);
    }
}

fn mock(name: &str) -> Converted {
    let (path, bytes) = mock_emission().into_iter().find(|(p, _)| p.ends_with(name)).unwrap();
    check_file(&format!("cqube_emission/{path}"), &bytes)
}

#[test]
fn attendance_null_days_become_empty_and_other_values_are_kept() {
    let (_, input) = mock_emission().into_iter().find(|(p, _)| p.ends_with("student_attendance.zip")).unwrap();
    let out = mock("student_attendance.zip");
    let input_rows = read_back(std::str::from_utf8(&input).unwrap(), b'|');
    let output_rows = read_back(&out.csv, b'|');
    assert_eq!(input_rows.len(), 120_001);
    for (i, (before, after)) in input_rows.iter().zip(&output_rows).enumerate().skip(1).step_by(997) {
        let expected: Vec<&str> = before.iter().map(|v| if v == "NULL" { "" } else { v.as_str() }).collect();
        assert_eq!(after, &expected, "row {i}");
    }
    assert_eq!(
        output_rows[1][..8],
        ["100", "750101010010001", "75010101001", "750101010010001", "2020-21", "7", "1", "1"]
    );
}

#[test]
fn quoted_header_names_are_unquoted() {
    let out = mock("school_management_master.zip");
    assert!(out.csv.starts_with("ManagementId|Management|default_option\n1|Govt|\n"), "{}", &out.csv[..60]);
}

#[test]
fn crlf_files_lose_their_carriage_returns() {
    let out = mock("cluster_mst.zip");
    assert!(out.csv.starts_with("cluster_name|udise_block_code|udise_cluster_code\nD1B1C1|750101|7501010001\n"));
}

#[test]
fn diksha_stays_comma_delimited_with_catalog_names_and_iso_dates() {
    let out = mock("diksha_tpd.zip");
    let rows = read_back(&out.csv, b',');
    assert_eq!(rows[0].last().map(String::as_str), Some("uuid"), "'user uuid' is the catalog's uuid");
    // 03/07/2021 and 07/06/2021 in the export (day first)
    assert_eq!(rows[1][..7], ["1", "Class 5 Science", "Test State", "2021-07-03", "10", "Test Batch1", "2021-06-07"]);
    assert_eq!(out.summary.delimiter, ",");
}
