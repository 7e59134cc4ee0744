//! MySQL / MariaDB: rows read one at a time (`query_iter`, the text protocol) and encoded to CSV here.

use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{Column, Conn, Opts, Value};

use crate::query::{max_query, rows_query, subquery};
use crate::stream::{Ready, Sink};
use crate::{Backend, Error, Request};

/// How a column's text becomes a CSV field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `0000-00-00…`, MySQL's zero date, is null: no calendar has it.
    Temporal,
    /// `BIT(n)` arrives as big-endian bytes; written as its number.
    Bit,
    Other,
}

fn kind(column: &Column) -> Kind {
    match column.column_type() {
        ColumnType::MYSQL_TYPE_DATE
        | ColumnType::MYSQL_TYPE_NEWDATE
        | ColumnType::MYSQL_TYPE_DATETIME
        | ColumnType::MYSQL_TYPE_DATETIME2
        | ColumnType::MYSQL_TYPE_TIMESTAMP
        | ColumnType::MYSQL_TYPE_TIMESTAMP2 => Kind::Temporal,
        ColumnType::MYSQL_TYPE_BIT => Kind::Bit,
        _ => Kind::Other,
    }
}

/// `+05:30` for 330 minutes east of UTC.
fn zone(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.unsigned_abs();
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

pub(crate) async fn run(request: &Request, ready: Ready, mut sink: Sink) {
    let connect_error = |message: String, retryable: bool| Error::Connect {
        name: request.name.clone(),
        backend: Backend::Mysql,
        url: request.url.masked(),
        message,
        retryable,
    };
    let opts = match Opts::from_url(request.url.expose()) {
        Ok(opts) => opts,
        Err(e) => {
            // The parser's message may quote the URL: keep only what it says is wrong, without secrets.
            let _ = ready.send(Err(Error::BadUrl {
                name: request.name.clone(),
                url: request.url.masked(),
                reason: request.url.redact(&e.to_string()),
            }));
            return;
        }
    };
    let mut conn = match Conn::new(opts).await {
        Ok(conn) => conn,
        Err(e) => {
            let _ = ready.send(Err(connect_error(request.url.redact(&e.to_string()), retryable(&e))));
            return;
        }
    };
    match stream(request, &ready, &mut sink, &mut conn).await {
        Ok(true) => sink.finish().await,
        Ok(false) => {}
        Err(e) => sink.fail(e).await,
    }
    // A reader that stopped early leaves rows unread; closing the socket is quicker than draining them.
    drop(conn);
}

/// Runs the query and streams its rows: `Ok(false)` when the reader went away, `Err` for a failure after the
/// query was accepted (failures before that go to `ready`).
async fn stream(request: &Request, ready: &Ready, sink: &mut Sink, conn: &mut Conn) -> Result<bool, Error> {
    let query_error = |e: &mysql_async::Error, query: &str| Error::Query {
        name: request.name.clone(),
        backend: Backend::Mysql,
        message: request.url.redact(&e.to_string()),
        query: query.to_owned(),
    };
    // Fixed text forms whatever the server defaults: utf8mb4, TIMESTAMP in the configured zone (DATETIME has none),
    // and one consistent snapshot for the watermark's maximum and the rows.
    let session = [
        "SET NAMES utf8mb4".to_owned(),
        format!("SET time_zone = '{}'", zone(request.utc_offset_minutes)),
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ".to_owned(),
        "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY".to_owned(),
    ];
    for statement in &session {
        if let Err(e) = conn.query_drop(statement).await {
            let _ = ready.send(Err(query_error(&e, statement)));
            return Ok(false);
        }
    }
    let (sql, watermark) = match &request.watermark {
        None => (subquery(&request.query).to_owned(), None),
        Some(w) => {
            // Bound values travel as parameters into session variables: no quoting rules (which depend on the
            // server's sql_mode) to get right.
            let after = w.after.as_ref().map(|_| "@cqube_after");
            let max_sql = max_query(Backend::Mysql, &request.query, &w.column, after);
            let max = match conn.exec_drop("SET @cqube_after = ?", (w.after.clone(),)).await {
                Ok(()) => conn.exec_first::<Option<String>, _, _>(&max_sql, ()).await.map(Option::flatten),
                Err(e) => Err(e),
            };
            let max = match max {
                Ok(max) => max,
                Err(e) => {
                    let _ = ready.send(Err(query_error(&e, &max_sql)));
                    return Ok(false);
                }
            };
            if let Err(e) = conn.exec_drop("SET @cqube_max = ?", (max.clone(),)).await {
                let _ = ready.send(Err(query_error(&e, "SET @cqube_max = ?")));
                return Ok(false);
            }
            let bound = max.as_ref().map(|_| "@cqube_max");
            (rows_query(Backend::Mysql, &request.query, &w.column, after, bound), max)
        }
    };
    let mut result = match conn.query_iter(sql.as_str()).await {
        Ok(result) => result,
        Err(e) => {
            let _ = ready.send(Err(query_error(&e, &sql)));
            return Ok(false);
        }
    };
    let columns: Vec<(String, Kind)> =
        result.columns_ref().iter().map(|c| (c.name_str().into_owned(), kind(c))).collect();
    if ready.send(Ok(watermark)).is_err() {
        return Ok(false);
    }
    for (i, (name, _)) in columns.iter().enumerate() {
        write_field(sink.buf(), i, Some(name.as_bytes()));
    }
    sink.buf().extend_from_slice(b"\n");
    let mut row_number = 0u64;
    loop {
        let row = match result.next().await {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => {
                return Err(Error::Stream {
                    name: request.name.clone(),
                    backend: Backend::Mysql,
                    message: request.url.redact(&e.to_string()),
                    retryable: retryable(&e),
                });
            }
        };
        row_number += 1;
        for (i, (name, kind)) in columns.iter().enumerate() {
            match row.as_ref(i) {
                None | Some(Value::NULL) => write_field(sink.buf(), i, None),
                Some(Value::Bytes(bytes)) => match kind {
                    Kind::Temporal if bytes.starts_with(b"0000-00-00") => write_field(sink.buf(), i, None),
                    Kind::Bit => {
                        let number = bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
                        write_field(sink.buf(), i, Some(number.to_string().as_bytes()));
                    }
                    _ if std::str::from_utf8(bytes).is_err() => {
                        return Err(Error::NotUtf8 {
                            name: request.name.clone(),
                            column: name.clone(),
                            row: row_number,
                        });
                    }
                    _ => write_field(sink.buf(), i, Some(bytes)),
                },
                // The text protocol sends only NULL and bytes; a typed value is written in its SQL form.
                Some(other) => write_field(sink.buf(), i, Some(other.as_sql(true).trim_matches('\'').as_bytes())),
            }
        }
        sink.buf().extend_from_slice(b"\n");
        if !sink.flush_if_full().await {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Lost connections and timeouts may pass on a retry; the server's refusals (bad SQL, access denied) will not.
fn retryable(e: &mysql_async::Error) -> bool {
    matches!(e, mysql_async::Error::Io(_))
}

/// Appends field `index` of a CSV record: nothing for null, `""` for an empty string, quoted (with `"` doubled)
/// when it holds a comma, quote or line break.
fn write_field(out: &mut bytes::BytesMut, index: usize, value: Option<&[u8]>) {
    if index > 0 {
        out.extend_from_slice(b",");
    }
    let Some(value) = value else { return };
    let needs_quotes = value.is_empty()
        || memchr::memchr3(b',', b'"', b'\n', value).is_some()
        || memchr::memchr(b'\r', value).is_some();
    if !needs_quotes {
        out.extend_from_slice(value);
        return;
    }
    out.extend_from_slice(b"\"");
    for part in value.split_inclusive(|&b| b == b'"') {
        out.extend_from_slice(part);
        if part.ends_with(b"\"") {
            out.extend_from_slice(b"\"");
        }
    }
    out.extend_from_slice(b"\"");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[Option<&str>]) -> String {
        let mut out = bytes::BytesMut::new();
        for (i, f) in fields.iter().enumerate() {
            write_field(&mut out, i, f.map(str::as_bytes));
        }
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(record(&[Some("a"), None, Some(""), Some("x|y")]), r#"a,,"",x|y"#);
        assert_eq!(
            record(&[Some("say \"hi\""), Some("1,5"), Some("two\nlines"), Some("cr\r")]),
            "\"say \"\"hi\"\"\",\"1,5\",\"two\nlines\",\"cr\r\""
        );
        assert_eq!(record(&[Some("\"")]), "\"\"\"\"");
    }

    #[test]
    fn zones_are_written_as_offsets() {
        assert_eq!(zone(330), "+05:30");
        assert_eq!(zone(0), "+00:00");
        assert_eq!(zone(-210), "-03:30");
    }
}
