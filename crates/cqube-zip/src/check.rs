//! Checking a one-entry zip someone else made (a prepared cQube emission) while it streams past, in bounded memory.
//!
//! [`check`] reads the archive once, copying every byte to a `tee` (the uploader), and checks the entry's name,
//! method, CSV (header, field count of every record), CRC and central directory. [`open_entry`] only opens the
//! entry's CSV (for re-encoding it). Both hold the entry to [`Limits`]: decompressed size, compression ratio and record
//! length, so a zip bomb is refused by name after a bounded amount of work and memory instead of being expanded.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::bufread::DeflateDecoder;

use crate::Error;
use crate::framing::{CENTRAL_HEADER, END, LOCAL_HEADER, ZIP64_END};

/// What a prepared zip may hold. The defaults are generous for real data: cQube's own sample emissions compress
/// 1.2x to 20.5x (infra_trans), generated attendance (`cqube-emit gen`, level 5) 4.5x.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest decompressed entry, in bytes. Default 64 GiB.
    pub max_entry_bytes: u64,
    /// Largest ratio of decompressed to compressed bytes, checked as the entry streams once it passes
    /// [`RATIO_GRACE_BYTES`]. Default 100.
    pub max_ratio: u64,
    /// Longest CSV record, in bytes (as `convert`'s `max_record_bytes`). Default 64 MiB.
    pub max_record_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_entry_bytes: 64 << 30, max_ratio: 100, max_record_bytes: 64 << 20 }
    }
}

/// Decompressed bytes an entry may reach before its ratio is checked: small files (a header, a few repeated rows)
/// compress far better than 100x without being bombs.
pub const RATIO_GRACE_BYTES: u64 = 1 << 20;

/// What the entry must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The entry's name, e.g. `student_attendance.csv`.
    pub entry_name: String,
    /// The CSV's delimiter (quote `"`, escape `\`, cQube's reader).
    pub delimiter: u8,
    /// The header's fields, in order.
    pub header: Vec<String>,
}

/// What a checked zip holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// Data records (header excluded).
    pub rows: u64,
    /// CRC-32 of the CSV, as computed and as the central directory declares it.
    pub crc32: u32,
    /// Size of the CSV.
    pub csv_bytes: u64,
    /// Size of the zip.
    pub zip_bytes: u64,
}

/// The central directory of a one-entry zip is small; more than this means something else follows.
const TAIL_LIMIT: usize = 1 << 20;
const BUFFER: usize = 256 * 1024;

/// Reads a whole zip from `zip`, copying every byte to `tee` as it goes (the bytes handed on are exactly the bytes
/// checked), and checks it against `expected` within `limits`.
pub fn check(zip: impl Read, tee: &mut dyn Write, expected: &Expected, limits: &Limits) -> Result<Checked, Error> {
    let mut reader = BufReader::with_capacity(BUFFER, Tee { inner: zip, copy: tee, count: 0 });
    let entry = read_local_header(&mut reader, &expected.entry_name)?;
    let mut data = Crc { inner: EntryData::new(&mut reader, &entry, limits), hasher: crc32fast::Hasher::new() };
    let rows = check_csv(&mut data, expected, limits)?;
    let (crc32, csv_bytes) = (data.hasher.clone().finalize(), data.hasher.total_len());
    drop(data);
    let offset_after_data = reader.get_ref().count - reader.buffer().len() as u64;
    let mut tail = Vec::new();
    (&mut reader).take(TAIL_LIMIT as u64 + 1).read_to_end(&mut tail).map_err(|e| unwrap_io(e, "reading the tail"))?;
    if tail.len() > TAIL_LIMIT {
        return Err(invalid("more data after the entry than a one-entry zip has"));
    }
    let declared = central_directory(&tail, offset_after_data, &expected.entry_name)?;
    if declared != crc32 {
        return Err(invalid(format!("CRC mismatch: the zip declares {declared:08x}, the data has {crc32:08x}")));
    }
    Ok(Checked { rows, crc32, csv_bytes, zip_bytes: reader.get_ref().count })
}

