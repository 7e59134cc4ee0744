//! Zip records for one streamed entry, laid out the way Go's `archive/zip` does for unknown sizes.
//!
//! The local header cannot know sizes or CRC, so it says "see the data descriptor" (bit 3) and carries no zip64 extra.
//! The descriptor switches to 8-byte sizes only when a size does not fit 32 bits: Java's `ZipInputStream` decides the
//! descriptor width from the byte counts it inflated (`> 0xFFFF_FFFF`), and rejects the spec-literal layout that ties
//! it to a zip64 extra in the local header. The central directory then carries the zip64 extra, and a zip64 end record
//! is added, only for an entry that needs them.

use std::time::{SystemTime, UNIX_EPOCH};

// Record signatures, for the writer here and the checker (`check.rs`).
pub(crate) const LOCAL_HEADER: u32 = 0x0403_4b50;
const DATA_DESCRIPTOR: u32 = 0x0807_4b50;
pub(crate) const CENTRAL_HEADER: u32 = 0x0201_4b50;
pub(crate) const ZIP64_END: u32 = 0x0606_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
pub(crate) const END: u32 = 0x0605_4b50;

/// Bit 3: sizes and CRC follow the data in a descriptor; bit 11: the name is UTF-8.
const FLAGS: u16 = 0x0808;
const METHOD_DEFLATE: u16 = 8;
const VERSION_DEFLATE: u16 = 20;
const VERSION_ZIP64: u16 = 45;
/// "Made by" Unix, so unzip restores the mode below instead of guessing one.
const MADE_BY_UNIX: u16 = 3 << 8;
/// A regular file, rw-r--r--.
const UNIX_FILE_MODE: u32 = 0o100_644 << 16;
const ZIP64_EXTRA_ID: u16 = 0x0001;
const U32_SENTINEL: u64 = 0xFFFF_FFFF;

/// The finished entry, as the trailer records describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub crc32: u32,
    pub compressed: u64,
    pub uncompressed: u64,
}

impl Entry {
    /// Whether the central directory must move the sizes into a zip64 extra: a 32-bit field holding exactly
    /// 0xFFFF_FFFF would read as "look in the extra", so that value already needs it.
    fn needs_zip64_extra(&self) -> bool {
        self.compressed >= U32_SENTINEL || self.uncompressed >= U32_SENTINEL
    }

    /// Whether the descriptor needs 8-byte sizes, by the rule streaming readers (Java) apply.
    fn needs_wide_descriptor(&self) -> bool {
        self.compressed > U32_SENTINEL || self.uncompressed > U32_SENTINEL
    }
}

/// MS-DOS date and time (UTC, 2-second resolution), clamped to the format's 1980..=2107 range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DosTime {
    pub time: u16,
    pub date: u16,
}

impl DosTime {
    pub(crate) fn from_system_time(t: SystemTime) -> Self {
        // 1980-01-01T00:00:00Z and 2107-12-31T23:59:58Z.
        const MIN: u64 = 315_532_800;
        const MAX: u64 = 4_354_819_198;
        let secs = t.duration_since(UNIX_EPOCH).map_or(MIN, |d| d.as_secs()).clamp(MIN, MAX);
        let (year, month, day) = cqube_core::calendar::civil_from_days((secs / 86_400).cast_signed());
        let sod = secs % 86_400;
        let time = ((sod / 3600) << 11 | (sod % 3600 / 60) << 5 | ((sod % 60) / 2)) as u16;
        let date = ((year - 1980) << 9 | i64::from(month) << 5 | i64::from(day)) as u16;
        Self { time, date }
    }
}

/// Little-endian record builder.
struct Rec(Vec<u8>);

impl Rec {
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
}

/// The local file header; `name` must already be checked to fit a 16-bit length.
pub(crate) fn local_header(name: &[u8], modified: DosTime) -> Vec<u8> {
    let mut r = Rec(Vec::with_capacity(30 + name.len()));
    r.u32(LOCAL_HEADER).u16(VERSION_DEFLATE).u16(FLAGS).u16(METHOD_DEFLATE);
    r.u16(modified.time).u16(modified.date);
    // CRC and sizes are unknown here: they follow in the data descriptor.
    r.u32(0).u32(0).u32(0);
    r.u16(name.len() as u16).u16(0).bytes(name);
    r.0
}

