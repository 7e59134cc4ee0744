//! The console in a real browser: Debian's chromium, headless at a phone's width, driven through chromedriver
//! (both installed by scripts/setup.sh). Screenshots of each page land in the test's target directory.

use std::path::PathBuf;

use cqube_testkit::browser::{Driver, SignIn, expect_heading, sign_in};
use fantoccini::Locator;
use reqwest::StatusCode;

use crate::console::{Console, emit};
use crate::harness::{http, start_with};

fn screenshots() -> PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots")
}

async fn screenshot(browser: &fantoccini::Client, name: &str) {
    cqube_testkit::browser::screenshot(browser, &screenshots(), name).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signs_in_reads_emissions_and_creates_a_token() {
    let (_dir, server) = start_with(|c| c.console_time_zone = "Asia/Kolkata".into()).await;
    let admin = server.token("ops", None, true).await;
    let emitter = server.token("gujarat", Some(&["student_attendance"]), false).await;
    let ack = emit(&server, &emitter, &[7u8; 2048], 4321).await;
    let console = Console::new(&server);
    let driver = Driver::start();
    let browser = driver.connect().await;

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

    // an emission user made with the users form, every field found by its label
    for (label, value) in [
        ("Name (no colon)", "district"),
        ("Password, at least 12 characters", "correct horse battery"),
        ("Sources, comma-separated (empty: all)", "school_master"),
    ] {
        let xpath = format!("//section[@aria-labelledby='create-user']//input[@id=//label[.='{label}']/@for]");
        browser.find(Locator::XPath(&xpath)).await.unwrap().send_keys(value).await.unwrap();
    }
    browser.form(Locator::Css("section[aria-labelledby=create-user] form")).await.unwrap().submit().await.unwrap();
    let notice = browser.wait().for_element(Locator::Css("p.notice")).await.unwrap().text().await.unwrap();
    assert!(notice.starts_with("User") && notice.contains("district") && notice.ends_with("created."), "{notice}");
    let users = browser.find(Locator::Css("section[aria-labelledby=users] tbody tr")).await.unwrap();
    let row = users.text().await.unwrap();
    assert!(row.contains("district") && row.contains("school_master"), "{row}");
    screenshot(&browser, "users").await;

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

    // the user signs in with its password and sees its own source only: none of the attendance emission
    sign_in(&browser, &console.base, SignIn::User("district", "correct horse battery")).await;
    let overview = browser.source().await.unwrap();
    assert!(overview.contains("<strong>school_master</strong>") && !overview.contains("student_attendance"));
    assert!(!overview.contains(">Tokens<"), "no link to an admin page");
    screenshot(&browser, "overview-as-user").await;
    browser.goto(&format!("{}/emissions", console.base)).await.unwrap();
    expect_heading(&browser, "Emissions").await;
    assert!(browser.find_all(Locator::Css("tbody tr")).await.unwrap().is_empty());
    let choices = browser.find_all(Locator::Css("select#source option")).await.unwrap();
    assert_eq!(choices.len(), 2, "Any, and school_master");
    browser.goto(&format!("{}/emissions/{}", console.base, ack.emission_id)).await.unwrap();
    expect_heading(&browser, "Not Found").await;
    browser.goto(&format!("{}/tokens", console.base)).await.unwrap();
    expect_heading(&browser, "Forbidden").await;
    browser.close().await.unwrap();
}
