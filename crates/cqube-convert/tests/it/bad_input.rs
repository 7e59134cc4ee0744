//! A corpus of bad and awkward input, each case with the exact error or rejects line it must produce.

use std::io::Write;

use cqube_convert::{ConvertOptions, CrossChecks, Error, Lookup};

use crate::{convert, read_back, skip};

const HEADER: &str = "block_name,udise_block_code,udise_dist_code,udise_state_code\n";

fn block(body: &str) -> Vec<u8> {
    format!("{HEADER}{body}").into_bytes()
}

fn error(bytes: Vec<u8>, options: &ConvertOptions) -> String {
    match convert(Some("block_master"), "bad.csv", bytes, options) {
        Err(e) => e.to_string(),
        Ok(out) => panic!("expected an error, got {} rows out", out.summary.rows_out),
    }
}

fn only_reject(bytes: Vec<u8>) -> (u64, Option<String>, String, String, &'static str) {
    let out = convert(Some("block_master"), "bad.csv", bytes, &skip()).unwrap();
    assert_eq!(out.rejects.len(), 1, "{:?}", out.rejects);
    let r = out.rejects.into_iter().next().unwrap();
    (r.line, r.column, r.value, r.rule, r.code)
}

#[test]
fn malformed_quote_names_the_line_where_the_field_opened() {
    let bytes = block("D1B1,750101,7501,75\n\"D1B2,750102,7501,75\nD1B3,750103,7501,75\n");
    assert_eq!(error(bytes, &skip()), "bad.csv:3: quoted field never closed (a stray '\"'?)");
}

#[test]
fn ragged_row_is_rejected_with_its_fields() {
    let got = only_reject(block("D1B1,750101,7501,75\nD1B2,750102,7501\nD1B3,750103,7501,75\n"));
    let rule = "row has 3 fields, the header has 4".to_owned();
    assert_eq!(got, (3, None, "D1B2,750102,7501".into(), rule, "field_count"));
}

#[test]
fn fail_mode_names_file_line_column_value_and_rule() {
    let bytes = block("D1B1,750101,7501,75\nD1B2,75O102,7501,75\n");
    assert_eq!(
        error(bytes, &ConvertOptions::default()),
        "bad.csv:3: column udise_block_code: value \"75O102\": not an integer"
    );
}

#[test]
fn missing_required_column_is_an_error_before_any_row() {
    let bytes = b"block_name,udise_state_code\nD1B1,75\n".to_vec();
    let msg = error(bytes, &skip());
    assert!(msg.starts_with("bad.csv: missing required column"), "{msg}");
    assert!(msg.contains("udise_block_code") && msg.contains("udise_dist_code"), "{msg}");
    assert!(msg.contains("block_name, udise_state_code"), "lists the header found: {msg}");
}

#[test]
fn wrong_header_cannot_be_inferred() {
    let bytes = b"foo,bar\n1,2\n".to_vec();
    let err = convert(None, "-", bytes, &skip()).expect_err("unknown source");
    assert_eq!(
        err.to_string(),
        "-: cannot tell which data source this is (header: foo, bar): no source has every required column and \
         most of this header\n  closest: (no source shares a column name with it)\n\nhint: pass --source NAME (`cqube-emit catalog \
         NAME` shows a source's columns)"
    );
}

#[test]
fn duplicate_header_names_both_positions() {
    let bytes = b"block_name,Block Name,udise_block_code,udise_dist_code\nx,y,1,2\n".to_vec();
    let msg = error(bytes, &skip());
    assert!(msg.starts_with("bad.csv: "), "{msg}");
    assert!(
        msg.contains("block_name") && msg.contains("Block Name") && msg.contains('1') && msg.contains('2'),
        "{msg}"
    );
}

#[test]
fn empty_file_and_blank_header_are_errors() {
    assert_eq!(error(Vec::new(), &skip()), "bad.csv: empty input: no header line");
    assert_eq!(error(b"\n\n".to_vec(), &skip()), "bad.csv: empty input: no header line");
}

#[test]
fn header_only_gives_a_header_only_zip() {
    let out = convert(Some("block_master"), "h.csv", block(""), &skip()).unwrap();
    assert_eq!(out.csv, "block_name|udise_block_code|udise_dist_code|udise_state_code\n");
    assert_eq!((out.summary.rows_in, out.summary.rows_out), (0, 0));
    assert_eq!(out.summary.warnings, ["no data rows: the input holds a header and nothing else"]);
}

