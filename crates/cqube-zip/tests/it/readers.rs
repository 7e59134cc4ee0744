use std::fs;
use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use cqube_zip::{ZipOptions, ZipStream};

use crate::{Expect, check_with_all_readers};

fn options() -> ZipOptions {
    ZipOptions {
        block_size: 64 * 1024,
        modified: UNIX_EPOCH + Duration::from_secs(1_750_000_000),
        ..ZipOptions::default()
    }
}

/// Pipe rows in the shape of cQube's student_attendance, about `bytes` long.
fn attendance(bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 200);
    let mut id = 0u64;
    while out.len() < bytes {
        id += 1;
        out.extend_from_slice(
            format!("{id}|7501{:011}|75010101001|2020-21|{}", id * 7919 % 99_999_999_999, id % 12 + 1).as_bytes(),
        );
        for day in 0..31u64 {
            let code = match (id * 31 + day) * 2_654_435_761 % 100 {
                0..80 => "1",
                80..91 => "2",
                91..94 => "5",
                _ => "NULL",
            };
            out.push(b'|');
            out.extend_from_slice(code.as_bytes());
        }
        out.push(b'\n');
    }
    out
}

fn zip_and_check(name: &str, data: &[u8], options: ZipOptions) {
    let dir = tempfile::tempdir().unwrap();
    let (zip_path, content_path) = (dir.path().join("out.zip"), dir.path().join("content"));
    fs::write(&content_path, data).unwrap();
    let mut zip = ZipStream::new(fs::File::create(&zip_path).unwrap(), name, options).unwrap();
    for piece in data.chunks(12_345) {
        zip.write_all(piece).unwrap();
    }
    let (_, summary) = zip.finish().unwrap();
    assert_eq!(summary.zip_bytes, fs::metadata(&zip_path).unwrap().len());
    let expect = Expect { name, size: data.len() as u64, crc32: crc32fast::hash(data), content: Some(&content_path) };
    assert_eq!(summary.crc32, expect.crc32);
    check_with_all_readers(&zip_path, &expect);
}

#[test]
fn empty_entry() {
    zip_and_check("empty.csv", b"", options());
}

#[test]
fn tiny_entry_with_utf8_name() {
    zip_and_check("उपस्थिति/student_attendance.csv", b"StudentId|Day1\n7501|1\n", options());
}

#[test]
fn many_blocks() {
    zip_and_check("student_attendance.csv", &attendance(3 << 20), options());
}

#[test]
fn level_zero_and_nine() {
    let data = attendance(300 << 10);
    for level in [0, 9] {
        zip_and_check("student_attendance.csv", &data, ZipOptions { level, ..options() });
    }
}
