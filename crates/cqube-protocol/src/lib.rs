//! Wire types of the emission API, shared by the server (`cqube-server`) and the emitter.
//!
//! Paths are under the base URL the server prints (`http://ADDR:PORT/data`). The cQube-compatible endpoints keep
//! cQube's own payloads; the multipart endpoints (`/uploads/...`) and `/emissions` are ours. Every error response has
//! the body [`ErrorBody`] with a stable [`ErrorBody::code`].

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// Every API token starts with this, so a leaked token is recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "cqe_";
/// Hex digits of a token's public id, the part after [`TOKEN_PREFIX`] that logs and listings may show.
pub const TOKEN_ID_HEX_LEN: usize = 12;
/// Hex digits of a token's secret part (256 random bits).
pub const TOKEN_SECRET_HEX_LEN: usize = 64;

/// A token split into its public id and its secret; parsing checks only the shape, not validity.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenParts<'a> {
    /// Public id (`TOKEN_ID_HEX_LEN` lowercase hex digits); safe to log.
    pub id: &'a str,
    /// Secret (`TOKEN_SECRET_HEX_LEN` lowercase hex digits); never logged.
    pub secret: &'a str,
}

impl std::fmt::Debug for TokenParts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenParts").field("id", &self.id).field("secret", &"***").finish()
    }
}

impl<'a> TokenParts<'a> {
    /// Splits `cqe_<id>_<secret>`; `None` when the text is not shaped like a token.
    pub fn parse(token: &'a str) -> Option<TokenParts<'a>> {
        let rest = token.strip_prefix(TOKEN_PREFIX)?;
        let (id, secret) = rest.split_once('_')?;
        let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        (hex(id, TOKEN_ID_HEX_LEN) && hex(secret, TOKEN_SECRET_HEX_LEN)).then_some(TokenParts { id, secret })
    }

    /// The token text for an id and a secret.
    pub fn format(id: &str, secret: &str) -> String {
        format!("{TOKEN_PREFIX}{id}_{secret}")
    }
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable, machine-readable code such as `unauthorized` or `invalid_filename` (see `docs/api.md`).
    pub code: String,
    /// A human-readable explanation; never contains a token or a presigned URL.
    pub message: String,
}

/// `POST /data/upload-url` (form or JSON): cQube's one-shot presigned POST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadUrlRequest {
    /// Path relative to the emission folder's parent, e.g. `student_attendance/student_attendance.zip`.
    pub filename: String,
}

/// A presigned POST: send `fields` then the file as form field `file` to `url`, as an HTML form would.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresignedPost {
    /// Where to POST the form.
    pub url: String,
    /// Form fields to send before the file, in any order.
    pub fields: BTreeMap<String, String>,
}

/// `POST /data/list_s3_files` (form or JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListFilesRequest {
    /// One of the names `GET /data/list_s3_buckets` returns.
    pub bucket: String,
    /// Only keys starting with this.
    #[serde(default)]
    pub prefix: Option<String>,
    /// The `NextContinuationToken` of the previous page.
    #[serde(default)]
    pub continuation_token: Option<String>,
    /// Page size, 1..=1000 (default 1000); a form sends it as text.
    #[serde(default, deserialize_with = "number_or_text")]
    pub max_keys: Option<u32>,
}

/// One page of `list_s3_files`, in the shape of S3's `ListObjectsV2` output that boto3 returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListFilesResponse {
    /// The bucket listed.
    pub name: String,
    /// The objects on this page.
    #[serde(default)]
    pub contents: Vec<ObjectInfo>,
    /// Number of objects on this page.
    pub key_count: u32,
    /// Whether another page follows.
    pub is_truncated: bool,
    /// Pass this as `continuation_token` to get the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_continuation_token: Option<String>,
}

/// One object in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ObjectInfo {
    /// The object key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// RFC 3339 time of the last write.
    #[serde(default)]
    pub last_modified: Option<String>,
    /// The ETag as the store reports it (quoted).
    #[serde(default)]
    pub e_tag: Option<String>,
}

