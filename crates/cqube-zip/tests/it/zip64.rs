use std::fs::{self, File};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::time::{Duration, UNIX_EPOCH};

use cqube_zip::{ZipOptions, ZipStream};

use crate::{Expect, check_with_all_readers};

/// Past 4 GiB, so both the descriptor and the central directory need their ZIP64 forms.
const ENTRY_BYTES: u64 = 4_400_000_000;

/// Streams a generated entry larger than 4 GiB (never stored: only the small zip touches the disk) and has every
/// reader check it. This is the ZIP64 proof: Java in particular rejects the other descriptor layouts.
#[test]
fn entry_over_4_gib_reads_everywhere() {
    // Rows with a period well under deflate's 32 KiB window, so level 1 squeezes them hard; each chunk gets its own
    // counter so the CRC sees every position.
    let pattern: Vec<u8> =
        (0..100).flat_map(|i| format!("{i}|750101010010001|2020-21|7|1|1|NULL|2|1|5|\n").into_bytes()).collect();
    let mut chunk = pattern.repeat((1 << 20) / pattern.len() + 1);
    chunk.truncate((1 << 20) + 13);

    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("big.zip");
    let options = ZipOptions {
        level: 1,
        block_size: 8 << 20,
        blocks_in_flight: 4,
        modified: UNIX_EPOCH + Duration::from_secs(1_750_000_000),
    };
    let mut zip = ZipStream::new(BufWriter::new(File::create(&zip_path).unwrap()), "big.csv", options).unwrap();
    let mut crc = crc32fast::Hasher::new();
    let mut written = 0u64;
    let mut counter = 0u64;
    while written < ENTRY_BYTES {
        counter += 1;
        chunk[..16].copy_from_slice(format!("{counter:015}|").as_bytes());
        let n = chunk.len().min((ENTRY_BYTES - written) as usize);
        zip.write_all(&chunk[..n]).unwrap();
        crc.update(&chunk[..n]);
        written += n as u64;
    }
    let (file, summary) = zip.finish().unwrap();
    drop(file);
    let crc32 = crc.finalize();
    assert_eq!((summary.uncompressed_bytes, summary.crc32), (ENTRY_BYTES, crc32));
    assert_eq!(summary.zip_bytes, fs::metadata(&zip_path).unwrap().len());

    // The archive ends with a zip64 end record, its locator and the classic end record.
    let mut tail = [0u8; 98];
    let mut f = File::open(&zip_path).unwrap();
    f.seek(SeekFrom::End(-98)).unwrap();
    f.read_exact(&mut tail).unwrap();
    assert_eq!(tail[..4], 0x0606_4b50u32.to_le_bytes());
    assert_eq!(tail[56..60], 0x0706_4b50u32.to_le_bytes());
    assert_eq!(tail[76..80], 0x0605_4b50u32.to_le_bytes());

    check_with_all_readers(&zip_path, &Expect { name: "big.csv", size: ENTRY_BYTES, crc32, content: None });
}