/// The decompressed CSV of a one-entry zip named `entry_name`, held to `limits.max_entry_bytes` and
/// `limits.max_ratio` as it is read (the reader fails with an [`Error`] inside its `io::Error` past them).
pub fn open_entry<R: Read + Send + 'static>(
    zip: R,
    entry_name: &str,
    limits: &Limits,
) -> Result<impl Read + Send + 'static, Error> {
    let mut reader = BufReader::with_capacity(BUFFER, zip);
    let entry = read_local_header(&mut reader, entry_name)?;
    Ok(EntryData::new(reader, &entry, limits))
}

struct Entry {
    method: u16,
    stored_size: u64,
}

fn invalid(problem: impl Into<String>) -> Error {
    Error::InvalidZip { problem: problem.into() }
}

/// An `io::Error` carrying one of our errors (a limit hit inside a reader) becomes that error again.
fn unwrap_io(e: io::Error, what: &'static str) -> Error {
    if e.get_ref().is_some_and(<dyn std::error::Error + Send + Sync>::is::<Error>) {
        let inner = e.into_inner().expect("checked above");
        return *inner.downcast::<Error>().expect("checked above");
    }
    Error::Read { what, source: e }
}

fn read_local_header(r: &mut impl Read, expected_name: &str) -> Result<Entry, Error> {
    let mut h = [0u8; 30];
    let short = |e: io::Error, problem: &str| match e.kind() {
        io::ErrorKind::UnexpectedEof => invalid(problem),
        _ => unwrap_io(e, "reading the zip"),
    };
    r.read_exact(&mut h).map_err(|e| short(e, "not a zip: shorter than a local file header"))?;
    if u32_at(&h, 0) != LOCAL_HEADER {
        return Err(invalid("not a zip: no local file header at the start"));
    }
    let (flags, method) = (u16_at(&h, 6), u16_at(&h, 8));
    let stored_size = u64::from(u32_at(&h, 18));
    let (name_len, extra_len) = (usize::from(u16_at(&h, 26)), usize::from(u16_at(&h, 28)));
    let mut name = vec![0u8; name_len + extra_len];
    r.read_exact(&mut name).map_err(|e| short(e, "zip truncated in its local header"))?;
    let name = String::from_utf8_lossy(&name[..name_len]);
    if name != expected_name {
        return Err(invalid(format!("entry is named {name:?}; cQube expects {expected_name:?}")));
    }
    if flags & 1 != 0 {
        return Err(invalid("entry is encrypted"));
    }
    match method {
        8 => {}
        0 if flags & 8 == 0 => {}
        0 => return Err(invalid("stored entry without sizes in its local header is not supported")),
        m => return Err(invalid(format!("compression method {m} (cQube reads deflate or stored)"))),
    }
    Ok(Entry { method, stored_size })
}

/// The entry's decompressed bytes, counting what goes in and what comes out against [`Limits`].
struct EntryData<R: BufRead> {
    data: Method<R>,
    consumed: Arc<AtomicU64>,
    produced: u64,
    limits: Limits,
}

enum Method<R: BufRead> {
    Deflate(DeflateDecoder<Consumed<R>>),
    Stored(io::Take<Consumed<R>>),
}

impl<R: BufRead> EntryData<R> {
    fn new(inner: R, entry: &Entry, limits: &Limits) -> Self {
        let consumed = Arc::new(AtomicU64::new(0));
        let counted = Consumed { inner, count: Arc::clone(&consumed) };
        let data = match entry.method {
            8 => Method::Deflate(DeflateDecoder::new(counted)),
            _ => Method::Stored(counted.take(entry.stored_size)),
        };
        EntryData { data, consumed, produced: 0, limits: *limits }
    }
}

