//! Zip bombs handed to `emit` as prepared zips: refused by name, in bounded memory, and nothing reaches the bucket.
//! The bombs are built here, streaming, from one deflate block repeated (nothing large is committed or expanded).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Output};

use flate2::{Compress, Compression, FlushCompress};

mod common;
use common::Server;

const HEADER: &[u8] = b"district_name|udise_district_code|inityear|is_active\n";

/// Writes a one-entry zip named `district_mst.csv` whose entry is `head` and then `unit` repeated to about `size`
/// bytes. A 64 KiB run of units is compressed once after a first run; its bytes decode alike wherever the window
/// before them holds the same run, so they are written again and again.
fn bomb(path: &Path, head: &[u8], unit: &[u8], size: u64) -> u64 {
    let run: Vec<u8> = unit.iter().copied().cycle().take(unit.len() * (65_536 / unit.len())).collect();
    let mut c = Compress::new(Compression::best(), false);
    let mut first = head.to_vec();
    first.extend_from_slice(&run);
    let mut start = Vec::with_capacity(1 << 20);
    c.compress_vec(&first, &mut start, FlushCompress::Sync).unwrap();
    let mut block = Vec::with_capacity(1 << 20);
    c.compress_vec(&run, &mut block, FlushCompress::Sync).unwrap();
    let mut end = Vec::with_capacity(64);
    c.compress_vec(&[], &mut end, FlushCompress::Finish).unwrap();

    let runs = size / run.len() as u64;
    let (mut crc, mut run_crc) = (crc32fast::Hasher::new(), crc32fast::Hasher::new());
    crc.update(&first);
    run_crc.update(&run);
    for _ in 1..runs {
        crc.combine(&run_crc);
    }
    let uncompressed = first.len() as u64 + (runs - 1) * run.len() as u64;
    let compressed = start.len() as u64 + (runs - 1) * block.len() as u64 + end.len() as u64;
    let (crc, name) = (crc.finalize(), b"district_mst.csv");
    let sizes = |out: &mut Vec<u8>| {
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&(compressed.min(0xFFFF_FFFF) as u32).to_le_bytes());
        out.extend_from_slice(&(uncompressed.min(0xFFFF_FFFF) as u32).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    };
    let mut local = b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\x00\x21\x00".to_vec();
    sizes(&mut local);
    local.extend_from_slice(&[0, 0]);
    local.extend_from_slice(name);
    let mut out = BufWriter::new(File::create(path).unwrap());
    out.write_all(&local).unwrap();
    out.write_all(&start).unwrap();
    for _ in 1..runs {
        out.write_all(&block).unwrap();
    }
    out.write_all(&end).unwrap();
    let cd_offset = local.len() as u64 + compressed;
    let mut central = b"PK\x01\x02\x14\x03\x14\x00\x00\x00\x08\x00\x00\x00\x21\x00".to_vec();
    sizes(&mut central);
    central.extend_from_slice(&[0; 12]);
    central.extend_from_slice(&0u32.to_le_bytes());
    central.extend_from_slice(name);
    let cd_size = central.len() as u32;
    central.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
    central.extend_from_slice(&cd_size.to_le_bytes());
    central.extend_from_slice(&(cd_offset as u32).to_le_bytes());
    central.extend_from_slice(&[0, 0]);
    out.write_all(&central).unwrap();
    out.into_inner().unwrap().sync_all().unwrap();
    uncompressed
}

/// Runs `cmd` under python, which reports the peak resident memory of its child as the kernel counted it.
fn with_peak_rss(cmd: &Command) -> (Output, u64) {
    let script = "import resource, subprocess, sys\n\
                  r = subprocess.run(sys.argv[1:])\n\
                  print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n\
                  sys.exit(r.returncode)";
    let mut python = Command::new("python3");
    python.args(["-c", script]).arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => python.env(k, v),
            None => python.env_remove(k),
        };
    }
    let out = python.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kib: u64 = stderr.lines().last().unwrap().trim().parse().unwrap();
    (out, kib * 1024)
}

/// `emit` of `zip` with `args`: it must fail as an input error whose message contains `refusal`, under `max_rss`.
#[allow(clippy::print_stderr)] // the measured figure, for the record (`-- --nocapture`)
fn refused(server: &Server, zip: &Path, args: &[&str], refusal: &str, max_rss: u64) {
    let mut cmd = server.emit(args);
    cmd.arg(zip).env("CQUBE_EMIT_NO_PROGRESS", "true");
    let (out, peak) = with_peak_rss(&cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("emit {args:?}: peak RSS {} MiB", peak >> 20);
    assert_eq!(out.status.code(), Some(3), "an input error: {stderr}");
    assert!(stderr.contains(refusal), "{stderr}");
    assert!(stderr.contains("district_mst.zip"), "names the file: {stderr}");
    assert!(peak < max_rss, "peak RSS {peak} bytes");
    assert!(server.keys().is_empty(), "nothing reaches the bucket");
    assert!(!server.upload_states().iter().any(|s| s == "completed"));
}

#[test]
fn a_header_and_one_6_gb_line_is_refused_by_ratio_or_by_record_length_in_bounded_memory() {
    let server = Server::start(false);
    let work = tempfile::tempdir().unwrap();
    let zip = work.path().join("district_mst.zip");
    let size = bomb(&zip, HEADER, b"x", 6_000_000_000);
    assert!(size > 5_900_000_000 && std::fs::metadata(&zip).unwrap().len() < 10_000_000);
    refused(&server, &zip, &[], "expands more than 100x its compressed size", 200 << 20);
    // Told the data is that repetitive, the record-length limit still stops it.
    let lifted = ["--max-compression-ratio", "100000"];
    refused(&server, &zip, &lifted, "line 2: record longer than 67108864 bytes", 300 << 20);
}

#[test]
fn a_zip_of_56_million_identical_valid_rows_is_refused_as_a_bomb() {
    let server = Server::start(false);
    let work = tempfile::tempdir().unwrap();
    let zip = work.path().join("district_mst.zip");
    let size = bomb(&zip, HEADER, b"1|a|2|b\n", 56_000_000 * 8);
    assert!(size > 440_000_000);
    refused(&server, &zip, &[], "expands more than 100x its compressed size", 200 << 20);
    let lifted = ["--max-compression-ratio", "100000", "--max-entry-bytes", "100000000"];
    refused(&server, &zip, &lifted, "past 100000000 bytes", 200 << 20);
}
