//! The embedded store with a full disk named: s3s-fs answers a write that hits ENOSPC with a bare `500
//! InternalError`, which clients retry as transient. This wrapper answers `507 InsufficientStorage` instead, to the
//! API (which answers its own `507 insufficient_storage`) and to emitters' presigned part `PUT`s alike, so both
//! stop and ask an operator. The operations are the ones s3s-fs implements; every other one stays
//! `NotImplemented`, as in s3s-fs.

use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, CompleteMultipartUploadInput, CompleteMultipartUploadOutput,
    CopyObjectInput, CopyObjectOutput, CreateBucketInput, CreateBucketOutput, CreateMultipartUploadInput,
    CreateMultipartUploadOutput, DeleteBucketInput, DeleteBucketOutput, DeleteObjectInput, DeleteObjectOutput,
    DeleteObjectsInput, DeleteObjectsOutput, GetBucketLocationInput, GetBucketLocationOutput, GetObjectInput,
    GetObjectOutput, HeadBucketInput, HeadBucketOutput, HeadObjectInput, HeadObjectOutput, ListBucketsInput,
    ListBucketsOutput, ListObjectsInput, ListObjectsOutput, ListObjectsV2Input, ListObjectsV2Output, ListPartsInput,
    ListPartsOutput, PutObjectInput, PutObjectOutput, UploadPartCopyInput, UploadPartCopyOutput, UploadPartInput,
    UploadPartOutput,
};
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result};

/// The error code of a full store, as MinIO-style stores name it; `Error::is_storage_full` matches it.
pub(crate) const CODE: &str = "InsufficientStorage";

/// s3s-fs, with ENOSPC (and quota) failures answered as `507 InsufficientStorage`.
pub(crate) struct NamedFull(pub(crate) s3s_fs::FileSystem);

fn is_full(e: &S3Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = e.source().map(|s| s as _);
    while let Some(c) = cause {
        if c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| matches!(io.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded))
        {
            return true;
        }
        cause = c.source();
    }
    false
}

fn named(e: S3Error) -> S3Error {
    if !is_full(&e) {
        return e;
    }
    let mut full = S3Error::with_message(S3ErrorCode::Custom(CODE.into()), "the embedded store's disk is full");
    full.set_status_code(axum::http::StatusCode::INSUFFICIENT_STORAGE);
    full
}

macro_rules! delegate {
    ($($method:ident($input:ident) -> $output:ident;)*) => {
        #[async_trait::async_trait]
        impl S3 for NamedFull {
            $(
                async fn $method(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                    self.0.$method(req).await.map_err(named)
                }
            )*
        }
    };
}

delegate! {
    abort_multipart_upload(AbortMultipartUploadInput) -> AbortMultipartUploadOutput;
    complete_multipart_upload(CompleteMultipartUploadInput) -> CompleteMultipartUploadOutput;
    copy_object(CopyObjectInput) -> CopyObjectOutput;
    create_bucket(CreateBucketInput) -> CreateBucketOutput;
    create_multipart_upload(CreateMultipartUploadInput) -> CreateMultipartUploadOutput;
    delete_bucket(DeleteBucketInput) -> DeleteBucketOutput;
    delete_object(DeleteObjectInput) -> DeleteObjectOutput;
    delete_objects(DeleteObjectsInput) -> DeleteObjectsOutput;
    get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
    get_object(GetObjectInput) -> GetObjectOutput;
    head_bucket(HeadBucketInput) -> HeadBucketOutput;
    head_object(HeadObjectInput) -> HeadObjectOutput;
    list_buckets(ListBucketsInput) -> ListBucketsOutput;
    list_objects(ListObjectsInput) -> ListObjectsOutput;
    list_objects_v2(ListObjectsV2Input) -> ListObjectsV2Output;
    list_parts(ListPartsInput) -> ListPartsOutput;
    put_object(PutObjectInput) -> PutObjectOutput;
    upload_part(UploadPartInput) -> UploadPartOutput;
    upload_part_copy(UploadPartCopyInput) -> UploadPartCopyOutput;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_full_disk_is_renamed() {
        let full = S3Error::internal_error(std::io::Error::from(std::io::ErrorKind::StorageFull));
        let renamed = named(full);
        assert_eq!(renamed.code().as_str(), CODE);
        assert_eq!(renamed.status_code(), Some(axum::http::StatusCode::INSUFFICIENT_STORAGE));
        let other = named(S3Error::internal_error(std::io::Error::from(std::io::ErrorKind::PermissionDenied)));
        assert_eq!(other.code(), &S3ErrorCode::InternalError);
    }
}
