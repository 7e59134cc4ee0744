//! The prepared-zip checker on any bytes, under small limits: no panic, and memory stays within the limits.
#![no_main]

use cqube_zip::check::{Expected, Limits, check, open_entry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let expected = Expected {
        entry_name: "district_mst.csv".into(),
        delimiter: b'|',
        header: ["district_id", "district_name", "state_id", "state_name"].map(String::from).to_vec(),
    };
    let limits = Limits { max_entry_bytes: 1 << 22, max_ratio: 100, max_record_bytes: 1 << 16 };
    let mut copy = Vec::new();
    if let Ok(checked) = check(data, &mut copy, &expected, &limits) {
        assert_eq!(checked.zip_bytes, data.len() as u64);
        assert!(checked.csv_bytes <= limits.max_entry_bytes);
    }
    assert!(data.starts_with(&copy), "the tee sees the bytes read, in order");
    if let Ok(mut entry) = open_entry(std::io::Cursor::new(data.to_vec()), &expected.entry_name, &limits) {
        let _ = std::io::copy(&mut entry, &mut std::io::sink());
    }
});
