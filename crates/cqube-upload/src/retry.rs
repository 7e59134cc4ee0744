//! When and how long to wait before trying a request again.

use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::Error;

/// Exponential backoff with full jitter; only [`Error::is_retryable`] errors are retried.
///
/// The defaults (8 retries, 200 ms doubling to at most 20 s) give a worst case of about a minute and a half per
/// request, well inside the API's one-hour presigned-URL lifetime, so a part's retries never outlive its URL.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// First delay.
    pub min_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: 8, min_delay: Duration::from_millis(200), max_delay: Duration::from_secs(20) }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (from 1) of something retried as a whole (a one-shot file): the
    /// minimum delay doubling, up to the maximum, without jitter.
    pub fn delay(&self, retry: u32) -> Duration {
        self.min_delay.saturating_mul(1 << retry.saturating_sub(1).min(16)).min(self.max_delay)
    }

    /// Runs `attempt` until it succeeds, fails with an error that is not retryable, or retries run out.
    pub async fn run<T, F, Fut>(&self, what: &str, attempt: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        self.run_notifying(what, attempt, |_, _, _| {}).await
    }

    /// As [`RetryPolicy::run`], telling `notify` of each failed attempt that will be retried (its error, its
    /// number from 1, and the delay before the next).
    pub async fn run_notifying<T, F, Fut>(
        &self,
        what: &str,
        mut attempt: F,
        mut notify: impl FnMut(&Error, u32, Duration),
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_jitter()
            .build();
        let mut tries = 1u32;
        loop {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retryable() => {
                    let Some(delay) = delays.next() else {
                        tracing::warn!(what, attempts = tries, error = %e, "giving up after retries");
                        return Err(e);
                    };
                    tracing::debug!(what, attempt = tries, error = %e, ?delay, "retrying");
                    notify(&e, tries, delay);
                    tokio::time::sleep(delay).await;
                    tries += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn api(status: u16) -> Error {
        Error::Api { what: "x".into(), status, code: "c".into(), message: "m".into() }
    }

    #[tokio::test]
    async fn retries_5xx_until_success_and_fails_fast_on_4xx() {
        let policy =
            RetryPolicy { max_retries: 3, min_delay: Duration::from_millis(1), max_delay: Duration::from_millis(2) };
        let calls = AtomicU32::new(0);
        let v = policy
            .run("t", || async { if calls.fetch_add(1, Ordering::SeqCst) < 2 { Err(api(503)) } else { Ok(7) } })
            .await
            .unwrap();
        assert_eq!((v, calls.load(Ordering::SeqCst)), (7, 3));

        calls.store(0, Ordering::SeqCst);
        let e = policy
            .run("t", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(api(403))
            })
            .await;
        assert!(e.unwrap_err().is_refusal());
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        calls.store(0, Ordering::SeqCst);
        let e = policy
            .run("t", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(api(500))
            })
            .await;
        assert!(e.unwrap_err().is_retryable());
        assert_eq!(calls.load(Ordering::SeqCst), 4, "one attempt and three retries");

        // a full store needs an operator, not a retry
        calls.store(0, Ordering::SeqCst);
        let e = policy
            .run("t", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(api(507))
            })
            .await;
        assert!(e.unwrap_err().is_storage_full());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
