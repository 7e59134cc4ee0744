//! PostgreSQL: the server writes the CSV (`COPY (query) TO STDOUT (FORMAT csv, HEADER)`); we only move bytes.

use std::fmt::Write as _;

use futures_util::StreamExt;
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, NoTls, Socket};

use crate::query::{max_query, pg_literal, rows_query, subquery};
use crate::stream::{Ready, Sink};
use crate::{Backend, Error, Request};

/// Session settings that fix the text form of values, whatever the server's or role's defaults: ISO dates,
/// `timestamptz` in UTC with an explicit `+00` (the engine converts it to the configured offset), UTF-8, and
/// standard strings so the watermark literal needs only `'` doubled. One snapshot for the watermark's maximum and
/// the rows.
const SESSION: &str = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET client_encoding = 'UTF8'; \
                       SET standard_conforming_strings = on; SET extra_float_digits = 1; \
                       BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

pub(crate) async fn run(request: &Request, ready: Ready, mut sink: Sink) {
    let client = match connect(request).await {
        Ok(client) => client,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let query_error = |e: &tokio_postgres::Error, query: &str| Error::Query {
        name: request.name.clone(),
        backend: Backend::Postgres,
        message: describe(request, e),
        query: query.to_owned(),
    };
    if let Err(e) = client.batch_execute(SESSION).await {
        let _ = ready.send(Err(query_error(&e, SESSION)));
        return;
    }
    let (sql, watermark) = match &request.watermark {
        None => (subquery(&request.query).to_owned(), None),
        Some(w) => {
            let after = match w.after.as_deref().map(|a| (a, pg_literal(a))) {
                Some((a, None)) => {
                    let _ = ready.send(Err(Error::BadWatermark { name: request.name.clone(), value: a.to_owned() }));
                    return;
                }
                Some((_, literal)) => literal,
                None => None,
            };
            let max_sql = max_query(Backend::Postgres, &request.query, &w.column, after.as_deref());
            let max: Option<String> = match client.query_one(&max_sql, &[]).await {
                Ok(row) => row.get(0),
                Err(e) => {
                    let _ = ready.send(Err(query_error(&e, &max_sql)));
                    return;
                }
            };
            // `max` came from the server as text of the column's type, so it reads back as the same value.
            let max_literal = max.as_deref().and_then(pg_literal);
            let sql =
                rows_query(Backend::Postgres, &request.query, &w.column, after.as_deref(), max_literal.as_deref());
            (sql, max)
        }
    };
    let copy = format!("COPY ({sql}) TO STDOUT (FORMAT csv, HEADER)");
    let stream = match client.copy_out(&copy).await {
        Ok(stream) => stream,
        Err(e) => {
            let _ = ready.send(Err(query_error(&e, &sql)));
            return;
        }
    };
    if ready.send(Ok(watermark)).is_err() {
        return;
    }
    let mut stream = std::pin::pin!(stream);
    while let Some(data) = stream.next().await {
        match data {
            Ok(bytes) => {
                sink.buf().extend_from_slice(&bytes);
                if !sink.flush_if_full().await {
                    return;
                }
            }
            Err(e) => {
                let message = describe(request, &e);
                let retryable = e.as_db_error().is_none();
                sink.fail(Error::Stream { name: request.name.clone(), backend: Backend::Postgres, message, retryable })
                    .await;
                return;
            }
        }
    }
    sink.finish().await;
}

/// Connects as the URL says: TLS when it asks for `sslmode=require`, plain otherwise (also for the default
/// `prefer`, so a server's self-signed certificate never breaks a connection that did not ask for TLS).
async fn connect(request: &Request) -> Result<Client, Error> {
    let connect_error = |e: &tokio_postgres::Error| Error::Connect {
        name: request.name.clone(),
        backend: Backend::Postgres,
        url: request.url.masked(),
        message: describe(request, e),
        retryable: e.as_db_error().is_none(),
    };
    let config: tokio_postgres::Config = request.url.expose().parse().map_err(|e| connect_error(&e))?;
    if config.get_ssl_mode() == SslMode::Require {
        spawn_connection(request, &config, cqube_pgtls::require()).await
    } else {
        spawn_connection(request, &config, NoTls).await
    }
    .map_err(|e| connect_error(&e))
}

async fn spawn_connection<T>(
    request: &Request,
    config: &tokio_postgres::Config,
    tls: T,
) -> Result<Client, tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) = config.connect(tls).await?;
    let name = request.name.clone();
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(source = %name, error = %e, "postgres connection ended");
        }
    });
    Ok(client)
}

/// The server's own message (with its detail and hint) for database errors, else the error and its causes, with
/// any password removed.
fn describe(request: &Request, e: &tokio_postgres::Error) -> String {
    let text = if let Some(db) = e.as_db_error() {
        let mut text = format!("{}: {}", db.severity(), db.message());
        if let Some(detail) = db.detail() {
            let _ = write!(text, " ({detail})");
        }
        if let Some(hint) = db.hint() {
            let _ = write!(text, "\n\nhint: {hint}");
        }
        text
    } else {
        let mut text = e.to_string();
        let mut cause = std::error::Error::source(e);
        while let Some(c) = cause {
            let _ = write!(text, ": {c}");
            cause = c.source();
        }
        text
    };
    request.url.redact(&text)
}
