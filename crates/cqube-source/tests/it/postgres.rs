use std::io::Read;

use cqube_source::{Backend, Error, Watermark};

use crate::{TempDb, dead_url, read_all};

const TRICKY: &str = r#"
CREATE TABLE tricky (id int, t text, d date, ts timestamp(3), tstz timestamptz, n numeric(12,3), b boolean);
INSERT INTO tricky VALUES
 (1, NULL, NULL, NULL, NULL, NULL, NULL),
 (2, '', '2024-02-29', '2024-02-29 23:59:59.123', '2024-02-29 20:00:00+00', 12.5, true),
 (3, 'a|b "q" c', '0001-01-01', '1999-12-31 00:00:00', '2024-03-01 01:30:00+05:30', -0.001, false),
 (4, E'two\nlines\r\nthree', '9999-12-31', NULL, '2024-06-30 23:59:59.999999-07', 1234567.891, NULL),
 (5, 'नमस्ते, दुनिया', NULL, NULL, NULL, 0, true),
 (6, 'NA', NULL, NULL, NULL, NULL, NULL),
 (7, 'back\slash', NULL, NULL, NULL, NULL, NULL);
"#;

#[test]
fn tricky_types_come_out_as_documented() {
    let db = TempDb::new(Backend::Postgres);
    db.sql(TRICKY);
    let (csv, watermark) = read_all(&db.request("select * from tricky order by id;")).unwrap();
    // NULL is an empty unquoted field, '' a quoted empty string; timestamptz in UTC with +00 whatever the input
    // offset; numeric with its scale; booleans t/f; text quoted only for the delimiter, quotes and line breaks.
    let expected = "id,t,d,ts,tstz,n,b\n\
        1,,,,,,\n\
        2,\"\",2024-02-29,2024-02-29 23:59:59.123,2024-02-29 20:00:00+00,12.500,t\n\
        3,\"a|b \"\"q\"\" c\",0001-01-01,1999-12-31 00:00:00,2024-02-29 20:00:00+00,-0.001,f\n\
        4,\"two\nlines\r\nthree\",9999-12-31,,2024-07-01 06:59:59.999999+00,1234567.891,\n\
        5,\"नमस्ते, दुनिया\",,,,0.000,t\n\
        6,NA,,,,,\n\
        7,back\\slash,,,,,\n";
    assert_eq!(csv, expected);
    assert_eq!(watermark, None);
}

#[test]
fn watermark_reads_rows_past_the_last_and_reports_the_greatest() {
    let db = TempDb::new(Backend::Postgres);
    db.sql(
        "CREATE TABLE att (id int, updated_at timestamptz);
         INSERT INTO att VALUES (3, '2024-01-03 10:00+05:30'), (1, '2024-01-01 10:00+05:30'),
                                (5, '2024-01-05 10:00+05:30'), (2, '2024-01-02 10:00+05:30'), (4, '2024-01-04 10:00+05:30')",
    );
    let mut request = db.request("select id, updated_at from att");
    request.watermark = Some(Watermark { column: "updated_at".into(), after: None });
    let (csv, max) = read_all(&request).unwrap();
    assert_eq!(csv.lines().skip(1).map(|l| &l[..1]).collect::<String>(), "12345", "ordered by the watermark");
    assert_eq!(max.as_deref(), Some("2024-01-05 04:30:00+00"));

    request.watermark = Some(Watermark { column: "updated_at".into(), after: Some("2024-01-03 04:30:00+00".into()) });
    let (csv, max) = read_all(&request).unwrap();
    assert_eq!(csv, "id,updated_at\n4,2024-01-04 04:30:00+00\n5,2024-01-05 04:30:00+00\n");
    assert_eq!(max.as_deref(), Some("2024-01-05 04:30:00+00"));

    request.watermark = Some(Watermark { column: "updated_at".into(), after: max });
    let (csv, max) = read_all(&request).unwrap();
    assert_eq!((csv.as_str(), max), ("id,updated_at\n", None), "nothing new: header only, watermark unchanged");

    // A quote in the stored value cannot break out of the literal.
    request.watermark = Some(Watermark { column: "id".into(), after: Some("1' OR '1'='1".into()) });
    let err = read_all(&request).unwrap_err();
    assert!(err.contains("invalid input syntax for type integer"), "{err}");
}