impl<R: BufRead> Read for EntryData<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.data {
            Method::Deflate(d) => d.read(buf)?,
            Method::Stored(s) => s.read(buf)?,
        };
        self.produced += n as u64;
        let Limits { max_entry_bytes, max_ratio, .. } = self.limits;
        if self.produced > max_entry_bytes {
            return Err(io::Error::other(Error::EntryTooLarge { limit: max_entry_bytes }));
        }
        let compressed = self.consumed.load(Ordering::Relaxed);
        if self.produced > RATIO_GRACE_BYTES && self.produced > compressed.saturating_mul(max_ratio) {
            return Err(io::Error::other(Error::RatioTooHigh {
                limit: max_ratio,
                uncompressed: self.produced,
                compressed,
            }));
        }
        Ok(n)
    }
}

/// Counts the compressed bytes the decoder takes.
struct Consumed<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: BufRead> Read for Consumed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Consumed<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
        self.count.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Reads the CSV record by record with csv-core into buffers no larger than the limits allow; returns the number of
/// data records.
fn check_csv(r: &mut impl Read, expected: &Expected, limits: &Limits) -> Result<u64, Error> {
    let mut records = Records {
        inner: BufReader::with_capacity(64 * 1024, r),
        // cQube's reader: quote ", escape \ (cqube-encode's contract).
        core: csv_core::ReaderBuilder::new().delimiter(expected.delimiter).escape(Some(b'\\')).build(),
        out: vec![0; 4096],
        ends: vec![0; expected.header.len() + 1],
        limit: limits.max_record_bytes,
        line: 0,
    };
    let header = records.next(expected.header.len())?.ok_or_else(|| invalid("the CSV is empty (no header)"))?;
    let found: Vec<&[u8]> = records.fields(header).collect();
    if found.iter().copied().ne(expected.header.iter().map(String::as_bytes)) {
        let found = found.iter().map(|f| String::from_utf8_lossy(f)).collect::<Vec<_>>();
        let sep = char::from(expected.delimiter).to_string();
        return Err(invalid(format!(
            "header is {:?}; cQube expects {:?}",
            found.join(&sep),
            expected.header.join(&sep)
        )));
    }
    let mut rows = 0;
    while let Some(fields) = records.next(expected.header.len())? {
        rows += 1;
        if fields != expected.header.len() {
            return Err(invalid(format!(
                "line {}: {fields} fields, the header has {}",
                records.line,
                expected.header.len()
            )));
        }
    }
    Ok(rows)
}

/// A bounded record reader: a record past `limit` input bytes, or with more fields than expected, stops it.
struct Records<R> {
    inner: BufReader<R>,
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    limit: usize,
    /// Records read so far (the header is line 1, as cQube counts them).
    line: u64,
}

impl<R: Read> Records<R> {
    /// Reads the next record; returns its field count, or `None` at the end.
    fn next(&mut self, expected_fields: usize) -> Result<Option<usize>, Error> {
        use csv_core::ReadRecordResult as R;
        let (mut nout, mut nends, mut taken) = (0, 0, 0);
        let line = self.line + 1;
        loop {
            let input = self.inner.fill_buf().map_err(|e| unwrap_io(e, "reading the CSV"))?;
            let (result, nin, o, e) = self.core.read_record(input, &mut self.out[nout..], &mut self.ends[nends..]);
            self.inner.consume(nin);
            (nout, nends, taken) = (nout + o, nends + e, taken + nin);
            if taken > self.limit {
                return Err(Error::RecordTooLarge { line, limit: self.limit });
            }
            match result {
                R::InputEmpty => {}
                // Output never outgrows the input taken, which the limit above bounds.
                R::OutputFull => self.out.resize((self.out.len() * 2).min(self.limit + 1), 0),
                R::OutputEndsFull => {
                    return Err(invalid(format!(
                        "line {line}: more than {expected_fields} fields, the header has {expected_fields}"
                    )));
                }
                R::Record => {
                    self.line = line;
                    return Ok(Some(nends));
                }
                R::End => return Ok(None),
            }
        }
    }

