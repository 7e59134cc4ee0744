//! The one-shot section: what a target that takes each file in one request ([`cqube_upload::OneShot`], such as a
//! presigned POST) must do. Its file is one request body sent with an exact length, parts in order and one at a
//! time, so part retry, expired URLs, listing and resume do not apply; these checks do.

use std::time::Duration;

use cqube_protocol::{CreateUploadRequest, CreateUploadResponse};
use cqube_upload::{Aborted, DeliveryTarget};

use super::{File, Subject, assert_delivered, complete, create, put};

/// One catalog file per check. cqube-emit's server takes only a source's own `<dir>/<stem>.zip`, and stock cQube
/// names each object `<stem>_<second>.zip`, so two checks in one second with one file name would share a key.
const HAPPY: (&str, &str) = ("district_master", "district_master/district_mst.zip");
const TWICE: (&str, &str) = ("block_master", "block_master/block_mst.zip");
const ABORTED: (&str, &str) = ("cluster_master", "cluster_master/cluster_mst.zip");
const ACKNOWLEDGED: (&str, &str) = ("school_master", "school_master/school_mst.zip");
const SHORT: (&str, &str) = ("student_attendance", "student_attendance/student_attendance.zip");
const LONG: (&str, &str) = ("teacher_attendance", "teacher_attendance/teacher_attendance.zip");
const WRONG_SHA: (&str, &str) = ("inspection_master", "inspection_master/inspection_master.zip");
const TOO_LARGE: (&str, &str) = ("infra_trans", "infra_trans/infra_trans.zip");

/// Long enough for a store to have acted on a request that was broken off; a check that nothing landed waits
/// this long first, so an object stored late would still be seen.
const SETTLE: Duration = Duration::from_secs(1);

/// Runs every one-shot check; returns their names.
pub async fn run(subject: &Subject<'_>) -> Vec<&'static str> {
    happy_path(subject).await;
    idempotent_complete(subject).await;
    abort_before_the_last_byte(subject).await;
    abort_after_complete(subject).await;
    a_stream_unlike_its_announcement_never_lands(subject).await;
    too_large_is_refused_at_create(subject).await;
    vec![
        "one_shot_happy_path",
        "one_shot_idempotent_complete",
        "one_shot_abort_before_the_last_byte",
        "one_shot_abort_after_complete",
        "one_shot_a_stream_unlike_its_announcement_never_lands",
        "one_shot_too_large_is_refused_at_create",
    ]
}

/// Creates `file`'s upload announcing `announced` bytes.
async fn create_announcing(
    s: &Subject<'_>,
    target: &dyn DeliveryTarget,
    file: &File,
    announced: u64,
) -> CreateUploadResponse {
    let request = CreateUploadRequest { expected_size_bytes: Some(announced), ..file.create_request() };
    target.create(&request).await.unwrap_or_else(|e| panic!("{}: create: {e}", s.name))
}

/// Sends every part in order, one at a time, as the engine feeds a one-shot target.
async fn send(s: &Subject<'_>, target: &dyn DeliveryTarget, upload_id: &str, file: &File) -> Vec<String> {
    let mut etags = Vec::new();
    for p in &file.parts {
        etags.push(put(s, target, upload_id, p).await);
    }
    etags
}

/// A file sent whole: the object holds exactly its bytes (length and SHA-256 as boto3 reads them), and the
/// acknowledgement carries the SHA-256 sent.
pub async fn happy_path(s: &Subject<'_>) {
    let target = (s.connect)();
    let file = File::of(21, HAPPY);
    let created = create(s, &*target, &file).await;
    let etags = send(s, &*target, &created.upload_id, &file).await;
    let ack = complete(s, &*target, &created.upload_id, &file, &etags).await;
    assert_delivered(s, &ack, &created, &file);
    assert_eq!(ack.sha256, file.sha256(), "{}: acknowledged SHA-256", s.name);
    let objects = s.store.objects(&ack.bucket, &ack.key);
    assert_eq!(objects, [(ack.key.clone(), file.data.len() as u64)], "{}: objects under the key", s.name);
    let stored = s.store.sha256s(&ack.bucket, &ack.key);
    assert_eq!(stored.get(&ack.key), Some(&file.sha256()), "{}: SHA-256 of the stored object", s.name);
}

/// Completing twice (a retry after a lost answer) gives the same acknowledgement and one object.
pub async fn idempotent_complete(s: &Subject<'_>) {
    let target = (s.connect)();
    let file = File::of(22, TWICE);
    let created = create(s, &*target, &file).await;
    let etags = send(s, &*target, &created.upload_id, &file).await;
    let ack = complete(s, &*target, &created.upload_id, &file, &etags).await;
    let again = complete(s, &*target, &created.upload_id, &file, &etags).await;
    assert_eq!(again, ack, "{}: a second completion's acknowledgement", s.name);
    assert_eq!(s.store.objects(&ack.bucket, &ack.key).len(), 1, "{}: objects under {}", s.name, ack.key);
    assert_delivered(s, &ack, &created, &file);
}

/// Every part sent but the upload aborted before `complete`: the last byte never leaves, so no object lands.
pub async fn abort_before_the_last_byte(s: &Subject<'_>) {
    let target = (s.connect)();
    let file = File::of(23, ABORTED);
    let created = create(s, &*target, &file).await;
    send(s, &*target, &created.upload_id, &file).await;
    let aborted = target.abort(&created.upload_id).await.unwrap_or_else(|e| panic!("{}: abort: {e}", s.name));
    assert_eq!(aborted, Aborted::Removed, "{}: abort before the last byte", s.name);
    assert_nothing_landed(s, &created).await;
}

/// Aborting a completed upload (its answer lost to a crash of the caller) keeps the object and answers with the
/// acknowledgement. A new client (a new process after a crash) never saw the bytes, so it answers `Landed` with
/// the object's size and ETag, which must be the file's length and MD5 for the caller to recognize it.
pub async fn abort_after_complete(s: &Subject<'_>) {
    let target = (s.connect)();
    let file = File::of(24, ACKNOWLEDGED);
    let created = create(s, &*target, &file).await;
    let etags = send(s, &*target, &created.upload_id, &file).await;
    let ack = complete(s, &*target, &created.upload_id, &file, &etags).await;
    let later = (s.connect)();
    let aborted = target.abort(&created.upload_id).await.unwrap_or_else(|e| panic!("{}: abort: {e}", s.name));
    assert_eq!(aborted, Aborted::Acknowledged(Box::new(ack.clone())), "{}: abort of a completed upload", s.name);
    let landed = match later.abort(&created.upload_id).await {
        Ok(Aborted::Landed(landed)) => landed,
        other => panic!("{}: a new client's abort of a completed POST: {other:?}", s.name),
    };
    assert_eq!((landed.bucket.as_str(), landed.key.as_str()), (ack.bucket.as_str(), ack.key.as_str()), "{}", s.name);
    let md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(&file.data));
    assert!(landed.is(file.data.len() as u64, &md5), "{}: {landed:?} is not the file (MD5 {md5})", s.name);
    assert_delivered(s, &ack, &created, &file);
}

