//! `cqube-emit ls` and `get`: what cQube received, seen and fetched through the API (`list_s3_files`,
//! `download_uri`), so an operator needs neither curl nor an S3 client.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use cqube_protocol::ListFilesRequest;
use cqube_upload::ApiClient;
use indicatif::HumanBytes;
use tokio::io::AsyncWriteExt;

use crate::config::FileConfig;
use crate::emit_cmd::{ApiArgs, api_client, emit_settings};
use crate::exit::{ExitStatus, fail};
use crate::global::GlobalArgs;

/// `ls` flags.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// BUCKET[/PREFIX]: a role (emission, input, output) or a bucket's name, then a key prefix. Default: the
    /// emission bucket.
    pub path: Option<String>,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `get` flags.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The key, as `ls` or an acknowledgement prints it, with or without its bucket in front
    /// (default bucket: emission).
    pub key: String,
    /// Where to write it; `-` for stdout. Default: the key's file name in the working directory.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Splits `BUCKET/REST` when the first segment names a bucket (by role or name); otherwise the emission bucket.
pub(crate) async fn locate(api: &ApiClient, path: &str) -> anyhow::Result<(String, String)> {
    let buckets = api.buckets().await.map_err(|e| cqube_emission::status::remote_failure(e, "listing the buckets"))?;
    let (first, rest) = path.split_once('/').unwrap_or((path, ""));
    let named = buckets.iter().find(|(role, name)| *role == first || *name == first);
    Ok(match named {
        Some((_, name)) => (name.clone(), rest.to_owned()),
        None => (buckets.get("emission").cloned().unwrap_or_else(|| "emission".into()), path.to_owned()),
    })
}

#[allow(clippy::print_stdout)] // the listing is this command's data
pub fn ls(args: &LsArgs, config: &FileConfig, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let api = api_client(&emit_settings(&args.api, None, None, config)?, None)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let (bucket, prefix) = locate(&api, args.path.as_deref().unwrap_or("emission")).await?;
        let mut out = std::io::stdout().lock();
        let mut request = ListFilesRequest {
            bucket: bucket.clone(),
            prefix: (!prefix.is_empty()).then_some(prefix),
            continuation_token: None,
            max_keys: None,
        };
        let (mut objects, mut bytes) = (0u64, 0u64);
        loop {
            let page = api
                .list_files(&request)
                .await
                .map_err(|e| cqube_emission::status::remote_failure(e, &format!("listing {bucket}")))?;
            for o in &page.contents {
                if global.json {
                    writeln!(out, "{}", serde_json::to_string(o)?)?;
                } else {
                    let when = o.last_modified.as_deref().unwrap_or("-");
                    writeln!(out, "{when:<24}  {:>10}  {}", HumanBytes(o.size).to_string(), o.key)?;
                }
                objects += 1;
                bytes += o.size;
            }
            match page.next_continuation_token.filter(|_| page.is_truncated) {
                Some(token) => request.continuation_token = Some(token),
                None => break,
            }
        }
        if !global.json {
            let noun = if objects == 1 { "object" } else { "objects" };
            crate::global::note(&format!("{objects} {noun}, {} in {bucket}", HumanBytes(bytes)));
        }
        Ok(ExitStatus::Success)
    })
}

pub fn get(args: &GetArgs, config: &FileConfig) -> anyhow::Result<ExitStatus> {
    let api = api_client(&emit_settings(&args.api, None, None, config)?, None)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let (bucket, key) = locate(&api, &args.key).await?;
        let name = key.rsplit('/').next().filter(|n| !n.is_empty()).ok_or_else(|| {
            fail(
                ExitStatus::Usage,
                anyhow::anyhow!("{:?} names no object\n\nhint: `cqube-emit ls` lists them", args.key),
            )
        })?;
        let url = api
            .download_uri_in(&bucket, &key)
            .await
            .map_err(|e| cqube_emission::status::remote_failure(e, &format!("presigning {key}")))?;
        let transport = |e: reqwest::Error| {
            let e = cqube_upload::Error::Transport { what: format!("downloading {key}"), source: e.without_url() };
            cqube_emission::status::remote_failure(e, "get")
        };
        let mut response = api.http().get(&url).send().await.map_err(transport)?;
        if !response.status().is_success() {
            let hint = if response.status() == reqwest::StatusCode::NOT_FOUND {
                "\n\nhint: cQube's ingestion moves objects out of the emission bucket soon after they land; \
                 `cqube-emit ls` shows what is there"
            } else {
                ""
            };
            let status = response.status();
            return Err(fail(ExitStatus::Permanent, anyhow::anyhow!("{bucket}/{key}: HTTP {status}{hint}")));
        }
        let to_stdout = args.output.as_deref().is_some_and(|p| p.as_os_str() == "-");
        if to_stdout {
            let mut stdout = std::io::stdout().lock();
            while let Some(chunk) = response.chunk().await.map_err(transport)? {
                stdout.write_all(&chunk)?;
            }
            stdout.flush()?;
            return Ok(ExitStatus::Success);
        }
        // Written beside the target and renamed when whole: a cut download leaves no half file under its name.
        let path = args.output.clone().unwrap_or_else(|| PathBuf::from(name));
        let partial = path.with_file_name(format!(
            ".{}.partial",
            path.file_name().map_or_else(|| name.to_owned(), |n| n.to_string_lossy().into_owned())
        ));
        let written = async {
            let mut file =
                tokio::fs::File::create(&partial).await.with_context(|| format!("creating {}", partial.display()))?;
            let mut bytes = 0u64;
            while let Some(chunk) = response.chunk().await.map_err(transport)? {
                file.write_all(&chunk).await.with_context(|| format!("writing {}", partial.display()))?;
                bytes += chunk.len() as u64;
            }
            file.sync_all().await?;
            tokio::fs::rename(&partial, &path).await.with_context(|| format!("renaming to {}", path.display()))?;
            anyhow::Ok(bytes)
        }
        .await;
        match written {
            Ok(bytes) => {
                crate::global::note(&format!("{bucket}/{key} -> {} ({})", path.display(), HumanBytes(bytes)));
                Ok(ExitStatus::Success)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(e)
            }
        }
    })
}
