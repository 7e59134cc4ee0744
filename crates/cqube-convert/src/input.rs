//! Opening an export: a file or stdin, gzip-compressed or not (decided by content), with a byte counter
//! for progress.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

/// An export to read: where it comes from (for messages) and its bytes.
pub struct Input {
    /// The name used in messages and reports: the path, or `-` for stdin.
    pub name: String,
    /// Size on disk, when known (for ETA); for gzip input this is the compressed size.
    pub size: Option<u64>,
    pub(crate) reader: Box<dyn Read + Send>,
    pub(crate) gzip: bool,
    pub(crate) bytes_read: Arc<AtomicU64>,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.name)
            .field("size", &self.size)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

impl Input {
    /// Opens a file, or stdin for `-`.
    pub fn open(path: &Path) -> io::Result<Input> {
        if path.as_os_str() == "-" {
            return Input::from_reader("-", None, io::stdin());
        }
        let file = File::open(path)?;
        let size = file.metadata().ok().filter(std::fs::Metadata::is_file).map(|m| m.len());
        Input::from_reader(&path.display().to_string(), size, file)
    }

    /// Wraps any reader; gzip is recognised by its magic bytes, whatever the name says.
    pub fn from_reader(name: &str, size: Option<u64>, reader: impl Read + Send + 'static) -> io::Result<Input> {
        let bytes_read = Arc::new(AtomicU64::new(0));
        let mut raw = BufReader::with_capacity(256 * 1024, Counting { inner: reader, count: Arc::clone(&bytes_read) });
        let gzip = peek_is_gzip(&mut raw)?;
        let reader: Box<dyn Read + Send> =
            if gzip { Box::new(BufReader::with_capacity(256 * 1024, MultiGzDecoder::new(raw))) } else { Box::new(raw) };
        Ok(Input { name: name.to_owned(), size, reader, gzip, bytes_read })
    }

    /// A handle that reports how many raw bytes have been read so far, from any thread.
    pub fn bytes_read(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.bytes_read)
    }
}

fn peek_is_gzip(r: &mut impl BufRead) -> io::Result<bool> {
    // fill_buf may return fewer than 2 bytes on a pipe; that is fine for a sniff (a 1-byte file is not gzip).
    let head = r.fill_buf()?;
    Ok(head.starts_with(&[0x1f, 0x8b]))
}

struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn gzip_is_detected_by_content() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"a,b\n1,2\n").unwrap();
        let bytes = gz.finish().unwrap();
        let mut input = Input::from_reader("export.csv", None, io::Cursor::new(bytes.clone())).unwrap();
        assert!(input.gzip);
        let mut text = String::new();
        input.reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "a,b\n1,2\n");
        assert_eq!(input.bytes_read().load(Ordering::Relaxed), bytes.len() as u64);

        let mut plain = Input::from_reader("x.csv.gz", None, io::Cursor::new(b"a\n".to_vec())).unwrap();
        assert!(!plain.gzip);
        text.clear();
        plain.reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "a\n");
    }
}
