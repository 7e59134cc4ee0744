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

/// `verify`: downloads `key` from `bucket` through the API's presigned GET and checks it as `emit` checks a
/// prepared zip, streaming (at most 8 chunks in flight; nothing held whole or written to disk). A download that
/// fails is a remote failure (its exit status from the API's answer), a refused zip an input failure.
pub async fn verify_object(
    api: &cqube_upload::ApiClient,
    bucket: &str,
    key: &str,
    source: &DataSource,
    limits: &Limits,
) -> anyhow::Result<Checked> {
    use crate::status::{ExitStatus, fail, remote_failure};
    let (tx, reader) = cqube_source::byte_channel(key, 8);
    let what = format!("downloading {key}");
    let url = api.download_uri_in(bucket, key).await.map_err(|e| remote_failure(e, key))?;
    let mut response = api
        .http()
        .get(&url)
        .send()
        .await
        .map_err(|e| cqube_upload::Error::Transport { what: what.clone(), source: e.without_url() })
        .map_err(|e| remote_failure(e, key))?;
    if !response.status().is_success() {
        let e = cqube_upload::Error::Protocol { what, detail: format!("HTTP {}", response.status()) };
        return Err(remote_failure(e, key));
    }
    let fetch = tokio::spawn(async move {
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if !tx.send(chunk).await {
                        return; // the checker stopped reading: it has its answer
                    }
                }
                Ok(None) => return tx.finish().await,
                Err(e) => return tx.fail(std::io::Error::other(e.without_url())).await,
            }
        }
    });
    let (source, limits) = (source.clone(), *limits);
    let checked = tokio::task::spawn_blocking(move || check_zip(reader, &mut std::io::sink(), &source, &limits))
        .await
        .context("the checking thread panicked")?;
    fetch.await.context("the download task panicked")?;
    checked.with_context(|| format!("object {key}")).map_err(|e| fail(ExitStatus::Input, e))
}
