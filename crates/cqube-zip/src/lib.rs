//! Streaming zip writer with parallel deflate and ZIP64, for outputs that cannot seek.
//!
//! [`ZipStream`] takes the bytes of one entry through [`std::io::Write`] and writes a complete one-entry zip archive
//! to any `io::Write` (stdout, an upload part buffer), never seeking. Deflate runs pigz-style on the current rayon
//! pool: the input is cut into fixed [`ZipOptions::block_size`] blocks, each compressed with the 32 KiB before it as
//! preset dictionary, and the outputs are written in order.
//!
//! The archive bytes depend only on the entry bytes, the entry name, the options and the level of each block: not on
//! how the input was split into `write` calls, on `flush` calls, on thread timing or on the pool size. A resumed job
//! can therefore regenerate a part and compare checksums. The level is [`ZipOptions::level`] for every block, unless
//! a [`LevelSource`] ([`ZipStream::with_levels`]) chooses it per block as the block is cut: since every block is
//! compressed on its own, a level change at a block boundary leaves one valid deflate stream.
//!
//! ```
//! use std::io::Write;
//! use cqube_zip::{ZipOptions, ZipStream};
//!
//! let mut zip = ZipStream::new(Vec::new(), "student_attendance.csv", ZipOptions::default())?;
//! zip.write_all(b"id|name\n1|a\n")?;
//! let (archive, summary) = zip.finish()?;
//! assert_eq!(summary.uncompressed_bytes, 12);
//! assert_eq!(summary.zip_bytes, archive.len() as u64);
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod check;
mod deflate;
mod framing;

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::SystemTime;

use deflate::{Buffers, Deflated, Job, Slot, WINDOW};
use framing::{DosTime, Entry};

