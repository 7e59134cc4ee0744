//! Character encodings and delimiters: what a source file is written in, and a reader that turns it into UTF-8.
//!
//! cQube's reader takes UTF-8 without a BOM (a BOM would become part of the first header name), so every input
//! goes through [`utf8_reader`]. State exports arrive as UTF-8 from databases, UTF-16 from Excel's "Unicode text",
//! and windows-1252 from older Excel "CSV" exports; [`detect_encoding`] tells them apart from the first bytes.

use std::io::{self, Read};

use encoding_rs::{CoderResult, Decoder, Encoding, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// A character encoding the emitter can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8, with or without a BOM.
    Utf8,
    /// UTF-16 little-endian (Excel's "Unicode text").
    Utf16Le,
    /// UTF-16 big-endian.
    Utf16Be,
    /// windows-1252, which is also how ISO-8859-1 (latin1) input is read.
    Windows1252,
}

impl TextEncoding {
    /// The WHATWG name: `utf-8`, `utf-16le`, `utf-16be` or `windows-1252`.
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Utf16Le => "utf-16le",
            TextEncoding::Utf16Be => "utf-16be",
            TextEncoding::Windows1252 => "windows-1252",
        }
    }

    /// Reads a user-given encoding name, ignoring case and surrounding space.
    ///
    /// `latin1` and `iso-8859-1` select [`TextEncoding::Windows1252`]: windows-1252 agrees with ISO-8859-1 on every
    /// printable character and only gives meaning to the C1 control range 0x80-0x9F (`€`, curly quotes…), which is
    /// what files labelled latin1 actually contain. The WHATWG Encoding Standard and `encoding_rs` do the same.
    pub fn from_label(label: &str) -> Option<TextEncoding> {
        match label.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(TextEncoding::Utf8),
            "utf-16le" => Some(TextEncoding::Utf16Le),
            "utf-16be" => Some(TextEncoding::Utf16Be),
            "windows-1252" | "cp1252" | "latin1" | "iso-8859-1" => Some(TextEncoding::Windows1252),
            _ => None,
        }
    }

    fn decoder(self) -> Option<&'static Encoding> {
        match self {
            TextEncoding::Utf8 => None,
            TextEncoding::Utf16Le => Some(UTF_16LE),
            TextEncoding::Utf16Be => Some(UTF_16BE),
            TextEncoding::Windows1252 => Some(WINDOWS_1252),
        }
    }
}

/// The outcome of [`detect_encoding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// The encoding the input is read as.
    pub encoding: TextEncoding,
    /// Length of the byte order mark at the start of the input (0 when there is none); [`Utf8Reader`] skips it.
    pub bom_len: usize,
    /// Why this encoding was chosen, for logs and `validate` output.
    pub reason: &'static str,
}

impl Detected {
    /// An encoding the user named: no detection, but a BOM of that same encoding is still skipped.
    pub fn given(encoding: TextEncoding, prefix: &[u8]) -> Detected {
        let bom_len = match bom(prefix) {
            Some((found, len)) if found == encoding => len,
            _ => 0,
        };
        Detected { encoding, bom_len, reason: "given by the user" }
    }
}

fn bom(prefix: &[u8]) -> Option<(TextEncoding, usize)> {
    match prefix {
        [0xEF, 0xBB, 0xBF, ..] => Some((TextEncoding::Utf8, 3)),
        [0xFF, 0xFE, ..] => Some((TextEncoding::Utf16Le, 2)),
        [0xFE, 0xFF, ..] => Some((TextEncoding::Utf16Be, 2)),
        _ => None,
    }
}

/// Bytes of the input [`detect_encoding`] should be given: enough that stray bytes in a large UTF-8 file are
/// outnumbered by its real characters, small enough to hold in memory.
pub const ENCODING_SAMPLE_BYTES: usize = 1 << 20;

