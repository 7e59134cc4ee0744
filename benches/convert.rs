//! The conversion hot path on generated exports (cqube-gen, fixed seeds, nothing committed), as input MB/s:
//!
//! - `encode_one_core`: parse (csv) + normalize every cell (quick path first) + encode pipe-CSV on the calling
//!   thread, no threads, no zip: what one rayon worker does per chunk, the engine's bookkeeping aside.
//! - `convert_chain`: `prepare` + `Prepared::convert` into `io::sink()`: chunker, workers on the rayon pool,
//!   ordered duplicate-key check, parallel deflate at the default level, on every core.
//!
//! `cargo bench -p cqube-benches --bench convert`

use std::hint::black_box;
use std::io::{self, Cursor};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cqube_convert::{ConvertOptions, Input, NoRejects};
use cqube_core::{Catalog, DataSource};
use cqube_gen::{GenOptions, Universe, write_csv};
use cqube_normalize::{Quick, QuickRule, ValueOptions};
use cqube_zip::ZipOptions;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Input per case: big enough that the pipeline reaches steady state (several chunks per worker).
const INPUT_BYTES: u64 = 24 << 20;

/// A raw comma export of about `INPUT_BYTES`, and its source. School masters list each school once, so the
/// universe gets as many schools as rows are wanted.
fn export(catalog: &Catalog, name: &str) -> (DataSource, Arc<[u8]>) {
    let source = catalog.get(name).expect("a built-in catalog source").clone();
    let probe = generate(&source, 1000);
    let rows = INPUT_BYTES * 1000 / probe.len() as u64;
    (source.clone(), generate(&source, rows).into())
}

fn generate(source: &DataSource, rows: u64) -> Vec<u8> {
    let schools = u32::try_from(rows).unwrap_or(u32::MAX).clamp(1000, 2_000_000);
    let opts = GenOptions { seed: 7, rows, dirty: false, universe: Universe::new(7, schools) };
    let mut out = Vec::new();
    write_csv(source, &opts, &mut out).expect("writing to memory");
    out
}

/// One core's parse + normalize + encode over a whole export whose header is the catalog's, in order: the quick
/// path for the cells it recognises, `normalize_value` for the rest, as the engine does (which splits quote-free
/// chunks itself instead of using csv).
fn encode_export(source: &DataSource, data: &[u8], opts: &ValueOptions, out: &mut Vec<u8>) -> u64 {
    let rules: Vec<QuickRule> = source.columns.iter().map(|c| QuickRule::new(c, opts, source.delimiter)).collect();
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(data);
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    out.clear();
    while rdr.read_byte_record(&mut record).expect("generated CSV parses") {
        for (i, ((column, rule), raw)) in source.columns.iter().zip(&rules).zip(record.iter()).enumerate() {
            if i > 0 {
                out.push(source.delimiter);
            }
            match rule.classify(raw) {
                Quick::Verbatim => out.extend_from_slice(raw),
                Quick::Null => {}
                Quick::Slow => {
                    let raw = std::str::from_utf8(raw).expect("generated CSV is UTF-8");
                    let value =
                        cqube_normalize::normalize_value(column, raw, opts).expect("generated values are valid");
                    if let Some(v) = value {
                        cqube_encode::write_field(out, &v, source.delimiter);
                    }
                }
            }
        }
        out.push(b'\n');
        rows += 1;
    }
    rows
}

fn convert_chain(source: &DataSource, catalog: &Catalog, data: &Arc<[u8]>) -> u64 {
    let options = ConvertOptions::default();
    let input = Input::from_reader("bench.csv", Some(data.len() as u64), Cursor::new(Arc::clone(data)))
        .expect("reading from memory");
    let prepared = cqube_convert::prepare(catalog, Some(source), input, &options).expect("a valid export");
    let zip = ZipOptions { modified: SystemTime::UNIX_EPOCH, ..ZipOptions::default() };
    let (_, summary) = prepared.convert(io::sink(), zip, &mut NoRejects, &mut |_| {}).expect("a valid export");
    summary.bytes_out
}

fn benches(c: &mut Criterion) {
    let catalog = Catalog::builtin();
    let exports: Vec<(DataSource, Arc<[u8]>)> =
        ["student_attendance", "school_master"].into_iter().map(|name| export(&catalog, name)).collect();

    let mut encode = c.benchmark_group("encode_one_core");
    let opts = ValueOptions::default();
    let mut out = Vec::with_capacity((INPUT_BYTES + INPUT_BYTES / 4) as usize);
    for (source, data) in &exports {
        encode.throughput(Throughput::Bytes(data.len() as u64));
        encode.bench_with_input(BenchmarkId::from_parameter(&source.name), data, |b, data| {
            b.iter(|| black_box(encode_export(source, data, &opts, &mut out)));
        });
    }
    encode.finish();

    let mut chain = c.benchmark_group("convert_chain");
    for (source, data) in &exports {
        chain.throughput(Throughput::Bytes(data.len() as u64));
        chain.bench_with_input(BenchmarkId::from_parameter(&source.name), data, |b, data| {
            b.iter(|| black_box(convert_chain(source, &catalog, data)));
        });
    }
    chain.finish();
}

criterion_group! {
    name = convert;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    targets = benches
}
criterion_main!(convert);
