//! Zips stdin into a one-entry archive on stdout and reports throughput on stderr; used to choose the defaults.
//!
//! ```text
//! cargo run --release -p cqube-zip --example zipfile -- --level 4 --block 1M --in-flight 8 < att.psv > att.zip
//! ```

use std::io::{self, BufWriter, Read, Write};
use std::time::Instant;

use cqube_zip::{ZipOptions, ZipStream};

fn parse_size(s: &str) -> Result<usize, String> {
    let (digits, unit) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1 << 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1 << 20),
        _ => (s, 1),
    };
    digits.parse::<usize>().map(|n| n * unit).map_err(|e| format!("size {s:?}: {e}"))
}

fn options() -> Result<ZipOptions, String> {
    let mut options = ZipOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--level" => options.level = value.parse().map_err(|e| format!("--level {value:?}: {e}"))?,
            "--block" => options.block_size = parse_size(&value)?,
            "--in-flight" => options.blocks_in_flight = value.parse().map_err(|e| format!("--in-flight: {e}"))?,
            _ => return Err(format!("unknown flag {flag}; known: --level N --block SIZE[K|M] --in-flight N")),
        }
    }
    Ok(options)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = options()?;
    let (level, block) = (options.level, options.block_size);
    let start = Instant::now();
    let mut zip = ZipStream::new(BufWriter::with_capacity(1 << 20, io::stdout().lock()), "entry.csv", options)?;
    // Feed through an odd-sized buffer, as a CSV writer upstream would, not block-aligned reads.
    let mut buf = vec![0; 64 * 1024 + 17];
    let mut stdin = io::stdin().lock();
    loop {
        let n = stdin.read(&mut buf)?;
        if n == 0 {
            break;
        }
        zip.write_all(&buf[..n])?;
    }
    let (_, s) = zip.finish()?;
    let secs = start.elapsed().as_secs_f64();
    writeln!(
        io::stderr(),
        "level {level} block {block}: {} -> {} bytes ({:.2} %), {:.2} s, {:.1} MB/s",
        s.uncompressed_bytes,
        s.zip_bytes,
        100.0 * s.zip_bytes as f64 / s.uncompressed_bytes.max(1) as f64,
        secs,
        s.uncompressed_bytes as f64 / secs / 1e6
    )?;
    Ok(())
}