/// Guesses the encoding of an input from its first bytes (up to [`ENCODING_SAMPLE_BYTES`]).
///
/// In order: a BOM (UTF-8, UTF-16LE, UTF-16BE); NUL bytes at every other position (UTF-16 without a BOM, whose
/// ASCII text would otherwise pass as UTF-8 full of NULs); UTF-8, when the sample is valid UTF-8 (a multi-byte
/// character cut off by its end still counts) or holds more valid multi-byte characters than invalid sequences (a
/// UTF-8 file with a few stray bytes: the rows holding them are refused later, by line and byte offset, instead
/// of every other character turning into mojibake); otherwise windows-1252, which can decode any byte.
///
/// ```
/// use cqube_normalize::{detect_encoding, TextEncoding};
/// assert_eq!(detect_encoding(b"id|name\n1|Mumbai").encoding, TextEncoding::Utf8);
/// assert_eq!(detect_encoding(b"id|name\n1|Caf\xe9\n").encoding, TextEncoding::Windows1252);
/// let mut text = "id|name\n1|कख\n".as_bytes().to_vec();
/// text.extend_from_slice(b"2|\xe9\n");
/// assert_eq!(detect_encoding(&text).encoding, TextEncoding::Utf8);
/// ```
pub fn detect_encoding(prefix: &[u8]) -> Detected {
    if let Some((encoding, bom_len)) = bom(prefix) {
        let reason = match encoding {
            TextEncoding::Utf8 => "UTF-8 byte order mark",
            TextEncoding::Utf16Le => "UTF-16LE byte order mark",
            _ => "UTF-16BE byte order mark",
        };
        return Detected { encoding, bom_len, reason };
    }
    if let Some(encoding) = utf16_without_bom(prefix) {
        let reason = "no byte order mark, but NUL bytes at every other position: UTF-16 text";
        return Detected { encoding, bom_len: 0, reason };
    }
    let utf8 = |reason| Detected { encoding: TextEncoding::Utf8, bom_len: 0, reason };
    match std::str::from_utf8(prefix) {
        Ok(_) if prefix.is_empty() => utf8("empty input"),
        Ok(_) => utf8("valid UTF-8"),
        // `error_len() == None` means the bytes were fine up to a character the prefix cut in two.
        Err(e) if e.error_len().is_none() => utf8("valid UTF-8 (the sample ends inside a character)"),
        Err(_) => {
            let (characters, invalid) = utf8_census(prefix);
            if characters > invalid {
                utf8("UTF-8 with stray bytes that are not: rows holding them are refused")
            } else {
                Detected {
                    encoding: TextEncoding::Windows1252,
                    bom_len: 0,
                    reason: "not valid UTF-8: read as windows-1252 (pass the encoding if that is wrong)",
                }
            }
        }
    }
}

/// Valid multi-byte UTF-8 characters and invalid sequences in `bytes` (a character cut off by the end counts as
/// neither).
fn utf8_census(mut bytes: &[u8]) -> (usize, usize) {
    let (mut characters, mut invalid) = (0, 0);
    loop {
        let (valid, rest) = match std::str::from_utf8(bytes) {
            Ok(text) => (text, &b""[..]),
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                let Some(bad) = e.error_len() else {
                    characters += count_multibyte(valid);
                    return (characters, invalid);
                };
                invalid += 1;
                (std::str::from_utf8(valid).expect("valid up to here"), &rest[bad..])
            }
        };
        characters += count_multibyte(valid.as_bytes());
        if rest.is_empty() {
            return (characters, invalid);
        }
        bytes = rest;
    }
}

/// Multi-byte characters of valid UTF-8: their lead bytes.
fn count_multibyte(valid: &[u8]) -> usize {
    valid.iter().filter(|&&b| b >= 0xC0).count()
}

