//! The sweeper: at start and every `sweep_interval_seconds`, settles uploads nobody will finish. `completing`
//! ones (a crash mid-completion) are reconciled, expired and failed ones are aborted in the store (their parts
//! removed), and store uploads no row knows are aborted once older than the upload expiry. On AWS, the bucket
//! lifecycle rule `AbortIncompleteMultipartUpload` does the last part too (docs/server.md).

use crate::auth::now_ms;
use crate::completion::{Reconciled, abort_locked, archived, reconcile_locked, reread};
use crate::db::upload_state;
use crate::{AppState, Error};

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// `completing` uploads settled (acknowledged, reopened or failed).
    pub reconciled: usize,
    /// Expired or failed uploads aborted.
    pub aborted: usize,
    /// Store uploads no upload row knows, aborted.
    pub orphans: usize,
}

/// Uploads handled per state per sweep; the next sweep takes the rest.
const SWEEP_BATCH: u32 = 1000;

/// One pass of the sweeper: reconciles `completing` uploads, aborts expired and failed ones, and aborts store
/// uploads in the emission bucket that no upload row knows once they are older than the upload expiry (a crash
/// between the store's create and our insert leaves those).
pub async fn sweep(state: &AppState) -> Result<Swept, Error> {
    let mut swept = Swept::default();
    let db = &state.inner.db;
    // One replica sweeps at a time; the others find the lock taken and leave this round to it.
    let Some(_sweeper) = db.lock("sweeper", false).await? else {
        tracing::debug!("another replica is sweeping");
        return Ok(swept);
    };
    for upload in db.uploads(Some(upload_state::COMPLETING), None, SWEEP_BATCH).await? {
        let _guard = state.inner.locks.lock(&state.inner.db, &upload.id).await?;
        let upload = reread(state, &upload.id).await?;
        if upload.state == upload_state::COMPLETING {
            let settled = match reconcile_locked(state, &upload).await {
                Ok(Reconciled::Acknowledged(record)) => archived(state, *record).await.map(drop),
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = settled {
                tracing::warn!(upload_id = %upload.id, error = %e, "reconciling a completion failed; retried next sweep");
                continue;
            }
            swept.reconciled += 1;
        }
    }
    let now = now_ms();
    let expired = db.uploads(None, Some(now), SWEEP_BATCH).await?;
    let failed = db.uploads(Some(upload_state::FAILED), None, SWEEP_BATCH).await?;
    for upload in expired.into_iter().chain(failed) {
        let _guard = state.inner.locks.lock(&state.inner.db, &upload.id).await?;
        let upload = reread(state, &upload.id).await?;
        let due =
            upload.state == upload_state::FAILED || (upload.state == upload_state::OPEN && upload.expires_at <= now);
        if !due {
            continue;
        }
        let expired = upload.state == upload_state::OPEN;
        match abort_locked(state, upload.clone()).await {
            Ok(()) => {
                swept.aborted += 1;
                if expired {
                    crate::metrics::upload("expired");
                }
            }
            Err(e) => tracing::warn!(upload_id = %upload.id, error = %e, "aborting an abandoned upload failed"),
        }
    }
    let bucket = &state.inner.config.buckets.emission;
    let expiry_ms = i64::try_from(state.inner.config.upload_expiry_seconds).unwrap_or(i64::MAX).saturating_mul(1000);
    match state.inner.storage.open_uploads(bucket).await {
        Ok(open) => {
            for orphan in open {
                if orphan.initiated_ms.saturating_add(expiry_ms) > now
                    || db.knows_store_upload(&orphan.upload_id).await?
                {
                    continue;
                }
                match state.inner.storage.abort(bucket, &orphan.key, &orphan.upload_id).await {
                    Ok(()) => swept.orphans += 1,
                    Err(e) => tracing::warn!(key = %orphan.key, error = %e, "aborting an orphan store upload failed"),
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "listing the store's open uploads failed; orphans wait for the next sweep");
        }
    }
    if swept != Swept::default() {
        tracing::info!(reconciled = swept.reconciled, aborted = swept.aborted, orphans = swept.orphans, "sweep done");
    }
    Ok(swept)
}

/// Sweeps at start, then every `interval`, for ever.
pub(crate) async fn run(state: AppState, interval: std::time::Duration) {
    loop {
        if let Err(e) = sweep(&state).await {
            tracing::warn!(error = %e, "sweep failed; retried at the next interval");
        }
        tokio::time::sleep(interval).await;
    }
}
