//! A connection URL that never shows its password.

use std::fmt;

/// A database connection URL (`postgresql://user:pass@host:5432/db`, `mysql://user:pass@host:3306/db`, or
/// libpq's `host=… password=…` form). `Debug` and `Display` print it with the password as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionUrl(String);

impl ConnectionUrl {
    /// Wraps a URL; surrounding whitespace (a secret file's trailing newline) is dropped.
    pub fn new(url: &str) -> ConnectionUrl {
        ConnectionUrl(url.trim().to_owned())
    }

    /// The URL itself, for the driver only: never log or print it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with every password replaced by `***`.
    pub fn masked(&self) -> String {
        let mut out = self.0.clone();
        for (start, end) in secret_spans(&self.0).into_iter().rev() {
            out.replace_range(start..end, "***");
        }
        out
    }

    /// `message` with any occurrence of this URL's passwords replaced by `***` (driver errors may echo them).
    pub fn redact(&self, message: &str) -> String {
        secret_spans(&self.0)
            .into_iter()
            .map(|(s, e)| &self.0[s..e])
            .filter(|p| !p.is_empty())
            .fold(message.to_owned(), |msg, password| msg.replace(password, "***"))
    }
}

/// Byte ranges of passwords: the userinfo's `:password@`, and `password=` parameters (URL query or libpq
/// key-value form), in order.
fn secret_spans(url: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    if let Some(scheme_end) = url.find("://") {
        let rest_start = scheme_end + 3;
        let rest = &url[rest_start..];
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        // The last '@' of the authority ends the userinfo: a password may itself hold an (unencoded) '@'.
        if let Some(at) = rest[..authority_end].rfind('@')
            && let Some(colon) = rest[..at].find(':')
        {
            spans.push((rest_start + colon + 1, rest_start + at));
        }
    }
    let mut from = 0;
    while let Some(i) = url[from..].find("password=") {
        let start = from + i + "password=".len();
        let preceded_ok = from + i == 0 || matches!(url.as_bytes()[from + i - 1], b'?' | b'&' | b' ' | b'\t');
        let end = url[start..].find(['&', ' ', '\t', '#']).map_or(url.len(), |e| start + e);
        if preceded_ok && !spans.iter().any(|&(s, e)| start < e && s < end) {
            spans.push((start, end));
        }
        from = end.max(start);
    }
    spans.sort_unstable();
    spans
}

impl fmt::Debug for ConnectionUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ConnectionUrl").field(&self.masked()).finish()
    }
}

impl fmt::Display for ConnectionUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_password_is_masked() {
        let url = ConnectionUrl::new("postgresql://emit:s3cr@t@db.example:5432/state?sslmode=disable\n");
        assert_eq!(url.masked(), "postgresql://emit:***@db.example:5432/state?sslmode=disable");
        assert_eq!(format!("{url}"), url.masked());
        assert_eq!(format!("{url:?}"), format!("ConnectionUrl({:?})", url.masked()));
        assert!(!format!("{url:?}").contains("s3cr"));
    }

    #[test]
    fn urls_without_password_are_unchanged() {
        for raw in ["mysql://root@127.0.0.1:3306/x", "postgresql://127.0.0.1/x", "mysql://root:@h/x"] {
            let expected = raw.replace("root:@", "root:***@");
            assert_eq!(ConnectionUrl::new(raw).masked(), expected);
        }
    }

    #[test]
    fn password_parameters_are_masked() {
        let url = ConnectionUrl::new("postgresql://h/db?user=a&password=hunter2&sslmode=require");
        assert_eq!(url.masked(), "postgresql://h/db?user=a&password=***&sslmode=require");
        let kv = ConnectionUrl::new("host=h user=a password=hunter2 dbname=x");
        assert_eq!(kv.masked(), "host=h user=a password=*** dbname=x");
        assert_eq!(kv.redact("auth failed for hunter2 at h"), "auth failed for *** at h");
    }

    #[test]
    fn redact_leaves_messages_without_secrets_alone() {
        let url = ConnectionUrl::new("mysql://root@h/x");
        assert_eq!(url.redact("Access denied for user 'root'"), "Access denied for user 'root'");
    }
}