/// UTF-16 of mostly-ASCII text has a NUL in one byte of nearly every pair; real UTF-8 text has none.
fn utf16_without_bom(prefix: &[u8]) -> Option<TextEncoding> {
    let pairs = prefix.chunks_exact(2).take(512);
    let total = pairs.len();
    if total < 2 {
        return None;
    }
    let (mut high_nul, mut low_nul) = (0, 0);
    for pair in pairs {
        high_nul += usize::from(pair[0] != 0 && pair[1] == 0);
        low_nul += usize::from(pair[0] == 0 && pair[1] != 0);
    }
    if high_nul * 4 >= total * 3 && low_nul == 0 {
        Some(TextEncoding::Utf16Le)
    } else if low_nul * 4 >= total * 3 && high_nul == 0 {
        Some(TextEncoding::Utf16Be)
    } else {
        None
    }
}

/// Size of the transcoder's input and output buffers; memory stays fixed whatever the input size.
const CHUNK: usize = 64 * 1024;

/// A reader that yields UTF-8 without a BOM, whatever the input's encoding. Built by [`utf8_reader`].
///
/// UTF-8 input is passed through untouched (the BOM skipped): its validity is checked per field later, where an
/// error can name the row. Other encodings are transcoded by `encoding_rs` with fixed-size buffers; malformed
/// sequences (a lone UTF-16 surrogate, an odd trailing byte) become U+FFFD, as every browser does.
#[derive(Debug)]
pub struct Utf8Reader<R> {
    inner: R,
    /// BOM bytes still to drop from the start of `inner`.
    skip: usize,
    transcoder: Option<Box<Transcoder>>,
}

struct Transcoder {
    decoder: Decoder,
    input: Box<[u8]>,
    in_start: usize,
    in_end: usize,
    output: Box<[u8]>,
    out_start: usize,
    out_end: usize,
    eof: bool,
    finished: bool,
}

impl std::fmt::Debug for Transcoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcoder").field("encoding", &self.decoder.encoding().name()).finish_non_exhaustive()
    }
}

/// Wraps `inner`, which must start at the first byte of the input (the bytes `detected` was computed from
/// included), into a reader of UTF-8 text without the BOM.
///
/// ```
/// use std::io::Read;
/// use cqube_normalize::{detect_encoding, utf8_reader};
/// let bytes = b"\xff\xfei\0d\0\n\0";
/// let mut text = String::new();
/// utf8_reader(&bytes[..], &detect_encoding(bytes)).read_to_string(&mut text).unwrap();
/// assert_eq!(text, "id\n");
/// ```
pub fn utf8_reader<R: Read>(inner: R, detected: &Detected) -> Utf8Reader<R> {
    let transcoder = detected.encoding.decoder().map(|encoding| {
        Box::new(Transcoder {
            decoder: encoding.new_decoder_without_bom_handling(),
            input: vec![0; CHUNK].into_boxed_slice(),
            in_start: 0,
            in_end: 0,
            output: vec![0; CHUNK].into_boxed_slice(),
            out_start: 0,
            out_end: 0,
            eof: false,
            finished: false,
        })
    });
    Utf8Reader { inner, skip: detected.bom_len, transcoder }
}

impl<R> Utf8Reader<R> {
    /// The wrapped reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for Utf8Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        match self.transcoder.as_deref_mut() {
            None => loop {
                let n = self.inner.read(buf)?;
                if self.skip == 0 || n == 0 {
                    return Ok(n);
                }
                let dropped = n.min(self.skip);
                self.skip -= dropped;
                if n > dropped {
                    buf.copy_within(dropped..n, 0);
                    return Ok(n - dropped);
                }
            },
            Some(t) => loop {
                if t.out_start < t.out_end {
                    let n = buf.len().min(t.out_end - t.out_start);
                    buf[..n].copy_from_slice(&t.output[t.out_start..t.out_start + n]);
                    t.out_start += n;
                    return Ok(n);
                }
                if t.finished {
                    return Ok(0);
                }
                if t.in_start == t.in_end && !t.eof {
                    let n = self.inner.read(&mut t.input)?;
                    let dropped = n.min(self.skip);
                    self.skip -= dropped;
                    (t.in_start, t.in_end, t.eof) = (dropped, n, n == 0);
                }
                let (result, read, written, _replaced) =
                    t.decoder.decode_to_utf8(&t.input[t.in_start..t.in_end], &mut t.output, t.eof);
                t.in_start += read;
                (t.out_start, t.out_end) = (0, written);
                // With `last = true`, InputEmpty means the decoder has flushed everything; it must not be called again.
                t.finished = t.eof && result == CoderResult::InputEmpty;
            },
        }
    }
}