#[test]
fn bom_and_crlf_and_missing_last_newline_are_read() {
    let bytes = format!("\u{feff}{}", HEADER.replace('\n', "\r\n")) + "D1B1,750101,7501,75\r\nD1B2,750102,7501,75";
    let out = convert(None, "block_mst.csv", bytes.into_bytes(), &skip()).unwrap();
    assert_eq!(
        out.csv,
        "block_name|udise_block_code|udise_dist_code|udise_state_code\nD1B1|750101|7501|75\nD1B2|750102|7501|75\n"
    );
}

#[test]
fn embedded_pipes_quotes_backslashes_and_newlines_survive_cqubes_reader() {
    let bytes = block("\"D1|B1 \"\"Shri\"\" C:\\x\nline two\",750101,7501,75\n");
    let out = convert(Some("block_master"), "b.csv", bytes, &skip()).unwrap();
    let rows = read_back(&out.csv, b'|');
    assert_eq!(rows[1][0], "D1|B1 \"Shri\" C:\\x line two");
    assert_eq!(out.csv.lines().nth(1), Some("\"D1|B1 \"\"Shri\"\" C:\\\\x line two\"|750101|7501|75"));
}

#[test]
fn a_one_mebibyte_field_round_trips() {
    let name = "क".repeat(350_000); // 3 bytes each: ~1 MiB
    let out = convert(Some("block_master"), "b.csv", block(&format!("{name},750101,7501,75\n")), &skip()).unwrap();
    assert_eq!(read_back(&out.csv, b'|')[1][0], name);
}

#[test]
fn a_nul_byte_is_rejected() {
    let got = only_reject(block("D1B1,750101,7501,75\nD1\0B2,750102,7501,75\n"));
    assert_eq!(got, (3, Some("block_name".into()), "D1\0B2".into(), "contains a NUL byte".into(), "nul_byte"));
}

#[test]
fn invalid_utf8_after_the_sniffed_prefix_is_rejected_with_its_place() {
    // More clean rows than the encoding sample (1 MiB), so detection sees only UTF-8.
    let clean = (0..60_000).fold(String::new(), |mut rows, i| {
        use std::fmt::Write as _;
        let _ = writeln!(rows, "D1B{i},{},7501,75", 750_000 + i);
        rows
    });
    let mut bytes = block(&clean); // ~1.4 MB of clean UTF-8 first
    let offset = bytes.len() + 2;
    bytes.extend_from_slice(b"D1\xffB2,760102,7501,75\n");
    let (line, column, value, rule, code) = only_reject(bytes);
    assert_eq!(
        (line, column.as_deref(), value.as_str(), code),
        (60_002, Some("block_name"), "D1\u{fffd}B2", "invalid_utf8")
    );
    assert_eq!(
        rule,
        format!("not valid UTF-8: byte 0xFF at offset {offset} (pass --encoding if the file is in another encoding)")
    );
}

/// A BOM and 100 rows of Devanagari block names, row `stray` with a 0xE9 byte after its name; and that byte's
/// file offset.
fn devanagari_with_a_stray_byte(stray: usize) -> (Vec<u8>, usize) {
    let mut bytes = format!("\u{feff}{HEADER}").into_bytes();
    let mut offset = 0;
    for i in 1..=100 {
        bytes.extend_from_slice(format!("खण्ड {i}").as_bytes());
        if i == stray {
            offset = bytes.len();
            bytes.push(0xE9);
        }
        bytes.extend_from_slice(format!(",{},7501,75\n", 750_000 + i).as_bytes());
    }
    (bytes, offset)
}

#[test]
fn a_stray_byte_in_utf8_text_is_refused_by_line_and_offset_not_read_as_windows_1252() {
    let (bytes, offset) = devanagari_with_a_stray_byte(50);
    assert_eq!(
        error(bytes.clone(), &ConvertOptions::default()),
        format!(
            "bad.csv:51: column block_name: value {:?}: not valid UTF-8: byte 0xE9 at offset {offset} \
             (pass --encoding if the file is in another encoding)",
            "खण्ड 50\u{fffd}"
        )
    );
    // Without the BOM, detection itself must see UTF-8.
    let out = convert(Some("block_master"), "bad.csv", bytes[3..].to_vec(), &skip()).unwrap();
    assert_eq!((out.summary.encoding, out.rejects.len(), out.summary.rows_out), ("utf-8", 1, 99));
    assert!(out.summary.encoding_reason.contains("stray bytes"), "{}", out.summary.encoding_reason);
    assert_eq!(read_back(&out.csv, b'|')[99][0], "खण्ड 100", "the other names are intact");
}

