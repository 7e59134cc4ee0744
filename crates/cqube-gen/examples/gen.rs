//! Writes one generated source to stdout: `cargo run --release -p cqube-gen --example gen -- SOURCE ROWS
//! [SCHOOLS] [--dirty]`. The report goes to stderr with the throughput.

use std::io::{self, Write};
use std::time::Instant;

use cqube_core::Catalog;
use cqube_gen::{GenOptions, Universe, write_csv};

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || io::Error::new(io::ErrorKind::InvalidInput, "usage: gen SOURCE ROWS [SCHOOLS] [--dirty]");
    let catalog = Catalog::builtin();
    let source = args.first().and_then(|n| catalog.get(n)).ok_or_else(usage)?;
    let rows = args.get(1).and_then(|r| r.parse().ok()).ok_or_else(usage)?;
    let schools = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let dirty = args.iter().any(|a| a == "--dirty");
    let opts = GenOptions { seed: 1, rows, dirty, universe: Universe::new(1, schools) };
    let started = Instant::now();
    let report = write_csv(source, &opts, io::stdout().lock())?;
    let seconds = started.elapsed().as_secs_f64();
    writeln!(io::stderr(), "{report:?} in {seconds:.2} s: {:.0} MB/s", report.bytes as f64 / seconds / 1e6)
}