#[test]
fn query_errors_name_the_source_and_the_server_message() {
    let db = TempDb::new(Backend::Postgres);
    let err = cqube_source::open(&db.request("selec 1")).unwrap_err();
    assert!(matches!(err, Error::Query { .. }) && !err.is_retryable(), "{err:?}");
    assert!(err.to_string().starts_with("source tricky_test: postgres query failed: ERROR: syntax error"), "{err}");

    let err = cqube_source::open(&db.request("select * from no_such_table")).unwrap_err().to_string();
    assert!(err.contains(r#"ERROR: relation "no_such_table" does not exist"#), "{err}");
    assert!(err.contains("query: select * from no_such_table"), "{err}");
}

#[test]
fn connection_errors_hide_the_password() {
    let db = TempDb::new(Backend::Postgres);
    let mut request = db.request("select 1");
    request.url = dead_url(Backend::Postgres);
    let err = cqube_source::open(&request).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Connect { .. }) && err.is_retryable(), "{err:?}");
    assert!(
        text.starts_with("source tricky_test: cannot connect to postgres at postgresql://postgres:***@127.0.0.1:1/x")
    );
    assert!(!text.contains("pw-not-shown") && !format!("{err:?}").contains("pw-not-shown"), "{text}");

    request.url = cqube_source::ConnectionUrl::new("postgresql://postgres@127.0.0.1:5432/cqube_no_such_database");
    let err = cqube_source::open(&request).unwrap_err();
    assert!(!err.is_retryable() && err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn an_error_in_the_middle_of_the_stream_fails_the_read() {
    let db = TempDb::new(Backend::Postgres);
    let query = "select case when g < 50000 then g else 1 / (g - g) end as x from generate_series(1, 100000) g";
    let opened = cqube_source::open(&db.request(query)).unwrap();
    let mut text = String::new();
    let err = { opened.reader }.read_to_string(&mut text).unwrap_err();
    assert!(
        err.to_string().starts_with("source tricky_test: reading rows from postgres: ERROR: division by zero"),
        "{err}"
    );
    assert!(text.starts_with("x\n1\n2\n"), "rows before the failure arrived");
}

#[test]
fn dropping_the_reader_early_ends_the_query() {
    let db = TempDb::new(Backend::Postgres);
    let mut request = db.request("select g, repeat('x', 100) from generate_series(1, 50000000) g");
    request.buffer_bytes = 64 << 10;
    let opened = cqube_source::open(&request).unwrap();
    let mut head = vec![0; 1 << 20];
    let mut reader = opened.reader;
    reader.read_exact(&mut head).unwrap();
    assert!(head.starts_with(b"g,repeat\n1,xxx"));
    drop(reader);
    // Dropping the reader closes the connection; the server ends that backend when its next write fails, which
    // on a loaded machine can take a moment, so look for up to 20 s.
    let backends = || {
        let out = std::process::Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-tAX", "-c"])
            .arg(format!("select count(*) from pg_stat_activity where datname = '{}'", db.name))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let mut left = backends();
    for _ in 0..200 {
        if left == "0" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        left = backends();
    }
    assert_eq!(left, "0", "the query's backend ended with the reader");
}

#[test]
fn sslmode_require_encrypts_the_session_and_plain_urls_stay_plain() {
    let db = TempDb::new(Backend::Postgres);
    let query = "select ssl from pg_stat_ssl where pid = pg_backend_pid()";
    let mut request = db.request(query);
    request.url =
        cqube_source::ConnectionUrl::new(&format!("postgresql://postgres@127.0.0.1:5432/{}?sslmode=require", db.name));
    let (csv, _) = read_all(&request).unwrap();
    assert_eq!(csv, "ssl\nt\n", "encrypted (the local PostgreSQL has ssl = on with its self-signed certificate)");
    let (csv, _) = read_all(&db.request(query)).unwrap();
    assert_eq!(csv, "ssl\nf\n", "no sslmode: plain, as before");
}
