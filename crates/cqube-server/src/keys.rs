//! Object keys as cQube names them, and the checks on file names emitters send.

use chrono::{DateTime, Datelike, Local, TimeZone};
use cqube_core::{Catalog, DataSource};

use crate::Error;

/// Rejects names that could escape the emission folder or confuse cQube's routing: empty, absolute, `..`,
/// backslashes, control characters, a drive (`:` in the first segment). openapi.json's `ObjectKey` pattern says
/// the same.
pub fn check_filename(filename: &str) -> Result<(), Error> {
    let bad = |why: &str| Error::bad_request("invalid_filename", format!("file name {filename:?} {why}"));
    if filename.is_empty() {
        return Err(bad("is empty"));
    }
    if filename.chars().any(char::is_control) {
        return Err(bad("contains control characters"));
    }
    if filename.starts_with('/')
        || filename.contains('\\')
        || filename.split('/').next().is_some_and(|s| s.contains(':'))
    {
        return Err(bad("must be a relative path with '/' separators"));
    }
    if filename.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
        return Err(bad("has an empty, '.' or '..' segment"));
    }
    Ok(())
}

/// The data source a checked file name belongs to: it must be exactly `<dir>/<file_stem>.zip`.
pub fn source_for_filename<'c>(catalog: &'c Catalog, filename: &str) -> Result<&'c DataSource, Error> {
    check_filename(filename)?;
    catalog.sources().iter().find(|s| s.emission_path() == filename).ok_or_else(|| {
        Error::bad_request(
            "invalid_filename",
            format!("file name {filename:?} is not <dir>/<file_stem>.zip of any data source in the catalog"),
        )
    })
}

/// Checks that `filename` is `source`'s `<dir>/<file_stem>.zip`.
pub fn check_filename_for(source: &DataSource, filename: &str) -> Result<(), Error> {
    check_filename(filename)?;
    let expected = source.emission_path();
    if filename == expected {
        Ok(())
    } else {
        Err(Error::bad_request(
            "invalid_filename",
            format!("file name {filename:?} does not match data source {}: expected {expected:?}", source.name),
        ))
    }
}

/// cQube's `add_timestamp`: `name.ext` becomes `name_YYYYmmddHHMMSS.ext` (before the last dot; appended when
/// there is none), in the server's local time.
pub fn add_timestamp<Tz: TimeZone>(filename: &str, at: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    with_stamp(filename, &at.format("%Y%m%d%H%M%S").to_string())
}

fn with_stamp(filename: &str, stamp: &str) -> String {
    let (dir, file) = filename.rsplit_once('/').map_or(("", filename), |(d, f)| (d, f));
    let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
    match file.rsplit_once('.') {
        Some((stem, ext)) => format!("{prefix}{stem}_{stamp}.{ext}"),
        None => format!("{prefix}{file}_{stamp}"),
    }
}

/// Keys one file name takes within one second: the plain `_YYYYmmddHHMMSS` one, then `_YYYYmmddHHMMSS_0001` up to
/// `_9999`. Past that, keys move into the next second, ahead of the clock, and the log says so.
pub const KEYS_PER_SECOND: u32 = 10_000;

/// The key of slot `seq` within second `at`. cQube's ingestion routes on the key's prefix, requires `.zip` at the
/// end and names the CSV after the key up to its first dot, so a sequence before the extension keeps all three
/// (INGESTION.md); zero-padded, text order is issue order.
fn sequenced_key<Tz: TimeZone>(filename: &str, at: &DateTime<Tz>, seq: u32) -> String
where
    Tz::Offset: std::fmt::Display,
{
    if seq == 0 {
        add_timestamp(filename, at)
    } else {
        with_stamp(filename, &format!("{}_{seq:04}", at.format("%Y%m%d%H%M%S")))
    }
}

/// A new key for `filename`, unique in `bucket`, in the current second: one slot statement and one reservation
/// per request, however many keys came before.
pub async fn unique_key(db: &crate::db::Database, bucket: &str, filename: &str) -> Result<String, Error> {
    unique_key_at(db, bucket, filename, Local::now().timestamp(), KEYS_PER_SECOND).await
}

async fn unique_key_at(
    db: &crate::db::Database,
    bucket: &str,
    filename: &str,
    now: i64,
    per_second: u32,
) -> Result<String, Error> {
    loop {
        let (second, seq) = db.next_key_slot(bucket, filename, now, per_second).await?;
        if second > now && seq == 0 {
            tracing::warn!(
                filename,
                ahead_seconds = second - now,
                "more than {per_second} keys for one file name in one second: keys run ahead of the clock"
            );
        }
        let at = DateTime::from_timestamp(second, 0)
            .ok_or_else(|| Error::Admin(format!("key second {second} is out of range")))?
            .with_timezone(&Local);
        let key = sequenced_key(filename, &at, seq);
        // A key can be taken already: reserved by a version before slots, or in a local hour a DST change repeats.
        if db.reserve_key(bucket, &key).await? {
            return Ok(key);
        }
    }
}

/// A random RFC 4122 version-4 UUID, as cQube's ingestion puts in archive keys.
pub fn uuid_v4() -> Result<String, Error> {
    let mut b = crate::auth::random_bytes(16)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
}

