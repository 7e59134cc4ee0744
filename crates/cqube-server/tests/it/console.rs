//! The web console over real HTTP: sign-in and sign-out, cookie flags, CSRF and cross-origin refusals, revocation,
//! scoping, the token forms, emission filters, charts, 404s and escaping.

use cqube_protocol::Acknowledgement;
use cqube_server::auth::{create_user, now_ms};
use cqube_server::db::EmissionRecord;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};

use crate::harness::{TestServer, attendance_upload, http, ok_json, sha256_hex, start_default, start_with};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// A browser without redirects or a cookie jar: the tests look at every `Location` and `Set-Cookie` themselves.
pub struct Console {
    /// `http://127.0.0.1:PORT/console`
    pub base: String,
    client: reqwest::Client,
}

/// A response's status, headers and body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    fn set_cookie(&self) -> Option<&str> {
        self.headers.get(header::SET_COOKIE).and_then(|v| v.to_str().ok())
    }

    /// The CSRF token in the page's forms.
    fn csrf(&self) -> String {
        let start = self.body.find(r#"name="csrf" value=""#).expect("the page has a form") + 19;
        self.body[start..start + self.body[start..].find('"').unwrap()].to_owned()
    }
}

impl Console {
    pub fn new(server: &TestServer) -> Console {
        Console::at(server.base.strip_suffix("/data").unwrap())
    }

    /// The console of the server at `root` (`http://127.0.0.1:PORT`).
    pub fn at(root: &str) -> Console {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Console { base: format!("{root}/console"), client }
    }

