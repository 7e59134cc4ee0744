//! What a database thread and the reader draining it share: the channel's messages and the sink the backends
//! write into. A leaf module, so the backends (`postgres.rs`, `mysql.rs`) and the bridge that starts them do not
//! import each other.

use std::sync::mpsc::SyncSender;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

use crate::Error;

/// What the database thread sends. An explicit `Done` tells a finished stream from a thread that died: a closed
/// channel without it is an error, never a silently short result.
pub(crate) enum Message {
    Data(Bytes),
    Failed(Error),
    Done,
}

/// Tells [`open`](crate::open) whether the query was accepted (with the watermark it reaches) or why not.
pub(crate) type Ready = SyncSender<Result<Option<String>, Error>>;

/// Gathers bytes into buffers of about `limit` and hands them to the reader, waiting while the channel is full.
pub(crate) struct Sink {
    tx: mpsc::Sender<Message>,
    buf: BytesMut,
    limit: usize,
}

impl Sink {
    /// A sink handing buffers of about `limit` bytes to `tx`.
    pub(crate) fn new(tx: mpsc::Sender<Message>, limit: usize) -> Sink {
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
        self.tx.send(Message::Data(data)).await.is_ok()
    }

    /// Sends what is left and the end marker.
    pub(crate) async fn finish(mut self) {
        if !self.buf.is_empty() {
            let data = self.buf.split().freeze();
            if self.tx.send(Message::Data(data)).await.is_err() {
                return;
            }
        }
        let _ = self.tx.send(Message::Done).await;
    }

    /// Reports a failure in the middle of the stream (the reader then fails with it).
    pub(crate) async fn fail(self, error: Error) {
        let _ = self.tx.send(Message::Failed(error)).await;
    }
}