/// `POST /data/download_uri` (form with `filename` repeated, or JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadUriRequest {
    /// Keys to presign; a single string is accepted too.
    #[serde(deserialize_with = "one_or_many")]
    pub filename: Vec<String>,
    /// One of the three bucket names.
    pub bucket: String,
}

fn number_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrText {
        Number(u32),
        Text(String),
    }
    match Option::<NumberOrText>::deserialize(d)? {
        None => Ok(None),
        Some(NumberOrText::Number(n)) => Ok(Some(n)),
        // Decimal digits only, as openapi.json's pattern says: no sign, space or leading zero.
        Some(NumberOrText::Text(t)) if t.starts_with('0') || !t.bytes().all(|b| b.is_ascii_digit()) => {
            Err(serde::de::Error::custom(format!("{t:?} is not a whole number without leading zeros")))
        }
        Some(NumberOrText::Text(t)) => t.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// `POST /data/uploads`: start a multipart emission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUploadRequest {
    /// Catalog name of the data source, e.g. `student_attendance`.
    pub source: String,
    /// `<dir>/<file_stem>.zip` for that source.
    pub filename: String,
    /// Size the emitter expects to send, if known; checked against the server's limit.
    #[serde(default)]
    pub expected_size_bytes: Option<u64>,
}

/// A started multipart emission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUploadResponse {
    /// Our id for the upload; use it in the `/uploads/{upload_id}/...` paths.
    pub upload_id: String,
    /// Bucket the object is written to (the emission bucket).
    pub bucket: String,
    /// Object key, as cQube's API names it: `<dir>/<stem>_YYYYmmddHHMMSS.zip`.
    pub key: String,
    /// RFC 3339 time after which the upload can no longer be completed.
    pub expires_at: String,
}

/// `POST /data/uploads/{upload_id}/parts`: presign UploadPart URLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresignPartsRequest {
    /// Part numbers, each in 1..=10000; at most 1000 per request.
    pub part_numbers: Vec<u32>,
}

/// Presigned UploadPart URLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresignPartsResponse {
    /// One entry per requested part number, in request order.
    pub parts: Vec<PresignedPart>,
}

/// One presigned `PUT` for a part; the response's `ETag` header is what `complete` needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresignedPart {
    /// The part number this URL uploads.
    pub part_number: u32,
    /// `PUT` the part's bytes here.
    pub url: String,
    /// RFC 3339 expiry of the URL.
    pub expires_at: String,
}

/// `GET /data/uploads/{upload_id}/parts`: the parts the store holds, for resuming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPartsResponse {
    /// Parts already stored, by part number.
    pub parts: Vec<StoredPart>,
}

/// A part the store has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPart {
    /// Its number.
    pub part_number: u32,
    /// Its ETag (quoted, as S3 returns it).
    pub etag: String,
    /// Its size in bytes.
    pub size_bytes: u64,
}

/// One upload of a part, as a store's ListParts lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPart {
    /// Number, ETag and size.
    pub part: StoredPart,
    /// Its LastModified (seconds, nanoseconds): stores write whole seconds.
    pub modified: Option<(i64, u32)>,
}

/// One part per number from a store's ListParts: the newest upload of each, the one S3 would complete. A number can
/// be listed more than once (SeaweedFS lists each upload of a part, a retried PUT, until the upload completes).
/// When uploads of one number with different ETags share the newest timestamp, which one is current cannot be
/// told: its ETag is left empty, as for a store that lists none.
pub fn newest_parts(mut parts: Vec<ListedPart>) -> Vec<StoredPart> {
    parts.sort_by_key(|p| (p.part.part_number, p.modified));
    let mut newest: Vec<ListedPart> = Vec::with_capacity(parts.len());
    for listed in parts {
        match newest.last_mut() {
            Some(last) if last.part.part_number == listed.part.part_number => {
                let ambiguous = last.modified == listed.modified && last.part.etag != listed.part.etag;
                *last = listed;
                if ambiguous {
                    last.part.etag.clear();
                }
            }
            _ => newest.push(listed),
        }
    }
    newest.into_iter().map(|l| l.part).collect()
}