    async fn answer(res: reqwest::Response) -> Answer {
        let status = res.status();
        let headers = res.headers().clone();
        Answer { status, headers, body: res.text().await.unwrap() }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(cookie) = cookie {
            req = req.header(header::COOKIE, cookie);
        }
        Self::answer(req.send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, cookie: Option<&str>, form: &[(&str, &str)], origin: Option<&str>) -> Answer {
        let mut req = self.client.post(format!("{}{path}", self.base)).form(form);
        if let Some(cookie) = cookie {
            req = req.header(header::COOKIE, cookie);
        }
        if let Some(origin) = origin {
            req = req.header(header::ORIGIN, origin);
        }
        Self::answer(req.send().await.unwrap()).await
    }

    /// Signs in with `form` and returns the `Cookie` header value of the session.
    pub async fn sign_in(&self, form: &[(&str, &str)]) -> String {
        let res = self.post("/sign-in", None, form, None).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        assert!(res.location().ends_with("/console"), "{}", res.location());
        res.set_cookie().unwrap().split(';').next().unwrap().to_owned()
    }
}

pub fn emission(id: &str, source: &str, token: &str, rows: u64, completed_at: i64) -> EmissionRecord {
    EmissionRecord {
        id: id.into(),
        upload_id: None,
        token_name: token.into(),
        source: source.into(),
        bucket: "cqube-emission".into(),
        key: format!("{source}/{source}_{id}.zip"),
        archived_key: None,
        bytes: rows * 40,
        rows,
        sha256: "ab".repeat(32),
        started_at: completed_at - 2000,
        completed_at,
        watermark: None,
        quality: None,
    }
}

/// Emits `data` as one part through the API, as an emitter would, reporting `rows`.
pub async fn emit(server: &TestServer, token: &str, data: &[u8], rows: u64) -> Acknowledgement {
    let url = complete_url(server, token, data).await;
    let complete = completion(data, rows);
    ok_json(http().post(url).bearer_auth(token).json(&complete)).await
}

/// An upload of `data` in one part, ready to complete: its complete URL.
async fn complete_url(server: &TestServer, token: &str, data: &[u8]) -> String {
    let created = server.create_upload(token, &attendance_upload()).await;
    let presigned = server.presign_parts(token, &created.upload_id, &[1]).await;
    let put = http().put(&presigned.parts[0].url).body(data.to_vec()).send().await.unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let etag = put.headers()["etag"].to_str().unwrap().to_owned();
    ETAGS.lock().unwrap().insert(sha256_hex(data), etag);
    format!("{}/uploads/{}/complete", server.base, created.upload_id)
}

/// The ETag each part's PUT returned, by the part's SHA-256, for the completion request.
static ETAGS: std::sync::Mutex<std::collections::BTreeMap<String, String>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn completion(data: &[u8], rows: u64) -> serde_json::Value {
    let etag = ETAGS.lock().unwrap()[&sha256_hex(data)].clone();
    serde_json::json!({
        "parts": [{"part_number": 1, "etag": etag}], "rows": rows, "bytes": data.len(), "sha256": sha256_hex(data)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quality_counts_sent_with_completions_show_on_the_data_quality_page() {
    let (_dir, server) = start_default().await;
    let caps: serde_json::Value = ok_json(http().get(format!("{}/capabilities", server.base))).await;
    assert_eq!(caps["features"], serde_json::json!(["quality"]));
    let emitter = server.token("gujarat", Some(&["student_attendance"]), false).await;
    let data = b"zip bytes with counts".repeat(20);
    let url = complete_url(&server, &emitter, &data).await;
    let mut complete = completion(&data, 900);
    complete["quality"] = serde_json::json!({"rows_read": 1000, "rows_rejected": 100, "rows_warned": 5, "rules": [
        {"rule": "unknown_school", "column": "school_id", "severity": "error", "rows": 60},
        {"rule": "<b>type_int</b>", "column": "day_1", "severity": "error", "rows": 40}]});
    let mut bad = complete.clone();
    bad["quality"]["rules"][0]["severity"] = "fatal".into();
    let refused = http().post(&url).bearer_auth(&emitter).json(&bad).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("invalid_quality"));
    let _: Acknowledgement = ok_json(http().post(&url).bearer_auth(&emitter).json(&complete)).await;
    emit(&server, &emitter, b"another file, sent without counts", 3).await;

    let console = Console::new(&server);
    let cookie = console.sign_in(&[("token", &emitter)]).await;
    let page = console.get("/quality", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(body.contains("<h1>Data quality</h1>"), "{body}");
    // Per source: 2 emissions, 1 with counts, 1,000 read, 100 rejected = 10.0 %, 5 warned.
    assert!(
        body.contains(">2<") && body.contains(">1,000<") && body.contains(">100<") && body.contains("10.0 %"),
        "{body}"
    );
    let top = body.find("unknown_school").unwrap();
    assert!(top < body.find("type_int").unwrap(), "most rows first");
    assert!(body.contains("&lt;b&gt;type_int&lt;/b&gt;") && !body.contains("<b>type_int"), "rule names are escaped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emission_is_listed_with_its_rows_and_downloads_through_a_fresh_link() {
    let (_dir, server) = start_default().await;
    let emitter = server.token("gujarat", Some(&["student_attendance"]), false).await;
    let data = b"PK fake zip bytes for the console".repeat(30);
    let ack = emit(&server, &emitter, &data, 4321).await;
    let console = Console::new(&server);
    let cookie = console.sign_in(&[("token", &emitter)]).await;

    let list = console.get("/emissions", Some(&cookie)).await;
    assert!(list.body.contains(&ack.key) && list.body.contains(">4,321<"), "{}", list.body);
    let detail = console.get(&format!("/emissions/{}", ack.emission_id), Some(&cookie)).await;
    assert!(detail.body.contains(&ack.sha256) && detail.body.contains(ack.upload_id.as_deref().unwrap()));
    let download = console.get(&format!("/emissions/{}/download", ack.emission_id), Some(&cookie)).await;
    assert_eq!(download.status, StatusCode::SEE_OTHER);
    let object = http().get(download.location()).send().await.unwrap();
    assert_eq!(object.status(), StatusCode::OK);
    assert_eq!(object.bytes().await.unwrap().as_ref(), data.as_slice());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sets_a_strict_cookie_and_sign_out_ends_the_session() {
    let (_dir, server) = start_default().await;
    let admin = server.token("ops", None, true).await;
    let console = Console::new(&server);

    let res = console.get("", None).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(res.location().ends_with("/console/sign-in"));
    let form = console.get("/sign-in", None).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"<label for="token">"#) && form.body.contains(r#"<label for="password">"#));

    let flipped = if admin.ends_with('0') { '1' } else { '0' };
    let wrong =
        console.post("/sign-in", None, &[("token", &format!("{}{flipped}", &admin[..admin.len() - 1]))], None).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Sign-in failed") && wrong.set_cookie().is_none());

    let res = console.post("/sign-in", None, &[("token", &admin)], None).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let set_cookie = res.set_cookie().unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=28800"] {
        assert!(set_cookie.contains(flag), "{flag} missing: {set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
    let secret = admin.rsplit('_').next().unwrap();
    assert!(!set_cookie.contains(secret));
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let overview = console.get("", Some(&cookie)).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.body.contains("<h1>Overview</h1>") && overview.body.contains("Signed in as"));
    assert!(!overview.body.contains(secret));
    assert_eq!(overview.headers[header::CACHE_CONTROL], "no-store");

    // sign-out is a form like any other
    let refused = console.post("/sign-out", Some(&cookie), &[], None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(console.get("", Some(&cookie)).await.status, StatusCode::OK);
    let out = console.post("/sign-out", Some(&cookie), &[("csrf", &overview.csrf())], None).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.set_cookie().unwrap().contains("Max-Age=0"));
    // a copy of the old cookie is worthless too, and the token itself still works for the API
    assert_eq!(console.get("", Some(&cookie)).await.status, StatusCode::SEE_OTHER);
    let api = http().get(format!("{}/list_s3_buckets", server.base)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::OK);
    // a new sign-in works again
    let again = console.sign_in(&[("token", &admin)]).await;
    assert_eq!(console.get("", Some(&again)).await.status, StatusCode::OK);
    // and a forged cookie does not
    let flipped = if again.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{flipped}", &again[..again.len() - 1]);
    assert_eq!(console.get("", Some(&forged)).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_behind_https() {
    // behind a TLS-terminating proxy: plain HTTP here, https:// to the browser
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (_dir, server) = start_with(|c| {
        c.listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        c.public_url = Some("https://emission.example.org".into());
    })
    .await;
    let admin = server.token("ops", None, true).await;
    let console = Console::at(&format!("http://127.0.0.1:{port}"));
    let res = console.post("/sign-in", None, &[("token", &admin)], None).await;
    assert!(res.set_cookie().unwrap().contains("; Secure"), "{:?}", res.set_cookie());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_emission_users_with_their_scope_never_their_password_hash() {
    let (_dir, server) = start_default().await;
    create_user(server.state.db(), "<district>", "correct horse battery", Some(&["school_master".into()]))
        .await
        .unwrap();
    let admin = server.token("ops", None, true).await;
    let console = Console::new(&server);
    let cookie = console.sign_in(&[("token", &admin)]).await;
    let page = console.get("/tokens", Some(&cookie)).await;
    assert!(page.body.contains("<h2 id=\"users\">Emission users</h2>"), "{}", page.body);
    let users = &page.body[page.body.find("id=\"users\"").unwrap()..];
    assert!(users.contains("<td>&lt;district&gt;</td><td>school_master</td>"), "{users}");
    assert!(!page.body.contains("$argon2"), "no password hash on the page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emission_users_are_created_replaced_and_removed_through_the_forms() {
    let (_dir, server) = start_default().await;
    let admin = server.token("ops", None, true).await;
    let console = Console::new(&server);
    let cookie = console.sign_in(&[("token", &admin)]).await;
    let page = console.get("/tokens", Some(&cookie)).await;
    for field in ["user_name", "user_password", "user_sources", "user_replace"] {
        assert!(page.body.contains(&format!(r#"<label for="{field}">"#)), "{field} has no label");
    }
    let csrf = page.csrf();
    let db = server.state.db();
    let post = async |path: &str, form: &[(&str, &str)]| {
        let mut with_csrf = vec![("csrf", csrf.as_str())];
        with_csrf.extend_from_slice(form);
        console.post(path, Some(&cookie), &with_csrf, None).await
    };
    let good = "correct horse battery";

    for (form, says) in [
        (vec![("name", " "), ("password", good)], "user name must be non-empty"),
        (vec![("name", "a:b"), ("password", good)], "without ':'"),
        (vec![("name", "district"), ("password", "short")], "at least 12 characters"),
        (vec![("name", "district"), ("password", good), ("sources", "school_mastr")], "school_mastr"),
    ] {
        let res = post("/users", &form).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{form:?}");
        assert!(res.body.contains("role=\"alert\"") && res.body.contains(says), "{form:?}: {}", res.body);
    }
    assert!(db.users().await.unwrap().is_empty(), "nothing made from bad input");
    let forged = console.post("/users", Some(&cookie), &[("name", "district"), ("password", good)], None).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(db.users().await.unwrap().is_empty());

    let made = post("/users", &[("name", "district"), ("password", good), ("sources", "school_master")]).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert!(made.body.contains("User <q>district</q> created."), "{}", made.body);
    assert!(made.body.contains("<td>district</td><td>school_master</td>"), "{}", made.body);
    assert!(!made.body.contains(good) && !made.body.contains("$argon2"), "no password on the page");
    assert_eq!(db.user("district").await.unwrap().unwrap().1, Some(vec!["school_master".to_owned()]));

    // a second user of the name is refused unless replacing is asked for
    let twice = post("/users", &[("name", "district"), ("password", "another long password")]).await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert!(twice.body.contains("a user named &quot;district&quot; exists"), "{}", twice.body);
    let signed_in = console.sign_in(&[("user", "district"), ("password", good)]).await;
    let replaced =
        post("/users", &[("name", "district"), ("password", "another long password"), ("replace", "on")]).await;
    assert_eq!(replaced.status, StatusCode::CREATED, "{}", replaced.body);
    let old = console.post("/sign-in", None, &[("user", "district"), ("password", good)], None).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED, "the old password no longer signs in");
    assert_eq!(console.get("", Some(&signed_in)).await.status, StatusCode::SEE_OTHER, "nor its session");
    assert_eq!(db.user("district").await.unwrap().unwrap().1, None, "replaced with every source");

    // removing the user ends the session it signed in with and its password's use
    let signed_in = console.sign_in(&[("user", "district"), ("password", "another long password")]).await;
    assert_eq!(console.get("", Some(&signed_in)).await.status, StatusCode::OK);
    let removed = post("/users/remove", &[("name", "district")]).await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert!(removed.body.contains("User <q>district</q> removed.") && removed.body.contains("No emission users."));
    assert_eq!(console.get("", Some(&signed_in)).await.status, StatusCode::SEE_OTHER);
    let auth = http()
        .post(format!("{}/auth", server.base))
        .form(&[("username", "district"), ("password", "another long password")])
        .send()
        .await
        .unwrap();
    assert_eq!(auth.status(), StatusCode::UNAUTHORIZED);
    let again = post("/users/remove", &[("name", "district")]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(again.body.contains("There is no emission user named"), "{}", again.body);

    // only admins manage users
    let emitter = server.token("gujarat", None, false).await;
    let theirs = console.sign_in(&[("token", &emitter)]).await;
    let their_csrf = console.get("", Some(&theirs)).await.csrf();
    let form = [("csrf", their_csrf.as_str()), ("name", "x"), ("password", good)];
    assert_eq!(console.post("/users", Some(&theirs), &form, None).await.status, StatusCode::FORBIDDEN);
    assert!(db.users().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emission_users_sign_in_and_their_session_token_is_revoked_at_sign_out() {
    let (_dir, server) = start_default().await;
    create_user(server.state.db(), "district", "correct horse battery", Some(&["school_master".into()])).await.unwrap();
    let console = Console::new(&server);
    let wrong = console.post("/sign-in", None, &[("user", "district"), ("password", "wrong password!!")], None).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let cookie = console.sign_in(&[("user", "district"), ("password", "correct horse battery")]).await;
    let page = console.get("", Some(&cookie)).await;
    assert!(page.body.contains("district:session-"), "{}", page.body);
    let session_token = async || {
        let tokens = server.state.db().tokens().await.unwrap();
        tokens.into_iter().find(|t| t.name.starts_with("district:session-")).unwrap()
    };
    assert!(session_token().await.revoked_at.is_none());
    console.post("/sign-out", Some(&cookie), &[("csrf", &page.csrf())], None).await;
    assert!(session_token().await.revoked_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_the_csrf_token_or_from_another_origin_are_refused() {
    let (_dir, server) = start_default().await;
    let admin = server.token("ops", None, true).await;
    let console = Console::new(&server);
    let cookie = console.sign_in(&[("token", &admin)]).await;
    let csrf = console.get("/tokens", Some(&cookie)).await.csrf();
    let made = async |name: &str| server.state.db().tokens().await.unwrap().iter().any(|t| t.name == name);

    let none = console.post("/tokens", Some(&cookie), &[("name", "no-csrf")], None).await;
    let wrong = console.post("/tokens", Some(&cookie), &[("name", "bad-csrf"), ("csrf", &"0".repeat(64))], None).await;
    let foreign = console
        .post("/tokens", Some(&cookie), &[("name", "foreign"), ("csrf", &csrf)], Some("https://evil.example"))
        .await;
    for (res, name) in [(none, "no-csrf"), (wrong, "bad-csrf"), (foreign, "foreign")] {
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{name}");
        assert!(res.body.contains("This form was refused"), "{name}");
        assert!(!made(name).await, "{name}");
    }
    // the CSRF token of another session does not fit this one
    let other = console.sign_in(&[("token", &admin)]).await;
    let other_csrf = console.get("/tokens", Some(&other)).await.csrf();
    assert_ne!(other_csrf, csrf);
    let res = console.post("/tokens", Some(&cookie), &[("name", "crossed"), ("csrf", &other_csrf)], None).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // a cross-site sign-in is refused before the token is looked at
    let res = console.post("/sign-in", None, &[("token", &admin)], Some("https://evil.example")).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.set_cookie().is_none());
    // the same form from our own origin goes through
    let origin = console.base.strip_suffix("/console").unwrap();
    let res = console.post("/tokens", Some(&cookie), &[("name", "ours"), ("csrf", &csrf)], Some(origin)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert!(made("ours").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_loses_its_console_session() {
    let (_dir, server) = start_default().await;
    let admin = server.token("ops", None, true).await;
    let console = Console::new(&server);
    let cookie = console.sign_in(&[("token", &admin)]).await;
    assert_eq!(console.get("/emissions", Some(&cookie)).await.status, StatusCode::OK);
    assert!(server.state.db().revoke_token("ops", now_ms()).await.unwrap());
    let res = console.get("/emissions", Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(res.location().ends_with("/console/sign-in"));
    let res = console.post("/sign-in", None, &[("token", &admin)], None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoped_token_sees_only_its_sources() {
    let (_dir, server) = start_default().await;
    let scoped = server.token("attendance-only", Some(&["student_attendance"]), false).await;
    let db = server.state.db();
    let now = now_ms();
    db.insert_emission(&emission("e1", "student_attendance", "attendance-only", 10, now - 3_600_000)).await.unwrap();
    db.insert_emission(&emission("e2", "school_master", "someone-else", 20, now - 3_600_000)).await.unwrap();
    let console = Console::new(&server);
    let cookie = console.sign_in(&[("token", &scoped)]).await;

    for page in ["", "/emissions", "/uploads", "/charts"] {
        let res = console.get(page, Some(&cookie)).await;
        assert_eq!(res.status, StatusCode::OK, "{page}");
        assert!(!res.body.contains("school_master"), "{page} shows another source");
        assert!(!res.body.contains(">Tokens<"), "{page} links the tokens page");
    }
    let list = console.get("/emissions", Some(&cookie)).await;
    assert!(list.body.contains("student_attendance/student_attendance_e1.zip"));
    assert!(list.body.contains("1 emission matches"), "{}", list.body);
    let refused = console.get("/emissions?source=school_master", Some(&cookie)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("may not see"));
    assert_eq!(console.get("/emissions/e2", Some(&cookie)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(console.get("/emissions/e2/download", Some(&cookie)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(console.get("/emissions/e1", Some(&cookie)).await.status, StatusCode::OK);
    assert_eq!(console.get("/tokens", Some(&cookie)).await.status, StatusCode::FORBIDDEN);
    let csrf = list.csrf();
    let res =
        console.post("/tokens", Some(&cookie), &[("name", "sneaky"), ("admin", "on"), ("csrf", &csrf)], None).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(!db.tokens().await.unwrap().iter().any(|t| t.name == "sneaky"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_created_once_shown_escaped_and_revoked_through_the_forms() {
    let (_dir, server) = start_default().await;
    let admin = server.token("ops", None, true).await;
    let console = Console::new(&server);
    let cookie = console.sign_in(&[("token", &admin)]).await;
    let csrf = console.get("/tokens", Some(&cookie)).await.csrf();
    let name = "<script>alert(1)</script>";

    let bad = console
        .post("/tokens", Some(&cookie), &[("csrf", &csrf), ("name", "x"), ("sources", "student_attendence")], None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("student_attendence") && bad.body.contains("role=\"alert\""), "{}", bad.body);
    let bad_days =
        console.post("/tokens", Some(&cookie), &[("csrf", &csrf), ("name", "x"), ("expires_days", "-3")], None).await;
    assert_eq!(bad_days.status, StatusCode::BAD_REQUEST);

    let form = [("csrf", csrf.as_str()), ("name", name), ("sources", "student_attendance"), ("expires_days", "30")];
    let created = console.post("/tokens", Some(&cookie), &form, None).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(!created.body.contains("<script>"), "unescaped name");
    assert!(created.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let start = created.body.find(r#"id="new-token-value""#).unwrap();
    let token = created.body[start..].split('>').nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(token.starts_with("cqe_"), "{token}");
    let buckets = format!("{}/list_s3_buckets", server.base);
    let api = |token: String| {
        let req = http().get(&buckets).bearer_auth(token);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(api(token.clone()).await, StatusCode::OK);
    let record = server.state.db().tokens().await.unwrap().into_iter().find(|t| t.name == name).unwrap();
    assert_eq!(record.sources, Some(vec!["student_attendance".to_owned()]));
    assert!(!record.admin && record.expires_at.is_some());

    // shown once: the list has the name, escaped, never the token
    let list = console.get("/tokens", Some(&cookie)).await;
    assert!(list.body.contains("&lt;script&gt;") && !list.body.contains("<script>"));
    assert!(!list.body.contains(&token) && !list.body.contains(token.rsplit('_').next().unwrap()));

    let revoked = console.post("/tokens/revoke", Some(&cookie), &[("csrf", &csrf), ("name", name)], None).await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert!(revoked.body.contains("Revoked"));
    assert_eq!(api(token).await, StatusCode::UNAUTHORIZED);
    let again = console.post("/tokens/revoke", Some(&cookie), &[("csrf", &csrf), ("name", name)], None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emission_filters_page_and_explain_bad_input() {
    let (_dir, server) = start_with(|c| c.console_time_zone = "Asia/Kolkata".into()).await;
    let admin = server.token("ops", None, true).await;
    let db = server.state.db();
    // 2026-03-09 20:00 UTC is 2026-03-10 01:30 in Kolkata.
    let march_tenth_ist = chrono::DateTime::parse_from_rfc3339("2026-03-09T20:00:00Z").unwrap().timestamp_millis();
    db.insert_emission(&emission("ist", "school_master", "state", 3, march_tenth_ist)).await.unwrap();
    let now = now_ms();
    for i in 0..120 {
        db.insert_emission(&emission(&format!("n{i:03}"), "student_attendance", "state", 1, now - i * 60_000))
            .await
            .unwrap();
    }
    let console = Console::new(&server);
    let cookie = console.sign_in(&[("token", &admin)]).await;

    let all = console.get("/emissions", Some(&cookie)).await;
    assert!(all.body.contains("121 emissions match") && all.body.contains("Page 1 of 3"), "{}", all.body);
    assert_eq!(all.body.matches("<tr>").count(), 1 + 50);
    let third = console.get("/emissions?page=3", Some(&cookie)).await;
    assert_eq!(third.body.matches("<tr>").count(), 1 + 21);
    assert!(third.body.contains("rel=\"prev\"") && !third.body.contains("rel=\"next\""));

    let day = console.get("/emissions?from=2026-03-10&to=2026-03-10", Some(&cookie)).await;
    assert!(day.body.contains("1 emission matches") && day.body.contains("school_master_ist.zip"), "{}", day.body);
    assert!(day.body.contains("2026-03-10 01:30:00 IST"), "{}", day.body);
    let before = console.get("/emissions?to=2026-03-09", Some(&cookie)).await;
    assert!(before.body.contains("0 emissions match"), "{}", before.body);
    let by_source = console.get("/emissions?source=student_attendance&token_name=state", Some(&cookie)).await;
    assert!(by_source.body.contains("120 emissions match"));
    let other_token = console.get("/emissions?token_name=nobody", Some(&cookie)).await;
    assert!(other_token.body.contains("0 emissions match"));

    for (query, says) in [
        ("from=10-03-2026", "a date is written YYYY-MM-DD"),
        ("source=no_such_source", "is not a data source in the catalog"),
        ("page=0", "a page is a number from 1"),
        ("from=2026-03-10&to=2026-03-01", "is before from"),
        ("page=1&page=2", "could not be read"),
        ("from=%FF", "a date is written YYYY-MM-DD"),
    ] {
        let res = console.get(&format!("/emissions?{query}"), Some(&cookie)).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(res.body.contains(says), "{query}: {}", res.body);
        assert!(res.body.contains("role=\"alert\""), "{query}");
    }
    // the detail page and the footer name the zone
    let detail = console.get("/emissions/ist", Some(&cookie)).await;
    assert!(detail.body.contains("abababababab") && detail.body.contains("Times are shown in Asia/Kolkata"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charts_draw_a_bar_per_day_and_the_overview_sums_sources() {
    let (_dir, server) = start_default().await;
    let admin = server.token("ops", None, true).await;
    let db = server.state.db();
    let now = now_ms();
    db.insert_emission(&emission("a", "student_attendance", "state", 1234, now - 60_000)).await.unwrap();
    db.insert_emission(&emission("b", "student_attendance", "state", 1000, now - 3 * DAY_MS)).await.unwrap();
    db.insert_emission(&emission("c", "school_master", "state", 7, now - 40 * DAY_MS)).await.unwrap();
    let console = Console::new(&server);
    let cookie = console.sign_in(&[("token", &admin)]).await;

    let charts = console.get("/charts", Some(&cookie)).await;
    assert_eq!(charts.status, StatusCode::OK);
    // one source in 30 days: a rows chart and a bytes chart of 30 bars each, and a table of 30 days
    assert_eq!(charts.body.matches("<svg").count(), 2);
    assert_eq!(charts.body.matches("<rect class=\"bar\"").count(), 60);
    assert!(charts.body.contains(": 1,234 rows</title>"), "{}", charts.body);
    assert!(!charts.body.contains("school_master"));

    let overview = console.get("", Some(&cookie)).await;
    assert!(overview.body.contains("1 emission, 1,234 rows"), "{}", overview.body);
    assert!(overview.body.contains("2 emissions, 2,234 rows"), "{}", overview.body);
    // school_master's emission is older than 7 days: missing, never seen this week
    assert!(overview.body.contains("<strong>school_master</strong>: none in the last 7 days"), "{}", overview.body);
    assert!(!overview.body.contains("<strong>student_attendance</strong>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_console_pages_are_html_404s_and_the_console_can_be_switched_off() {
    let (_dir, server) = start_default().await;
    let console = Console::new(&server);
    for path in ["/nope", "/emissions/", "/emissions/x/y/z", "/tokens/revoke/extra"] {
        let res = console.get(path, None).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert!(res.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "{path}");
        assert!(res.body.contains("There is no console page"), "{path}");
    }
    let wrong_method = console.get("/sign-out", None).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(wrong_method.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let slash = console.get("/", None).await;
    assert_eq!((slash.status, slash.location()), (StatusCode::SEE_OTHER, "/console"));
    let css = console.get("/console.css", None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/css"));

    let (_dir, off) = start_with(|c| c.console = false).await;
    let res = Console::new(&off).get("", None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(res.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));

    let (_dir, moved) = start_with(|c| c.console_path = "/ops/console".into()).await;
    let root = moved.base.strip_suffix("/data").unwrap();
    let res = http().get(format!("{root}/ops/console/sign-in")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains(r#"action="/ops/console/sign-in""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_show_their_bytes_so_far_and_aborts_count_on_the_overview() {
    let (_dir, server) = start_default().await;
    let admin = server.token("ops", None, true).await;
    let other = server.token("schools", Some(&["school_master"]), false).await;
    let open = server.create_upload(&admin, &attendance_upload()).await;
    let presigned = server.presign_parts(&admin, &open.upload_id, &[1]).await;
    let put = http().put(&presigned.parts[0].url).body(vec![7u8; 1000]).send().await.unwrap();
    assert!(put.status().is_success());
    let aborted = server.create_upload(&admin, &attendance_upload()).await;
    let res = http().delete(format!("{}/uploads/{}", server.base, aborted.upload_id)).bearer_auth(&admin).send();
    assert!(res.await.unwrap().status().is_success());
    let console = Console::new(&server);

    let cookie = console.sign_in(&[("token", &admin)]).await;
    let page = console.get("/uploads", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("In progress (1)") && page.body.contains("Aborted (1)"), "{}", page.body);
    assert!(page.body.contains(&open.upload_id) && page.body.contains(&aborted.upload_id));
    assert!(page.body.contains(">1000 B<"), "{}", page.body);
    let overview = console.get("", Some(&cookie)).await;
    assert!(overview.body.contains("0 failed and 1 aborted uploads"), "{}", overview.body);

    let cookie = console.sign_in(&[("token", &other)]).await;
    let page = console.get("/uploads", Some(&cookie)).await;
    assert!(page.body.contains("In progress (0)") && !page.body.contains(&open.upload_id), "{}", page.body);
}
