//! A real browser for the console's tests: Debian's chromium, headless at a phone's width, driven through
//! chromedriver (both installed by scripts/setup.sh) with fantoccini.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

/// A chromedriver process on a free loopback port in a process group of its own, which holds the browsers it
/// starts too: dropping it (also when a test fails before closing its session) ends them all.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver.
    pub fn start() -> Driver {
        let port = crate::free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (Debian package chromium-driver: run scripts/setup.sh)");
        Driver { child, url: format!("http://127.0.0.1:{port}") }
    }

    /// A new browser session.
    pub async fn connect(&self) -> Client {
        let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                // root in a container: no sandbox; a phone's width, so the layout is tested where it is tightest
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=390,844"]
            }
        }))
        .expect("capabilities are a JSON object");
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut last = None;
        // chromedriver takes a moment to listen
        for _ in 0..100 {
            match ClientBuilder::new(connector.clone()).capabilities(caps.clone()).connect(&self.url).await {
                Ok(client) => return client,
                Err(err) => last = Some(err),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("could not start a browser session through chromedriver: {last:?}");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // the group's id is chromedriver's pid
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.wait();
    }
}

/// Saves a screenshot of the page as `DIR/NAME.png` (a test's `CARGO_TARGET_TMPDIR/console-screenshots`).
pub async fn screenshot(browser: &Client, dir: &Path, name: &str) {
    std::fs::create_dir_all(dir).expect("making the screenshot directory");
    let png = browser.screenshot().await.expect("a screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("writing a screenshot");
}

/// Waits for the page whose heading is `text` (a click's navigation finishes after the click returns).
pub async fn expect_heading(browser: &Client, text: &str) {
    let xpath = format!("//h1[normalize-space()='{text}']");
    let found = browser.wait().at_most(Duration::from_secs(10)).for_element(Locator::XPath(&xpath)).await;
    if found.is_err() {
        let actual = browser.find(Locator::Css("h1")).await.expect("the page has a heading").text().await;
        panic!("expected the page {text:?}, got {actual:?}");
    }
}

/// Signs in to the console at `base` (`http://HOST:PORT/console`) with a token, or with a user's name and
/// password, and waits for the overview.
pub async fn sign_in(browser: &Client, base: &str, with: SignIn<'_>) {
    browser.goto(&format!("{base}/sign-in")).await.expect("the sign-in page loads");
    expect_heading(browser, "Sign in").await;
    let form = match with {
        SignIn::Token(token) => {
            browser.find(Locator::Id("token")).await.expect("a token field").send_keys(token).await.expect("typing");
            "section[aria-labelledby=with-token] form"
        }
        SignIn::User(name, password) => {
            browser.find(Locator::Id("user")).await.expect("a user field").send_keys(name).await.expect("typing");
            let field = browser.find(Locator::Id("password")).await.expect("a password field");
            field.send_keys(password).await.expect("typing");
            "section[aria-labelledby=as-user] form"
        }
    };
    browser.form(Locator::Css(form)).await.expect("the sign-in form").submit().await.expect("submitting");
    expect_heading(browser, "Overview").await;
}

/// How [`sign_in`] signs in.
#[derive(Debug, Clone, Copy)]
pub enum SignIn<'a> {
    /// With an API token.
    Token(&'a str),
    /// As an emission user: name and password.
    User(&'a str, &'a str),
}
