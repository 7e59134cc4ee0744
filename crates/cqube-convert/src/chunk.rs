//! Cuts a decoded text stream into record-aligned chunks that workers can parse independently.
//!
//! A cut is only made after a `\n` that ends a record, never inside a quoted field. The scanner mirrors
//! csv-core's quoting rules (a quote opens a quoted field only at the start of a field; `""` inside
//! quotes is a literal quote), so each chunk parses on its own exactly as the whole file would.

use std::io::{self, Read};

/// A run of whole records.
#[derive(Debug)]
pub(crate) struct Chunk {
    /// Position in the stream, from 0; results are written back in this order.
    pub index: u64,
    /// 1-based line number of the chunk's first byte in the input.
    pub first_line: u64,
    /// Offset of the chunk's first byte in the text (the input after decoding).
    pub first_byte: u64,
    pub data: Vec<u8>,
}

/// Why the stream cannot be cut into records.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ChunkError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("line {line}: quoted field never closed (a stray '\"'?)")]
    UnterminatedQuote { line: u64 },
    #[error("line {line}: record longer than {limit} bytes (a stray '\"' opening a quoted field?)")]
    RecordTooLarge { line: u64, limit: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

pub(crate) struct Chunker<R> {
    reader: R,
    delimiter: u8,
    chunk_size: usize,
    max_record: usize,
    buf: Vec<u8>,
    /// How far `buf` has been scanned, the state there, and the last record end seen.
    scanned: usize,
    state: State,
    last_boundary: Option<usize>,
    quote_opened_at: usize,
    eof: bool,
    next_line: u64,
    next_byte: u64,
    next_index: u64,
}

impl<R: Read> Chunker<R> {
    /// `initial` holds bytes already read from `reader` (for sniffing); they come first.
    pub fn new(reader: R, initial: Vec<u8>, delimiter: u8, chunk_size: usize, max_record: usize) -> Self {
        Chunker {
            reader,
            delimiter,
            chunk_size,
            max_record: max_record.max(chunk_size),
            buf: initial,
            scanned: 0,
            state: State::FieldStart,
            last_boundary: None,
            quote_opened_at: 0,
            eof: false,
            next_line: 1,
            next_byte: 0,
            next_index: 0,
        }
    }

    /// The first record (the header line) alone, or `None` for an empty stream.
    pub fn first_record(&mut self) -> Result<Option<Chunk>, ChunkError> {
        let header = self.next(|_, this| this.first_boundary());
        // Data chunks are numbered from 0; the header is not one of them.
        self.next_index = 0;
        header
    }

    /// The next run of whole records, about `chunk_size` bytes or more, or `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, ChunkError> {
        self.next(|len, this| if len >= this.chunk_size || this.eof { this.last_boundary } else { None })
    }

    fn next(&mut self, cut_at: impl Fn(usize, &Self) -> Option<usize>) -> Result<Option<Chunk>, ChunkError> {
        loop {
            self.scan();
            if let Some(cut) = cut_at(self.buf.len(), self) {
                return Ok(Some(self.take(cut)));
            }
            if self.eof {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                if matches!(self.state, State::Quoted) {
                    return Err(ChunkError::UnterminatedQuote { line: self.line_at(self.quote_opened_at) });
                }
                // The last record has no line end.
                let all = self.buf.len();
                return Ok(Some(self.take(all)));
            }
            let pending = self.buf.len() - self.last_boundary.unwrap_or(0);
            if pending > self.max_record {
                let start = self.last_boundary.unwrap_or(0);
                return Err(if matches!(self.state, State::Quoted | State::QuoteInQuoted) {
                    ChunkError::RecordTooLarge { line: self.line_at(self.quote_opened_at), limit: self.max_record }
                } else {
                    ChunkError::RecordTooLarge { line: self.line_at(start), limit: self.max_record }
                });
            }
            self.fill()?;
        }
    }

    /// The end of the first record, once `scan` has seen at least one record end.
    fn first_boundary(&self) -> Option<usize> {
        self.last_boundary?;
        let mut state = State::FieldStart;
        self.buf
            .iter()
            .position(|&b| {
                state = step(state, b, self.delimiter);
                b == b'\n' && state == State::FieldStart
            })
            .map(|i| i + 1)
    }

    fn fill(&mut self) -> io::Result<()> {
        let want = self.chunk_size;
        let start = self.buf.len();
        self.buf.resize(start + want, 0);
        let mut filled = start;
        while filled < self.buf.len() {
            match self.reader.read(&mut self.buf[filled..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(filled);
                    return Err(e);
                }
            }
        }
        self.buf.truncate(filled);
        Ok(())
    }

    fn take(&mut self, cut: usize) -> Chunk {
        let rest = self.buf.split_off(cut);
        let data = std::mem::replace(&mut self.buf, rest);
        self.scanned -= cut;
        self.last_boundary = None;
        self.quote_opened_at = self.quote_opened_at.saturating_sub(cut);
        let chunk = Chunk { index: self.next_index, first_line: self.next_line, first_byte: self.next_byte, data };
        self.next_index += 1;
        self.next_byte += chunk.data.len() as u64;
        self.next_line += memchr::memchr_iter(b'\n', &chunk.data).count() as u64;
        chunk
    }

    fn line_at(&self, offset: usize) -> u64 {
        self.next_line + memchr::memchr_iter(b'\n', &self.buf[..offset.min(self.buf.len())]).count() as u64
    }

    fn scan(&mut self) {
        let from = self.scanned;
        let region = &self.buf[from..];
        if matches!(self.state, State::FieldStart | State::Unquoted) && memchr::memchr(b'"', region).is_none() {
            // No quotes ahead (the usual case: attendance files have none): only line ends matter.
            if let Some(nl) = memchr::memrchr(b'\n', region) {
                self.last_boundary = Some(from + nl + 1);
            }
            if let Some(&last) = region.last() {
                self.state = if last == b'\n' || last == self.delimiter { State::FieldStart } else { State::Unquoted };
            }
        } else {
            let mut state = self.state;
            for i in from..self.buf.len() {
                let b = self.buf[i];
                let next = step(state, b, self.delimiter);
                if next == State::Quoted && state == State::FieldStart {
                    self.quote_opened_at = i;
                }
                if b == b'\n' && next == State::FieldStart {
                    self.last_boundary = Some(i + 1);
                }
                state = next;
            }
            self.state = state;
        }
        self.scanned = self.buf.len();
    }
}

