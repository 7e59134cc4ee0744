//! The delivery-target conformance suite (`cqube_testkit::conformance`) for the targets that need no cqube-emit
//! server: `S3Target` (direct S3 multipart) on moto, SeaweedFS and the endpoint in `CQUBE_EMIT_TEST_S3_ENDPOINT`
//! when it is set, and `PostTarget` (one presigned POST per file) through the stock-cQube stand-in on moto and
//! SeaweedFS. `ApiClient` and `PostTarget` against a cqube-emit server run in `cqube-server/tests/it/conformance.rs`.

use std::sync::Arc;
use std::time::Duration;

use cqube_testkit::conformance::{self, Listing, Subject};
use cqube_testkit::{S3Store, stock_cqube};
use cqube_upload::s3::{S3Location, S3Options, S3Target};
use cqube_upload::{DeliveryTarget, MAX_POST_BYTES, PostTarget, RetryPolicy};

const BUCKET: &str = "cqube-emission";

/// Brief retries: a store whose answer cannot be read (moto's ListParts) fails the same after a long backoff.
fn retry() -> RetryPolicy {
    RetryPolicy { max_retries: 3, min_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) }
}

/// Runs the multipart suite with `S3Target` on `store`; every check but `expired_url` (no presigned URLs) runs.
async fn s3_target(name: &str, store: &S3Store, listing: Listing) {
    let options = S3Options {
        location: S3Location { bucket: BUCKET.into(), prefix: String::new() },
        endpoint: Some(store.endpoint.clone()),
        path_style: true,
        retry: retry(),
        request_timeout: Duration::from_mins(1),
    };
    let connect = move || -> Arc<dyn DeliveryTarget> {
        Arc::new(S3Target::with_credentials(
            options.clone(),
            &store.access_key_id,
            &store.secret_access_key,
            &store.region,
        ))
    };
    let subject = Subject {
        name: format!("S3Target on {name}"),
        connect: Box::new(connect),
        store,
        listing,
        short_lived_urls: None,
    };
    let ran = conformance::run(&subject).await;
    assert_eq!(
        ran,
        [
            "happy_path",
            "part_retry",
            "resume_after_kill",
            "abort_cleans_up",
            "idempotent_complete",
            "abort_after_complete"
        ],
        "{name}: checks run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_target_on_moto() {
    let moto = S3Store::moto();
    moto.create_bucket(BUCKET);
    s3_target("moto", &moto, Listing::Unreadable).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_target_on_seaweedfs() {
    let weed = S3Store::seaweedfs(&[BUCKET]);
    s3_target("SeaweedFS", &weed, Listing::Parts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)] // the one line that says why this store was not tested
async fn s3_target_on_the_endpoint_in_the_environment() {
    let Some(s3) = S3Store::from_env() else {
        eprintln!("skipped: CQUBE_EMIT_TEST_S3_ENDPOINT is unset (set it, with AWS_*, to run the suite on that store)");
        return;
    };
    s3.create_bucket(BUCKET);
    s3_target(&s3.endpoint.clone(), &s3, Listing::Parts).await;
}

/// Runs the one-shot suite with `PostTarget` through the stock-cQube stand-in in front of `store`.
async fn post_to_stock_cqube(name: &str, store: &S3Store) {
    let dir = tempfile::tempdir().unwrap();
    let (base, _api) = stock_cqube(store, BUCKET, &[], &dir.path().join("relay.log"));
    let connect = || -> Arc<dyn DeliveryTarget> {
        Arc::new(
            PostTarget::new(
                &base,
                "eyJhbGciOiJIUzI1NiJ9.e30.signature",
                retry(),
                Duration::from_mins(1),
                MAX_POST_BYTES,
            )
            .unwrap(),
        )
    };
    let subject = Subject {
        name: format!("PostTarget to stock cQube on {name}"),
        connect: Box::new(connect),
        store,
        listing: Listing::Parts,
        short_lived_urls: None,
    };
    let ran = conformance::run(&subject).await;
    assert_eq!(ran.len(), 6, "{name}: checks run: {ran:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_target_to_stock_cqube_on_moto() {
    let moto = S3Store::moto();
    moto.create_bucket(BUCKET);
    post_to_stock_cqube("moto", &moto).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_target_to_stock_cqube_on_seaweedfs() {
    let weed = S3Store::seaweedfs(&[BUCKET]);
    post_to_stock_cqube("SeaweedFS", &weed).await;
}
