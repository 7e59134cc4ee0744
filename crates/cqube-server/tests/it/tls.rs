//! HTTPS with a certificate generated for the test: the API answers over TLS only, and bad PEM files are
//! refused at startup with the file named.

use std::path::{Path, PathBuf};

use cqube_protocol::EmissionList;
use cqube_server::config::TlsConfig;
use cqube_server::{Error, Server};

use crate::harness::{TestServer, config, ok_json};

/// A self-signed certificate for 127.0.0.1 written as PEM files; returns the TLS config and the certificate.
fn self_signed(dir: &Path) -> (TlsConfig, String) {
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let cert_pem = generated.cert.pem();
    let tls = TlsConfig { cert_file: dir.join("cert.pem"), key_file: dir.join("key.pem") };
    std::fs::write(&tls.cert_file, &cert_pem).unwrap();
    std::fs::write(&tls.key_file, generated.signing_key.serialize_pem()).unwrap();
    (tls, cert_pem)
}

fn trusting(cert_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_health_and_authenticated_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let (tls, cert_pem) = self_signed(dir.path());
    let server =
        TestServer::start(cqube_server::ServerConfig { tls: Some(tls), ..config(&dir.path().join("data")) }).await;
    let root = server.base.strip_suffix("/data").unwrap();
    assert!(root.starts_with("https://127.0.0.1:"), "{}", server.base);
    let http_root = root.replacen("https", "http", 1);
    let client = trusting(&cert_pem);

    let health = client.get(format!("{root}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let token = server.token("state", None, false).await;
    let list: EmissionList = ok_json(client.get(format!("{}/emissions", server.base)).bearer_auth(&token)).await;
    assert!(list.emissions.is_empty());
    let anonymous = client.get(format!("{}/emissions", server.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401, "auth is still enforced over TLS");

    // A client that does not trust the certificate is refused by its own TLS layer.
    let untrusting = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    assert!(untrusting.get(format!("{root}/healthz")).send().await.is_err());

    // Plain HTTP to the TLS port gets no HTTP answer, and the failed handshake leaves the server serving.
    let plain = reqwest::Client::new().get(format!("{http_root}/healthz")).send().await;
    assert!(plain.is_err(), "plain http answered: {plain:?}");
    let again = client.get(format!("{root}/healthz")).send().await.unwrap();
    assert_eq!(again.status(), 200);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tls_files_are_config_errors_naming_each_file() {
    let dir = tempfile::tempdir().unwrap();
    let (good, _) = self_signed(dir.path());
    let start = |cert_file: PathBuf, key_file: PathBuf| {
        let config = cqube_server::ServerConfig {
            tls: Some(TlsConfig { cert_file, key_file }),
            ..config(&dir.path().join("data"))
        };
        async move {
            match Server::bind(config).await {
                Err(Error::Config(problems)) => problems,
                Err(other) => panic!("expected a config error, got {other}"),
                Ok(_) => panic!("server started with bad TLS files"),
            }
        }
    };

    let missing_key = dir.path().join("missing-key.pem");
    let problems = start(good.cert_file.clone(), missing_key.clone()).await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with(&format!("tls.key_file {}: cannot read: ", missing_key.display())), "{problems:?}");

    // Both files wrong: both reported at once. A certificate where the key should be has no key in it.
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let problems = start(garbage.clone(), good.cert_file.clone()).await;
    assert_eq!(
        problems,
        [
            format!(
                "tls.cert_file {}: no CERTIFICATE section found (expected a PEM certificate chain)",
                garbage.display()
            ),
            format!(
                "tls.key_file {}: no private key found (expected a PEM PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY \
                 section)",
                good.cert_file.display()
            ),
        ]
    );

    // A key that does not belong to the certificate.
    let other = tempfile::tempdir().unwrap();
    let (stranger, _) = self_signed(other.path());
    let problems = start(good.cert_file.clone(), stranger.key_file.clone()).await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with(&format!(
            "tls.cert_file {} and tls.key_file {}: ",
            good.cert_file.display(),
            stranger.key_file.display()
        )),
        "{problems:?}"
    );
    assert!(!dir.path().join("data").exists(), "nothing is started or created before the TLS files are checked");
}
