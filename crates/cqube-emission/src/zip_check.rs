//! Checking a cQube emission zip while it streams past: one entry named `<stem>.csv`, the catalog's header, every
//! row with the right number of fields, and the CRC the archive declares. Used for zips emitted as they are and by
//! `verify`.

use std::io::{self, BufRead, BufReader, Read, Write};

use anyhow::{Context, bail, ensure};
use cqube_core::DataSource;
use flate2::bufread::DeflateDecoder;

/// What a checked zip holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipFacts {
    /// Data rows (header excluded).
    pub rows: u64,
    /// CRC-32 of the CSV, as computed and as the central directory declares it.
    pub crc32: u32,
    /// Size of the CSV.
    pub csv_bytes: u64,
    /// Size of the zip.
    pub zip_bytes: u64,
}

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIR: u32 = 0x0605_4b50;
const ZIP64_END: u32 = 0x0606_4b50;
/// The central directory of a one-entry zip is small; more than this means something else follows.
const TAIL_LIMIT: usize = 1 << 20;

/// Reads a whole zip from `zip`, copying every byte to `tee` as it goes, and checks it against `source`.
pub fn check_zip(zip: impl Read, tee: &mut dyn Write, source: &DataSource) -> anyhow::Result<ZipFacts> {
    let mut reader = BufReader::with_capacity(256 * 1024, Tee { inner: zip, copy: tee, count: 0 });
    let entry = read_local_header(&mut reader, source)?;
    let mut csv_reader = Crc { inner: entry_reader(&mut reader, &entry), hasher: crc32fast::Hasher::new(), bytes: 0 };
    let rows = check_csv(&mut csv_reader, source)?;
    let (crc32, csv_bytes) = (csv_reader.hasher.clone().finalize(), csv_reader.bytes);
    drop(csv_reader);
    let offset_after_data = reader.get_ref().count - reader.buffer().len() as u64;
    let mut tail = Vec::new();
    (&mut reader).take(TAIL_LIMIT as u64 + 1).read_to_end(&mut tail).context("reading the zip's central directory")?;
    ensure!(tail.len() <= TAIL_LIMIT, "more data after the entry than a one-entry zip has");
    let declared = central_directory(&tail, offset_after_data, &entry.name)?;
    ensure!(declared == crc32, "CRC mismatch: the zip declares {declared:08x}, the data has {crc32:08x}");
    Ok(ZipFacts { rows, crc32, csv_bytes, zip_bytes: reader.get_ref().count })
}

/// The CSV of a one-entry zip file, decompressed (for `--normalize`).
pub fn open_entry(path: &std::path::Path, source: &DataSource) -> anyhow::Result<Box<dyn Read + Send>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let entry = read_local_header(&mut reader, source).with_context(|| path.display().to_string())?;
    Ok(match entry.method {
        8 => Box::new(DeflateDecoder::new(reader)),
        _ => Box::new(reader.take(entry.stored_size)),
    })
}

struct Entry {
    name: String,
    method: u16,
    stored_size: u64,
}

fn read_local_header(r: &mut impl Read, source: &DataSource) -> anyhow::Result<Entry> {
    let mut h = [0u8; 30];
    r.read_exact(&mut h).context("not a zip: shorter than a local file header")?;
    ensure!(u32_at(&h, 0) == LOCAL_HEADER, "not a zip: no local file header at the start");
    let (flags, method) = (u16_at(&h, 6), u16_at(&h, 8));
    let stored_size = u64::from(u32_at(&h, 18));
    let (name_len, extra_len) = (usize::from(u16_at(&h, 26)), usize::from(u16_at(&h, 28)));
    let mut name = vec![0u8; name_len + extra_len];
    r.read_exact(&mut name).context("zip truncated in its local header")?;
    let name = String::from_utf8_lossy(&name[..name_len]).into_owned();
    let expected = format!("{}.csv", source.file_stem);
    ensure!(name == expected, "entry is named {name:?}; cQube expects {expected:?}");
    ensure!(flags & 1 == 0, "entry is encrypted");
    match method {
        8 => {}
        0 if flags & 8 == 0 => {}
        0 => bail!("stored entry without sizes in its local header is not supported"),
        m => bail!("compression method {m} (cQube reads deflate or stored)"),
    }
    Ok(Entry { name, method, stored_size })
}