/// Errors of this crate. They reach callers inside an [`io::Error`] (see [`ZipStream`]); errors of the inner writer
/// are passed through unchanged instead, so their kind (say `BrokenPipe`) survives.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An option is out of range.
    #[error("zip option {option}: {problem}")]
    InvalidOption { option: &'static str, problem: String },
    /// The entry name cannot be stored.
    #[error("zip entry name {name:?}: {problem}")]
    InvalidName { name: String, problem: &'static str },
    /// The deflate backend refused a block.
    #[error("zip entry {entry:?}, block {block} (input byte {offset}): deflate failed: {source}")]
    Deflate { entry: String, block: u64, offset: u64, source: flate2::CompressError },
    /// An earlier call failed, so the archive is already incomplete.
    #[error("zip entry {entry:?}: the stream failed earlier and cannot continue")]
    Failed { entry: String },
    /// A checked zip ([`check`]) is not a one-entry cQube zip, or its CSV is not what cQube expects.
    #[error("{problem}")]
    InvalidZip { problem: String },
    /// A checked entry decompresses past [`check::Limits::max_entry_bytes`].
    #[error("the entry decompresses past {limit} bytes, the limit for one entry")]
    EntryTooLarge { limit: u64 },
    /// A checked entry decompresses past [`check::Limits::max_ratio`] times its compressed size: a zip bomb, or data
    /// far more repetitive than real exports.
    #[error(
        "the entry expands more than {limit}x its compressed size ({uncompressed} bytes from {compressed}): a zip bomb?"
    )]
    RatioTooHigh { limit: u64, uncompressed: u64, compressed: u64 },
    /// A checked entry has a record longer than [`check::Limits::max_record_bytes`].
    #[error("line {line}: record longer than {limit} bytes (a missing line end or a stray '\"'?)")]
    RecordTooLarge { line: u64, limit: usize },
    /// Reading a checked zip failed.
    #[error("{what}: {source}")]
    Read { what: &'static str, source: io::Error },
    /// Handing the checked bytes on (the `tee` of [`check::check`]) failed.
    #[error("handing the zip on: {source}")]
    Forward { source: io::Error },
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        let kind = match e {
            Error::InvalidOption { .. } | Error::InvalidName { .. } => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

/// How the entry is compressed and stamped. Part of what determines the output bytes: a resumed job must reuse
/// the same values, `modified` included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipOptions {
    /// Deflate level, 0 (stored blocks inside deflate) to 9.
    pub level: u32,
    /// Input bytes per independently compressed block; at least 32 KiB (one deflate window).
    pub block_size: usize,
    /// Blocks queued or compressing at once, at least 1. `write` blocks while this many are outstanding, which
    /// bounds memory at about `(2 × blocks_in_flight + 1) × block_size` plus a ~300 KiB compressor per block being compressed.
    pub blocks_in_flight: usize,
    /// Modification time stored for the entry, as MS-DOS time in UTC (2-second resolution, 1980 to 2107).
    pub modified: SystemTime,
}

impl Default for ZipOptions {
    /// Level 5, 1 MiB blocks, 8 blocks in flight (about 17 MiB of buffers), modified now.
    ///
    /// Level 5 is the fastest level whose output stays within 2 % of `pigz -p 2 -6`, the project's size bar.
    /// Measured with `examples/zipfile.rs` on a 244 MB `gen_cqube.py attendance --rows 2000000` pipe file, zlib-rs,
    /// 2 cores, as input MB per CPU-second (the full convert is CPU-bound, so this is what adds up) and zip size:
    ///
    /// | level | MB/cpu-s | size of input | vs pigz -6 |
    /// |---|---|---|---|
    /// | pigz -p 2 -6 | 24 | 23.20 % | |
    /// | 1 | 220 | 39.62 % | +71 % |
    /// | 2 | 155 | 28.26 % | +22 % |
    /// | 3 | 128 | 25.76 % | +11 % |
    /// | 4 | 91 | 24.41 % | +5.2 % |
    /// | **5** | **75** | **23.61 %** | **+1.8 %** |
    /// | 6 | 40 | 22.99 % | −0.9 % |
    ///
    /// Block size barely matters for either (256 KiB, 1 MiB and 4 MiB within 0.01 pp and noise), only for memory
    /// (peak RSS 13, 20 and 52 MiB at 8 in flight). Level 5 on both cores ran at 133 to 147 MB/s; with parse and encode
    /// at ~500 MB/s on 2 cores the whole convert projects to 2 / (2/500 + 1/75) ≈ 115 MB/s, against ~49 MB/s for
    /// `pigz -p 2 -6` alone on the idle machine (2.4x). Level 6 would project to ~69 MB/s, level 4 misses the size bar.
    fn default() -> Self {
        Self { level: 5, block_size: 1 << 20, blocks_in_flight: 8, modified: SystemTime::now() }
    }
}

impl ZipOptions {
    fn validate(&self) -> Result<(), Error> {
        if self.level > 9 {
            return Err(Error::InvalidOption { option: "level", problem: format!("{} is not in 0..=9", self.level) });
        }
        if self.block_size < WINDOW {
            let problem = format!("{} is below the {WINDOW}-byte deflate window", self.block_size);
            return Err(Error::InvalidOption { option: "block_size", problem });
        }
        if self.blocks_in_flight == 0 {
            return Err(Error::InvalidOption { option: "blocks_in_flight", problem: "must be at least 1".into() });
        }
        Ok(())
    }
}

/// Chooses the deflate level of each block when the block is cut (see [`ZipStream::with_levels`]).
///
/// Whoever needs the same bytes again (a resumed upload) must give the same level for the same block, so a source
/// that decides from outside conditions (how fast a link drains) should record its choices.
pub trait LevelSource: Send {
    /// The level, 0 to 9, of block `block`: the entry's bytes from `block × block_size` on. Called once per block,
    /// in order, on the thread that writes to the stream.
    fn level(&mut self, block: u64) -> u32;
}

/// Every block at the same level.
struct Fixed(u32);

impl LevelSource for Fixed {
    fn level(&mut self, _block: u64) -> u32 {
        self.0
    }
}

/// What was written, for logs, manifests and resume checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntrySummary {
    /// Bytes of the entry as given to `write`.
    pub uncompressed_bytes: u64,
    /// Bytes of raw deflate data in the archive.
    pub compressed_bytes: u64,
    /// CRC-32 of the entry bytes.
    pub crc32: u32,
    /// Bytes of the whole archive written to the inner writer.
    pub zip_bytes: u64,
    /// Bytes of raw deflate data per level their blocks were compressed at (index = level).
    pub deflated_by_level: [u64; 10],
}

