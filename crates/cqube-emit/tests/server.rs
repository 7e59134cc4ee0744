//! CLI-level tests of `serve`, `token`, `user` and `emissions`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cqube-emit"));
    cmd.env_remove("CQUBE_EMIT_CONFIG").env_remove("CQUBE_EMIT_SERVER_DATA_DIR").env_remove("RUST_LOG");
    cmd
}

fn run(args: &[&str]) -> std::process::Output {
    bin().args(args).output().unwrap()
}

#[test]
fn token_create_prints_only_the_token_and_list_never_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = run(&[
        "token",
        "create",
        "--name",
        "state",
        "--sources",
        "student_attendance",
        "--expires",
        "90d",
        "--data-dir",
        d,
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.strip_suffix('\n').unwrap();
    assert!(token.starts_with("cqe_") && token.len() == 81 && !token.contains(char::is_whitespace), "{stdout:?}");
    let list = run(&["token", "list", "--json", "--data-dir", d]);
    let listed = String::from_utf8(list.stdout).unwrap();
    let row: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(row["name"], "state");
    assert_eq!(row["sources"][0], "student_attendance");
    assert!(!listed.contains(&token[17..]), "the secret never leaves create");
    // duplicate live name is a usage error; revoke frees it
    assert_eq!(run(&["token", "create", "--name", "state", "--data-dir", d]).status.code(), Some(2));
    assert!(run(&["token", "revoke", "state", "--data-dir", d]).status.success());
    assert_eq!(run(&["token", "revoke", "state", "--data-dir", d]).status.code(), Some(2));
    assert_eq!(run(&["token", "create", "--name", "x", "--expires", "3w", "--data-dir", d]).status.code(), Some(2));
}

#[test]
fn serve_prints_its_base_url_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let mut child = bin()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", d])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim_end();
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/data"), "{line:?}");
    let health = base.trim_end_matches("/data").to_owned() + "/healthz";
    let out = Command::new("python3")
        .args(["-c", "import sys,requests; r=requests.get(sys.argv[1]); print(r.status_code, r.text)", &health])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "200 ok\n");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("embedded store: endpoint http://127.0.0.1:"), "{stderr}");
    // the emissions listing works on the same data directory (empty here)
    let out = run(&["emissions", "--json", "--data-dir", d]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
}

#[test]
fn user_create_reads_the_password_from_the_environment_and_remove_takes_the_user_away() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let ok = bin()
        .args(["user", "create", "emitter", "--data-dir", d])
        .env("CQUBE_EMIT_USER_PASSWORD", "a long passphrase")
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let short = bin()
        .args(["user", "create", "emitter", "--data-dir", d])
        .env("CQUBE_EMIT_USER_PASSWORD", "short")
        .output()
        .unwrap();
    assert_eq!(short.status.code(), Some(2));

    let removed = bin().args(["user", "remove", "emitter", "--data-dir", d]).output().unwrap();
    assert!(removed.status.success(), "{}", String::from_utf8_lossy(&removed.stderr));
    let again = bin().args(["user", "remove", "emitter", "--data-dir", d]).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("no emission user named \"emitter\"") && stderr.contains("hint:"), "{stderr}");
}

#[test]
fn admin_commands_work_on_a_postgresql_state_and_never_print_its_password() {
    let pg = cqube_testkit::PgDatabase::create("cqe_cli");
    let url = pg.url();
    let out = run(&["token", "create", "--name", "karnataka", "--database-url", &url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The env var reaches the same database as the flag.
    let list = bin().args(["token", "list", "--json"]).env("CQUBE_EMIT_SERVER_DATABASE_URL", &url).output().unwrap();
    let listed = String::from_utf8(list.stdout).unwrap();
    let row: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(row["name"], "karnataka");
    assert!(run(&["token", "revoke", "karnataka", "--database-url", &url]).status.success());
    let emissions = run(&["emissions", "--json", "--database-url", &url]);
    assert!(emissions.status.success() && emissions.stdout.is_empty());

    let refused = run(&["token", "list", "--database-url", "postgresql://cqube:hunter2-secret@127.0.0.1:1/none"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(4), "unreachable is transient: {stderr}");
    assert!(stderr.contains("connecting to PostgreSQL") && stderr.contains("check that PostgreSQL runs"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn migrate_state_copies_a_data_directory_into_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let token = run(&["token", "create", "--name", "bihar", "--data-dir", d]);
    let token = String::from_utf8(token.stdout).unwrap();
    assert!(run(&["token", "create", "--name", "old", "--data-dir", d]).status.success());
    assert!(run(&["token", "revoke", "old", "--data-dir", d]).status.success());
    let pg = cqube_testkit::PgDatabase::create("cqe_migrate");
    let url = pg.url();
    let out = run(&["migrate-state", "--data-dir", d, "--database-url", &url, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let copied: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((copied["tokens"].as_u64(), copied["emissions"].as_u64()), (Some(2), Some(0)));
    let list = String::from_utf8(run(&["token", "list", "--json", "--database-url", &url]).stdout).unwrap();
    let rows: Vec<serde_json::Value> = list.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let state = |name: &str| rows.iter().find(|r| r["name"] == name).map(|r| r["revoked_at"].is_null());
    assert_eq!((state("bihar"), state("old")), (Some(true), Some(false)), "live stays live, revoked stays revoked");
    assert!(
        token.trim().starts_with(&format!(
            "cqe_{}",
            rows.iter().find(|r| r["name"] == "bihar").unwrap()["id"].as_str().unwrap()
        ))
    );

    let again = run(&["migrate-state", "--data-dir", d, "--database-url", &url]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("copy into an empty database"));
}
