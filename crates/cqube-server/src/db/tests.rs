//! The state-store contract, run against both implementations: SQLite in a temporary directory and the local
//! PostgreSQL (127.0.0.1:5432, trust), in a database each test creates and drops.

use std::future::Future;

use super::*;

fn url(pg: &cqube_testkit::PgDatabase) -> DatabaseUrl {
    DatabaseUrl::parse(&pg.url()).unwrap()
}

/// Runs `test` on a fresh SQLite store, then on a fresh PostgreSQL one.
async fn each_store<F, Fut>(test: F)
where
    F: Fn(Database) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    test(Database::open(None, dir.path()).await.unwrap()).await;
    let pg = cqube_testkit::PgDatabase::create("cqe_state");
    test(Database::open(Some(&url(&pg)), dir.path()).await.unwrap()).await;
}

fn token(id: &str, name: &str, created_at: i64) -> TokenRecord {
    TokenRecord {
        id: id.into(),
        name: name.into(),
        sources: Some(vec!["school_master".into(), "student_attendance".into()]),
        admin: false,
        created_at,
        expires_at: Some(created_at + 1000),
        last_used_at: None,
        revoked_at: None,
        hash: vec![1, 2, 3],
    }
}

fn upload(id: &str, state: &str, expires_at: i64) -> UploadRecord {
    UploadRecord {
        id: id.into(),
        token_id: "t1".into(),
        token_name: "gujarat".into(),
        source: "school_master".into(),
        bucket: "cqube-emission".into(),
        key: format!("school_master/{id}.zip"),
        store_upload_id: format!("store-{id}"),
        created_at: 10,
        expires_at,
        state: state.into(),
    }
}

fn emission(id: &str, upload_id: &str, source: &str, completed_at: i64) -> EmissionRecord {
    EmissionRecord {
        id: id.into(),
        upload_id: Some(upload_id.into()),
        token_name: "gujarat".into(),
        source: source.into(),
        bucket: "cqube-emission".into(),
        key: format!("{source}/{id}.zip"),
        archived_key: None,
        bytes: 5_000_000_000,
        rows: 42,
        sha256: "ab".repeat(32),
        started_at: 1,
        completed_at,
        watermark: Some(cqube_protocol::Watermark { column: "updated_at".into(), value: "2026-01-01".into() }),
        quality: None,
    }
}

#[tokio::test]
async fn tokens_round_trip_and_live_names_are_unique() {
    each_store(|db| async move {
        db.insert_token(&token("t1", "gujarat", 100)).await.unwrap();
        let err = db.insert_token(&token("t2", "gujarat", 200)).await.unwrap_err();
        assert!(matches!(err, Error::Admin(_)), "{err}");
        assert_eq!(db.token_by_id("t1").await.unwrap(), Some(token("t1", "gujarat", 100)));
        assert!(db.revoke_token("gujarat", 300).await.unwrap());
        assert!(!db.revoke_token("gujarat", 301).await.unwrap(), "nothing live left to revoke");
        db.insert_token(&token("t2", "gujarat", 400)).await.unwrap();
        let all = db.tokens().await.unwrap();
        assert_eq!(
            all.iter().map(|t| (t.id.as_str(), t.revoked_at)).collect::<Vec<_>>(),
            [("t1", Some(300)), ("t2", None)]
        );
        db.touch_token("t2", 500).await.unwrap();
        db.touch_token("t2", 501).await.unwrap();
        assert_eq!(db.token_by_id("t2").await.unwrap().unwrap().last_used_at, Some(500), "at most once a minute");
    })
    .await;
}

#[tokio::test]
async fn users_and_settings() {
    each_store(|db| async move {
        let scope = ["school_master".to_owned()];
        db.upsert_user("emitter", "hash1", Some(&scope), 1).await.unwrap();
        db.upsert_user("emitter", "hash2", None, 2).await.unwrap();
        assert_eq!(db.user("emitter").await.unwrap(), Some(("hash2".into(), None)));
        assert_eq!(db.user("nobody").await.unwrap(), None);
        assert!(db.delete_user("emitter").await.unwrap());
        assert!(!db.delete_user("emitter").await.unwrap(), "nothing left to remove");
        assert_eq!(db.user("emitter").await.unwrap(), None);
        assert!(db.users().await.unwrap().is_empty());
        assert_eq!(db.setting_or_insert("secret", "first").await.unwrap(), "first");
        assert_eq!(db.setting_or_insert("secret", "second").await.unwrap(), "first", "the first one stays");
        db.set_setting("secret", "third").await.unwrap();
        assert_eq!(db.setting("secret").await.unwrap().as_deref(), Some("third"));
    })
    .await;
}