    /// The fields of the record `next` just read.
    fn fields(&self, count: usize) -> impl Iterator<Item = &[u8]> {
        (0..count).map(move |i| &self.out[if i == 0 { 0 } else { self.ends[i - 1] }..self.ends[i]])
    }
}

/// Checks the end of the archive (everything after the entry's data): exactly one entry, the same name; returns
/// the CRC the central directory declares.
fn central_directory(tail: &[u8], tail_offset: u64, name: &str) -> Result<u32, Error> {
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(tail, i) == END)
        .ok_or_else(|| invalid("no end-of-central-directory record: the zip is truncated"))?;
    let mut entries = u64::from(u16_at(tail, eocd + 10));
    let mut cd_offset = u64::from(u32_at(tail, eocd + 16));
    if entries == 0xFFFF || cd_offset == 0xFFFF_FFFF {
        let z = (0..eocd)
            .rev()
            .find(|&i| u32_at(tail, i) == ZIP64_END)
            .ok_or_else(|| invalid("zip64 end record missing"))?;
        entries = u64_at(tail, z + 32);
        cd_offset = u64_at(tail, z + 48);
    }
    if entries != 1 {
        return Err(invalid(format!("the zip holds {entries} entries; cQube reads one")));
    }
    let at = cd_offset
        .checked_sub(tail_offset)
        .and_then(|at| usize::try_from(at).ok())
        .ok_or_else(|| invalid("central directory before the entry's end"))?;
    if at.saturating_add(46) > tail.len() || u32_at(tail, at) != CENTRAL_HEADER {
        return Err(invalid("central directory not where the zip says"));
    }
    let name_len = usize::from(u16_at(tail, at + 28));
    let cd_name = tail.get(at + 46..at + 46 + name_len).ok_or_else(|| invalid("central directory truncated"))?;
    if cd_name != name.as_bytes() {
        return Err(invalid("central directory names a different entry"));
    }
    Ok(u32_at(tail, at + 16))
}

// Bytes past the end read as zero, so a truncated archive fails a signature or count check instead of panicking.
fn byte(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([byte(b, i), byte(b, i.saturating_add(1))])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    let at = |k: usize| byte(b, i.saturating_add(k));
    u32::from_le_bytes([at(0), at(1), at(2), at(3)])
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    u64::from(u32_at(b, i)) | (u64::from(u32_at(b, i.saturating_add(4))) << 32)
}

/// Copies what it reads to `copy`.
struct Tee<'w, R> {
    inner: R,
    copy: &'w mut dyn Write,
    count: u64,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n]).map_err(|source| io::Error::other(Error::Forward { source }))?;
        self.count += n as u64;
        Ok(n)
    }
}

struct Crc<R> {
    inner: R,
    hasher: crc32fast::Hasher,
}

