//! `cqube-emit uploads list|abort`: an admin sees and clears abandoned uploads through the API.

use serde_json::{Value, json};

mod common;
use common::{Server, bin, events, run_ok};

fn uploads(server: &Server, token: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = bin();
    cmd.arg("uploads").args(args).env("CQUBE_EMIT_API", &server.base).env("CQUBE_EMIT_TOKEN", token);
    cmd.output().unwrap()
}

fn listed(server: &Server, state: &str) -> Vec<Value> {
    let out = uploads(server, &server.token, &["list", "--state", state, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    events(&String::from_utf8(out.stdout).unwrap())
}

#[test]
fn uploads_list_and_abort_clear_an_abandoned_upload_by_hand() {
    let server = Server::start(false);
    let body = json!({"source": "student_attendance", "filename": "student_attendance/student_attendance.zip"});
    let created: Value = server.post_json("/uploads", &body);
    let id = created["upload_id"].as_str().unwrap();

    let open = listed(&server, "open");
    assert_eq!(open.len(), 1);
    assert_eq!((open[0]["upload_id"].as_str(), open[0]["key"].as_str()), (Some(id), created["key"].as_str()));
    assert_eq!(open[0]["expired"], false);
    assert!(listed(&server, "expired").is_empty());

    let out = uploads(&server, &server.token, &["abort", id]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(listed(&server, "open").is_empty());
    assert_eq!(listed(&server, "aborted")[0]["upload_id"], id);
    assert_eq!(server.upload_states(), ["aborted"]);

    // an unknown upload is an error, not a silent success
    let out = uploads(&server, &server.token, &["abort", "00000000-0000-4000-8000-000000000000"]);
    assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("upload_not_found"));

    // a token that is not an admin's may not list
    let data = server.dir.path().join("server");
    let plain = run_ok(bin().args(["token", "create", "--name", "plain", "--data-dir"]).arg(&data)).trim().to_owned();
    let out = uploads(&server, &plain, &["list"]);
    assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stderr));
}
