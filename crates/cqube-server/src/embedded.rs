//! The embedded store: s3s-fs behind our own [`S3`] impl, which passes every call through except the multipart
//! ones that must survive a crash.
//!
//! s3s-fs 0.14.1's CompleteMultipartUpload forgets the upload id first, then moves the parts into a temp file one
//! by one (deleting each) and renames it without fsync: a crash in between leaves an upload that can be neither
//! completed nor aborted, with its parts on disk (STYLE.md, measured). Ours checks every part (ETag = MD5, and
//! S3's 5 MiB minimum for all but the last) while assembling into a temp file, fsyncs it and renames it into
//! place, and only then removes the parts and, last, the upload id. At every instant either the upload can be
//! completed again from its parts or the object is whole; abort removes what is left of an upload even when its
//! id is gone; ListMultipartUploads (which s3s-fs lacks) shows what is open. This is our wrapper, not a fork: it
//! relies on s3s-fs's on-disk layout (below), which is why that crate's version is pinned exactly.

use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use base64::Engine as _;
use s3s::crypto::{Checksum, Md5};
#[allow(clippy::wildcard_imports, reason = "the S3 trait's request and answer types, two per operation")]
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::store_full::named;
use crate::test_hooks::pause;

/// S3's smallest part, except the last.
const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;
/// Locks are striped by upload id: completes and aborts of one upload never overlap, without a map that grows.
const LOCK_STRIPES: usize = 64;

/// s3s-fs with crash-safe multipart completion and abort.
#[derive(Debug)]
pub(crate) struct EmbeddedStore {
    fs: s3s_fs::FileSystem,
    root: PathBuf,
    locks: Box<[tokio::sync::Mutex<()>; LOCK_STRIPES]>,
}

impl EmbeddedStore {
    /// Opens the store rooted at `root` (which must exist).
    pub(crate) fn new(root: &Path) -> Result<EmbeddedStore, String> {
        let fs = s3s_fs::FileSystem::new(root).map_err(|e| format!("{e:?}"))?;
        let root = root.canonicalize().map_err(|e| e.to_string())?;
        Ok(EmbeddedStore { fs, root, locks: Box::new(std::array::from_fn(|_| tokio::sync::Mutex::new(()))) })
    }

