//! Engine tests: real cQube files, a corpus of bad input, and generated data, each converted end to end
//! and read back with the `zip` crate (the CLI tests read zips with unzip, Python and 7z).

mod bad_input;
mod generated;
mod inference;
mod samples;

use std::io::{Cursor, Read};
use std::path::PathBuf;

use cqube_convert::{ConvertOptions, Error, Input, OnError, Reject, RejectSink, Summary};
use cqube_core::Catalog;
use cqube_zip::ZipOptions;

/// Collects rejects in memory.
#[derive(Debug, Default)]
pub struct Collected(pub Vec<Reject>);

impl RejectSink for Collected {
    fn record(&mut self, _input: &str, reject: &Reject) -> std::io::Result<()> {
        self.0.push(reject.clone());
        Ok(())
    }
}

/// The outcome of one conversion: the CSV inside the zip, the summary and the rejects.
#[derive(Debug)]
pub struct Converted {
    pub csv: String,
    pub entry: String,
    pub summary: Summary,
    pub rejects: Vec<Reject>,
}

/// `(path under mock_emission, e.g. "pat/periodic_exam_qst_mst.zip", its CSV entry's bytes)` for every zip of the
/// real cqube_emission folder, sorted by path.
pub fn mock_emission() -> Vec<(String, Vec<u8>)> {
    let root = fixtures().join("cqube/mock_emission");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        for zip in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let path = zip.unwrap().path();
            let mut archive = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
            let mut bytes = Vec::new();
            archive.by_index(0).unwrap().read_to_end(&mut bytes).unwrap();
            files.push((path.strip_prefix(&root).unwrap().display().to_string(), bytes));
        }
    }
    files.sort();
    files
}

pub fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(Catalog::builtin)
}

pub fn skip() -> ConvertOptions {
    ConvertOptions { on_error: OnError::Skip, ..ConvertOptions::default() }
}

/// Converts `bytes` (named `name`, which may imply the source) with `options`.
pub fn convert(source: Option<&str>, name: &str, bytes: Vec<u8>, options: &ConvertOptions) -> Result<Converted, Error> {
    let catalog = catalog();
    let source = source.map(|s| catalog.get(s).expect("test names a catalog source"));
    let input = Input::from_reader(name, None, Cursor::new(bytes)).expect("reading from memory");
    let prepared = cqube_convert::prepare(catalog, source, input, options)?;
    let mut rejects = Collected::default();
    let (zip, summary) = prepared.convert(Vec::new(), ZipOptions::default(), &mut rejects, &mut |_| {})?;
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).expect("output is a zip");
    assert_eq!(archive.len(), 1, "one entry per zip");
    let mut file = archive.by_index(0).expect("entry 0");
    let entry = file.name().expect("entry name is UTF-8").to_string();
    let mut csv = String::new();
    file.read_to_string(&mut csv).expect("entry is UTF-8 and its CRC matches");
    Ok(Converted { csv, entry, summary, rejects: rejects.0 })
}

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// Reads pipe-CSV back with cQube's reader settings (quote `"`, escape `\`).
pub fn read_back(csv: &str, delimiter: u8) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .escape(Some(b'\\'))
        .from_reader(csv.as_bytes())
        .records()
        .map(|r| r.expect("output parses").iter().map(str::to_owned).collect())
        .collect()
}
