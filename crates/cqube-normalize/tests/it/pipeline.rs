//! A whole (small) file through detection, decoding, header mapping and value normalization.

use std::io::Read;

use cqube_core::Catalog;
use cqube_normalize::{
    Mapping, Slot, TextEncoding, ValueOptions, Violation, detect_delimiter, detect_encoding, map_header,
    normalize_value, utf8_reader,
};

/// What Excel's "Unicode text" export of a school master looks like: UTF-16LE, BOM, tabs, CRLF.
fn excel_unicode_text() -> Vec<u8> {
    let text = "udise_sch_code\tSchool Name\tLatitude\tLongitude\tRemarks\r\n\
                07501010100\tशासकीय विद्यालय\t19.86473199\t74.9167344\tok\r\n\
                07501010101\t\"Line one\nline two\"\t0\t74.1\t\r\n";
    [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect()
}

#[test]
fn utf16_excel_export_maps_and_normalizes() {
    let bytes = excel_unicode_text();
    let detected = detect_encoding(&bytes[..64]);
    assert_eq!((detected.encoding, detected.bom_len), (TextEncoding::Utf16Le, 2));
    let mut text = String::new();
    utf8_reader(&bytes[..], &detected).read_to_string(&mut text).unwrap();
    assert_eq!(detect_delimiter(text.as_bytes()), Some(b'\t'));

    let catalog = Catalog::builtin();
    let source = catalog.get("school_master").unwrap();
    let mut lines = text.split("\r\n");
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let map = map_header(source, &header, &Mapping::default()).unwrap();
    assert_eq!(map.dropped, ["Remarks"]);
    let slots: Vec<(&str, &Slot)> = source.columns.iter().map(|c| c.name.as_str()).zip(&map.slots).collect();
    assert!(slots.contains(&("school_name", &Slot::Field(1))));
    assert!(slots.contains(&("ppsec_yn", &Slot::Absent)));

    let opts = ValueOptions::default();
    let row = |line: &str| -> Vec<Result<Option<String>, Violation>> {
        // A quoted field is unquoted here by hand; the engine uses the csv crate.
        let fields: Vec<String> = line.split('\t').map(|f| f.trim_matches('"').to_owned()).collect();
        source
            .columns
            .iter()
            .zip(&map.slots)
            .filter_map(|(column, slot)| match slot {
                Slot::Field(i) => Some(normalize_value(column, &fields[*i], &opts).map(|v| v.map(Into::into))),
                _ => None,
            })
            .collect()
    };
    let first = row(lines.next().unwrap());
    assert_eq!(
        first,
        [
            Ok(Some("07501010100".into())),
            Ok(Some("शासकीय विद्यालय".into())),
            Ok(Some("19.86473199".into())),
            Ok(Some("74.9167344".into()))
        ]
    );
    let second = row(lines.next().unwrap());
    assert_eq!(second[1], Ok(Some("Line one line two".into())));
    assert_eq!(second[2].as_ref().unwrap_err().code(), "check", "latitude 0 fails the non-zero check");
}