/// A one-entry zip archive being streamed to `W`; write the entry's bytes, then call [`ZipStream::finish`].
///
/// The local header is written by [`ZipStream::new`], compressed blocks as they complete, and the trailer by
/// `finish`. Dropping the stream without `finish` leaves a truncated archive. After any error (an inner write
/// failing, say) every later call fails too.
///
/// Blocks are compressed on the rayon pool that is current where `write` runs (the global pool outside
/// `ThreadPool::install`). `write` may be called from inside a rayon worker: when it must wait for a block that no
/// pool thread has started, it compresses that block itself, so it never waits on a busy or single-thread pool.
///
/// [`Write::flush`] waits for every block already handed to the pool, writes them out and flushes `W`; the partly
/// filled current block stays buffered, since cutting it early would change the output bytes. Flushing therefore
/// stalls the pipeline: leave it off the hot path.
pub struct ZipStream<W: Write> {
    inner: W,
    name: String,
    modified: DosTime,
    levels: Box<dyn LevelSource>,
    block_size: usize,
    blocks_in_flight: usize,
    /// The block being filled by `write`.
    filling: Vec<u8>,
    /// The last 32 KiB of input before `filling`: the dictionary of the next block.
    dictionary: Vec<u8>,
    /// Blocks handed to the pool and not yet written, in output order.
    in_flight: VecDeque<Arc<Slot>>,
    spare: Vec<Buffers>,
    blocks_submitted: u64,
    blocks_written: u64,
    crc: crc32fast::Hasher,
    compressed: u64,
    deflated_by_level: [u64; 10],
    zip_bytes: u64,
    failed: bool,
}

