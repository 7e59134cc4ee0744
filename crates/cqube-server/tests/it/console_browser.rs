//! The console in a real browser: Debian's chromium, headless at a phone's width, driven through chromedriver
//! (both installed by scripts/setup.sh). Screenshots of each page land in the test's target directory.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use reqwest::StatusCode;

use crate::console::{Console, emit};
use crate::harness::{http, start_with};

/// A chromedriver process on a free loopback port in a process group of its own, which holds the browsers it
/// starts too: dropping it (also when a test fails before closing its session) ends them all.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (Debian package chromium-driver: run scripts/setup.sh)");
        Driver { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // the group's id is chromedriver's pid
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.wait();
    }
}

async fn connect(driver: &Driver) -> fantoccini::Client {
    let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            // root in a container: no sandbox; a phone's width, so the layout is tested where it is tightest
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=390,844"]
        }
    }))
    .unwrap();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let mut last = None;
    // chromedriver takes a moment to listen
    for _ in 0..100 {
        match ClientBuilder::new(connector.clone()).capabilities(caps.clone()).connect(&driver.url).await {
            Ok(client) => return client,
            Err(err) => last = Some(err),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not start a browser session through chromedriver: {last:?}");
}

async fn screenshot(browser: &fantoccini::Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = browser.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Another origin (same host, another port) serving a page whose form posts to the console: what a malicious page
/// open in the same browser would do. Returns the page's URL.
async fn cross_site_page(console_base: &str) -> String {
    let html = format!(
        r#"<!DOCTYPE html><html><body><form id="evil" method="post" action="{console_base}/tokens">
        <input name="name" value="planted"><input name="admin" value="on"><input name="csrf" value="guess">
        <button type="submit">Win a prize</button></form></body></html>"#
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let app =
        axum::Router::new().route("/", axum::routing::get(move || std::future::ready(axum::response::Html(html))));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Waits for the page whose heading is `text` (a click's navigation finishes after the click returns).
async fn expect_heading(browser: &fantoccini::Client, text: &str) {
    let xpath = format!("//h1[normalize-space()='{text}']");
    let found = browser.wait().at_most(Duration::from_secs(10)).for_element(Locator::XPath(&xpath)).await;
    if found.is_err() {
        let actual = browser.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
        panic!("expected the page {text:?}, got {actual:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signs_in_reads_emissions_and_creates_a_token() {
    let (_dir, server) = start_with(|c| c.console_time_zone = "Asia/Kolkata".into()).await;
    let admin = server.token("ops", None, true).await;
    let emitter = server.token("gujarat", Some(&["student_attendance"]), false).await;
    let ack = emit(&server, &emitter, &[7u8; 2048], 4321).await;
    let console = Console::new(&server);
    let driver = Driver::start();
    let browser = connect(&driver).await;

    browser.goto(&console.base).await.unwrap();
    expect_heading(&browser, "Sign in").await;
    assert!(browser.current_url().await.unwrap().path().ends_with("/console/sign-in"));
    screenshot(&browser, "sign-in").await;
    browser.find(Locator::Id("token")).await.unwrap().send_keys(&admin).await.unwrap();
    let form = browser.form(Locator::Css("section[aria-labelledby=with-token] form")).await.unwrap();
    form.submit().await.unwrap();
    expect_heading(&browser, "Overview").await;
    let overview = browser.source().await.unwrap();
    assert!(overview.contains("4,321 rows") && !overview.contains(admin.rsplit('_').next().unwrap()));
    // the cookie is out of scripts' reach
    let visible = browser.execute("return document.cookie", vec![]).await.unwrap();
    assert_eq!(visible, serde_json::json!(""));
    screenshot(&browser, "overview").await;

    browser.find(Locator::LinkText("Emissions")).await.unwrap().click().await.unwrap();
    expect_heading(&browser, "Emissions").await;
    let row = browser.find(Locator::Css("tbody tr")).await.unwrap().text().await.unwrap();
    assert!(row.contains("student_attendance") && row.contains("4,321") && row.contains("IST"), "{row}");
    screenshot(&browser, "emissions").await;
    browser.find(Locator::Css("td.key a")).await.unwrap().click().await.unwrap();
    expect_heading(&browser, "Emission").await;
    assert!(browser.source().await.unwrap().contains(&ack.key));
    screenshot(&browser, "emission").await;

    browser.find(Locator::LinkText("Charts")).await.unwrap().click().await.unwrap();
    expect_heading(&browser, "Charts").await;
    let bars = browser.find_all(Locator::Css("svg.chart rect.bar")).await.unwrap();
    assert_eq!(bars.len(), 60);
    screenshot(&browser, "charts").await;

    browser.find(Locator::LinkText("Uploads")).await.unwrap().click().await.unwrap();
    expect_heading(&browser, "Uploads").await;
    screenshot(&browser, "uploads").await;

    browser.find(Locator::LinkText("Tokens")).await.unwrap().click().await.unwrap();
    expect_heading(&browser, "Tokens").await;
    browser.find(Locator::Id("name")).await.unwrap().send_keys("made-in-a-browser").await.unwrap();
    browser.find(Locator::Id("sources")).await.unwrap().send_keys("student_attendance").await.unwrap();
    browser.form(Locator::Css("section[aria-labelledby=create] form")).await.unwrap().submit().await.unwrap();
    let token = browser.wait().for_element(Locator::Id("new-token-value")).await.unwrap().text().await.unwrap();
    assert!(token.starts_with("cqe_"), "{token}");
    screenshot(&browser, "tokens").await;
    let res = http().get(format!("{}/list_s3_buckets", server.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // revoke it with its row's button: the API refuses it from then on
    browser.find(Locator::Css("button[aria-label='Revoke made-in-a-browser']")).await.unwrap().click().await.unwrap();
    let notice = browser.wait().for_element(Locator::Css("p.notice")).await.unwrap();
    assert!(notice.text().await.unwrap().starts_with("Revoked"));
    let res = http().get(format!("{}/list_s3_buckets", server.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // a page of another origin posts a form to the console while we are signed in: refused, nothing made
    browser.goto(&cross_site_page(&console.base).await).await.unwrap();
    browser.find(Locator::Css("#evil button")).await.unwrap().click().await.unwrap();
    expect_heading(&browser, "Forbidden").await;
    assert!(!server.state.db().tokens().await.unwrap().iter().any(|t| t.name == "planted"));
    screenshot(&browser, "cross-site-refused").await;

    browser.goto(&console.base).await.unwrap();
    browser.find(Locator::Css("form.signout button")).await.unwrap().click().await.unwrap();
    expect_heading(&browser, "Sign in").await;
    browser.goto(&format!("{}/emissions", console.base)).await.unwrap();
    expect_heading(&browser, "Sign in").await;
    browser.close().await.unwrap();
}
