//! The async-to-blocking bridge: a thread running a current-thread tokio runtime pushes the query's CSV into a
//! [`byte_channel`]; its [`ByteReader`](crate::ByteReader) drains it as a `std::io::Read`.
//!
//! Its own thread and runtime because the reader is blocking and used from anywhere: `convert`/`validate` run no
//! runtime at all, and `emit` reads on a blocking producer thread, where entering the process's runtime would
//! block one of its workers for the whole query.

use crate::stream::{Ready, Sink, byte_channel};
use crate::{Backend, Error, Opened, Request};

pub(crate) fn open(request: &Request) -> Result<Opened, Error> {
    let name = request.name.clone();
    if !request.backend.compiled_in() {
        return Err(Error::NotCompiledIn { name, backend: request.backend });
    }
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
    let (tx, mut reader) = byte_channel(&name, request.buffers_in_flight);
    let sink = Sink::new(tx, request.buffer_bytes.max(4096));
    let thread_request = request.clone();
    let thread = std::thread::Builder::new()
        .name(format!("db-{}", request.name))
        .spawn(move || run(&thread_request, ready_tx, sink))
        .map_err(|source| Error::Thread { name: name.clone(), source })?;
    reader.thread = Some(thread);
    match ready_rx.recv() {
        Ok(Ok(watermark)) => Ok(Opened { reader, watermark }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(Error::WorkerLost { name }),
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
