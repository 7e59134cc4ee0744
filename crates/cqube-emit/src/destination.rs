//! Where `emit`, `run` and `resume` deliver: an emission API (`--api`) or the emission bucket itself (`--s3`). The
//! one place the binary chooses its `DeliveryTarget`.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use cqube_upload::s3::{S3Location, S3Options, S3Target};

use crate::deliver::Delivery;
use crate::exit::{ExitStatus, fail};
use crate::settings::{EmitSettings, Origin};

/// Direct delivery to S3, instead of an emission API.
#[derive(Debug, Args, Clone, Default)]
pub struct S3Args {
    /// Deliver straight to the emission bucket, as `aws s3 cp` would, with AWS credentials that may write it
    /// (AWS_* variables or a profile). Excludes --api. Config key `emit.s3`. [env: CQUBE_EMIT_S3]
    #[arg(long, value_name = "s3://BUCKET[/PREFIX]", conflicts_with = "api")]
    pub s3: Option<String>,
    /// S3-compatible store for --s3, e.g. http://minio:9000 (else AWS_ENDPOINT_URL, else AWS). Config key
    /// `emit.s3_endpoint`. [env: CQUBE_EMIT_S3_ENDPOINT]
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// Path-style requests for --s3 (URL/BUCKET/KEY), as MinIO, SeaweedFS and most S3-compatible stores need.
    /// Config key `emit.s3_path_style`. [env: CQUBE_EMIT_S3_PATH_STYLE]
    #[arg(long)]
    pub s3_path_style: bool,
}

/// A chosen destination, before it is connected.
#[derive(Debug)]
pub enum Destination {
    /// An emission API: its URL and token (the protocol is chosen on `connect`).
    Api {
        url: String,
        token: String,
    },
    S3(S3Options),
}

impl Destination {
    /// What a job records as its destination, and its id hashes: the API URL, or `s3://BUCKET[/PREFIX]`.
    pub fn name(&self) -> String {
        match self {
            Destination::S3(options) => options.location.to_string(),
            Destination::Api { url, .. } => url.clone(),
        }
    }

    /// The delivery target: for an API, the protocol it speaks (`--protocol`, else its `/capabilities`); for S3,
    /// credentials resolved, failing here when there are none.
    pub async fn connect(self, settings: &EmitSettings) -> anyhow::Result<Delivery> {
        match self {
            Destination::Api { url, token } => crate::deliver::choose(settings, &url, &token).await,
            Destination::S3(options) => {
                let reason = format!("--s3 {}: straight to the bucket, as multipart uploads", options.location);
                let target = S3Target::connect(options).await.map_err(|e| {
                    let hint = "hint: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) to credentials \
                                that may write the emission bucket";
                    fail(ExitStatus::Usage, anyhow::anyhow!("{e}\n\n{hint}"))
                })?;
                Ok(Delivery { target: Arc::new(target), protocol: "s3".into(), reason })
            }
        }
    }
}

/// The destination: whichever of `--s3` and `--api` the higher layer sets (flag > env > the resumed job's
/// `recorded` destination > config file); both on one layer is a usage error.
pub fn choose(settings: &EmitSettings, recorded: Option<&str>) -> anyhow::Result<Destination> {
    let mut s3 = settings.s3.value.as_deref().map(|v| (rank(&settings.s3.origin), v));
    let mut api = settings.api.value.as_ref().map(|_| rank(&settings.api.origin));
    match recorded {
        Some(r) if r.starts_with("s3://") && s3.is_none_or(|(k, _)| k < RECORDED) => s3 = Some((RECORDED, r)),
        Some(r) if !r.starts_with("s3://") && api.is_none_or(|k| k < RECORDED) => api = Some(RECORDED),
        _ => {}
    }
    let s3 = match (s3, api) {
        (Some((s3_rank, _)), Some(api_rank)) if s3_rank == api_rank => {
            return Err(fail(
                ExitStatus::Usage,
                anyhow::anyhow!(
                    "both an S3 bucket ({}) and an emission API ({}) are set: choose one\n\n\
                     hint: --s3 s3://BUCKET writes to the bucket, --api URL sends through an API",
                    settings.s3.origin,
                    settings.api.origin
                ),
            ));
        }
        (Some((s3_rank, s3)), api) if api.is_none_or(|a| s3_rank > a) => s3,
        _ => {
            let (url, token) = crate::emit_cmd::api_endpoint(settings, recorded.filter(|r| !r.starts_with("s3://")))?;
            return Ok(Destination::Api { url, token });
        }
    };
    let location: S3Location = s3.parse().map_err(|e: String| fail(ExitStatus::Usage, anyhow::anyhow!("{e}")))?;
    Ok(Destination::S3(S3Options {
        location,
        endpoint: settings.s3_endpoint.value.clone(),
        path_style: settings.s3_path_style.value,
        retry: crate::emit_cmd::retry_policy(settings),
        request_timeout: Duration::from_secs(settings.request_timeout_seconds.value),
    }))
}

/// Where a dry run would deliver, without reading any secret.
pub fn describe(settings: Option<&EmitSettings>) -> String {
    let Some(settings) = settings else { return "no destination (the [emit] settings do not resolve)".into() };
    let s3 = settings.s3.value.as_ref().map(|s| (rank(&settings.s3.origin), s));
    let api = settings.api.value.as_ref().map(|a| (rank(&settings.api.origin), a));
    match (s3, api) {
        (Some((s, _)), Some((a, _))) if s == a => "nowhere: both --s3 and --api are set".into(),
        (Some((s, s3)), api) if api.is_none_or(|(a, _)| s > a) => format!("{s3} (direct S3 multipart upload)"),
        (_, Some((_, api))) => format!("{api} (emission API)"),
        _ => "nowhere: no --api or --s3 given".into(),
    }
}

const FILE: u8 = 1;
const RECORDED: u8 = 2;

fn rank(origin: &Origin) -> u8 {
    match origin {
        Origin::Default => 0,
        Origin::File(_) => FILE,
        Origin::Env(_) => 3,
        Origin::Flag(_) => 4,
    }
}