impl<R: Read> Read for Crc<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{Compress, Compression, FlushCompress};

    use super::*;
    use crate::{ZipOptions, ZipStream};

    fn district() -> Expected {
        let header = ["district_id", "district_name", "state_id", "state_name"];
        Expected { entry_name: "district_mst.csv".into(), delimiter: b'|', header: header.map(String::from).to_vec() }
    }

    fn zip_of(name: &str, csv: &[u8]) -> Vec<u8> {
        let mut z = ZipStream::new(Vec::new(), name, ZipOptions::default()).unwrap();
        z.write_all(csv).unwrap();
        z.finish().unwrap().0
    }

    fn err(zip: &[u8], limits: &Limits) -> String {
        check(zip, &mut io::sink(), &district(), limits).unwrap_err().to_string()
    }

    #[test]
    fn a_good_zip_is_counted_and_copied_byte_for_byte() {
        let csv = "district_id|district_name|state_id|state_name\n1|\"a|b\"|c|d\n\n2|x|\"C:\\\\new\"|z\n";
        let zip = zip_of("district_mst.csv", csv.as_bytes());
        let mut copy = Vec::new();
        let facts = check(&zip[..], &mut copy, &district(), &Limits::default()).unwrap();
        assert_eq!(copy, zip);
        assert_eq!((facts.rows, facts.csv_bytes, facts.zip_bytes), (2, csv.len() as u64, zip.len() as u64));
        assert_eq!(facts.crc32, crc32fast::hash(csv.as_bytes()));
        let mut entry = String::new();
        open_entry(io::Cursor::new(zip), "district_mst.csv", &Limits::default())
            .unwrap()
            .read_to_string(&mut entry)
            .unwrap();
        assert_eq!(entry, csv);
    }

    #[test]
    fn wrong_name_header_fields_and_truncation_are_refused() {
        let good = "district_id|district_name|state_id|state_name\n1|a|b|c\n";
        let limits = Limits::default();
        assert!(err(&zip_of("other.csv", good.as_bytes()), &limits).contains("cQube expects \"district_mst.csv\""));
        assert!(err(&zip_of("district_mst.csv", b"a|b\n1|2\n"), &limits).contains("header is \"a|b\""));
        let short = zip_of("district_mst.csv", format!("{good}1|2|3\n").as_bytes());
        assert_eq!(err(&short, &limits), "line 3: 3 fields, the header has 4");
        let long = zip_of("district_mst.csv", format!("{good}{}\n", "|".repeat(100_000)).as_bytes());
        assert_eq!(err(&long, &limits), "line 3: more than 4 fields, the header has 4");
        let zip = zip_of("district_mst.csv", good.as_bytes());
        assert!(err(&zip[..zip.len() - 10], &limits).contains("truncated"));
        let mut bad_crc = zip.clone();
        let central = (0..zip.len()).rev().find(|&i| u32_at(&zip, i) == CENTRAL_HEADER).unwrap();
        bad_crc[central + 16] ^= 1;
        assert!(err(&bad_crc, &limits).contains("CRC mismatch"));
        assert!(err(b"PK\x05\x06", &limits).contains("not a zip"));
    }

    /// A raw deflate stream of `unit` repeated `times` times (plus `head` before), built by compressing one run of
    /// units once and repeating its bytes: each run starts on a unit boundary with a window of the same units, so the
    /// copies decode alike. `unit` must divide 64 KiB's worth of runs evenly (any short unit does).
    fn repeated_deflate(head: &[u8], unit: &[u8], runs: u64) -> (Vec<u8>, u32, u64) {
        let run: Vec<u8> = unit.iter().copied().cycle().take(unit.len() * (65_536 / unit.len())).collect();
        let mut c = Compress::new(Compression::best(), false);
        let mut out = Vec::with_capacity(1 << 20);
        let mut first = head.to_vec();
        first.extend_from_slice(&run);
        c.compress_vec(&first, &mut out, FlushCompress::Sync).unwrap();
        let before = out.len();
        c.compress_vec(&run, &mut out, FlushCompress::Sync).unwrap();
        let block = out[before..].to_vec();
        let mut crc = crc32fast::Hasher::new();
        crc.update(&first);
        crc.update(&run);
        for _ in 2..runs {
            out.extend_from_slice(&block);
            crc.update(&run);
        }
        let mut end = Vec::with_capacity(64);
        c.compress_vec(&[], &mut end, FlushCompress::Finish).unwrap();
        out.extend_from_slice(&end);
        (out, crc.finalize(), first.len() as u64 + (runs - 1) * run.len() as u64)
    }

    /// A one-entry zip around a raw deflate stream (local header with sizes, central directory, end record).
    fn framed(name: &str, deflated: &[u8], crc: u32, size: u64) -> Vec<u8> {
        let mut z = Vec::new();
        let n = name.len() as u16;
        z.extend_from_slice(&LOCAL_HEADER.to_le_bytes());
        z.extend_from_slice(&[20, 0, 0, 0, 8, 0, 0, 0, 0x21, 0]);
        z.extend_from_slice(&crc.to_le_bytes());
        z.extend_from_slice(&(deflated.len() as u32).to_le_bytes());
        z.extend_from_slice(&(size.min(0xFFFF_FFFF) as u32).to_le_bytes());
        z.extend_from_slice(&n.to_le_bytes());
        z.extend_from_slice(&0u16.to_le_bytes());
        z.extend_from_slice(name.as_bytes());
        z.extend_from_slice(deflated);
        let cd = z.len() as u32;
        z.extend_from_slice(&CENTRAL_HEADER.to_le_bytes());
        z.extend_from_slice(&[20, 3, 20, 0, 0, 0, 8, 0, 0, 0, 0x21, 0]);
        z.extend_from_slice(&crc.to_le_bytes());
        z.extend_from_slice(&(deflated.len() as u32).to_le_bytes());
        z.extend_from_slice(&(size.min(0xFFFF_FFFF) as u32).to_le_bytes());
        z.extend_from_slice(&n.to_le_bytes());
        z.extend_from_slice(&[0; 12]);
        z.extend_from_slice(&0u32.to_le_bytes());
        z.extend_from_slice(name.as_bytes());
        let cd_size = z.len() as u32 - cd;
        z.extend_from_slice(&END.to_le_bytes());
        z.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
        z.extend_from_slice(&cd_size.to_le_bytes());
        z.extend_from_slice(&cd.to_le_bytes());
        z.extend_from_slice(&[0, 0]);
        z
    }

    const HEADER: &[u8] = b"district_id|district_name|state_id|state_name\n";

    #[test]
    fn many_identical_rows_pass_under_a_lifted_ratio_and_are_refused_by_ratio() {
        let (deflated, crc, size) = repeated_deflate(HEADER, b"1|a|2|b\n", 300);
        let zip = framed("district_mst.csv", &deflated, crc, size);
        assert!(size > 100 * zip.len() as u64, "the test zip must be a bomb: {size} from {}", zip.len());
        let lifted = Limits { max_ratio: u64::MAX, ..Limits::default() };
        let facts = check(&zip[..], &mut io::sink(), &district(), &lifted).unwrap();
        assert_eq!((facts.rows, facts.crc32, facts.csv_bytes), ((size - HEADER.len() as u64) / 8, crc, size));
        let refused = err(&zip, &Limits::default());
        assert!(refused.starts_with("the entry expands more than 100x its compressed size"), "{refused}");
        let mut entry = open_entry(io::Cursor::new(zip.clone()), "district_mst.csv", &Limits::default()).unwrap();
        let e = io::copy(&mut entry, &mut io::sink()).unwrap_err();
        assert!(e.to_string().starts_with("the entry expands more than 100x"), "{e}");
        let small = Limits { max_entry_bytes: 1_000_000, max_ratio: u64::MAX, ..Limits::default() };
        assert_eq!(err(&zip, &small), "the entry decompresses past 1000000 bytes, the limit for one entry");
    }

    #[test]
    fn one_endless_line_is_refused_at_the_record_limit() {
        let (deflated, crc, size) = repeated_deflate(HEADER, b"x", 200);
        let zip = framed("district_mst.csv", &deflated, crc, size);
        let limits = Limits { max_ratio: u64::MAX, max_record_bytes: 1 << 20, ..Limits::default() };
        assert_eq!(
            err(&zip, &limits),
            format!("line 2: record longer than {} bytes (a missing line end or a stray '\"'?)", 1 << 20)
        );
        // A stray quote opening a field that never closes is the same case.
        let (deflated, crc, size) = repeated_deflate(b"district_id|district_name|state_id|state_name\n1|\"", b"x", 200);
        let zip = framed("district_mst.csv", &deflated, crc, size);
        assert!(err(&zip, &limits).starts_with("line 2: record longer than"));
    }

    #[test]
    fn a_failing_tee_is_named() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, "uploader gone"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let zip = zip_of("district_mst.csv", HEADER);
        let e = check(&zip[..], &mut Broken, &district(), &Limits::default()).unwrap_err();
        assert_eq!(e.to_string(), "handing the zip on: uploader gone");
    }
}