/// Everything after the compressed data: data descriptor, central directory and end records.
/// `data_end` is the archive offset just past the compressed data (the local header sits at offset 0).
pub(crate) fn trailer(name: &[u8], modified: DosTime, entry: Entry, data_end: u64) -> Vec<u8> {
    let mut r = Rec(Vec::with_capacity(200 + name.len()));
    r.u32(DATA_DESCRIPTOR).u32(entry.crc32);
    if entry.needs_wide_descriptor() {
        r.u64(entry.compressed).u64(entry.uncompressed);
    } else {
        r.u32(entry.compressed as u32).u32(entry.uncompressed as u32);
    }

    let cd_offset = data_end + r.0.len() as u64;
    let zip64 = entry.needs_zip64_extra();
    let version = if zip64 { VERSION_ZIP64 } else { VERSION_DEFLATE };
    r.u32(CENTRAL_HEADER).u16(MADE_BY_UNIX | version).u16(version).u16(FLAGS).u16(METHOD_DEFLATE);
    r.u16(modified.time).u16(modified.date).u32(entry.crc32);
    if zip64 {
        r.u32(U32_SENTINEL as u32).u32(U32_SENTINEL as u32);
    } else {
        r.u32(entry.compressed as u32).u32(entry.uncompressed as u32);
    }
    r.u16(name.len() as u16).u16(if zip64 { 20 } else { 0 });
    // Comment length, first disk, internal attributes, external attributes, local header offset (always 0: one entry).
    r.u16(0).u16(0).u16(0).u32(UNIX_FILE_MODE).u32(0);
    r.bytes(name);
    if zip64 {
        // Only the fields whose 32-bit slot holds the sentinel appear, in the order the spec fixes.
        r.u16(ZIP64_EXTRA_ID).u16(16).u64(entry.uncompressed).u64(entry.compressed);
    }

    let cd_end = data_end + r.0.len() as u64;
    let cd_size = cd_end - cd_offset;
    if zip64 || cd_offset >= U32_SENTINEL {
        r.u32(ZIP64_END).u64(44).u16(MADE_BY_UNIX | VERSION_ZIP64).u16(VERSION_ZIP64);
        r.u32(0).u32(0).u64(1).u64(1).u64(cd_size).u64(cd_offset);
        r.u32(ZIP64_LOCATOR).u32(0).u64(cd_end).u32(1);
    }
    r.u32(END).u16(0).u16(0).u16(1).u16(1).u32(cd_size as u32);
    r.u32(cd_offset.min(U32_SENTINEL) as u32).u16(0);
    r.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }
    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }
    fn u64_at(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn dos_time_of_known_instant() {
        // 2024-02-29T13:45:07Z
        let t = UNIX_EPOCH + Duration::from_secs(1_709_214_307);
        let d = DosTime::from_system_time(t);
        assert_eq!(d.date, ((2024 - 1980) << 9) + (2 << 5) + 29);
        assert_eq!(d.time, (13 << 11) + (45 << 5) + 3);
    }

    #[test]
    fn dos_time_clamps_to_format_range() {
        assert_eq!(DosTime::from_system_time(UNIX_EPOCH), DosTime { time: 0, date: (1 << 5) + 1 });
        let far = UNIX_EPOCH + Duration::from_secs(10_000_000_000);
        assert_eq!(DosTime::from_system_time(far).date, (127 << 9) + (12 << 5) + 31);
    }

    #[test]
    fn small_entry_has_no_zip64_records() {
        let e = Entry { crc32: 0xdead_beef, compressed: 10, uncompressed: 20 };
        let t = trailer(b"a.csv", DosTime { time: 0, date: 33 }, e, 100);
        assert_eq!(u32_at(&t, 0), DATA_DESCRIPTOR);
        assert_eq!((u32_at(&t, 8), u32_at(&t, 12)), (10, 20));
        assert_eq!(u32_at(&t, 16), CENTRAL_HEADER);
        assert_eq!(u16_at(&t, 16 + 30), 0, "no extra field");
        let eocd = t.len() - 22;
        assert_eq!(u32_at(&t, eocd), END);
        assert_eq!(u32_at(&t, eocd + 16), 116, "central directory starts after the 16-byte descriptor");
        assert_eq!(u32_at(&t, eocd + 12) as usize, eocd - 16);
    }

    #[test]
    fn exactly_u32_max_size_uses_extra_but_narrow_descriptor() {
        let e = Entry { crc32: 1, compressed: 5, uncompressed: U32_SENTINEL };
        let t = trailer(b"x", DosTime { time: 0, date: 33 }, e, 100);
        assert_eq!(u32_at(&t, 12), u32::MAX, "Java reads a 4-byte descriptor up to 0xFFFF_FFFF");
        let cd = 16;
        assert_eq!(u16_at(&t, cd + 30), 20);
        assert_eq!(u64_at(&t, cd + 46 + 1 + 4), U32_SENTINEL);
    }

    #[test]
    fn large_entry_gets_wide_descriptor_extra_and_zip64_end() {
        let e = Entry { crc32: 7, compressed: 5_000_000_000, uncompressed: 6_000_000_000 };
        let data_end = 30 + 1 + 5_000_000_000;
        let t = trailer(b"x", DosTime { time: 0, date: 33 }, e, data_end);
        assert_eq!(u32_at(&t, 0), DATA_DESCRIPTOR);
        assert_eq!((u64_at(&t, 8), u64_at(&t, 16)), (5_000_000_000, 6_000_000_000));
        let cd = 24;
        assert_eq!(u32_at(&t, cd), CENTRAL_HEADER);
        assert_eq!(u16_at(&t, cd + 6), VERSION_ZIP64);
        assert_eq!((u32_at(&t, cd + 20), u32_at(&t, cd + 24)), (u32::MAX, u32::MAX));
        let extra = cd + 46 + 1;
        assert_eq!((u16_at(&t, extra), u16_at(&t, extra + 2)), (ZIP64_EXTRA_ID, 16));
        assert_eq!((u64_at(&t, extra + 4), u64_at(&t, extra + 12)), (6_000_000_000, 5_000_000_000));
        let end64 = extra + 20;
        assert_eq!(u32_at(&t, end64), ZIP64_END);
        assert_eq!(u64_at(&t, end64 + 48), data_end + 24, "zip64 end points at the central directory");
        let locator = end64 + 56;
        assert_eq!(u32_at(&t, locator), ZIP64_LOCATOR);
        assert_eq!(u64_at(&t, locator + 8), data_end + end64 as u64);
        let eocd = locator + 20;
        assert_eq!(u32_at(&t, eocd), END);
        assert_eq!(u32_at(&t, eocd + 16), u32::MAX, "offset past 4 GiB is a sentinel");
        assert_eq!(eocd + 22, t.len());
    }
}