impl<W: Write> fmt::Debug for ZipStream<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZipStream")
            .field("name", &self.name)
            .field("block_size", &self.block_size)
            .field("blocks_in_flight", &self.in_flight.len())
            .field("blocks_written", &self.blocks_written)
            .field("zip_bytes", &self.zip_bytes)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<W: Write> ZipStream<W> {
    /// Starts the archive: checks the options and name and writes the local file header to `inner`.
    pub fn new(inner: W, entry_name: &str, options: ZipOptions) -> io::Result<Self> {
        Self::with_levels(inner, entry_name, options, Box::new(Fixed(options.level)))
    }

    /// [`ZipStream::new`], with each block's level chosen by `levels` instead of [`ZipOptions::level`] (which is
    /// then ignored). A level out of range fails the write that cuts the block.
    pub fn with_levels(
        mut inner: W,
        entry_name: &str,
        options: ZipOptions,
        levels: Box<dyn LevelSource>,
    ) -> io::Result<Self> {
        options.validate()?;
        if entry_name.is_empty() || entry_name.len() > usize::from(u16::MAX) {
            let problem = "must be 1 to 65535 bytes of UTF-8";
            return Err(Error::InvalidName { name: entry_name.chars().take(80).collect(), problem }.into());
        }
        let ZipOptions { level: _, block_size, blocks_in_flight, modified } = options;
        let modified = DosTime::from_system_time(modified);
        let header = framing::local_header(entry_name.as_bytes(), modified);
        inner.write_all(&header)?;
        Ok(Self {
            inner,
            name: entry_name.to_owned(),
            modified,
            levels,
            block_size,
            blocks_in_flight,
            filling: Vec::new(),
            dictionary: Vec::new(),
            in_flight: VecDeque::with_capacity(blocks_in_flight),
            spare: Vec::new(),
            blocks_submitted: 0,
            blocks_written: 0,
            crc: crc32fast::Hasher::new(),
            compressed: 0,
            deflated_by_level: [0; 10],
            zip_bytes: header.len() as u64,
            failed: false,
        })
    }

    /// Compresses what is left, writes the trailer (data descriptor, central directory, end records), flushes
    /// the inner writer and returns it with a summary of the entry.
    pub fn finish(mut self) -> io::Result<(W, EntrySummary)> {
        self.guard(|z| {
            z.submit(true)?;
            z.drain(0)
        })?;
        let entry = Entry {
            crc32: self.crc.clone().finalize(),
            compressed: self.compressed,
            uncompressed: self.crc.total_len(),
        };
        let trailer = framing::trailer(self.name.as_bytes(), self.modified, entry, self.zip_bytes);
        self.inner.write_all(&trailer)?;
        self.inner.flush()?;
        let summary = EntrySummary {
            uncompressed_bytes: entry.uncompressed,
            compressed_bytes: entry.compressed,
            crc32: entry.crc32,
            zip_bytes: self.zip_bytes + trailer.len() as u64,
            deflated_by_level: self.deflated_by_level,
        };
        Ok((self.inner, summary))
    }

    /// Runs `f`, and marks the stream failed if it fails, so a half-written archive is never continued.
    fn guard<T>(&mut self, f: impl FnOnce(&mut Self) -> io::Result<T>) -> io::Result<T> {
        if self.failed {
            return Err(Error::Failed { entry: self.name.clone() }.into());
        }
        let result = f(self);
        self.failed = result.is_err();
        result
    }

    /// Hands `filling` to the pool as the next block, after making room for it under `blocks_in_flight`.
    fn submit(&mut self, last: bool) -> io::Result<()> {
        let level = self.levels.level(self.blocks_submitted);
        if level > 9 {
            let problem = format!("{level} for block {} is not in 0..=9", self.blocks_submitted);
            return Err(Error::InvalidOption { option: "level", problem }.into());
        }
        self.drain(self.blocks_in_flight - 1)?;
        let mut next = self.spare.pop().unwrap_or_default();
        next.input.clear();
        next.dictionary.clear();
        next.dictionary.extend_from_slice(&self.filling[self.filling.len().saturating_sub(WINDOW)..]);
        let buffers = Buffers {
            input: std::mem::replace(&mut self.filling, next.input),
            dictionary: std::mem::replace(&mut self.dictionary, next.dictionary),
            output: next.output,
        };
        self.in_flight.push_back(Slot::spawn(Job { buffers, level, last }));
        self.blocks_submitted += 1;
        Ok(())
    }

    /// Writes finished blocks in order: all that are ready, and then, blocking, until at most `keep` remain.
    fn drain(&mut self, keep: usize) -> io::Result<()> {
        while let Some(slot) = self.in_flight.front() {
            let result = if self.in_flight.len() > keep {
                slot.wait()
            } else if let Some(result) = slot.try_take() {
                result
            } else {
                return Ok(());
            };
            self.in_flight.pop_front();
            let block = result.map_err(|source| Error::Deflate {
                entry: self.name.clone(),
                block: self.blocks_written,
                offset: self.blocks_written * self.block_size as u64,
                source,
            })?;
            self.write_block(block)?;
        }
        Ok(())
    }

    fn write_block(&mut self, block: Deflated) -> io::Result<()> {
        let Deflated { buffers, crc, level } = block;
        self.inner.write_all(&buffers.output)?;
        self.crc.combine(&crc);
        self.compressed += buffers.output.len() as u64;
        self.deflated_by_level[level as usize] += buffers.output.len() as u64;
        self.zip_bytes += buffers.output.len() as u64;
        self.blocks_written += 1;
        self.spare.push(buffers);
        Ok(())
    }
}