/// How the lines of a text end, as far as reading it is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnds {
    /// `\n` or `\r\n`: read as they are.
    Lf,
    /// A lone `\r` (classic Mac OS, some exporters): [`LineEndReader`] turns `\r` and `\r\n` into `\n`, or the
    /// whole file would read as one line.
    Cr,
}

/// How the first line of a (UTF-8) sample ends, outside double quotes; [`LineEnds::Lf`] when no line ends in it.
///
/// ```
/// use cqube_normalize::{detect_line_ends, LineEnds};
/// assert_eq!(detect_line_ends(b"id|name\r1|a\r"), LineEnds::Cr);
/// assert_eq!(detect_line_ends(b"id|name\r\n1|a\r\n"), LineEnds::Lf);
/// ```
pub fn detect_line_ends(sample: &[u8]) -> LineEnds {
    let mut in_quotes = false;
    for (i, &b) in sample.iter().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => return LineEnds::Lf,
            // A `\r` as the sample's last byte may be the first half of `\r\n`: undecided, so the usual reading.
            b'\r' if !in_quotes => {
                return match sample.get(i + 1) {
                    Some(b'\n') | None => LineEnds::Lf,
                    Some(_) => LineEnds::Cr,
                };
            }
            _ => {}
        }
    }
    LineEnds::Lf
}

/// A reader that passes text through, or with [`LineEnds::Cr`] turns every `\r` and `\r\n` into `\n`.
#[derive(Debug)]
pub struct LineEndReader<R> {
    inner: R,
    translate: bool,
    /// The last byte read was a `\r` (already turned into `\n`): a `\n` right after it is dropped.
    after_cr: bool,
}

impl<R> LineEndReader<R> {
    /// Wraps `inner`, which is read as `line_ends` says.
    pub fn new(inner: R, line_ends: LineEnds) -> Self {
        LineEndReader { inner, translate: line_ends == LineEnds::Cr, after_cr: false }
    }
}

impl<R: Read> Read for LineEndReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.translate {
            return self.inner.read(buf);
        }
        loop {
            let n = self.inner.read(buf)?;
            let mut kept = 0;
            for i in 0..n {
                let b = buf[i];
                if b == b'\n' && std::mem::take(&mut self.after_cr) {
                    continue;
                }
                self.after_cr = b == b'\r';
                buf[kept] = if self.after_cr { b'\n' } else { b };
                kept += 1;
            }
            // A read of only a dropped `\n` must not look like the end of the input.
            if kept > 0 || n == 0 {
                return Ok(kept);
            }
        }
    }
}

/// Delimiters [`detect_delimiter`] considers, in order of preference when counts tie.
const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];
/// Lines of the sample [`detect_delimiter`] looks at.
const SAMPLE_LINES: usize = 50;

/// What the lines seen so far say about one candidate delimiter.
#[derive(Clone, Copy, PartialEq)]
enum Agreement {
    NoLines,
    /// Every line had this many.
    Count(usize),
    /// Two lines disagreed.
    Mixed,
}

/// Folds one line's counts into what the lines so far agreed on, and resets the counts.
fn end_line(counts: &mut [usize; 4], agreed: &mut [Agreement; 4]) {
    for (count, state) in counts.iter_mut().zip(agreed.iter_mut()) {
        *state = match *state {
            Agreement::NoLines => Agreement::Count(*count),
            Agreement::Count(seen) if seen == *count => Agreement::Count(seen),
            _ => Agreement::Mixed,
        };
        *count = 0;
    }
}

