use std::io::Read;

use cqube_source::{Backend, ConnectionUrl, Error, Watermark};

use crate::{TempDb, dead_url, read_all};

#[test]
fn tricky_types_come_out_as_documented() {
    let db = TempDb::new(Backend::Mysql);
    db.sql(
        r#"SET SESSION sql_mode = ''; SET time_zone = '+00:00';
        CREATE TABLE tricky (id INT, t VARCHAR(100) CHARACTER SET utf8mb4, d DATE, dt DATETIME(3), ts TIMESTAMP NULL,
                             n DECIMAL(12,3), b TINYINT(1), bits BIT(3), bin VARBINARY(10)) CHARACTER SET utf8mb4;
        INSERT INTO tricky VALUES
         (1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
         (2, '', '2024-02-29', '2024-02-29 23:59:59.123', '2024-02-29 20:00:00', 12.5, 1, b'101', 'ascii'),
         (3, 'a|b "q" c', '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', -0.001, 0, b'0', ''),
         (4, 'two\nlines\r\nthree', '9999-12-31', NULL, NULL, 1234567.891, NULL, NULL, NULL),
         (5, 'नमस्ते, दुनिया 😀', NULL, NULL, NULL, 0, 1, NULL, NULL),
         (6, 'NA', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
         (7, 'back\\slash', NULL, NULL, NULL, NULL, NULL, NULL, NULL);"#,
    );
    let (csv, watermark) = read_all(&db.request("select * from tricky order by id;")).unwrap();
    // Zero dates are NULL; TIMESTAMP in the session zone (IST by default); DECIMAL with its scale; TINYINT(1) and
    // BIT as numbers; NULL an empty field and '' a quoted empty string, as PostgreSQL writes them.
    let expected = "id,t,d,dt,ts,n,b,bits,bin\n\
        1,,,,,,,,\n\
        2,\"\",2024-02-29,2024-02-29 23:59:59.123,2024-03-01 01:30:00,12.500,1,5,ascii\n\
        3,\"a|b \"\"q\"\" c\",,,,-0.001,0,0,\"\"\n\
        4,\"two\nlines\r\nthree\",9999-12-31,,,1234567.891,,,\n\
        5,\"नमस्ते, दुनिया 😀\",,,,0.000,1,,\n\
        6,NA,,,,,,,\n\
        7,back\\slash,,,,,,,\n";
    assert_eq!(csv, expected);
    assert_eq!(watermark, None);
}

#[test]
fn bytes_that_are_not_utf8_name_the_column_and_row() {
    let db = TempDb::new(Backend::Mysql);
    db.sql("CREATE TABLE b (id INT, payload VARBINARY(10)); INSERT INTO b VALUES (1, 'ok'), (2, X'C328FF')");
    let err = read_all(&db.request("select * from b order by id")).unwrap_err();
    assert!(err.starts_with("source tricky_test: column payload, row 2: value is not UTF-8 text"), "{err}");
    assert!(err.contains("hint: select it as text in the query, e.g. HEX(payload)"), "{err}");
}

#[test]
fn watermark_reads_rows_past_the_last_and_reports_the_greatest() {
    let db = TempDb::new(Backend::Mysql);
    db.sql(
        "CREATE TABLE att (id INT, updated_at DATETIME(6));
         INSERT INTO att VALUES (3, '2024-01-03 10:00'), (1, '2024-01-01 10:00'), (5, '2024-01-05 10:00'),
                                (2, '2024-01-02 10:00'), (4, '2024-01-04 10:00')",
    );
    let mut request = db.request("select id, updated_at from att");
    request.watermark = Some(Watermark { column: "updated_at".into(), after: None });
    let (csv, max) = read_all(&request).unwrap();
    assert_eq!(csv.lines().skip(1).map(|l| &l[..1]).collect::<String>(), "12345", "ordered by the watermark");
    assert_eq!(max.as_deref(), Some("2024-01-05 10:00:00.000000"));

    request.watermark =
        Some(Watermark { column: "updated_at".into(), after: Some("2024-01-03 10:00:00.000000".into()) });
    let (csv, max) = read_all(&request).unwrap();
    assert_eq!(csv, "id,updated_at\n4,2024-01-04 10:00:00.000000\n5,2024-01-05 10:00:00.000000\n");
    assert_eq!(max.as_deref(), Some("2024-01-05 10:00:00.000000"));

    request.watermark = Some(Watermark { column: "updated_at".into(), after: max });
    assert_eq!(read_all(&request).unwrap(), ("id,updated_at\n".to_owned(), None), "nothing new");

    // The stored value travels as a parameter: quotes in it are data, not SQL.
    request.watermark = Some(Watermark { column: "id".into(), after: Some("0' OR '1'='1".into()) });
    let (csv, _) = read_all(&request).unwrap();
    assert_eq!(csv.lines().count(), 6, "compared as the number 0: every row");
}

#[test]
fn query_errors_name_the_source_and_the_server_message() {
    let db = TempDb::new(Backend::Mysql);
    let err = cqube_source::open(&db.request("selec 1")).unwrap_err();
    assert!(matches!(err, Error::Query { .. }) && !err.is_retryable(), "{err:?}");
    assert!(err.to_string().starts_with("source tricky_test: mysql query failed: "), "{err}");
    assert!(err.to_string().contains("You have an error in your SQL syntax"), "{err}");

    let err = cqube_source::open(&db.request("select * from no_such_table")).unwrap_err().to_string();
    assert!(err.contains(&format!("Table '{}.no_such_table' doesn't exist", db.name)), "{err}");
}

#[test]
fn wrong_password_and_dead_server_hide_the_password() {
    let db = TempDb::new(Backend::Mysql);
    let user = format!("u{}", &db.name[db.name.len() - 8..]);
    db.sql(&format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'right-pass'; GRANT ALL ON {}.* TO '{user}'@'%'", db.name));
    let mut request = db.request("select 1");
    request.url = ConnectionUrl::new(&format!("mysql://{user}:wrong-pass@127.0.0.1:3306/{}", db.name));
    let err = cqube_source::open(&request).unwrap_err();
    let text = err.to_string();
    db.sql(&format!("DROP USER '{user}'@'%'"));
    assert!(matches!(err, Error::Connect { .. }) && !err.is_retryable(), "{err:?}");
    assert!(text.contains("Access denied") && text.contains(&format!("mysql://{user}:***@127.0.0.1")), "{text}");
    assert!(!text.contains("wrong-pass") && !format!("{err:?}").contains("wrong-pass"));

    request.url = dead_url(Backend::Mysql);
    let err = cqube_source::open(&request).unwrap_err();
    assert!(matches!(err, Error::Connect { .. }) && err.is_retryable(), "{err:?}");
    assert!(!err.to_string().contains("pw-not-shown"));
}

#[test]
fn dropping_the_reader_early_ends_the_query() {
    let db = TempDb::new(Backend::Mysql);
    let mut request = db.request("select seq, repeat('x', 100) as pad from seq_1_to_50000000");
    request.buffer_bytes = 64 << 10;
    let opened = cqube_source::open(&request).unwrap();
    let mut head = vec![0; 1 << 20];
    let mut reader = opened.reader;
    reader.read_exact(&mut head).unwrap();
    assert!(head.starts_with(b"seq,pad\n1,xxx"));
    drop(reader);
}