/// The input-bucket key cQube's ingestion gives an emission:
/// `<dir>/<YYYY>/<YYYY-MM>/<YYYY-MM-DD>_<dir>/<DD-MM-YYYY_HH:MM:SS.mmm>_<uuid>_<stem>.zip`.
pub fn archive_key<Tz: TimeZone>(source: &DataSource, at: &DateTime<Tz>, uuid: &str) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let dir = &source.dir;
    format!(
        "{dir}/{y}/{y}-{m:02}/{y}-{m:02}-{d:02}_{dir}/{stamp}_{uuid}_{stem}.zip",
        y = at.year(),
        m = at.month(),
        d = at.day(),
        stamp = at.format("%d-%m-%Y_%H:%M:%S%.3f"),
        stem = source.file_stem,
    )
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    #[test]
    fn add_timestamp_matches_cqube() {
        let at = Utc.with_ymd_and_hms(2022, 7, 28, 10, 15, 0).unwrap();
        assert_eq!(
            add_timestamp("student_attendance/student_attendance.zip", &at),
            "student_attendance/student_attendance_20220728101500.zip"
        );
        assert_eq!(add_timestamp("a.b/file", &at), "a.b/file_20220728101500");
        assert_eq!(add_timestamp("x.tar.gz", &at), "x.tar_20220728101500.gz");
    }

    #[test]
    fn filenames_are_checked() {
        let catalog = Catalog::builtin();
        let att = catalog.get("student_attendance").unwrap();
        assert_eq!(source_for_filename(&catalog, &att.emission_path()).unwrap().name, att.name);
        check_filename_for(att, &att.emission_path()).unwrap();
        for bad in [
            "",
            "/student_attendance/student_attendance.zip",
            "student_attendance/../student_attendance.zip",
            "student_attendance\\student_attendance.zip",
            "student_attendance/student_attendance\n.zip",
            "student_attendance//student_attendance.zip",
            "C:student_attendance.zip",
            "student_attendance:/student_attendance.zip",
            "student_attendance/other.zip",
            "student_attendance/student_attendance.csv",
        ] {
            assert!(check_filename_for(att, bad).is_err(), "{bad:?}");
            assert!(source_for_filename(&catalog, bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn keys_stay_in_their_second_with_a_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Database::open(None, dir.path()).await.unwrap();
        let now = Utc.with_ymd_and_hms(2022, 7, 28, 10, 15, 0).unwrap().timestamp();
        let stamp = DateTime::from_timestamp(now, 0).unwrap().with_timezone(&Local).format("%Y%m%d%H%M%S");
        let mut keys = Vec::new();
        for _ in 0..20 {
            keys.push(unique_key_at(&db, "b", "x/y.zip", now, KEYS_PER_SECOND).await.unwrap());
        }
        assert_eq!(keys[0], format!("x/y_{stamp}.zip"));
        for (i, key) in keys.iter().enumerate().skip(1) {
            assert_eq!(key, &format!("x/y_{stamp}_{i:04}.zip"), "same second, next sequence");
        }
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, keys, "text order is issue order");
        // Another name and another bucket have their own sequences; the next second starts over.
        assert_eq!(unique_key_at(&db, "b", "x/z.zip", now, KEYS_PER_SECOND).await.unwrap(), format!("x/z_{stamp}.zip"));
        assert_eq!(unique_key_at(&db, "c", "x/y.zip", now, KEYS_PER_SECOND).await.unwrap(), format!("x/y_{stamp}.zip"));
        let next = unique_key_at(&db, "b", "x/y.zip", now + 1, KEYS_PER_SECOND).await.unwrap();
        assert!(next > keys[19] && !next[..next.len() - 4].ends_with(&format!("_{stamp}")), "{next}");
        assert_eq!(next.len(), keys[0].len());
    }

    #[tokio::test]
    async fn a_full_second_moves_on_and_taken_keys_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Database::open(None, dir.path()).await.unwrap();
        let now = Utc.with_ymd_and_hms(2022, 7, 28, 10, 15, 0).unwrap().timestamp();
        let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap().with_timezone(&Local);
        // Reserved by an older version (one key per second, ahead of the clock).
        assert!(db.reserve_key("b", &add_timestamp("x/y.zip", &at(now))).await.unwrap());
        let mut keys = Vec::new();
        for _ in 0..4 {
            keys.push(unique_key_at(&db, "b", "x/y.zip", now, 3).await.unwrap());
        }
        assert_eq!(
            keys,
            [
                sequenced_key("x/y.zip", &at(now), 1),
                sequenced_key("x/y.zip", &at(now), 2),
                add_timestamp("x/y.zip", &at(now + 1)),
                sequenced_key("x/y.zip", &at(now + 1), 1),
            ]
        );
        // A clock that steps back keeps counting from the last slot instead of reusing keys.
        assert_eq!(
            unique_key_at(&db, "b", "x/y.zip", now - 60, 3).await.unwrap(),
            sequenced_key("x/y.zip", &at(now + 1), 2)
        );
    }

    #[test]
    fn archive_key_matches_cqube() {
        let catalog = Catalog::builtin();
        let school = catalog.sources().iter().find(|s| s.dir == "school_master").unwrap();
        let at = Utc.with_ymd_and_hms(2020, 6, 4, 13, 12, 59).unwrap() + chrono::Duration::milliseconds(574);
        let uuid = uuid_v4().unwrap();
        assert_eq!(
            archive_key(school, &at, &uuid),
            format!(
                "school_master/2020/2020-06/2020-06-04_school_master/04-06-2020_13:12:59.574_{uuid}_{}.zip",
                school.file_stem
            )
        );
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
    }
}