/// Guesses the field delimiter among `,`, tab, `;` and `|` from the start of a (UTF-8) input.
///
/// A candidate qualifies when every complete line among the first 50 (blank lines skipped) has the same,
/// non-zero number of it outside double quotes; quoted fields may span lines. Of the qualifying candidates the one
/// with most fields wins. A last line cut off by the end of the sample is ignored unless it is the only line.
/// Returns `None` when no candidate qualifies.
///
/// ```
/// assert_eq!(cqube_normalize::detect_delimiter(b"id|name\n1|\"Pune, MH\"\n"), Some(b'|'));
/// ```
pub fn detect_delimiter(sample: &[u8]) -> Option<u8> {
    let mut line_counts = [0usize; 4];
    let mut agreed = [Agreement::NoLines; 4];
    let mut in_quotes = false;
    let mut line_has_content = false;
    let mut lines = 0;
    for &b in sample {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => {
                if line_has_content {
                    end_line(&mut line_counts, &mut agreed);
                    lines += 1;
                    if lines == SAMPLE_LINES {
                        break;
                    }
                }
                line_has_content = false;
                continue;
            }
            _ => {
                if !in_quotes && let Some(i) = DELIMITERS.iter().position(|&d| d == b) {
                    line_counts[i] += 1;
                }
            }
        }
        if b != b'\r' {
            line_has_content = true;
        }
    }
    if lines == 0 && line_has_content {
        end_line(&mut line_counts, &mut agreed);
    }
    DELIMITERS
        .iter()
        .zip(agreed)
        .filter_map(|(&d, state)| match state {
            Agreement::Count(count) if count > 0 => Some((count, d)),
            _ => None,
        })
        // max_by_key keeps the last of equal keys; reversing makes the earlier (preferred) delimiter win ties.
        .rev()
        .max_by_key(|&(count, _)| count)
        .map(|(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> (Detected, String) {
        let detected = detect_encoding(bytes);
        let mut text = String::new();
        utf8_reader(bytes, &detected).read_to_string(&mut text).unwrap();
        (detected, text)
    }

    /// A reader that returns at most `step` bytes per call, to exercise boundaries.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn utf16(text: &str, big_endian: bool, with_bom: bool) -> Vec<u8> {
        let units = with_bom.then_some(0xFEFF_u16).into_iter().chain(text.encode_utf16());
        units.flat_map(|u| if big_endian { u.to_be_bytes() } else { u.to_le_bytes() }).collect()
    }

    #[test]
    fn labels_round_trip_and_aliases_are_accepted() {
        for e in [TextEncoding::Utf8, TextEncoding::Utf16Le, TextEncoding::Utf16Be, TextEncoding::Windows1252] {
            assert_eq!(TextEncoding::from_label(e.label()), Some(e));
        }
        assert_eq!(TextEncoding::from_label(" UTF8 "), Some(TextEncoding::Utf8));
        for latin in ["latin1", "ISO-8859-1", "cp1252"] {
            assert_eq!(TextEncoding::from_label(latin), Some(TextEncoding::Windows1252), "{latin}");
        }
        assert_eq!(TextEncoding::from_label("shift_jis"), None);
    }

    #[test]
    fn detects_boms() {
        assert_eq!(detect_encoding(b"\xEF\xBB\xBFid").encoding, TextEncoding::Utf8);
        assert_eq!(detect_encoding(b"\xEF\xBB\xBFid").bom_len, 3);
        assert_eq!(detect_encoding(b"\xFF\xFEi\0").encoding, TextEncoding::Utf16Le);
        assert_eq!(detect_encoding(b"\xFE\xFF\0i").encoding, TextEncoding::Utf16Be);
        assert_eq!(detect_encoding(b"\xFE\xFF\0i").bom_len, 2);
    }

    #[test]
    fn utf8_cut_inside_a_character_is_still_utf8_but_bad_bytes_are_windows_1252() {
        let text = "नाम|id".as_bytes();
        let d = detect_encoding(&text[..2]);
        assert_eq!(d.encoding, TextEncoding::Utf8);
        assert!(d.reason.contains("ends inside"), "{}", d.reason);
        let d = detect_encoding(b"caf\xE9|1\n");
        assert_eq!((d.encoding, d.bom_len), (TextEncoding::Windows1252, 0));
        // Windows-1252 text whose accents happen to form one valid UTF-8 pair is still windows-1252.
        assert_eq!(detect_encoding(b"\xC3\xA9t\xE9 caf\xE9\n").encoding, TextEncoding::Windows1252);
        assert!(d.reason.contains("windows-1252"));
        assert_eq!(detect_encoding(b"").reason, "empty input");
    }

    #[test]
    fn a_few_stray_bytes_do_not_flip_utf8_text() {
        let mut text = "id|नाम\n".repeat(50).into_bytes();
        text.extend_from_slice(b"51|\xE9\n");
        text.extend_from_slice("52|नाम\n".as_bytes());
        let d = detect_encoding(&text);
        assert_eq!(d.encoding, TextEncoding::Utf8);
        assert!(d.reason.contains("stray bytes"), "{}", d.reason);
        assert_eq!(utf8_census(&text), (3 * 51, 1), "three characters a name");
        assert_eq!(utf8_census("न".as_bytes().split_at(2).0), (0, 0), "a cut character is neither");
    }

    #[test]
    fn cr_line_ends_are_read_as_line_ends() {
        assert_eq!(detect_line_ends(b"a\rb\r"), LineEnds::Cr);
        assert_eq!(detect_line_ends(b"\"x\ry\"\n1\r2"), LineEnds::Lf, "a CR inside quotes is not a line end");
        assert_eq!(detect_line_ends(b"a|b\r"), LineEnds::Lf, "undecided at the end of the sample");
        assert_eq!(detect_line_ends(b"a|b"), LineEnds::Lf);
        let input = b"a\rb\r\nc\r\r\nd";
        for step in 1..input.len() {
            let mut out = Vec::new();
            LineEndReader::new(Trickle { data: input, step }, LineEnds::Cr).read_to_end(&mut out).unwrap();
            assert_eq!(out, b"a\nb\nc\n\nd", "step {step}");
        }
        let mut out = Vec::new();
        LineEndReader::new(&input[..], LineEnds::Lf).read_to_end(&mut out).unwrap();
        assert_eq!(out, input);
    }

    #[test]
    fn utf16_without_bom_is_recognised_by_its_nul_bytes() {
        assert_eq!(detect_encoding(&utf16("id|name\n", false, false)).encoding, TextEncoding::Utf16Le);
        assert_eq!(detect_encoding(&utf16("id|name\n", true, false)).encoding, TextEncoding::Utf16Be);
        // A stray NUL in UTF-8 text is not enough.
        assert_eq!(detect_encoding(b"id|name\n1|a\0b\n").encoding, TextEncoding::Utf8);
    }

    #[test]
    fn utf16_files_with_bom_are_transcoded() {
        let text = "StudentId|नाम\r\n1|é€\n";
        for big_endian in [false, true] {
            let (d, out) = decode_all(&utf16(text, big_endian, true));
            assert_eq!(d.encoding, if big_endian { TextEncoding::Utf16Be } else { TextEncoding::Utf16Le });
            assert_eq!(out, text);
        }
    }

    #[test]
    fn windows_1252_bytes_decode_to_their_characters() {
        let (d, out) = decode_all(b"name|amount\nCaf\xE9|\x80 5\n");
        assert_eq!(d.encoding, TextEncoding::Windows1252);
        assert_eq!(out, "name|amount\nCafé|€ 5\n");
    }

    #[test]
    fn utf8_bom_is_skipped_and_bytes_pass_through_untouched() {
        // Invalid UTF-8 after a UTF-8 BOM is passed on as is: fields are validated later, with row numbers.
        let input = b"\xEF\xBB\xBFid\n\xFF\n";
        let detected = detect_encoding(input);
        let mut out = Vec::new();
        utf8_reader(&input[..], &detected).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"id\n\xFF\n");
    }

    #[test]
    fn bom_only_inputs_read_as_empty() {
        for input in [&b"\xEF\xBB\xBF"[..], b"\xFF\xFE", b"\xFE\xFF"] {
            let (d, out) = decode_all(input);
            assert_eq!(out, "", "{d:?}");
        }
    }

    #[test]
    fn tiny_reads_and_buffers_do_not_lose_bytes() {
        let text = "id|नाम\n".repeat(20_000);
        let cases = [
            (utf16(&text, false, true), 1),
            (format!("\u{feff}{text}").into_bytes(), 1),
            (utf16(&text, true, true), 7),
        ];
        for (bytes, step) in cases {
            let detected = detect_encoding(&bytes);
            let mut reader = utf8_reader(Trickle { data: &bytes, step }, &detected);
            let mut out = Vec::new();
            let mut buf = [0u8; 5];
            loop {
                let n = reader.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            assert_eq!(String::from_utf8(out).unwrap(), text);
        }
    }

    #[test]
    fn odd_trailing_utf16_byte_becomes_a_replacement_character() {
        let mut bytes = utf16("a", false, true);
        bytes.push(b'b');
        assert_eq!(decode_all(&bytes).1, "a\u{FFFD}");
    }

    #[test]
    fn a_given_encoding_still_skips_its_own_bom() {
        let d = Detected::given(TextEncoding::Utf16Le, b"\xFF\xFEa\0");
        assert_eq!(d.bom_len, 2);
        assert_eq!(Detected::given(TextEncoding::Windows1252, b"\xFF\xFEa\0").bom_len, 0);
    }

    #[test]
    fn delimiter_is_found_when_consistent() {
        assert_eq!(detect_delimiter(b"a,b,c\n1,2,3\n4,5,6\n"), Some(b','));
        assert_eq!(detect_delimiter(b"a\tb\r\n1\t2\r\n"), Some(b'\t'));
        assert_eq!(detect_delimiter(b"a;b\n1;2"), Some(b';'));
        assert_eq!(detect_delimiter(b"a|b|c\n1|2,5|3\n"), Some(b'|'));
        // Header only: the only line decides.
        assert_eq!(detect_delimiter(b"StudentId|SchoolId"), Some(b'|'));
    }

    #[test]
    fn delimiters_inside_quotes_do_not_count() {
        let sample = b"id|name|city\n1|\"Pune, MH\"|x\n2|\"a|b\"|y\n3|\"line\nbreak, here\"|z\n";
        assert_eq!(detect_delimiter(sample), Some(b'|'));
        let sample = b"id,name\n1,\"x;y;z\"\n2,\"\"\"q\"\";\"\n";
        assert_eq!(detect_delimiter(sample), Some(b','));
    }

    #[test]
    fn blank_lines_are_skipped_and_a_cut_last_line_is_ignored() {
        assert_eq!(detect_delimiter(b"a,b\n\n1,2\n\r\n3,4\n5"), Some(b','));
    }

    #[test]
    fn no_delimiter_when_nothing_is_consistent() {
        assert_eq!(detect_delimiter(b""), None);
        assert_eq!(detect_delimiter(b"\n\n"), None);
        assert_eq!(detect_delimiter(b"justone\nword\n"), None);
        assert_eq!(detect_delimiter(b"a,b\n1,2,3\n"), None);
    }

    #[test]
    fn the_candidate_with_more_fields_wins() {
        // Both `,` and `|` are consistent; `|` splits into more fields.
        assert_eq!(detect_delimiter(b"a,b|c|d\n1,2|3|4\n"), Some(b'|'));
    }
}