/// `POST /data/uploads/{upload_id}/complete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteUploadRequest {
    /// Every part, in ascending part-number order, with the ETag its `PUT` returned.
    pub parts: Vec<CompletedPart>,
    /// Data rows in the CSV inside the zip (header excluded).
    pub rows: u64,
    /// Size of the zip in bytes.
    pub bytes: u64,
    /// SHA-256 of the whole zip, 64 lowercase hex digits.
    pub sha256: String,
    /// For an incremental database source: how far its rows reach. Stored with the acknowledgement, so the
    /// watermark advances exactly when the emission is acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<Watermark>,
    /// What the emitter checked on the way: rows left out and flagged, per rule. Sent only to servers whose
    /// `/data/capabilities` lists `quality` (older servers refuse unknown fields); stored with the acknowledgement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<Quality>,
}

/// Most rule counts one completion carries (the server refuses more).
pub const MAX_QUALITY_RULES: usize = 100;

/// Counts of what the emitter's checks found in one file; never values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quality {
    /// Rows read from the input.
    pub rows_read: u64,
    /// Rows left out of the file: they break a rule cQube enforces (its ingestion would drop them).
    pub rows_rejected: u64,
    /// Rows sent that break a warning rule (a check cQube does not enforce).
    pub rows_warned: u64,
    /// Rows per rule and column, most first, at most [`MAX_QUALITY_RULES`].
    #[serde(default)]
    pub rules: Vec<RuleCount>,
}

/// How many rows broke one rule (in one column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleCount {
    /// The rule, as `cqube-emit catalog NAME` lists it (`type_int`, `unknown_school`, `duplicate_key`, ...).
    pub rule: String,
    /// The column, for rules about one column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// `error` (rows rejected) or `warning` (rows sent, flagged).
    pub severity: String,
    /// Rows.
    pub rows: u64,
}

/// How far an incremental source's emitted rows reach: the greatest value of its watermark column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watermark {
    /// The column that grows with every change (e.g. `updated_at`, or an increasing id).
    pub column: String,
    /// Its greatest value among the rows emitted so far, as the database writes it as text.
    pub value: String,
}

/// One part of a completion request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompletedPart {
    /// The part number.
    pub part_number: u32,
    /// The ETag its `PUT` returned.
    pub etag: String,
}

/// The server's record of a completed emission, returned by `complete` and listed by `/emissions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// Id of this emission.
    pub emission_id: String,
    /// The multipart upload it completed, if it came through `/uploads`.
    #[serde(default)]
    pub upload_id: Option<String>,
    /// Name of the token that sent it.
    pub token_name: String,
    /// Catalog name of the data source.
    pub source: String,
    /// Bucket of `key`.
    pub bucket: String,
    /// Object key in the emission bucket.
    pub key: String,
    /// Key in the input bucket when the server archived the object (the `archive` setting).
    #[serde(default)]
    pub archived_key: Option<String>,
    /// Size of the object.
    pub bytes: u64,
    /// Rows the emitter reported.
    pub rows: u64,
    /// SHA-256 the emitter reported.
    pub sha256: String,
    /// RFC 3339 time the upload started.
    pub started_at: String,
    /// RFC 3339 time it was completed.
    pub completed_at: String,
    /// The watermark the emitter reported, for incremental database sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<Watermark>,
    /// Only for a stock cQube's presigned POST, which has no acknowledgement of its own (S3's 2xx is it): whether
    /// `list_s3_files` then showed the object with this size. `false` means sent, not confirmed: cQube's ingestion
    /// may have moved it already. Absent (never sent by a server) for a server's acknowledgement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<bool>,
}

/// `GET /data/emissions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmissionList {
    /// Newest first.
    pub emissions: Vec<Acknowledgement>,
}

/// `POST /data/auth` (form or JSON): an emission user's name and password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequest {
    /// The emission user's name.
    pub username: String,
    /// Their password.
    pub password: String,
}

impl std::fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRequest").field("username", &self.username).field("password", &"***").finish()
    }
}

/// A short-lived token issued by `POST /data/auth`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

impl std::fmt::Debug for AuthResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthResponse")
            .field("access_token", &"***")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// `GET /data/uploads` (admin): uploads in one state, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadList {
    /// The uploads.
    pub uploads: Vec<UploadInfo>,
}