impl<W: Write> Write for ZipStream<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.guard(|z| {
            if z.filling.capacity() < z.block_size {
                z.filling.reserve_exact(z.block_size - z.filling.len());
            }
            let n = buf.len().min(z.block_size - z.filling.len());
            z.filling.extend_from_slice(&buf[..n]);
            if z.filling.len() == z.block_size {
                z.submit(false)?;
            }
            Ok(n)
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.guard(|z| {
            z.drain(0)?;
            z.inner.flush()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Decompress, FlushDecompress, Status};
    use std::time::{Duration, UNIX_EPOCH};

    const KIB: usize = 1024;

    fn options(block_size: usize, blocks_in_flight: usize) -> ZipOptions {
        ZipOptions { level: 6, block_size, blocks_in_flight, modified: UNIX_EPOCH + Duration::from_secs(1_700_000_000) }
    }

    /// Attendance-like pipe rows from a fixed seed: compressible, but not trivially.
    fn rows(bytes: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut out = Vec::with_capacity(bytes + 200);
        let mut id = 0u64;
        while out.len() < bytes {
            id += 1;
            out.extend_from_slice(format!("{id}|7501{:011}|2020-21|7", id * 7919 % 100_000_000_000).as_bytes());
            for _ in 0..31 {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                out.extend_from_slice(match x >> 60 {
                    0..=12 => b"|1",
                    13 => b"|2",
                    14 => b"|NULL",
                    _ => b"|5",
                });
            }
            out.push(b'\n');
        }
        out.truncate(bytes);
        out
    }

    fn zip_in_chunks(data: &[u8], options: ZipOptions, chunk: usize) -> (Vec<u8>, EntrySummary) {
        let mut z = ZipStream::new(Vec::new(), "dir/attendance – 7.csv", options).unwrap();
        for piece in data.chunks(chunk.max(1)) {
            z.write_all(piece).unwrap();
        }
        z.finish().unwrap()
    }

    fn u16_at(b: &[u8], at: usize) -> usize {
        usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
    }
    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    /// Reads the archive the way a streaming reader would, checking every record against the data: returns the
    /// entry's name and bytes.
    fn read_archive(zip: &[u8]) -> (String, Vec<u8>) {
        assert_eq!(u32_at(zip, 0), 0x0403_4b50);
        assert_eq!(u16_at(zip, 6), 0x0808, "data descriptor + UTF-8 flags");
        assert_eq!(u16_at(zip, 8), 8, "deflate");
        let name_len = u16_at(zip, 26);
        let name = String::from_utf8(zip[30..30 + name_len].to_vec()).unwrap();
        let data_start = 30 + name_len + u16_at(zip, 28);

        let mut d = Decompress::new(false);
        let mut content = Vec::with_capacity(zip.len() * 20);
        loop {
            content.reserve(1 << 20);
            let consumed = d.total_in() as usize;
            if d.decompress_vec(&zip[data_start + consumed..], &mut content, FlushDecompress::None).unwrap()
                == Status::StreamEnd
            {
                break;
            }
        }
        let data_end = data_start + d.total_in() as usize;
        let crc = crc32fast::hash(&content);
        assert_eq!(u32_at(zip, data_end), 0x0807_4b50);
        assert_eq!(u32_at(zip, data_end + 4), crc);
        assert_eq!(u32_at(zip, data_end + 8) as usize, data_end - data_start);
        assert_eq!(u32_at(zip, data_end + 12) as usize, content.len());

        let eocd = zip.len() - 22;
        assert_eq!(u32_at(zip, eocd), 0x0605_4b50);
        let cd = u32_at(zip, eocd + 16) as usize;
        assert_eq!(cd, data_end + 16);
        assert_eq!(u32_at(zip, cd), 0x0201_4b50);
        assert_eq!(u32_at(zip, cd + 16), crc);
        assert_eq!(u32_at(zip, cd + 20) as usize, data_end - data_start);
        assert_eq!(u32_at(zip, cd + 24) as usize, content.len());
        assert_eq!(&zip[cd + 46..cd + 46 + u16_at(zip, cd + 28)], name.as_bytes());
        (name, content)
    }

    #[test]
    fn empty_entry() {
        let (zip, s) = zip_in_chunks(b"", options(64 * KIB, 4), 1);
        assert_eq!(read_archive(&zip), ("dir/attendance – 7.csv".to_owned(), Vec::new()));
        assert_eq!(
            s,
            EntrySummary {
                uncompressed_bytes: 0,
                compressed_bytes: 2,
                crc32: 0,
                zip_bytes: zip.len() as u64,
                deflated_by_level: [0, 0, 0, 0, 0, 0, 2, 0, 0, 0],
            }
        );
    }

    #[test]
    fn tiny_entry() {
        let (zip, s) = zip_in_chunks(b"a|b\n1|2\n", options(64 * KIB, 4), 3);
        assert_eq!(read_archive(&zip).1, b"a|b\n1|2\n");
        assert_eq!(s.crc32, crc32fast::hash(b"a|b\n1|2\n"));
        assert_eq!(s.uncompressed_bytes, 8);
    }

    #[test]
    fn exactly_one_block_and_one_byte_more() {
        for len in [64 * KIB, 64 * KIB + 1] {
            let data = rows(len);
            let (zip, s) = zip_in_chunks(&data, options(64 * KIB, 2), 10_000);
            assert_eq!(read_archive(&zip).1, data);
            assert_eq!(s.zip_bytes, zip.len() as u64);
        }
    }

    #[test]
    fn many_blocks_match_the_input_and_compress_like_one_stream() {
        let data = rows(3 * 1024 * KIB + 123);
        let (zip, s) = zip_in_chunks(&data, options(64 * KIB, 3), 100_000);
        assert_eq!(read_archive(&zip).1, data);
        assert_eq!(s.crc32, crc32fast::hash(&data));
        assert_eq!(s.uncompressed_bytes, data.len() as u64);
        // The 32 KiB dictionaries keep block cutting nearly free: within 1 % of a single deflate stream.
        let mut single = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
        single.write_all(&data).unwrap();
        let single = single.finish().unwrap().len() as f64;
        assert!((s.compressed_bytes as f64) < single * 1.01, "{} vs {single}", s.compressed_bytes);
    }

    #[test]
    fn output_does_not_depend_on_write_splits_flushes_or_pool() {
        let data = rows(1024 * KIB + 777);
        let (reference, _) = zip_in_chunks(&data, options(32 * KIB, 4), data.len());
        for chunk in [1, 7, 4093, 32 * KIB, 65_537] {
            assert!(zip_in_chunks(&data, options(32 * KIB, 4), chunk).0 == reference, "chunk {chunk}");
        }
        let mut flushed = ZipStream::new(Vec::new(), "dir/attendance – 7.csv", options(32 * KIB, 4)).unwrap();
        for piece in data.chunks(50_000) {
            flushed.write_all(piece).unwrap();
            flushed.flush().unwrap();
        }
        assert!(flushed.finish().unwrap().0 == reference, "flush calls");
        for (threads, in_flight) in [(1, 1), (3, 2), (2, 16)] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let (zip, _) = pool.install(|| zip_in_chunks(&data, options(32 * KIB, in_flight), 10_001));
            assert!(zip == reference, "{threads} threads, {in_flight} in flight");
        }
    }

    #[test]
    fn repeated_runs_are_identical() {
        let data = rows(2 * 1024 * KIB);
        let first = zip_in_chunks(&data, options(64 * KIB, 8), 8191);
        for _ in 0..3 {
            assert!(zip_in_chunks(&data, options(64 * KIB, 8), 8191) == first);
        }
    }

    #[test]
    fn flush_writes_out_handed_off_blocks_but_not_the_partial_one() {
        let data = rows(3 * 64 * KIB + 10);
        let mut z = ZipStream::new(Vec::new(), "x", options(64 * KIB, 8)).unwrap();
        z.write_all(&data).unwrap();
        z.flush().unwrap();
        assert_eq!(z.blocks_written, 3);
        assert_eq!(z.filling.len(), 10);
        assert!(z.inner.len() as u64 == z.zip_bytes && z.zip_bytes > 31 + 3 * 1000);
    }

    #[test]
    fn write_inside_a_single_thread_pool_does_not_deadlock() {
        let data = rows(1024 * KIB);
        let (tx, rx) = std::sync::mpsc::channel();
        let worker_data = data.clone();
        std::thread::spawn(move || {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
            // install runs the closure on the pool's only thread, so every block it waits for is still queued
            // behind it unless `wait` compresses it inline.
            tx.send(pool.install(|| zip_in_chunks(&worker_data, options(32 * KIB, 2), 5000))).unwrap();
        });
        let (zip, _) = rx.recv_timeout(Duration::from_mins(2)).expect("write inside the pool deadlocked");
        assert_eq!(read_archive(&zip).1, data);
    }

    /// Levels from a list, one per block.
    struct Schedule(Vec<u32>);
    impl LevelSource for Schedule {
        fn level(&mut self, block: u64) -> u32 {
            self.0[usize::try_from(block).unwrap()]
        }
    }

    /// Keeps every `write` to the inner writer apart: the header, each block's output, the trailer.
    #[derive(Default)]
    struct Writes(Vec<Vec<u8>>);
    impl Write for Writes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn writes(data: &[u8], levels: &[u32], chunk: usize) -> (Vec<Vec<u8>>, EntrySummary) {
        let schedule = Box::new(Schedule(levels.to_vec()));
        let mut z = ZipStream::with_levels(Writes::default(), "x.csv", options(64 * KIB, 3), schedule).unwrap();
        for piece in data.chunks(chunk) {
            z.write_all(piece).unwrap();
        }
        let (w, s) = z.finish().unwrap();
        (w.0, s)
    }

    #[test]
    fn levels_change_only_at_block_boundaries() {
        // Four full 64 KiB blocks and a short last one.
        let data = rows(4 * 64 * KIB + 100);
        let schedule = [1, 1, 6, 9, 3];
        let (mixed, s) = writes(&data, &schedule, 7001);
        assert_eq!(mixed.len(), 1 + schedule.len() + 1, "header, one write per block, trailer");
        // Each block's bytes are those the same block gets in a stream at its level throughout: the level of one
        // block never leaks into another, and the blocks still make one valid deflate stream.
        for (block, &level) in schedule.iter().enumerate() {
            let (fixed, _) = writes(&data, &[level; 5], 65_536);
            assert!(mixed[1 + block] == fixed[1 + block], "block {block} at level {level}");
        }
        let archive = mixed.concat();
        assert_eq!(read_archive(&archive).1, data);
        let mut by_level = [0; 10];
        for (block, &level) in schedule.iter().enumerate() {
            by_level[level as usize] += mixed[1 + block].len() as u64;
        }
        assert_eq!(s.deflated_by_level, by_level);
        assert_eq!(s.deflated_by_level.iter().sum::<u64>(), s.compressed_bytes);
        // The same schedule gives the same bytes, however the input arrives.
        assert!(writes(&data, &schedule, 1 << 20).0.concat() == archive);
    }

    #[test]
    fn a_level_out_of_range_fails_the_stream() {
        let schedule = Box::new(Schedule(vec![5, 10]));
        let mut z = ZipStream::with_levels(Vec::new(), "x", options(64 * KIB, 2), schedule).unwrap();
        let err = z.write_all(&rows(3 * 64 * KIB)).unwrap_err();
        assert_eq!(err.to_string(), "zip option level: 10 for block 1 is not in 0..=9");
        assert!(z.finish().is_err());
    }

    #[test]
    fn level_zero_and_nine_are_valid() {
        let data = rows(200 * KIB);
        for level in [0, 9] {
            let (zip, s) = zip_in_chunks(&data, ZipOptions { level, ..options(64 * KIB, 2) }, 9999);
            assert_eq!(read_archive(&zip).1, data);
            assert_eq!(level == 0, s.compressed_bytes > data.len() as u64, "level {level}");
        }
    }

    #[test]
    fn bad_options_and_names_are_rejected_before_writing() {
        let cases = [
            (ZipOptions { level: 10, ..options(64 * KIB, 1) }, "x", "zip option level: 10 is not in 0..=9"),
            (options(1000, 1), "x", "zip option block_size: 1000 is below the 32768-byte deflate window"),
            (options(64 * KIB, 0), "x", "zip option blocks_in_flight: must be at least 1"),
            (options(64 * KIB, 1), "", "zip entry name \"\": must be 1 to 65535 bytes of UTF-8"),
        ];
        for (options, name, message) in cases {
            let mut out = Vec::new();
            let err = ZipStream::new(&mut out, name, options).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert_eq!(err.to_string(), message);
            assert!(out.is_empty());
        }
    }

    /// Accepts `room` bytes, then fails like a closed pipe.
    #[derive(Debug)]
    struct Cramped {
        room: usize,
    }
    impl Write for Cramped {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn inner_write_errors_surface_and_stop_the_stream() {
        assert_eq!(
            ZipStream::new(Cramped { room: 10 }, "x", options(64 * KIB, 1)).unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );

        let data = rows(1024 * KIB);
        let mut z = ZipStream::new(Cramped { room: 100 }, "x", options(64 * KIB, 2)).unwrap();
        let err = z.write_all(&data).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        let again = z.write(b"more").unwrap_err();
        assert_eq!(again.to_string(), "zip entry \"x\": the stream failed earlier and cannot continue");
        assert!(z.finish().is_err());

        // Room for the header and the data but not the trailer: the error comes out of finish.
        let mut z = ZipStream::new(Cramped { room: 80 }, "x", options(64 * KIB, 2)).unwrap();
        z.write_all(b"small enough to stay buffered").unwrap();
        assert_eq!(z.finish().unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }
}