#[tokio::test]
async fn key_slots_count_within_a_second_and_reservations_are_exclusive() {
    each_store(|db| async move {
        let slots: Vec<_> = [
            db.next_key_slot("b", "f.zip", 100, 2).await.unwrap(),
            db.next_key_slot("b", "f.zip", 100, 2).await.unwrap(),
            db.next_key_slot("b", "f.zip", 100, 2).await.unwrap(),
            db.next_key_slot("b", "f.zip", 200, 2).await.unwrap(),
        ]
        .into();
        assert_eq!(slots, [(100, 0), (100, 1), (101, 0), (200, 0)]);
        assert!(db.reserve_key("b", "k").await.unwrap());
        assert!(!db.reserve_key("b", "k").await.unwrap());
        assert!(db.reserve_key("c", "k").await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn uploads_complete_once_and_a_second_acknowledgement_returns_the_first() {
    each_store(|db| async move {
        db.insert_upload(&upload("u1", "open", 50)).await.unwrap();
        db.insert_upload(&upload("u2", "open", 5000)).await.unwrap();
        assert_eq!(db.upload("u1").await.unwrap(), Some(upload("u1", "open", 50)));
        assert!(db.knows_store_upload("store-u2").await.unwrap());
        assert!(!db.knows_store_upload("store-u9").await.unwrap());
        let expired = db.uploads(None, Some(100), 10).await.unwrap();
        assert_eq!(expired.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), ["u1"]);

        assert!(db.begin_completion("u2", "{\"parts\":[]}", 60).await.unwrap());
        assert!(!db.begin_completion("u2", "{}", 61).await.unwrap(), "only an open upload starts completing");
        assert_eq!(db.completion_request("u2").await.unwrap().as_deref(), Some("{\"parts\":[]}"));
        assert_eq!(db.uploads(Some("completing"), None, 10).await.unwrap().len(), 1);

        let first = emission("e1", "u2", "school_master", 70);
        assert_eq!(db.insert_emission(&first).await.unwrap(), first);
        // A racing replica's record for the same upload is not stored: it gets the first one back.
        let second = emission("e2", "u2", "school_master", 71);
        assert_eq!(db.insert_emission(&second).await.unwrap(), first);
        assert_eq!(db.upload("u2").await.unwrap().unwrap().state, "completed");
        assert_eq!(db.completion_request("u2").await.unwrap(), None);
        assert_eq!(db.emission_for_upload("u2").await.unwrap(), Some(first.clone()));
        assert_eq!(db.emissions(&EmissionFilter::default()).await.unwrap(), [first]);

        db.set_upload_state("u1", "aborted").await.unwrap();
        assert_eq!(db.upload("u1").await.unwrap().unwrap().state, "aborted");
    })
    .await;
}

#[tokio::test]
async fn emissions_filter_by_source_scope_time_and_limit_newest_first() {
    each_store(|db| async move {
        for (i, source) in ["school_master", "student_attendance", "school_master"].iter().enumerate() {
            let n = i64::try_from(i).unwrap();
            db.insert_upload(&upload(&format!("u{i}"), "open", 9999)).await.unwrap();
            db.insert_emission(&emission(&format!("e{i}"), &format!("u{i}"), source, 100 + n)).await.unwrap();
        }
        db.set_archived_key("e0", "archive/e0.zip").await.unwrap();
        let ids = |list: Vec<EmissionRecord>| list.into_iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(db.emissions(&EmissionFilter::default()).await.unwrap()), ["e2", "e1", "e0"]);
        let filter = EmissionFilter { source: Some("school_master"), ..EmissionFilter::default() };
        assert_eq!(ids(db.emissions(&filter).await.unwrap()), ["e2", "e0"]);
        let scope = ["student_attendance".to_owned()];
        let filter = EmissionFilter { scope: Some(&scope), ..EmissionFilter::default() };
        assert_eq!(ids(db.emissions(&filter).await.unwrap()), ["e1"]);
        let filter = EmissionFilter { since: Some(101), limit: Some(1), ..EmissionFilter::default() };
        assert_eq!(ids(db.emissions(&filter).await.unwrap()), ["e2"]);
        let filter = EmissionFilter { upload_id: Some("u0"), ..EmissionFilter::default() };
        let archived = db.emissions(&filter).await.unwrap();
        assert_eq!(archived[0].archived_key.as_deref(), Some("archive/e0.zip"));
        assert_eq!(archived[0].bytes, 5_000_000_000, "sizes past 4 GiB survive");
        assert_eq!(db.emission("e0").await.unwrap().as_ref(), archived.first());
        assert_eq!(db.emission("e9").await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn postgres_locks_exclude_other_sessions_until_dropped_and_migrations_run_once() {
    let pg = cqube_testkit::PgDatabase::create("cqe_state");
    let dir = tempfile::tempdir().unwrap();
    // Replicas starting at once: every one migrates or waits, none fails.
    let url = url(&pg);
    let opened = futures_util::future::join_all((0..4).map(|_| Database::open(Some(&url), dir.path()))).await;
    let stores: Vec<Database> = opened.into_iter().map(Result::unwrap).collect();
    let (a, b) = (&stores[0], &stores[1]);
    let held = a.lock("sweeper", false).await.unwrap();
    assert!(held.is_some());
    assert!(b.lock("sweeper", false).await.unwrap().is_none(), "another replica holds it");
    assert!(b.lock("other", false).await.unwrap().is_some(), "locks are per name");
    drop(held);
    // The unlock runs on a spawned task: wait for it rather than for a fixed time.
    let mut again = None;
    for _ in 0..100 {
        again = b.lock("sweeper", false).await.unwrap();
        if again.is_some() {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(again.is_some(), "released on drop");
    assert!(a.describe().starts_with("postgresql://postgres@127.0.0.1:5432/cqe_state_"));
    drop((again, stores));
}

#[tokio::test]
async fn postgres_connects_over_tls_only_when_the_url_requires_it() {
    let pg = cqube_testkit::PgDatabase::create("cqe_tls");
    let plain = postgres::Postgres::connect(&url(&pg)).await.unwrap();
    assert!(!plain.encrypted().await, "the default (prefer) stays plain, as the database sources do");
    // The local server runs on a self-signed certificate: `require` encrypts without checking it, as libpq does.
    let tls = DatabaseUrl::parse(&format!("{}?sslmode=require", pg.url())).unwrap();
    assert!(postgres::Postgres::connect(&tls).await.unwrap().encrypted().await);
}

#[test]
fn database_urls_never_show_their_password() {
    for (url, shown) in [
        ("postgresql://cqube:s3cret@db:5432/emit", "postgresql://cqube:***@db:5432/emit"),
        ("postgres://cqube@db/emit?sslmode=disable", "postgres://cqube@db/emit?sslmode=disable"),
        ("postgresql://db/emit?user=cqube&password=s3cret", "postgresql://db/emit?user=cqube&password=***"),
        ("postgresql://db/emit?password=s3cret", "postgresql://db/emit?password=***"),
    ] {
        let parsed = DatabaseUrl::parse(url).unwrap();
        assert_eq!(parsed.redacted(), shown);
        assert_eq!(format!("{parsed:?}"), shown);
    }
    assert!(DatabaseUrl::parse("mysql://root@db/emit").is_err());
}

#[tokio::test]
async fn copy_state_moves_sqlite_into_an_empty_postgresql_and_refuses_a_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Database::open(None, dir.path()).await.unwrap();
    sqlite.insert_token(&token("old", "gujarat", 100)).await.unwrap();
    sqlite.revoke_token("gujarat", 150).await.unwrap();
    sqlite.insert_token(&token("new", "gujarat", 200)).await.unwrap();
    sqlite.touch_token("new", 250).await.unwrap();
    sqlite.upsert_user("district", "$argon2id$hash", Some(&["school_master".to_owned()]), 5).await.unwrap();
    sqlite.insert_upload(&upload("open", "open", 9999)).await.unwrap();
    sqlite.insert_upload(&upload("completing", "open", 9999)).await.unwrap();
    sqlite.begin_completion("completing", "{\"kept\":true}", 60).await.unwrap();
    sqlite.insert_upload(&upload("done", "open", 9999)).await.unwrap();
    sqlite.insert_emission(&emission("e1", "done", "school_master", 70)).await.unwrap();
    sqlite.insert_emission(&emission("e2", "older", "student_attendance", 65)).await.unwrap();

    let pg = cqube_testkit::PgDatabase::create("cqe_copy");
    let postgres = Database::open(Some(&url(&pg)), dir.path()).await.unwrap();
    let copied = copy_state(&sqlite, &postgres).await.unwrap();
    assert_eq!(copied, Copied { tokens: 2, users: 1, uploads: 3, emissions: 2 });
    assert_eq!(postgres.tokens().await.unwrap(), sqlite.tokens().await.unwrap());
    assert_eq!(postgres.users().await.unwrap(), sqlite.users().await.unwrap());
    assert_eq!(postgres.uploads(None, None, 10).await.unwrap(), sqlite.uploads(None, None, 10).await.unwrap());
    assert_eq!(postgres.completion_request("completing").await.unwrap().as_deref(), Some("{\"kept\":true}"));
    let all = EmissionFilter::default();
    assert_eq!(postgres.emissions(&all).await.unwrap(), sqlite.emissions(&all).await.unwrap());

    let again = copy_state(&sqlite, &postgres).await.unwrap_err();
    assert!(again.to_string().contains("copy into an empty database"), "{again}");
}
