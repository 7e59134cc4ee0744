//! The delivery-target conformance suite (`cqube_testkit::conformance`) against this server: `ApiClient` on every
//! store (the embedded one, moto, SeaweedFS, and the endpoint in `CQUBE_EMIT_TEST_S3_ENDPOINT` when it is set), and
//! `PostTarget` (one presigned POST per file) with the multipart endpoints off, as a stock-compatible server, on the
//! embedded store.

use std::sync::Arc;
use std::time::Duration;

use cqube_testkit::conformance::{self, Listing, Subject};
use cqube_upload::{ApiClient, DeliveryTarget, MAX_POST_BYTES, PostTarget, RetryPolicy};

use crate::harness::{S3Store, TestServer, start_with, store};

/// How long the short-lived server's part URLs live: whole seconds from a signing time in whole seconds, so one
/// second can leave a URL a few milliseconds.
const SHORT_URL_SECONDS: u64 = 3;

/// A new client of `server`, with a token for every source. Its API calls retry briefly: a store whose answer
/// cannot be read (moto's ListParts) fails the same after the default minute and a half of backoff.
fn client(server: &TestServer, token: &str) -> Arc<dyn DeliveryTarget> {
    Arc::new(ApiClient::new(&server.base, token, retry(), Duration::from_mins(1)).unwrap())
}

fn retry() -> RetryPolicy {
    RetryPolicy { max_retries: 3, min_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) }
}

/// Runs the suite with one server on `s3` (`None`: the embedded store) and a second, on the same store, whose URLs
/// expire after a few seconds; every check must run.
async fn suite(name: &str, s3: Option<&S3Store>, listing: Listing) {
    let (_dir, server) = start_with(|cfg| {
        if let Some(s3) = s3 {
            cfg.store = store(s3);
        }
    })
    .await;
    let embedded = server
        .state
        .storage()
        .embedded_access()
        .map(|a| S3Store::running(&a.endpoint_url, &a.access_key_id, &a.secret_access_key, &a.region));
    let s3 = s3.or(embedded.as_ref()).expect("an S3 store, or the server's embedded one");
    let (_short_dir, short) = start_with(|cfg| {
        cfg.presign_expiry_seconds = SHORT_URL_SECONDS;
        cfg.store = store(s3);
    })
    .await;
    let (token, short_token) =
        (server.token("conformance", None, false).await, short.token("conformance", None, false).await);
    let subject = Subject {
        name: format!("ApiClient on {name}"),
        connect: Box::new(|| client(&server, &token)),
        store: s3,
        listing,
        short_lived_urls: Some((client(&short, &short_token), Duration::from_secs(SHORT_URL_SECONDS))),
    };
    let ran = conformance::run(&subject).await;
    assert_eq!(ran.len(), 7, "{name}: checks run: {ran:?}");
    drop(subject);
    short.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_client_on_the_embedded_store() {
    suite("the embedded store", None, Listing::Parts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_client_on_moto() {
    let moto = S3Store::moto();
    suite("moto", Some(&moto), Listing::Unreadable).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_client_on_seaweedfs() {
    let weed = S3Store::seaweedfs(&cqube_server::ServerConfig::default().buckets.all());
    suite("SeaweedFS", Some(&weed), Listing::Parts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)] // the one line that says why this store was not tested
async fn api_client_on_the_endpoint_in_the_environment() {
    let Some(s3) = S3Store::from_env() else {
        eprintln!("skipped: CQUBE_EMIT_TEST_S3_ENDPOINT is unset (set it, with AWS_*, to run the suite on that store)");
        return;
    };
    suite(&s3.endpoint.clone(), Some(&s3), Listing::Parts).await;
}

/// `PostTarget` → this server with `[server] multipart = false` on the embedded store: the one-shot checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_target_with_multipart_off_on_the_embedded_store() {
    let (_dir, server) = start_with(|cfg| cfg.multipart = false).await;
    let a = server.state.storage().embedded_access().expect("the embedded store");
    let store = S3Store::running(&a.endpoint_url, &a.access_key_id, &a.secret_access_key, &a.region);
    let token = server.token("conformance", None, false).await;
    let subject = Subject {
        name: "PostTarget on the embedded store, multipart off".into(),
        connect: Box::new(|| {
            Arc::new(PostTarget::new(&server.base, &token, retry(), Duration::from_mins(1), MAX_POST_BYTES).unwrap())
        }),
        store: &store,
        listing: Listing::Parts,
        short_lived_urls: None,
    };
    let ran = conformance::run(&subject).await;
    assert_eq!(ran.len(), 6, "checks run: {ran:?}");
    drop(subject);
    server.stop().await;
}
