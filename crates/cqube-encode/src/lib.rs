//! Delimited-text writing that cQube's reader reads back exactly.
//!
//! cQube reads emitted files with `"` as quote and `\` as escape (INGESTION.md, CSVReader_pipe). The csv
//! crate's writer cannot escape the escape character itself while doubling quotes, so a value such as
//! `C:\new` would come back as `C:` + newline; and writing into a reused `Vec<u8>` is what keeps this
//! stage fast (STYLE.md: writing, not parsing, dominates). Hence this small writer.
//!
//! Rules: a field containing the delimiter, `"` or `\` is quoted; inside quotes `"` is doubled and `\` is
//! written `\\`. Quotes are never written as `\"`, because cQube's `Replace_special_char` step rewrites
//! `\"` to `"` before parsing. Values never contain CR or LF (the normalizer replaced them), and records
//! end with `\n`.
//!
//! ```
//! let mut out = Vec::new();
//! cqube_encode::write_record(&mut out, b'|', ["7", "a|b", r#"say "hi""#].iter().map(|s| Some(*s)));
//! assert_eq!(out, b"7|\"a|b\"|\"say \"\"hi\"\"\"\n");
//! ```

/// Appends one field, quoting it when cQube's reader would otherwise misread it.
#[inline]
pub fn write_field(out: &mut Vec<u8>, value: &str, delimiter: u8) {
    let bytes = value.as_bytes();
    if memchr::memchr3(delimiter, b'"', b'\\', bytes).is_none() {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(bytes.len() + 4);
    out.push(b'"');
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\"\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// Appends one record: fields separated by `delimiter`, `None` written as an empty field (a null to
/// every cQube reader stage), ended by `\n`.
pub fn write_record<'a>(out: &mut Vec<u8>, delimiter: u8, fields: impl IntoIterator<Item = Option<&'a str>>) {
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        if let Some(value) = field {
            write_field(out, value, delimiter);
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn encode(fields: &[&str], delimiter: u8) -> String {
        let mut out = Vec::new();
        write_record(&mut out, delimiter, fields.iter().map(|f| Some(*f)));
        String::from_utf8(out).unwrap()
    }

    /// Reads back the way cQube's reader is configured: quote `"`, escape `\`, doubled quotes. The
    /// record follows a header line, as in every emitted file (readers strip a BOM at the file's start).
    fn read_back(line: &[u8], delimiter: u8) -> Vec<String> {
        let file = [b"header\n".as_slice(), line].concat();
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .escape(Some(b'\\'))
            .double_quote(true)
            .from_reader(file.as_slice());
        let rec = rdr.records().next().unwrap().unwrap();
        rec.iter().map(str::to_owned).collect()
    }

    #[test]
    fn plain_fields_are_written_verbatim() {
        assert_eq!(encode(&["100", "2020-21", "", "विद्यालय"], b'|'), "100|2020-21||विद्यालय\n");
    }

    #[test]
    fn special_characters_are_quoted_and_escaped() {
        assert_eq!(encode(&["a|b"], b'|'), "\"a|b\"\n");
        assert_eq!(encode(&["say \"hi\""], b'|'), "\"say \"\"hi\"\"\"\n");
        assert_eq!(encode(&[r"C:\new"], b'|'), "\"C:\\\\new\"\n");
        // a comma only matters for comma-delimited sources (DIKSHA)
        assert_eq!(encode(&["a,b"], b'|'), "a,b\n");
        assert_eq!(encode(&["a,b"], b','), "\"a,b\"\n");
    }

    #[test]
    fn nulls_are_empty_fields() {
        let mut out = Vec::new();
        write_record(&mut out, b'|', [Some("1"), None, Some("x")]);
        assert_eq!(out, b"1||x\n");
    }

    proptest! {
        #[test]
        fn any_record_reads_back_equal(fields in proptest::collection::vec("[^\r\n]{0,12}", 1..8), comma in any::<bool>()) {
            let delimiter = if comma { b',' } else { b'|' };
            let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            let line = encode(&refs, delimiter);
            // A lone empty field is an empty line, which readers skip: compare that case directly.
            if fields.len() == 1 && fields[0].is_empty() {
                prop_assert_eq!(line, "\n");
            } else {
                prop_assert_eq!(read_back(line.as_bytes(), delimiter), fields);
            }
        }
    }
}