/// A stream shorter or longer than the length announced at `create`, or whose SHA-256 differs from the one
/// `complete` reports, fails (at the part that overflows, else at `complete`), aborts as `Removed`, and never
/// becomes an object.
pub async fn a_stream_unlike_its_announcement_never_lands(s: &Subject<'_>) {
    let mut broken = Vec::new();
    for (case, which, seed) in [("shorter", SHORT, 25), ("longer", LONG, 26), ("another SHA-256", WRONG_SHA, 27)] {
        let target = (s.connect)();
        let file = File::of(seed, which);
        let len = file.data.len() as u64;
        let announced = match case {
            "shorter" => len + 1,
            "longer" => len - 1,
            _ => len,
        };
        let created = create_announcing(s, &*target, &file, announced).await;
        let mut etags = Vec::new();
        let mut refused = false;
        for p in &file.parts {
            match target.put_part(&created.upload_id, p).await {
                Ok(etag) => etags.push(etag),
                Err(_) if case == "longer" && p.number as usize == file.parts.len() => refused = true,
                Err(e) => panic!("{}: {case} stream: put part {}: {e}", s.name, p.number),
            }
        }
        if !refused {
            let mut request = file.complete_request(&etags);
            if case == "another SHA-256" {
                request.sha256 = File::of(seed + 100, which).sha256();
            }
            let completed = target.complete(&created.upload_id, &request).await;
            assert!(completed.is_err(), "{}: a {case} stream was acknowledged: {completed:?}", s.name);
        }
        let aborted = target.abort(&created.upload_id).await.unwrap_or_else(|e| panic!("{}: abort: {e}", s.name));
        assert_eq!(aborted, Aborted::Removed, "{}: abort of a {case} stream", s.name);
        broken.push(created);
    }
    tokio::time::sleep(SETTLE).await;
    for created in &broken {
        assert_eq!(s.store.objects(&created.bucket, &created.key), [], "{}: {} landed", s.name, created.key);
    }
}

/// A file over the target's `max_bytes` is refused at `create`, before a byte is sent.
pub async fn too_large_is_refused_at_create(s: &Subject<'_>) {
    let target = (s.connect)();
    let max = target.one_shot().expect("a one-shot target").max_bytes;
    let file = File::of(28, TOO_LARGE);
    let request = CreateUploadRequest { expected_size_bytes: Some(max + 1), ..file.create_request() };
    let created = target.create(&request).await;
    assert!(
        created.is_err(),
        "{}: a file of {} bytes was taken, over the {max}-byte limit: {created:?}",
        s.name,
        max + 1
    );
}

/// After [`SETTLE`], the store holds no object under the upload's key.
async fn assert_nothing_landed(s: &Subject<'_>, created: &CreateUploadResponse) {
    tokio::time::sleep(SETTLE).await;
    assert_eq!(s.store.objects(&created.bucket, &created.key), [], "{}: {} landed", s.name, created.key);
}
