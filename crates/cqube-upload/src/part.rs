//! Cutting a byte stream into multipart parts: sizes, checksums and the `io::Write` end of the pipeline.

use std::io::{self, Write};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

/// S3's smallest part (all but the last).
pub const MIN_PART_BYTES: usize = 5 << 20;
/// S3's largest part.
pub const MAX_PART_BYTES: usize = 5 << 30;
/// S3's highest part number.
pub const MAX_PARTS: u32 = 10_000;
/// Parts between doublings of the part size.
const PARTS_PER_STEP: u32 = 1_000;

/// The size of each part of a stream whose length is not known in advance.
///
/// The size starts at `initial` and doubles every 1,000 parts, so 10,000 parts of an 8 MiB start hold about 8.6 TB
/// (8 MiB × 1,000 × (2¹⁰ − 1) ≈ 8.6 TB) while a small stream still uses small parts. The memory bound follows the current
/// part size, which only grows past 8 GiB of output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartSizer {
    initial: usize,
}

impl PartSizer {
    /// A sizer starting at `initial` bytes, raised to S3's 5 MiB minimum and capped at its 5 GiB maximum.
    pub fn new(initial: usize) -> PartSizer {
        PartSizer { initial: initial.clamp(MIN_PART_BYTES, MAX_PART_BYTES) }
    }

    /// The size of part `number` (1-based).
    pub fn size(&self, number: u32) -> usize {
        let step = (number.saturating_sub(1) / PARTS_PER_STEP).min(20);
        self.initial.saturating_mul(1 << step).min(MAX_PART_BYTES)
    }
}

/// One part on its way to the store.
#[derive(Debug, Clone)]
pub struct Part {
    /// 1-based part number.
    pub number: u32,
    /// The bytes; cloning is cheap, so a retry re-sends without copying.
    pub data: Bytes,
    /// XXH3-64 of `data`: how a resumed run recognises a part that is already stored.
    pub checksum: u64,
}

/// What a finished [`PartWriter`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTotals {
    /// Bytes written.
    pub bytes: u64,
    /// SHA-256 of all bytes, lowercase hex (what `complete` reports).
    pub sha256: String,
    /// Parts handed to the channel.
    pub parts: u32,
    /// MD5 of all bytes, lowercase hex, where the writer was asked for it (recognizing a one-shot object, whose
    /// ETag is its MD5).
    pub md5: Option<String>,
}

/// An `io::Write` that fills one part buffer and hands each full part to a bounded channel.
///
/// A full channel blocks `write`, which is what bounds memory: the writer holds at most one part being filled and
/// one waiting to be sent, besides what the channel holds. Call it from a plain thread (it uses `blocking_send`),
/// never from inside an async runtime. When the receiving side is gone (the upload failed), `write` returns
/// `BrokenPipe`, which stops the producer.
#[derive(Debug)]
pub struct PartWriter {
    tx: mpsc::Sender<Part>,
    sizer: PartSizer,
    buf: Vec<u8>,
    next: u32,
    bytes: u64,
    sha: Sha256,
}

impl PartWriter {
    /// A writer that sends parts sized by `sizer` to `tx`.
    pub fn new(tx: mpsc::Sender<Part>, sizer: PartSizer) -> PartWriter {
        PartWriter { tx, sizer, buf: Vec::with_capacity(sizer.size(1)), next: 1, bytes: 0, sha: Sha256::new() }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.next > MAX_PARTS {
            return Err(io::Error::other(format!("the stream needs more than {MAX_PARTS} parts")));
        }
        let next_size = self.sizer.size(self.next + 1);
        let data = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(next_size)));
        let part = Part { number: self.next, checksum: xxhash_rust::xxh3::xxh3_64(&data), data };
        self.next += 1;
        self.tx.blocking_send(part).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the upload stopped"))
    }

    /// Sends the last part (even an empty one when nothing was written, so the object exists) and returns the totals.
    pub fn finish(mut self) -> io::Result<StreamTotals> {
        if !self.buf.is_empty() || self.next == 1 {
            self.send()?;
        }
        Ok(StreamTotals {
            bytes: self.bytes,
            sha256: hex::encode(self.sha.finalize()),
            parts: self.next - 1,
            md5: None,
        })
    }
}

impl Write for PartWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.sizer.size(self.next) - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        self.sha.update(&data[..n]);
        self.bytes += n as u64;
        if self.buf.len() == self.sizer.size(self.next) {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Parts have fixed sizes; a partial part is only sent by `finish`.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_grow_so_ten_thousand_parts_hold_terabytes() {
        let s = PartSizer::new(8 << 20);
        assert_eq!(s.size(1), 8 << 20);
        assert_eq!(s.size(1000), 8 << 20);
        assert_eq!(s.size(1001), 16 << 20);
        assert_eq!(s.size(10_000), (8 << 20) << 9);
        let total: u64 = (1..=MAX_PARTS).map(|n| s.size(n) as u64).sum();
        assert!(total > 8_000_000_000_000, "{total}");
        assert_eq!(PartSizer::new(1).size(1), MIN_PART_BYTES);
        assert_eq!(PartSizer::new(4 << 30).size(10_000), MAX_PART_BYTES);
    }

    #[test]
    fn writer_cuts_exact_parts_and_hashes_the_whole_stream() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut w = PartWriter::new(tx, PartSizer::new(MIN_PART_BYTES));
        let data: Vec<u8> = (0..(2 * MIN_PART_BYTES + 123)).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(999_983) {
            w.write_all(chunk).unwrap();
        }
        let totals = w.finish().unwrap();
        let mut parts = Vec::new();
        while let Ok(p) = rx.try_recv() {
            parts.push(p);
        }
        assert_eq!(parts.iter().map(|p| p.number).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(parts.iter().map(|p| p.data.len()).collect::<Vec<_>>(), [MIN_PART_BYTES, MIN_PART_BYTES, 123]);
        let joined: Vec<u8> = parts.iter().flat_map(|p| p.data.iter().copied()).collect();
        assert_eq!(joined, data);
        assert_eq!(parts[2].checksum, xxhash_rust::xxh3::xxh3_64(&data[2 * MIN_PART_BYTES..]));
        assert_eq!(
            totals,
            StreamTotals { bytes: data.len() as u64, sha256: hex::encode(Sha256::digest(&data)), parts: 3, md5: None }
        );
    }

    #[test]
    fn empty_stream_is_one_empty_part_and_a_closed_channel_is_a_broken_pipe() {
        let (tx, mut rx) = mpsc::channel(1);
        let totals = PartWriter::new(tx, PartSizer::new(0)).finish().unwrap();
        assert_eq!((totals.bytes, totals.parts), (0, 1));
        assert!(rx.try_recv().unwrap().data.is_empty());

        let (tx, rx) = mpsc::channel(1);
        drop(rx);
        let mut w = PartWriter::new(tx, PartSizer::new(0));
        let err = w.write_all(&vec![0; MIN_PART_BYTES]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