#[test]
fn cr_only_line_ends_are_read_as_line_ends() {
    let text = (1..=100).fold(HEADER.replace('\n', "\r"), |mut text, i| {
        use std::fmt::Write as _;
        let _ = write!(text, "D1B{i},{},7501,75\r", 750_000 + i);
        text
    });
    let out = convert(Some("block_master"), "mac.csv", text.into_bytes(), &ConvertOptions::default()).unwrap();
    assert_eq!((out.summary.rows_in, out.summary.rows_out, out.summary.line_ends), (100, 100, "cr"));
    assert!(out.summary.warnings.is_empty(), "{:?}", out.summary.warnings);
    assert_eq!(out.csv.lines().nth(100), Some("D1B100|750100|7501|75"));
    // A bad row is named by its line, as the user counts lines.
    let text = HEADER.replace('\n', "\r") + "D1B1,750101,7501,75\rD1B2,x,7501,75\r";
    assert_eq!(
        error(text.into_bytes(), &ConvertOptions::default()),
        "bad.csv:3: column udise_block_code: value \"x\": not an integer"
    );
}

#[test]
fn windows_1252_is_detected_and_reported() {
    // é is 0xE9 and € is 0x80 in windows-1252; neither is valid UTF-8
    let mut bytes = HEADER.as_bytes().to_vec();
    bytes.extend_from_slice(b"Sant\xe9 \x80,750101,7501,75\n");
    let out = convert(Some("block_master"), "b.csv", bytes, &skip()).unwrap();
    assert_eq!(out.summary.encoding, "windows-1252");
    assert!(out.summary.encoding_reason.contains("UTF-8"), "{}", out.summary.encoding_reason);
    assert_eq!(read_back(&out.csv, b'|')[1][0], "Santé €");
}

#[test]
fn utf16_tab_separated_excel_export_is_read() {
    let text = "block_name\tudise_block_code\tudise_dist_code\tudise_state_code\r\nकखग\t750101\t7501\t75\r\n";
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let out = convert(Some("block_master"), "excel.txt", bytes, &skip()).unwrap();
    assert_eq!(out.summary.encoding, "utf-16le");
    assert_eq!(out.summary.delimiter, "\t");
    assert_eq!(out.csv.lines().nth(1), Some("कखग|750101|7501|75"));
}

#[test]
fn gzip_is_recognised_by_content() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&block("D1B1,750101,7501,75\n")).unwrap();
    let out = convert(Some("block_master"), "export.csv", gz.finish().unwrap(), &skip()).unwrap();
    assert!(out.summary.gzip);
    assert_eq!(out.csv.lines().nth(1), Some("D1B1|750101|7501|75"));
}

#[test]
fn a_hundred_thousand_columns() {
    // a header that wide: the extra columns are dropped and reported once
    let extra: Vec<String> = (0..99_996).map(|i| format!("x{i}")).collect();
    let header = format!("{},{}\n", HEADER.trim_end(), extra.join(","));
    let row = format!("D1B1,750101,7501,75,{}\n", vec!["0"; 99_996].join(","));
    let out = convert(Some("block_master"), "wide.csv", format!("{header}{row}").into_bytes(), &skip()).unwrap();
    assert_eq!(out.summary.dropped_columns.len(), 99_996);
    assert_eq!(out.csv.lines().nth(1), Some("D1B1|750101|7501|75"));
    // a data line that wide under a normal header is one ragged row
    let (line, column, _, rule, code) = only_reject(block(&format!("{}\n", vec!["1"; 100_000].join(","))));
    assert_eq!(
        (line, column, rule.as_str(), code),
        (2, None, "row has 100000 fields, the header has 4", "field_count")
    );
}

#[test]
fn duplicate_keys_reject_the_later_row() {
    let out = convert(
        Some("block_master"),
        "d.csv",
        block("A,750101,7501,75\nB,750102,7501,75\nC,750101,7501,75\n"),
        &skip(),
    )
    .unwrap();
    assert_eq!(out.rejects.len(), 1);
    let r = &out.rejects[0];
    assert_eq!(
        (r.line, r.column.as_deref(), r.value.as_str(), r.code),
        (4, Some("udise_block_code"), "750101", "duplicate_key")
    );
    assert_eq!(out.csv.lines().count(), 3);
}

