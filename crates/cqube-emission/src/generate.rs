//! Generated exports (`cqube-emit gen`): a source's synthetic rows as CSV, or converted on the way out into the zip
//! an emission sends, through the same conversion as a real export.

use std::io::Write;

use anyhow::Context;
use cqube_convert::{ConvertOptions, Input, NoRejects};
use cqube_core::{Catalog, DataSource};
use cqube_gen::{GenOptions, GenReport};
use cqube_zip::ZipOptions;

use crate::status::engine_failure;

/// Writes `source`'s generated rows to `out`: raw CSV, or with `zip` a cQube-ready zip converted as an export would
/// be. The generator writes into a pipe the conversion reads: no temporary file, bounded memory.
pub fn write<W: Write>(
    catalog: &Catalog,
    source: &DataSource,
    opts: &GenOptions,
    zip: Option<ZipOptions>,
    mut out: W,
) -> anyhow::Result<GenReport> {
    let report = match zip {
        None => cqube_gen::write_csv(source, opts, &mut out)?,
        Some(zip) => {
            let (reader, writer) = std::io::pipe()?;
            std::thread::scope(|scope| -> anyhow::Result<GenReport> {
                let producer = scope.spawn(move || cqube_gen::write_csv(source, opts, writer));
                let input = Input::from_reader(&format!("generated {}", source.name), None, reader)?;
                let prepared = cqube_convert::prepare(catalog, Some(source), input, &ConvertOptions::default())
                    .map_err(engine_failure)?;
                prepared.convert(&mut out, zip, &mut NoRejects, &mut |_| {}).map_err(engine_failure)?;
                producer.join().expect("the generator does not panic").context("generating rows")
            })?
        }
    };
    out.flush()?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_rows_come_out_as_csv_or_as_the_zip_an_emission_sends() {
        let catalog = Catalog::builtin();
        let source = catalog.get("school_master").unwrap();
        let universe = cqube_gen::Universe::new(7, 10);
        let opts = GenOptions { seed: 7, rows: 5, dirty: false, universe };
        let mut csv = Vec::new();
        let report = write(&catalog, source, &opts, None, &mut csv).unwrap();
        assert_eq!(report.rows, 5);
        assert_eq!(String::from_utf8(csv.clone()).unwrap().lines().count(), 6, "a header and five rows");
        let mut zip = Vec::new();
        let zipped = write(&catalog, source, &opts, Some(ZipOptions::default()), &mut zip).unwrap();
        assert_eq!(zipped.rows, 5);
        assert!(zip.starts_with(b"PK\x03\x04"), "a zip, not CSV");
        let limits = cqube_zip::check::Limits::default();
        let checked = crate::zip_check::check_zip(&zip[..], &mut std::io::sink(), source, &limits).unwrap();
        assert_eq!(checked.rows, 5, "the zip holds the five rows and passes the prepared-zip check");
    }
}
