//! Prepared zips for `emit` and `verify`: what cqube-zip's checker must find for a data source, its limits from the
//! settings, and its refusals with the setting to change.

use std::io::{Read, Write};

use anyhow::Context;
use cqube_core::DataSource;
use cqube_zip::check::{self, Checked, Expected, Limits};

fn expected(source: &DataSource) -> Expected {
    Expected {
        entry_name: format!("{}.csv", source.file_stem),
        delimiter: source.delimiter,
        header: source.columns.iter().map(|c| c.name.clone()).collect(),
    }
}

/// A refusal, with the setting that lifts it where there is one.
fn refusal(e: cqube_zip::Error) -> anyhow::Error {
    let hint = match &e {
        cqube_zip::Error::RatioTooHigh { .. } => {
            "\n\nhint: if the data really is this repetitive, raise --max-compression-ratio ([emit] max_compression_ratio)"
        }
        cqube_zip::Error::EntryTooLarge { .. } => "\n\nhint: raise --max-entry-bytes ([emit] max_entry_bytes)",
        _ => return e.into(),
    };
    anyhow::anyhow!("{e}{hint}")
}

/// Reads a whole zip from `zip`, copying every byte to `tee` as it goes, and checks it against `source`.
pub fn check_zip(zip: impl Read, tee: &mut dyn Write, source: &DataSource, limits: &Limits) -> anyhow::Result<Checked> {
    check::check(zip, tee, &expected(source), limits).map_err(refusal)
}

/// The CSV of a one-entry zip file, decompressed within `limits` (for `--normalize`).
pub fn open_entry(
    path: &std::path::Path,
    source: &DataSource,
    limits: &Limits,
) -> anyhow::Result<Box<dyn Read + Send>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let entry = check::open_entry(file, &expected(source).entry_name, limits)
        .map_err(refusal)
        .with_context(|| path.display().to_string())?;
    Ok(Box::new(entry))
}
