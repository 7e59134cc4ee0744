//! Composing the SQL a source runs: a whole table, and the watermark bounds around a query.

use crate::Backend;

/// An incremental source: the column that grows with every change, and the value the last emission reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watermark {
    /// A column of the query's result (e.g. `updated_at`, or an increasing id).
    pub column: String,
    /// Only rows with a greater value are read; `None` reads all (a first run, or `--full`).
    pub after: Option<String>,
}

/// `SELECT * FROM <table>`, the name quoted for `backend` (`schema.table` is split on the dot).
pub fn table_query(backend: Backend, table: &str) -> String {
    let quoted: Vec<String> = table.split('.').map(|part| quote_ident(backend, part)).collect();
    format!("SELECT * FROM {}", quoted.join("."))
}

/// A quoted identifier: `"name"` for PostgreSQL, `` `name` `` for MySQL, with the quote character doubled.
pub(crate) fn quote_ident(backend: Backend, name: &str) -> String {
    let q = match backend {
        Backend::Postgres => '"',
        Backend::Mysql => '`',
    };
    let mut out = String::with_capacity(name.len() + 2);
    out.push(q);
    for c in name.chars() {
        if c == q {
            out.push(q);
        }
        out.push(c);
    }
    out.push(q);
    out
}

/// The query as a subquery: without the trailing `;` and whitespace an interactive query often has.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn subquery(query: &str) -> &str {
    query.trim().trim_end_matches(';').trim_end()
}

/// The greatest watermark past `after` (given as an SQL expression), as text.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn max_query(backend: Backend, query: &str, column: &str, after: Option<&str>) -> String {
    let col = format!("cqube_q.{}", quote_ident(backend, column));
    let text = match backend {
        Backend::Postgres => "text",
        Backend::Mysql => "CHAR",
    };
    let filter = after.map(|a| format!(" WHERE {col} > {a}")).unwrap_or_default();
    format!("SELECT CAST(MAX({col}) AS {text}) FROM ({}) AS cqube_q{filter}", subquery(query))
}

/// The rows past `after` up to `max` (SQL expressions; either may be absent), ordered by the watermark so a
/// reader that stops early has seen a prefix.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn rows_query(
    backend: Backend,
    query: &str,
    column: &str,
    after: Option<&str>,
    max: Option<&str>,
) -> String {
    let col = format!("cqube_q.{}", quote_ident(backend, column));
    let conditions: Vec<String> =
        after.map(|a| format!("{col} > {a}")).into_iter().chain(max.map(|m| format!("{col} <= {m}"))).collect();
    let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    format!("SELECT * FROM ({}) AS cqube_q{filter} ORDER BY {col}", subquery(query))
}

/// A PostgreSQL string literal (the session sets `standard_conforming_strings = on`, so only `'` needs doubling);
/// `None` for a value with a NUL byte, which no literal can hold.
#[cfg(feature = "postgres")]
pub(crate) fn pg_literal(value: &str) -> Option<String> {
    (!value.contains('\0')).then(|| format!("'{}'", value.replace('\'', "''")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_quoted_per_backend() {
        assert_eq!(
            table_query(Backend::Postgres, "public.student_attendance"),
            r#"SELECT * FROM "public"."student_attendance""#
        );
        assert_eq!(table_query(Backend::Mysql, "odd`name"), "SELECT * FROM `odd``name`");
        assert_eq!(quote_ident(Backend::Postgres, r#"a"b"#), r#""a""b""#);
    }

    #[test]
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    fn watermark_bounds_wrap_the_query() {
        let q = "select * from att where month = 6 ;\n";
        assert_eq!(
            rows_query(Backend::Postgres, q, "updated_at", Some("'2024-01-01'"), Some("'2024-02-01'")),
            r#"SELECT * FROM (select * from att where month = 6) AS cqube_q WHERE cqube_q."updated_at" > '2024-01-01' AND cqube_q."updated_at" <= '2024-02-01' ORDER BY cqube_q."updated_at""#
        );
        assert_eq!(
            rows_query(Backend::Mysql, "select 1", "id", None, None),
            "SELECT * FROM (select 1) AS cqube_q ORDER BY cqube_q.`id`"
        );
        assert_eq!(
            max_query(Backend::Mysql, "select 1", "id", Some("@cqube_after")),
            "SELECT CAST(MAX(cqube_q.`id`) AS CHAR) FROM (select 1) AS cqube_q WHERE cqube_q.`id` > @cqube_after"
        );
    }

    #[test]
    #[cfg(feature = "postgres")]
    fn literals_double_quotes_and_refuse_nul() {
        assert_eq!(pg_literal("it's").as_deref(), Some("'it''s'"));
        assert_eq!(pg_literal("a\\b").as_deref(), Some("'a\\b'"));
        assert_eq!(pg_literal("a\0"), None);
    }
}