    async fn lock(&self, upload_id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let stripe = upload_id.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(b)));
        self.locks[stripe % LOCK_STRIPES].lock().await
    }

    // s3s-fs 0.14.1's layout, all in the root: parts `.upload_id-{id}.part-{n}`, the upload's marker
    // `.upload-{id}.json`, metadata `.bucket-{b64}.object-{b64}[.upload-{id}].metadata.json`, the ETag in
    // `.bucket-{b64}.object-{b64}.internal.json`, objects at `{bucket}/{key}`; `.tmp.*.internal.part` files are
    // removed when it starts.

    fn part_path(&self, id: &str, n: i32) -> PathBuf {
        self.root.join(format!(".upload_id-{id}.part-{n}"))
    }

    fn marker_path(&self, id: &str) -> PathBuf {
        self.root.join(format!(".upload-{id}.json"))
    }

    fn object_stem(bucket: &str, key: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(".bucket-{}.object-{}", b64(bucket), b64(key))
    }

    /// s3s-fs lists objects without their ETag, where S3 lists it; a one-shot emitter recognizes an earlier run's
    /// object by it (length and MD5). Each is read from the object's internal info, a small file per key.
    async fn fill_etags(&self, bucket: &str, objects: Option<&mut Vec<Object>>) -> S3Result<()> {
        for object in objects.into_iter().flatten().filter(|o| o.e_tag.is_none()) {
            let Some(key) = object.key.as_deref() else { continue };
            let info = self.root.join(format!("{}.internal.json", Self::object_stem(bucket, key)));
            let json = match tokio::fs::read(&info).await {
                Ok(json) => json,
                // Written by an older s3s-fs, or not at all: listed without an ETag, as before.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(internal(e)),
            };
            let info: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&json).map_err(internal)?;
            object.e_tag = info.get("e_tag").and_then(serde_json::Value::as_str).map(|e| ETag::Strong(e.to_owned()));
        }
        Ok(())
    }

    fn temp_path(&self, id: &str) -> PathBuf {
        self.root.join(format!(".tmp.cqube-complete-{id}.internal.part"))
    }

    fn object_path(&self, bucket: &str, key: &str) -> S3Result<PathBuf> {
        let plain = |s: &str| !s.is_empty() && Path::new(s).components().all(|c| matches!(c, Component::Normal(_)));
        if !plain(bucket) || !plain(key) {
            return Err(s3_error!(InvalidArgument, "bucket and key must be plain relative paths"));
        }
        Ok(self.root.join(bucket).join(key))
    }

    /// Reads each part into `temp`, checking its ETag and size; returns the parts' MD5s.
    async fn assemble(&self, id: &str, parts: &[CompletedPart], temp: &Path) -> S3Result<Vec<[u8; 16]>> {
        let mut out = tokio::fs::File::create(temp).await.map_err(internal)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut md5s = Vec::with_capacity(parts.len());
        let mut previous = 0;
        for (i, part) in parts.iter().enumerate() {
            let n = part.part_number.ok_or_else(|| s3_error!(InvalidPart, "a part has no number"))?;
            if n <= previous {
                return Err(s3_error!(InvalidPartOrder, "parts must be in ascending order"));
            }
            previous = n;
            let mut file = match tokio::fs::File::open(self.part_path(id, n)).await {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(s3_error!(InvalidPart, "part {n} is not in the store"));
                }
                Err(e) => return Err(internal(e)),
            };
            let mut md5 = Md5::new();
            let mut size: u64 = 0;
            loop {
                let read = file.read(&mut buf).await.map_err(internal)?;
                if read == 0 {
                    break;
                }
                md5.update(&buf[..read]);
                out.write_all(&buf[..read]).await.map_err(internal)?;
                size += read as u64;
            }
            let md5 = md5.finalize();
            let given = part.e_tag.as_ref().map(ETag::value).unwrap_or_default();
            if !given.eq_ignore_ascii_case(&hex::encode(md5)) {
                return Err(s3_error!(InvalidPart, "part {n}: the ETag does not match the stored part"));
            }
            if i + 1 < parts.len() && size < MIN_PART_BYTES {
                return Err(s3_error!(EntityTooSmall, "part {n} is {size} bytes; all but the last need 5 MiB"));
            }
            md5s.push(md5);
            if i == 0 && parts.len() > 1 {
                pause("store.assembling").await;
            }
        }
        out.flush().await.map_err(internal)?;
        out.sync_all().await.map_err(internal)?;
        Ok(md5s)
    }

    /// Removes an upload's parts, metadata and temp file, then its marker: while any part exists the marker does,
    /// so an abort after a crash here still finds the upload. Returns whether anything was there.
    async fn forget(&self, id: &str) -> S3Result<bool> {
        let part_prefix = format!(".upload_id-{id}.part-");
        let metadata_suffix = format!(".upload-{id}.metadata.json");
        let temp = self.temp_path(id);
        let mut found = false;
        let mut dir = tokio::fs::read_dir(&self.root).await.map_err(internal)?;
        while let Some(entry) = dir.next_entry().await.map_err(internal)? {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with(&part_prefix) || name.ends_with(&metadata_suffix) || entry.path() == temp {
                remove_if_present(&entry.path()).await?;
                found = true;
            }
        }
        pause("store.parts_removed").await;
        let marker = self.marker_path(id);
        found |= tokio::fs::try_exists(&marker).await.map_err(internal)?;
        remove_if_present(&marker).await?;
        Ok(found)
    }
}

fn internal(e: impl std::error::Error + Send + Sync + 'static) -> s3s::S3Error {
    s3s::S3Error::internal_error(e)
}

async fn remove_if_present(path: &Path) -> S3Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(internal(e)),
        _ => Ok(()),
    }
}

/// Upload ids are s3s-fs's UUIDs; anything else could name a path.
fn checked_id(upload_id: &str) -> S3Result<&str> {
    if upload_id.len() == 36 && upload_id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        Ok(upload_id)
    } else {
        Err(s3_error!(NoSuchUpload))
    }
}

/// Makes a rename durable.
async fn sync_dir(dir: &Path) -> S3Result<()> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || std::fs::File::open(&dir).and_then(|d| d.sync_all()))
        .await
        .map_err(internal)?
        .map_err(internal)
}

