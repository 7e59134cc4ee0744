//! A bounded channel of byte buffers with a blocking [`Read`] at its end: how a database thread's CSV and a
//! downloaded object reach the synchronous converters and checkers, with memory bounded by the channel. Also the
//! sink the database backends write into. A leaf module, so the backends (`postgres.rs`, `mysql.rs`) and the bridge
//! that starts them do not import each other.

use std::io::{self, Read};
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

use crate::Error;

/// What the sending side sends. An explicit `Done` tells a finished stream from a sender that died: a closed
/// channel without it is an error, never a silently short result.
enum Message {
    Data(Bytes),
    Failed(io::Error),
    Done,
}

/// A bounded channel of at most `capacity` buffers in flight: an async task sends into the [`ByteSender`], a
/// blocking reader drains the [`ByteReader`]. `name` names the stream in the error of a sender that vanished.
pub fn byte_channel(name: &str, capacity: usize) -> (ByteSender, ByteReader) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let reader = ByteReader { name: name.to_owned(), rx, current: Bytes::new(), done: false, thread: None };
    (ByteSender { tx }, reader)
}

/// The sending end of a [`byte_channel`]; dropped without [`ByteSender::finish`], the reader fails.
#[derive(Debug, Clone)]
pub struct ByteSender {
    tx: mpsc::Sender<Message>,
}

impl ByteSender {
    /// Hands one buffer over, waiting while the channel is full. `false` means the reader is gone: stop.
    pub async fn send(&self, data: Bytes) -> bool {
        self.tx.send(Message::Data(data)).await.is_ok()
    }

    /// Ends the stream: the reader reads to its end.
    pub async fn finish(self) {
        let _ = self.tx.send(Message::Done).await;
    }

    /// Fails the stream: the reader's next read returns `error`.
    pub async fn fail(self, error: io::Error) {
        let _ = self.tx.send(Message::Failed(error)).await;
    }
}

/// The blocking end of a [`byte_channel`]: reading blocks while the sender produces more. A database query's
/// reader also owns the thread that runs it, joined when the stream ends or the reader is dropped.
pub struct ByteReader {
    name: String,
    rx: mpsc::Receiver<Message>,
    current: Bytes,
    done: bool,
    pub(crate) thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ByteReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteReader").field("name", &self.name).field("done", &self.done).finish_non_exhaustive()
    }
}

impl Read for ByteReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Message::Data(bytes)) => self.current = bytes,
                Some(Message::Done) => self.end(),
                Some(Message::Failed(e)) => {
                    self.end();
                    return Err(e);
                }
                None => {
                    self.end();
                    return Err(io::Error::other(Error::WorkerLost { name: self.name.clone() }));
                }
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current[..n]);
        bytes::Buf::advance(&mut self.current, n);
        Ok(n)
    }
}

impl ByteReader {
    /// Ends the stream, joining the thread that fed it, if any.
    pub(crate) fn end(&mut self) {
        self.done = true;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!(source = %self.name, stage = "read", "database thread panicked");
        }
    }
}

impl Drop for ByteReader {
    fn drop(&mut self) {
        // Closing the channel makes the sender's next send fail, so a database thread stops reading and drops its
        // connection; joining here means no connection outlives the reader.
        self.rx.close();
        while let Ok(Message::Data(_)) = self.rx.try_recv() {}
        self.end();
    }
}

/// Tells [`open`](crate::open) whether the query was accepted (with the watermark it reaches) or why not.
pub(crate) type Ready = SyncSender<Result<Option<String>, Error>>;

/// Gathers a database's bytes into buffers of about `limit` and hands them to the reader, waiting while the
/// channel is full.
pub(crate) struct Sink {
    tx: ByteSender,
    buf: BytesMut,
    limit: usize,
}

impl Sink {
    /// A sink handing buffers of about `limit` bytes to `tx`.
    pub(crate) fn new(tx: ByteSender, limit: usize) -> Sink {
        Sink { tx, buf: BytesMut::with_capacity(limit + limit / 4), limit }
    }

    /// The buffer to append to; call [`Sink::flush_if_full`] after appending.
    pub(crate) fn buf(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Hands the buffer over once it reached the limit. `false` means the reader is gone: stop reading.
    pub(crate) async fn flush_if_full(&mut self) -> bool {
        if self.buf.len() < self.limit {
            return true;
        }
        let data = self.buf.split().freeze();
        self.buf.reserve(self.limit + self.limit / 4);
        self.tx.send(data).await
    }

    /// Sends what is left and the end marker.
    pub(crate) async fn finish(mut self) {
        if !self.buf.is_empty() {
            let data = self.buf.split().freeze();
            if !self.tx.send(data).await {
                return;
            }
        }
        self.tx.finish().await;
    }

    /// Reports a failure in the middle of the stream (the reader then fails with it).
    pub(crate) async fn fail(self, error: Error) {
        self.tx.fail(io::Error::other(error)).await;
    }
}