/// One byte of csv-core's quoting state machine (no escape character, doubled quotes).
fn step(state: State, b: u8, delimiter: u8) -> State {
    match (state, b) {
        (State::FieldStart | State::QuoteInQuoted, b'"') => State::Quoted,
        (State::FieldStart | State::Unquoted | State::QuoteInQuoted, b'\n') => State::FieldStart,
        (State::FieldStart | State::Unquoted | State::QuoteInQuoted, _) if b == delimiter => State::FieldStart,
        // csv-core keeps bytes after a closing quote as part of the field.
        (State::FieldStart | State::Unquoted | State::QuoteInQuoted, _) => State::Unquoted,
        (State::Quoted, b'"') => State::QuoteInQuoted,
        (State::Quoted, _) => State::Quoted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(input: &str, chunk_size: usize) -> Vec<(u64, String)> {
        let mut c = Chunker::new(input.as_bytes(), Vec::new(), b',', chunk_size, 1 << 20);
        let mut out = Vec::new();
        while let Some(chunk) = c.next_chunk().unwrap() {
            out.push((chunk.first_line, String::from_utf8(chunk.data).unwrap()));
        }
        out
    }

    #[test]
    fn cuts_only_at_record_ends() {
        let input = "a,b\n1,\"x\ny\"\n2,\"he said \"\"hi\n\"\"\"\n3,z";
        for size in 1..input.len() + 2 {
            let got = chunks(input, size);
            assert_eq!(got.iter().map(|(_, d)| d.as_str()).collect::<String>(), input, "size {size}");
            for (_, data) in &got[..got.len() - 1] {
                assert!(data.ends_with('\n'));
                let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(data.as_bytes());
                assert!(rdr.records().all(|r| r.is_ok()));
            }
        }
        // first lines account for newlines inside quoted fields
        let got = chunks(input, 1);
        assert_eq!(got.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![1, 2, 4, 6]);
    }

    #[test]
    fn a_quote_inside_an_unquoted_field_is_literal() {
        let input = "a,12\" screen\nb,c\n";
        assert_eq!(chunks(input, 1), vec![(1, "a,12\" screen\n".into()), (2, "b,c\n".into())]);
    }

    #[test]
    fn unterminated_quote_names_its_line() {
        let mut c = Chunker::new("a,b\n1,2\n3,\"oops\n4,5\n".as_bytes(), Vec::new(), b',', 4, 1 << 20);
        let err = loop {
            match c.next_chunk() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("no error"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.to_string(), "line 3: quoted field never closed (a stray '\"'?)");
    }

    #[test]
    fn runaway_quoted_field_is_bounded() {
        let input = format!("a\n\"{}", "x".repeat(5000));
        let mut c = Chunker::new(input.as_bytes(), Vec::new(), b',', 16, 1024);
        let first = c.next_chunk();
        assert!(matches!(first, Ok(Some(_))));
        assert!(matches!(c.next_chunk(), Err(ChunkError::RecordTooLarge { line: 2, limit: 1024 })));
    }

    #[test]
    fn first_record_is_the_header_even_with_quoted_newlines() {
        let input = "\"a\nb\",c\n1,2\n3,4\n";
        let mut c = Chunker::new(input.as_bytes(), Vec::new(), b',', 1 << 16, 1 << 20);
        let header = c.first_record().unwrap().unwrap();
        assert_eq!(header.data, b"\"a\nb\",c\n");
        let rest = c.next_chunk().unwrap().unwrap();
        assert_eq!((rest.index, rest.first_line, rest.data.as_slice()), (0, 3, b"1,2\n3,4\n".as_slice()));
        assert!(c.next_chunk().unwrap().is_none());
    }

    #[test]
    fn empty_input_has_no_chunks() {
        let mut c = Chunker::new(io::empty(), Vec::new(), b',', 16, 1024);
        assert!(c.first_record().unwrap().is_none());
    }
}