fn entry_reader<'a, R: BufRead + 'a>(r: &'a mut R, entry: &Entry) -> Box<dyn Read + 'a> {
    match entry.method {
        8 => Box::new(DeflateDecoder::new(r)),
        _ => Box::new(r.take(entry.stored_size)),
    }
}

fn check_csv(r: &mut impl Read, source: &DataSource) -> anyhow::Result<u64> {
    // cQube's reader: quote ", escape \ (cqube-encode's contract).
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(source.delimiter)
        .has_headers(false)
        .flexible(true)
        .escape(Some(b'\\'))
        .from_reader(r);
    let mut record = csv::ByteRecord::new();
    ensure!(csv.read_byte_record(&mut record).context("reading the header")?, "the CSV is empty (no header)");
    let header: Vec<&[u8]> = record.iter().collect();
    let expected: Vec<&[u8]> = source.columns.iter().map(|c| c.name.as_bytes()).collect();
    if header != expected {
        bail!("header is {:?}; cQube expects {:?}", String::from_utf8_lossy(record.as_slice()), source.header_line());
    }
    let mut rows = 0u64;
    while csv.read_byte_record(&mut record).with_context(|| format!("reading row {}", rows + 1))? {
        rows += 1;
        if record.len() != expected.len() {
            bail!("line {}: {} fields, the header has {}", rows + 1, record.len(), expected.len());
        }
    }
    Ok(rows)
}

/// Checks the end of the archive (everything after the entry's data): exactly one entry, the same name; returns
/// the CRC the central directory declares.
fn central_directory(tail: &[u8], tail_offset: u64, name: &str) -> anyhow::Result<u32> {
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(tail, i) == END_OF_CENTRAL_DIR)
        .context("no end-of-central-directory record: the zip is truncated")?;
    let mut entries = u64::from(u16_at(tail, eocd + 10));
    let mut cd_offset = u64::from(u32_at(tail, eocd + 16));
    if entries == 0xFFFF || cd_offset == 0xFFFF_FFFF {
        let z = (0..eocd).rev().find(|&i| u32_at(tail, i) == ZIP64_END).context("zip64 end record missing")?;
        entries = u64_at(tail, z + 32);
        cd_offset = u64_at(tail, z + 48);
    }
    ensure!(entries == 1, "the zip holds {entries} entries; cQube reads one");
    let at = usize::try_from(cd_offset.checked_sub(tail_offset).context("central directory before the entry's end")?)?;
    ensure!(at + 46 <= tail.len() && u32_at(tail, at) == CENTRAL_HEADER, "central directory not where the zip says");
    let name_len = usize::from(u16_at(tail, at + 28));
    let cd_name = tail.get(at + 46..at + 46 + name_len).context("central directory truncated")?;
    ensure!(cd_name == name.as_bytes(), "central directory names a different entry");
    Ok(u32_at(tail, at + 16))
}

// Bytes past the end read as zero, so a truncated archive fails a signature or count check instead of panicking.
fn byte(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([byte(b, i), byte(b, i + 1)])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([byte(b, i), byte(b, i + 1), byte(b, i + 2), byte(b, i + 3)])
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    u64::from(u32_at(b, i)) | (u64::from(u32_at(b, i + 4)) << 32)
}

/// Copies what it reads to `tee`: the bytes uploaded are exactly the bytes checked.
struct Tee<'w, R> {
    inner: R,
    copy: &'w mut dyn Write,
    count: u64,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        self.count += n as u64;
        Ok(n)
    }
}

struct Crc<R> {
    inner: R,
    hasher: crc32fast::Hasher,
    bytes: u64,
}

impl<R: Read> Read for Crc<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use cqube_core::Catalog;
    use cqube_zip::{ZipOptions, ZipStream};

    use super::*;

    fn zip_of(name: &str, csv: &[u8]) -> Vec<u8> {
        let mut z = ZipStream::new(Vec::new(), name, ZipOptions::default()).unwrap();
        z.write_all(csv).unwrap();
        z.finish().unwrap().0
    }

    #[test]
    fn a_good_zip_is_counted_and_copied_byte_for_byte() {
        let catalog = Catalog::builtin();
        let source = catalog.get("district_master").unwrap();
        let csv = format!("{}\n1|\"a|b\"|c|d\n2|x|\"C:\\\\new\"|z\n", source.header_line());
        let zip = zip_of("district_mst.csv", csv.as_bytes());
        let mut copy = Vec::new();
        let facts = check_zip(&zip[..], &mut copy, source).unwrap();
        assert_eq!(copy, zip);
        assert_eq!((facts.rows, facts.csv_bytes, facts.zip_bytes), (2, csv.len() as u64, zip.len() as u64));
        assert_eq!(facts.crc32, crc32fast::hash(csv.as_bytes()));
    }

    #[test]
    fn wrong_name_header_fields_and_truncation_are_refused() {
        let catalog = Catalog::builtin();
        let source = catalog.get("district_master").unwrap();
        let good = format!("{}\n1|a|b|c\n", source.header_line());
        let err = |zip: &[u8]| check_zip(zip, &mut io::sink(), source).unwrap_err().to_string();
        assert!(err(&zip_of("other.csv", good.as_bytes())).contains("cQube expects \"district_mst.csv\""));
        assert!(err(&zip_of("district_mst.csv", b"a|b\n1|2\n")).contains("header is"));
        assert!(err(&zip_of("district_mst.csv", format!("{good}1|2|3\n").as_bytes())).contains("3 fields"));
        let zip = zip_of("district_mst.csv", good.as_bytes());
        assert!(err(&zip[..zip.len() - 10]).contains("truncated"));
        let mut bad_crc = zip.clone();
        let central = (0..zip.len()).rev().find(|&i| u32_at(&zip, i) == CENTRAL_HEADER).unwrap();
        bad_crc[central + 16] ^= 1;
        assert!(err(&bad_crc).contains("CRC mismatch"));
        assert!(err(b"PK\x05\x06").contains("not a zip"));
    }
}