/// One multipart upload as the server records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadInfo {
    /// The server's upload id.
    pub upload_id: String,
    /// Name of the token that started it.
    pub token_name: String,
    /// Catalog name of the data source.
    pub source: String,
    /// Bucket of `key`.
    pub bucket: String,
    /// The key it completes to.
    pub key: String,
    /// `open`, `completing`, `completed`, `failed` or `aborted`.
    pub state: String,
    /// Open past its expiry: the sweeper aborts it.
    pub expired: bool,
    /// RFC 3339 start time.
    pub created_at: String,
    /// RFC 3339 expiry.
    pub expires_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_parts_keeps_the_last_upload_of_each_number() {
        let part = |n: u32, etag: &str| StoredPart { part_number: n, etag: etag.into(), size_bytes: 5 };
        let listed = |n: u32, etag: &str, second: i64| ListedPart { part: part(n, etag), modified: Some((second, 0)) };
        let parts = vec![listed(1, "a", 1), listed(2, "new", 2), listed(2, "old", 1), listed(3, "c", 2)];
        assert_eq!(newest_parts(parts), [part(1, "a"), part(2, "new"), part(3, "c")], "listed in any order");
        // two uploads of part 2 in the same second: no telling which one the store would complete
        let parts = vec![listed(1, "a", 1), listed(2, "x", 2), listed(2, "y", 2)];
        assert_eq!(newest_parts(parts), [part(1, "a"), part(2, "")]);
        // the same bytes sent twice in one second: one ETag either way
        let parts = vec![listed(2, "x", 2), listed(2, "x", 2)];
        assert_eq!(newest_parts(parts), [part(2, "x")]);
    }

    #[test]
    fn token_parse_accepts_only_the_exact_shape() {
        let id = "0123456789ab";
        let secret = "f".repeat(64);
        let token = TokenParts::format(id, &secret);
        assert_eq!(TokenParts::parse(&token), Some(TokenParts { id, secret: &secret }));
        assert!(TokenParts::parse(&token[..token.len() - 1]).is_none());
        assert!(TokenParts::parse(&token.to_uppercase()).is_none());
        assert!(TokenParts::parse(&format!("xyz_{id}_{secret}")).is_none());
        assert!(TokenParts::parse("").is_none());
        assert!(!format!("{:?}", TokenParts::parse(&token)).contains(&secret));
    }

    #[test]
    fn download_uri_takes_one_name_or_many() {
        let one: DownloadUriRequest = serde_json::from_str(r#"{"filename":"a.zip","bucket":"b"}"#).unwrap();
        let many: DownloadUriRequest = serde_json::from_str(r#"{"filename":["a.zip","c.zip"],"bucket":"b"}"#).unwrap();
        assert_eq!(one.filename, ["a.zip"]);
        assert_eq!(many.filename, ["a.zip", "c.zip"]);
    }

    #[test]
    fn max_keys_is_a_number_or_its_plain_digits() {
        let parse = |json: &str| serde_json::from_str::<ListFilesRequest>(json).map(|r| r.max_keys);
        assert_eq!(parse(r#"{"bucket":"b","max_keys":5}"#).unwrap(), Some(5));
        assert_eq!(parse(r#"{"bucket":"b","max_keys":"1000"}"#).unwrap(), Some(1000));
        assert_eq!(parse(r#"{"bucket":"b","max_keys":null}"#).unwrap(), None);
        for bad in [r#""+5""#, r#""05""#, r#"" 5""#, r#""""#, r#""5x""#, "5.5", "true"] {
            assert!(parse(&format!(r#"{{"bucket":"b","max_keys":{bad}}}"#)).is_err(), "{bad}");
        }
    }

    #[test]
    fn list_files_response_uses_boto3_field_names() {
        let page = ListFilesResponse {
            name: "emission".into(),
            contents: vec![ObjectInfo { key: "k".into(), size: 3, last_modified: None, e_tag: None }],
            key_count: 1,
            is_truncated: true,
            next_continuation_token: Some("t".into()),
        };
        let json = serde_json::to_value(&page).unwrap();
        assert_eq!(json["Contents"][0]["Key"], "k");
        assert_eq!(json["NextContinuationToken"], "t");
        assert_eq!(json["IsTruncated"], true);
    }
}
