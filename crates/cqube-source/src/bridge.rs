//! The async-to-blocking bridge: a thread running a current-thread tokio runtime pushes `Bytes` into a bounded
//! channel; [`DbReader`] drains it as a `std::io::Read`.
//!
//! Its own thread and runtime because the reader is blocking and used from anywhere: `convert`/`validate` run no
//! runtime at all, and `emit` reads on a blocking producer thread, where entering the process's runtime would
//! block one of its workers for the whole query.

use std::io::{self, Read};
use std::thread::JoinHandle;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::stream::{Message, Ready, Sink};
use crate::{Backend, Error, Opened, Request};

/// CSV bytes of one query's result, header first. Reading blocks while the database thread fetches more.
pub struct DbReader {
    name: String,
    rx: mpsc::Receiver<Message>,
    current: Bytes,
    done: bool,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for DbReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbReader").field("name", &self.name).field("done", &self.done).finish_non_exhaustive()
    }
}

impl Read for DbReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Message::Data(bytes)) => self.current = bytes,
                Some(Message::Done) => {
                    self.done = true;
                    self.join();
                }
                Some(Message::Failed(e)) => {
                    self.done = true;
                    self.join();
                    return Err(io::Error::other(e));
                }
                None => {
                    self.done = true;
                    self.join();
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

impl DbReader {
    fn join(&mut self) {
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!(source = %self.name, stage = "read", "database thread panicked");
        }
    }
}

impl Drop for DbReader {
    fn drop(&mut self) {
        // Closing the channel makes the thread's next send fail, so it stops reading and drops the connection;
        // joining here means no connection outlives the reader.
        self.rx.close();
        while let Ok(Message::Data(_)) = self.rx.try_recv() {}
        self.join();
    }
}

pub(crate) fn open(request: &Request) -> Result<Opened, Error> {
    let name = request.name.clone();
    if !request.backend.compiled_in() {
        return Err(Error::NotCompiledIn { name, backend: request.backend });
    }
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
    let (tx, rx) = mpsc::channel(request.buffers_in_flight.max(1));
    let limit = request.buffer_bytes.max(4096);
    let sink = Sink::new(tx, limit);
    let thread_request = request.clone();
    let thread = std::thread::Builder::new()
        .name(format!("db-{}", request.name))
        .spawn(move || run(&thread_request, ready_tx, sink))
        .map_err(|source| Error::Thread { name: name.clone(), source })?;
    let mut reader = DbReader { name: name.clone(), rx, current: Bytes::new(), done: false, thread: Some(thread) };
    match ready_rx.recv() {
        Ok(Ok(watermark)) => Ok(Opened { reader, watermark }),
        Ok(Err(e)) => Err(e),
        Err(_) => {
            reader.done = true;
            Err(Error::WorkerLost { name })
        }
    }
}

fn run(request: &Request, ready: Ready, sink: Sink) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(source) => {
            let _ = ready.send(Err(Error::Thread { name: request.name.clone(), source }));
            return;
        }
    };
    let _span = tracing::info_span!("db", source = %request.name, backend = %request.backend, stage = "read").entered();
    match request.backend {
        #[cfg(feature = "postgres")]
        Backend::Postgres => runtime.block_on(crate::postgres::run(request, ready, sink)),
        #[cfg(feature = "mysql")]
        Backend::Mysql => runtime.block_on(crate::mysql::run(request, ready, sink)),
        #[allow(unreachable_patterns)]
        other => {
            // `open` checked `compiled_in`; kept so a build with one feature still matches every backend.
            let _ = ready.send(Err(Error::NotCompiledIn { name: request.name.clone(), backend: other }));
        }
    }
}
