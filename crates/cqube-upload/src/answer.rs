//! Reading a refusal: from our API, a gateway in front of it, or an S3 store. Shared by the API client and the
//! presigned-POST target, which talk to the same servers.

use cqube_protocol::ErrorBody;

use crate::Error;

/// The path of the API's base URL (`/data`), for messages: never the host's query or a token.
pub(crate) fn url_path(base: &str) -> String {
    reqwest::Url::parse(base).map_or_else(|_| String::new(), |u| u.path().trim_end_matches('/').to_owned())
}

/// An API answer that is not a 2xx. Our server's JSON error is quoted; anything else (a gateway's HTML page) is
/// never shown: the message names the status and path and says what to check.
pub(crate) fn refusal(what: &str, path: &str, status: u16, body: &[u8]) -> Error {
    if let Ok(b) = serde_json::from_slice::<ErrorBody>(body) {
        return Error::Api { what: what.to_owned(), status, code: b.code, message: b.message };
    }
    let check = match status {
        401 => {
            "check the token: a stock cQube's gateway wants the JWT its admin console (or POST /data/auth on \
                older releases) issued, sent as given"
        }
        403 => "check that the token may use this endpoint, and the gateway's route for it",
        404 => "check that the API URL ends with /data and that the gateway routes this path to the emission API",
        _ => "check the API URL and the gateway in front of it",
    };
    Error::Api {
        what: what.to_owned(),
        status,
        code: "http".into(),
        message: format!("{path} answered with a page that is not the emission API's (not shown)\n\nhint: {check}"),
    }
}

/// The `<Code>` of an S3 error document.
pub(crate) fn s3_code(body: &str) -> Option<String> {
    let start = body.find("<Code>")? + "<Code>".len();
    let end = body[start..].find("</Code>")? + start;
    Some(body[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_codes_are_read_from_error_documents() {
        assert_eq!(s3_code("<Error><Code>SlowDown</Code><Message>x</Message></Error>").as_deref(), Some("SlowDown"));
        assert_eq!(s3_code("oops"), None);
    }

    #[test]
    fn a_gateway_page_is_never_quoted_and_the_message_says_what_to_check() {
        let html = b"<html><body><h1>401 Authorization Required</h1><hr>openresty</body></html>";
        let text = refusal("asking for a presigned POST", "/data/upload-url", 401, html).to_string();
        assert!(!text.contains("<html") && !text.contains("openresty"), "{text}");
        assert!(text.contains("HTTP 401") && text.contains("/data/upload-url") && text.contains("token"), "{text}");
        let text = refusal("x", "/upload-url", 404, b"<html>not found</html>").to_string();
        assert!(text.contains("/data"), "{text}");
        let json = br#"{"code": "forbidden", "message": "outside this token's scope"}"#;
        assert!(refusal("x", "/p", 403, json).to_string().contains("forbidden: outside this token's scope"));
    }
}
