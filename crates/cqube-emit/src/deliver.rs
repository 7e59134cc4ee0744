//! Which delivery target an emission uses, and why: a cqube-emit server's multipart API, or a stock cQube's
//! presigned POST (`upload-url`, one request per file). `--protocol` decides, else the API's `/capabilities`
//! (a stock cQube has none), asked before any data is sent.

use std::sync::Arc;
use std::time::Duration;

use cqube_upload::{ApiClient, DeliveryTarget, PostTarget, RetryPolicy};

use crate::exit::{ExitStatus, fail};
use crate::settings::EmitSettings;
pub use crate::settings::Protocol;

/// The chosen target, its protocol (`multipart`, `post`, or `s3` for `--s3`) and the reason, for the first
/// progress line and `--dry-run`.
pub struct Delivery {
    pub target: Arc<dyn DeliveryTarget>,
    pub protocol: String,
    pub reason: String,
}

/// Picks the protocol (asking the API when `auto`) and builds its target for `url` and `token`.
pub async fn choose(settings: &EmitSettings, url: &str, token: &str) -> anyhow::Result<Delivery> {
    let retry = RetryPolicy { max_retries: settings.max_retries.value, ..RetryPolicy::default() };
    let timeout = Duration::from_secs(settings.request_timeout_seconds.value);
    let api = ApiClient::new(url, token, retry, timeout).map_err(|e| fail(ExitStatus::Usage, e))?;
    let (protocol, reason) = match settings.protocol.value {
        Protocol::Auto => match api.capabilities().await {
            Ok(Some(p)) if p.iter().any(|p| p == "multipart") => {
                (Protocol::Multipart, "the API lists multipart in /capabilities (a cqube-emit server)".to_owned())
            }
            Ok(Some(_)) => (Protocol::Post, "the API lists only post in /capabilities".to_owned()),
            Ok(None) => (
                Protocol::Post,
                "the API has no /capabilities (404): a stock cQube, which takes one presigned POST per file".to_owned(),
            ),
            Err(e) => return Err(cqube_emission::status::remote_failure(e, "choosing the delivery protocol")),
        },
        chosen => (chosen, format!("set by {}", settings.protocol.origin)),
    };
    let target: Arc<dyn DeliveryTarget> = match protocol {
        Protocol::Post => Arc::new(
            PostTarget::new(url, token, retry, timeout, settings.post_max_bytes.value)
                .map_err(|e| fail(ExitStatus::Usage, e))?,
        ),
        _ => Arc::new(api),
    };
    Ok(Delivery { target, protocol: protocol.to_string(), reason })
}