#[async_trait::async_trait]
impl S3 for EmbeddedStore {
    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await.map_err(named)
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        self.fs.copy_object(req).await.map_err(named)
    }

    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.fs.delete_bucket(req).await.map_err(named)
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.fs.delete_object(req).await.map_err(named)
    }

    async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.fs.delete_objects(req).await.map_err(named)
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.fs.get_bucket_location(req).await.map_err(named)
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        self.fs.get_object(req).await.map_err(named)
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await.map_err(named)
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        self.fs.head_object(req).await.map_err(named)
    }

    async fn list_buckets(&self, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        self.fs.list_buckets(req).await.map_err(named)
    }

    async fn list_objects(&self, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
        let bucket = req.input.bucket.clone();
        let mut answer = self.fs.list_objects(req).await.map_err(named)?;
        self.fill_etags(&bucket, answer.output.contents.as_mut()).await?;
        Ok(answer)
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        let bucket = req.input.bucket.clone();
        let mut answer = self.fs.list_objects_v2(req).await.map_err(named)?;
        self.fill_etags(&bucket, answer.output.contents.as_mut()).await?;
        Ok(answer)
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        self.fs.put_object(req).await.map_err(named)
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.fs.create_multipart_upload(req).await.map_err(named)
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        self.fs.upload_part(req).await.map_err(named)
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.fs.upload_part_copy(req).await.map_err(named)
    }

    /// Sizes without ETags (they would cost a read of every part); an unknown upload is NoSuchUpload, as on S3.
    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        let answer: S3Result<S3Response<ListPartsOutput>> = async {
            let ListPartsInput { bucket, key, upload_id, .. } = req.input;
            let id = checked_id(&upload_id)?;
            if !tokio::fs::try_exists(self.marker_path(id)).await.map_err(internal)? {
                return Err(s3_error!(NoSuchUpload));
            }
            let prefix = format!(".upload_id-{id}.part-");
            let mut parts = Vec::new();
            let mut dir = tokio::fs::read_dir(&self.root).await.map_err(internal)?;
            while let Some(entry) = dir.next_entry().await.map_err(internal)? {
                let name = entry.file_name();
                let Some(n) = name.to_str().and_then(|n| n.strip_prefix(&prefix)).and_then(|n| n.parse::<i32>().ok())
                else {
                    continue;
                };
                let meta = entry.metadata().await.map_err(internal)?;
                parts.push(Part {
                    part_number: Some(n),
                    size: Some(i64::try_from(meta.len()).map_err(internal)?),
                    last_modified: meta.modified().ok().map(Timestamp::from),
                    ..Default::default()
                });
            }
            parts.sort_by_key(|p| p.part_number);
            let output = ListPartsOutput {
                bucket: Some(bucket),
                key: Some(key),
                upload_id: Some(upload_id),
                parts: Some(parts),
                ..Default::default()
            };
            Ok(S3Response::new(output))
        }
        .await;
        answer.map_err(named)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let answer: S3Result<S3Response<CompleteMultipartUploadOutput>> = async {
            if req.credentials.is_none() {
                return Err(s3_error!(AccessDenied));
            }
            let CompleteMultipartUploadInput { multipart_upload, bucket, key, upload_id, .. } = req.input;
            let id = checked_id(&upload_id)?;
            let object = self.object_path(&bucket, &key)?;
            let _guard = self.lock(id).await;
            if !tokio::fs::try_exists(self.marker_path(id)).await.map_err(internal)? {
                return Err(s3_error!(NoSuchUpload));
            }
            let parts = multipart_upload.and_then(|m| m.parts).unwrap_or_default();
            if parts.is_empty() {
                return Err(s3_error!(InvalidPart, "you must specify at least one part"));
            }
            let temp = self.temp_path(id);
            let md5s = match self.assemble(id, &parts, &temp).await {
                Ok(m) => m,
                Err(e) => {
                    let _ = tokio::fs::remove_file(&temp).await;
                    return Err(e);
                }
            };
            pause("store.assembled").await;
            // S3's multipart ETag: the MD5 of the parts' MD5s, then `-count`; s3s-fs's HeadObject reads it from here.
            let mut etag = Md5::new();
            for m in &md5s {
                etag.update(m);
            }
            let etag = format!("{}-{}", hex::encode(etag.finalize()), md5s.len());
            let stem = Self::object_stem(&bucket, &key);
            let info = serde_json::to_vec(&serde_json::json!({ "e_tag": etag })).map_err(internal)?;
            let info_temp = self.root.join(format!(".tmp.cqube-info-{id}.internal.part"));
            tokio::fs::write(&info_temp, info).await.map_err(internal)?;
            tokio::fs::rename(&info_temp, self.root.join(format!("{stem}.internal.json"))).await.map_err(internal)?;
            let upload_metadata = self.root.join(format!("{stem}.upload-{id}.metadata.json"));
            if tokio::fs::try_exists(&upload_metadata).await.map_err(internal)? {
                tokio::fs::rename(&upload_metadata, self.root.join(format!("{stem}.metadata.json")))
                    .await
                    .map_err(internal)?;
            }
            let dir = object.parent().unwrap_or(&self.root).to_owned();
            tokio::fs::create_dir_all(&dir).await.map_err(internal)?;
            tokio::fs::rename(&temp, &object).await.map_err(internal)?;
            sync_dir(&dir).await?;
            sync_dir(&self.root).await?;
            pause("store.renamed").await;
            self.forget(id).await?;
            pause("store.forgotten").await;
            tracing::debug!(bucket = %bucket, key = %key, parts = md5s.len(), "multipart upload completed");
            let output = CompleteMultipartUploadOutput {
                bucket: Some(bucket),
                key: Some(key),
                e_tag: Some(ETag::Strong(etag)),
                ..Default::default()
            };
            Ok(S3Response::new(output))
        }
        .await;
        answer.map_err(named)
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let answer: S3Result<S3Response<AbortMultipartUploadOutput>> = async {
            if req.credentials.is_none() {
                return Err(s3_error!(AccessDenied));
            }
            let id = checked_id(&req.input.upload_id)?;
            let _guard = self.lock(id).await;
            if !self.forget(id).await? {
                return Err(s3_error!(NoSuchUpload));
            }
            Ok(S3Response::new(AbortMultipartUploadOutput::default()))
        }
        .await;
        answer.map_err(named)
    }

    /// The uploads that still have a marker, with the key their metadata names.
    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let answer: S3Result<S3Response<ListMultipartUploadsOutput>> = async {
            let input = req.input;
            let bucket_b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&input.bucket);
            let mut keys = std::collections::HashMap::new();
            let mut markers = Vec::new();
            let mut dir = tokio::fs::read_dir(&self.root).await.map_err(internal)?;
            while let Some(entry) = dir.next_entry().await.map_err(internal)? {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if let Some(id) = name.strip_prefix(".upload-").and_then(|n| n.strip_suffix(".json")) {
                    let initiated = entry.metadata().await.ok().and_then(|m| m.modified().ok());
                    markers.push((id.to_owned(), initiated.unwrap_or(SystemTime::UNIX_EPOCH)));
                } else if let Some(rest) = name.strip_prefix(&format!(".bucket-{bucket_b64}.object-"))
                    && let Some((key, id)) = rest.strip_suffix(".metadata.json").and_then(|r| r.split_once(".upload-"))
                    && let Ok(key) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(key)
                    && let Ok(key) = String::from_utf8(key)
                {
                    keys.insert(id.to_owned(), key);
                }
            }
            let prefix = input.prefix.unwrap_or_default();
            let mut uploads: Vec<MultipartUpload> = markers
                .into_iter()
                .filter_map(|(id, initiated)| {
                    let key = keys.remove(&id).filter(|k| k.starts_with(&prefix))?;
                    Some(MultipartUpload {
                        key: Some(key),
                        upload_id: Some(id),
                        initiated: Some(Timestamp::from(initiated)),
                        ..Default::default()
                    })
                })
                .collect();
            uploads.sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));
            let output = ListMultipartUploadsOutput {
                bucket: Some(input.bucket),
                uploads: Some(uploads),
                is_truncated: Some(false),
                ..Default::default()
            };
            Ok(S3Response::new(output))
        }
        .await;
        answer.map_err(named)
    }
}
