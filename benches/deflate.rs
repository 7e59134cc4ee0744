//! Deflate throughput on student_attendance-style pipe rows: one flate2 stream on one thread versus `ZipStream`'s
//! parallel blocks, at the levels worth choosing between. Throughput is in input bytes.
//!
//! `cargo bench -p cqube-benches --bench deflate`

use std::hint::black_box;
use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use cqube_zip::{ZipOptions, ZipStream};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flate2::Compression;
use flate2::write::DeflateEncoder;

const INPUT_BYTES: usize = 16 << 20;
const LEVELS: [u32; 4] = [1, 4, 5, 6];

/// Rows shaped like cQube's student_attendance export: 6 id/period columns and 31 day codes (1 ~80 %, 2 ~11 %,
/// 5 ~3 %, NULL ~6 %, empty past the month's end), from a fixed-seed LCG.
fn attendance_rows(bytes: usize) -> Vec<u8> {
    let mut state = 0x853c_49e6_748f_ea9b_u64;
    let mut next = move |n: u64| {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    let mut out = Vec::with_capacity(bytes + 256);
    let mut id = 100u64;
    while out.len() < bytes {
        id += 1;
        let school = 75_010_101_001 + next(3000);
        let month = next(12) + 1;
        let days_in_month = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month as usize - 1];
        let row = format!("{id}|{school}{:04}|{school}|{school}{:04}|2020-21|{month}", next(10_000), next(10_000));
        out.extend_from_slice(row.as_bytes());
        for day in 1..=31 {
            out.push(b'|');
            if day <= days_in_month {
                out.extend_from_slice(match next(100) {
                    0..80 => b"1".as_slice(),
                    80..91 => b"2",
                    91..94 => b"5",
                    _ => b"NULL",
                });
            }
        }
        out.push(b'\n');
    }
    out
}

fn deflate(c: &mut Criterion) {
    let input = attendance_rows(INPUT_BYTES);

    let mut single = c.benchmark_group("deflate_one_thread");
    single.throughput(Throughput::Bytes(input.len() as u64)).sample_size(10);
    for level in LEVELS {
        single.bench_with_input(BenchmarkId::from_parameter(level), &input, |b, input| {
            b.iter(|| {
                let mut enc = DeflateEncoder::new(io::sink(), Compression::new(level));
                enc.write_all(input).unwrap();
                black_box(enc.finish().unwrap());
            });
        });
    }
    single.finish();

    let mut parallel = c.benchmark_group("zipstream_parallel");
    parallel.throughput(Throughput::Bytes(input.len() as u64)).sample_size(10);
    let base = ZipOptions { modified: SystemTime::UNIX_EPOCH, ..ZipOptions::default() };
    let mut cases: Vec<(String, ZipOptions)> =
        LEVELS.iter().map(|&level| (format!("level{level}"), ZipOptions { level, ..base })).collect();
    for block_size in [256 << 10, 4 << 20] {
        cases.push((format!("level{}_block{}K", base.level, block_size >> 10), ZipOptions { block_size, ..base }));
    }
    for (name, options) in cases {
        parallel.bench_with_input(BenchmarkId::from_parameter(name), &input, |b, input| {
            b.iter(|| {
                let mut zip = ZipStream::new(io::sink(), "student_attendance.csv", options).unwrap();
                for piece in input.chunks(64 << 10) {
                    zip.write_all(piece).unwrap();
                }
                black_box(zip.finish().unwrap().1);
            });
        });
    }
    parallel.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    targets = deflate
}
criterion_main!(benches);
