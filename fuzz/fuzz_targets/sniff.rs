//! The encoding, line-end and delimiter sniffers and the UTF-8 readers, on any bytes: no panic, and what they
//! yield is UTF-8 without a BOM (for transcoded input) and never loses a line end.
#![no_main]

use std::io::Read;

use cqube_normalize::{LineEndReader, LineEnds, TextEncoding, detect_delimiter, detect_encoding, detect_line_ends};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let detected = detect_encoding(data);
    let mut text = Vec::new();
    cqube_normalize::utf8_reader(data, &detected).read_to_end(&mut text).expect("reading from memory");
    if detected.encoding != TextEncoding::Utf8 {
        assert!(std::str::from_utf8(&text).is_ok(), "transcoded text is UTF-8");
    }
    let line_ends = detect_line_ends(&text);
    let mut lines = Vec::new();
    LineEndReader::new(&text[..], line_ends).read_to_end(&mut lines).expect("reading from memory");
    if line_ends == LineEnds::Cr {
        // The reference: CRLF to LF, then CR to LF.
        let mut expected = Vec::with_capacity(text.len());
        for (i, &b) in text.iter().enumerate() {
            if !(b == b'\n' && i > 0 && text[i - 1] == b'\r') {
                expected.push(if b == b'\r' { b'\n' } else { b });
            }
        }
        assert_eq!(lines, expected);
    } else {
        assert_eq!(lines, text);
    }
    if let Some(d) = detect_delimiter(&lines) {
        assert!([b',', b'\t', b';', b'|'].contains(&d));
    }
});
