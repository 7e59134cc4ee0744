//! Archives written by `ZipStream`, checked by the readers people will use on them: Info-ZIP `unzip`, Python's
//! `zipfile`, 7-Zip and Java's `ZipInputStream`. A missing reader fails the test with an install hint.

mod readers;
mod zip64;

use std::fmt::Write;
use std::path::Path;
use std::process::Command;

/// What a reader must report about the single entry.
#[derive(Debug)]
pub struct Expect<'a> {
    pub name: &'a str,
    pub size: u64,
    pub crc32: u32,
    /// The entry's exact bytes, for readers that compare content; `None` when too big to keep.
    pub content: Option<&'a Path>,
}

fn run(program: &str, args: &[&str], install: &str) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); this test needs it: {install}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn reported(expect: &Expect<'_>) -> String {
    let mut line = String::new();
    for b in expect.name.bytes() {
        write!(line, "{b:02x}").expect("writing to a String cannot fail");
    }
    write!(line, " {} {}", expect.size, expect.crc32).expect("writing to a String cannot fail");
    line
}

/// Runs every reader on `zip` and checks each accepts it and sees the expected entry.
pub fn check_with_all_readers(zip: &Path, expect: &Expect<'_>) {
    let path = zip.to_str().expect("temp paths are UTF-8");

    let out = run("unzip", &["-t", path], "apt-get install -y unzip");
    assert!(out.contains("No errors detected"), "unzip -t:\n{out}");

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/check_zip.py");
    let mut args = vec![script, path];
    args.extend(expect.content.map(|p| p.to_str().expect("temp paths are UTF-8")));
    let out = run("python3", &args, "apt-get install -y python3");
    assert_eq!(out.trim(), reported(expect), "python zipfile");

    let out = run("7z", &["t", "-bd", path], "apt-get install -y p7zip-full");
    assert!(out.contains("Everything is Ok"), "7z t:\n{out}");

    let verify = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/Verify.java");
    let out = run("java", &[verify, path], "apt-get install -y openjdk-17-jdk-headless");
    assert_eq!(out.trim(), reported(expect), "java ZipInputStream");
}
