//! The web console end to end: `cqube-emit serve`, a generated folder sent with `cqube-emit emit`, and what was
//! sent read back in a real browser (cqube_testkit::browser), as an admin and as an emission user scoped to one
//! source. Screenshots land in the test's target directory, under console-screenshots/.

use std::collections::BTreeMap;

use cqube_testkit::browser::{Driver, SignIn, expect_heading, screenshot, sign_in};
use fantoccini::{Client, Locator};
use serde_json::Value;

mod common;
use common::{Server, bin, events, gen_all, of, run_ok};

const PASSWORD: &str = "correct horse battery";

async fn shot(browser: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    screenshot(browser, &dir, name).await;
}

/// The cells' text of each body row of the tables matching `css`, as the browser shows it.
async fn rows(browser: &Client, css: &str) -> Vec<Vec<String>> {
    let script = "return [...document.querySelectorAll(arguments[0])]
                  .map(r => [...r.cells].map(c => c.textContent.trim()))";
    let rows = browser.execute(script, vec![Value::from(format!("{css} tbody tr"))]).await.unwrap();
    serde_json::from_value(rows).unwrap()
}

/// `1,234` as shown, read back as a number.
fn number(text: &str) -> u64 {
    text.replace(',', "").parse().unwrap_or_else(|_| panic!("not a count: {text:?}"))
}

/// Every emission the listing shows, following its pages: key → (source, rows).
async fn listed(browser: &Client, base: &str) -> BTreeMap<String, (String, u64)> {
    browser.goto(&format!("{base}/emissions")).await.unwrap();
    let mut seen = BTreeMap::new();
    loop {
        expect_heading(browser, "Emissions").await;
        // Completed, Source, Token, Rows, Bytes, SHA-256, Key
        for row in rows(browser, "div.scroll table").await {
            seen.insert(row[6].clone(), (row[1].clone(), number(&row[3])));
        }
        match browser.find(Locator::Css("a[rel=next]")).await {
            Ok(next) => next.click().await.unwrap(),
            Err(_) => return seen,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emitted_folder_shows_in_the_console_with_its_rows_and_a_user_sees_only_its_source() {
    let server = Server::start(false);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("cqube_emission");
    let generated = gen_all(&dir, "20");
    let out = run_ok(server.emit(&["--json", dir.to_str().unwrap()]));
    let events = events(&out);
    // key → (source, rows, emission id), as emit reports them
    let acks: BTreeMap<String, (String, u64, String)> = of(&events, "file_acknowledged")
        .iter()
        .map(|e| {
            let ack = &e["ack"];
            let field = |name: &str| ack[name].as_str().unwrap().to_owned();
            (field("key"), (field("source"), ack["rows"].as_u64().unwrap(), field("emission_id")))
        })
        .collect();
    assert_eq!(acks.len(), generated.len(), "every generated file is acknowledged");
    let data_dir = server.dir.path().join("server");
    let mut user = bin();
    user.args(["user", "create", "district", "--sources", "school_master", "--data-dir"]).arg(&data_dir);
    run_ok(user.env("CQUBE_EMIT_USER_PASSWORD", PASSWORD));

    let base = format!("{}/console", server.base.strip_suffix("/data").unwrap_or(&server.base));
    let driver = Driver::start();
    let browser = driver.connect().await;
    sign_in(&browser, &base, SignIn::Token(&server.token)).await;

    // the overview's last 24 hours: one emission per source, with the rows emit reported
    let mut per_source: BTreeMap<String, u64> = BTreeMap::new();
    for (source, rows, _) in acks.values() {
        *per_source.entry(source.clone()).or_default() += rows;
    }
    let day: BTreeMap<String, (u64, u64)> = rows(&browser, "section[aria-labelledby=day] table")
        .await
        .into_iter()
        .map(|r| (r[0].clone(), (number(&r[1]), number(&r[2]))))
        .collect();
    assert_eq!(day, per_source.iter().map(|(s, rows)| (s.clone(), (1, *rows))).collect());
    shot(&browser, "e2e-overview").await;

    // the listing, every page of it: each emission under its key with its rows
    let expected: BTreeMap<String, (String, u64)> =
        acks.iter().map(|(key, (source, rows, _))| (key.clone(), (source.clone(), *rows))).collect();
    assert_eq!(listed(&browser, &base).await, expected);
    shot(&browser, "e2e-emissions").await;

    // two charts of 30 days per source
    browser.goto(&format!("{base}/charts")).await.unwrap();
    expect_heading(&browser, "Charts").await;
    let bars = browser.find_all(Locator::Css("svg.chart rect.bar")).await.unwrap();
    assert_eq!(bars.len(), 60 * per_source.len());

    browser.goto(&base).await.unwrap();
    browser.find(Locator::Css("form.signout button")).await.unwrap().click().await.unwrap();
    expect_heading(&browser, "Sign in").await;

    // the user made with `cqube-emit user create` sees school_master's emission and nothing else
    sign_in(&browser, &base, SignIn::User("district", PASSWORD)).await;
    let day = rows(&browser, "section[aria-labelledby=day] table").await;
    assert_eq!(day.len(), 1, "{day:?}");
    assert_eq!((day[0][0].as_str(), number(&day[0][2])), ("school_master", per_source["school_master"]));
    shot(&browser, "e2e-overview-as-user").await;
    let theirs: BTreeMap<String, (String, u64)> = expected
        .iter()
        .filter(|(_, (source, _))| source == "school_master")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(theirs.len(), 1);
    assert_eq!(listed(&browser, &base).await, theirs);
    let (_, (_, _, other)) = acks.iter().find(|(_, (source, _, _))| source != "school_master").unwrap();
    browser.goto(&format!("{base}/emissions/{other}")).await.unwrap();
    expect_heading(&browser, "Not Found").await;
    browser.goto(&format!("{base}/tokens")).await.unwrap();
    expect_heading(&browser, "Forbidden").await;
    browser.close().await.unwrap();
}
