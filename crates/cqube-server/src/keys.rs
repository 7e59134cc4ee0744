//! Object keys as cQube names them, and the checks on file names emitters send.

use chrono::{DateTime, Datelike, Local, TimeZone};
use cqube_core::{Catalog, DataSource};

use crate::Error;

/// Rejects names that could escape the emission folder or confuse cQube's routing: empty, absolute, `..`,
/// backslashes, control characters.
pub fn check_filename(filename: &str) -> Result<(), Error> {
    let bad = |why: &str| Error::bad_request("invalid_filename", format!("file name {filename:?} {why}"));
    if filename.is_empty() {
        return Err(bad("is empty"));
    }
    if filename.chars().any(char::is_control) {
        return Err(bad("contains control characters"));
    }
    if filename.starts_with('/') || filename.contains('\\') || filename.as_bytes().get(1) == Some(&b':') {
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
    let stamp = at.format("%Y%m%d%H%M%S");
    let (dir, file) = filename.rsplit_once('/').map_or(("", filename), |(d, f)| (d, f));
    let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
    match file.rsplit_once('.') {
        Some((stem, ext)) => format!("{prefix}{stem}_{stamp}.{ext}"),
        None => format!("{prefix}{file}_{stamp}"),
    }
}

/// A new key for `filename`, unique in `bucket`: when another request already took this second's key, the next
/// free second is used, so the key keeps cQube's `_YYYYmmddHHMMSS` form.
pub fn unique_key(db: &crate::db::Database, bucket: &str, filename: &str) -> Result<String, Error> {
    let mut at = Local::now();
    loop {
        let key = add_timestamp(filename, &at);
        if db.reserve_key(bucket, &key)? {
            return Ok(key);
        }
        at += chrono::Duration::seconds(1);
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
            "student_attendance/other.zip",
            "student_attendance/student_attendance.csv",
        ] {
            assert!(check_filename_for(att, bad).is_err(), "{bad:?}");
            assert!(source_for_filename(&catalog, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unique_keys_under_contention() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Database::open(dir.path()).unwrap();
        let keys: std::collections::HashSet<String> =
            (0..20).map(|_| unique_key(&db, "b", "x/y.zip").unwrap()).collect();
        assert_eq!(keys.len(), 20);
        assert!(keys.iter().all(|k| k.starts_with("x/y_") && k.len() == "x/y_20220728101500.zip".len()));
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