/// Issue 16 item 2: besides the later copies we reject, what cQube's own rule would discard (INGESTION.md §2.6):
/// exact copies collapse into the first, and a key whose copies differ loses every copy, the first included.
#[test]
fn issue_16_cqubes_duplicate_rule_is_previewed() {
    let body = [
        "A,750101,7501,75", // key 750101: two exact copies, nothing lost in cQube
        "A,750101,7501,75",
        "A,750101,7501,75",
        "B,750102,7501,75", // key 750102: copies differ, cQube drops both
        "B2,750102,7501,75",
        "C,750103,7501,75", // key 750103: an exact copy, then one that differs: all three go
        "C,750103,7501,75",
        "C,750103,7502,75",
        "D,750104,7501,75", // key 750104: alone
    ]
    .join("\n");
    let out = convert(Some("block_master"), "d.csv", block(&(body + "\n")), &skip()).unwrap();
    let duplicates = out.rejects.iter().filter(|r| r.code == "duplicate_key").count();
    assert_eq!((out.summary.rows_rejected, duplicates), (5, 5), "we reject every later copy");
    assert_eq!(out.summary.duplicates_exact, 3, "two copies of 750101, one of 750103");
    assert_eq!(out.summary.cqube_duplicate_discards, 2 + 3, "every copy of 750102 and 750103");
    assert_eq!(out.csv.lines().count(), 1 + 4, "the first copy of each key is kept");
}

/// Issue 16 item 3 in the engine: a master's codes are collected, a dependent's checked against them.
#[test]
fn issue_16_codes_collected_from_a_master_are_looked_up_by_a_dependent() {
    let master = block("A,750101,7501,75\nB,0750102,7501,75\nC,bad,7501,75\n");
    let collect = ConvertOptions {
        cross: CrossChecks { collect: vec!["udise_block_code".into()], lookups: Vec::new() },
        ..skip()
    };
    let out = convert(Some("block_master"), "b.csv", master, &collect).unwrap();
    let (column, codes) = &out.summary.codes[0];
    assert_eq!((column.as_str(), codes.len()), ("udise_block_code", 2), "the rejected row is no code");
    let lookup = Lookup {
        column: "udise_block_code".into(),
        rule: cqube_core::ReferenceRule::UnknownBlock,
        master: "block_master.udise_block_code".into(),
        codes: std::sync::Arc::clone(codes),
    };
    let check = ConvertOptions { cross: CrossChecks { collect: Vec::new(), lookups: vec![lookup] }, ..skip() };
    let clusters = "cluster_name,udise_block_code,udise_cluster_code\nX,750101,7501010001\nY,750102,7501010002\nZ,750109,7501090001\n,,7501090002\n";
    let out = convert(Some("cluster_master"), "c.csv", clusters.as_bytes().to_vec(), &check).unwrap();
    let rejected: Vec<(u64, &str, &str)> = out.rejects.iter().map(|r| (r.line, r.value.as_str(), r.code)).collect();
    assert_eq!(rejected, [(4, "750109", "unknown_block"), (5, "", "required")], "750102 is 0750102 as a number");
    let missed = &out.summary.misses;
    assert_eq!(missed.len(), 1);
    assert_eq!((missed[0].count, missed[0].first_line, missed[0].rule), (1, 4, "unknown_block"));
    assert!(out.rejects[0].rule.contains("not in block_master.udise_block_code"), "{}", out.rejects[0].rule);
}

#[test]
fn bad_constant_is_a_configuration_error() {
    let mut options = skip();
    let mapping = cqube_normalize::Mapping {
        constants: [("udise_state_code".to_owned(), "seventy".to_owned())].into(),
        ..Default::default()
    };
    options.mappings.insert("block_master".into(), mapping);
    let bytes = b"block_name,udise_block_code,udise_dist_code\nD1B1,750101,7501\n".to_vec();
    match convert(Some("block_master"), "c.csv", bytes, &options) {
        Err(e @ Error::BadConstant { .. }) => {
            assert_eq!(e.to_string(), "constant for column udise_state_code: value \"seventy\": not an integer");
        }
        other => panic!("{:?}", other.err()),
    }
}
