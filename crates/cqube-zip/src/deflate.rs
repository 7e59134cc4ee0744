//! pigz-style block deflate: each block is compressed on its own, primed with the 32 KiB that precede it, and ends
//! on a byte boundary (sync flush), so the outputs concatenate into one valid raw deflate stream.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use flate2::{Compress, CompressError, Compression, FlushCompress, Status};

/// Deflate's window: the most a back-reference can reach, so the most dictionary a block can use.
pub(crate) const WINDOW: usize = 32 * 1024;

/// Reusable allocations of one block: its input, its compressed output and the dictionary it was primed with.
#[derive(Debug, Default)]
pub(crate) struct Buffers {
    pub input: Vec<u8>,
    pub output: Vec<u8>,
    pub dictionary: Vec<u8>,
}

/// One block's work order.
#[derive(Debug)]
pub(crate) struct Job {
    pub buffers: Buffers,
    pub level: u32,
    /// The final block ends the deflate stream; the others end with a sync flush.
    pub last: bool,
}

/// A compressed block, with its CRC to be combined in order and its buffers to be recycled.
#[derive(Debug)]
pub(crate) struct Deflated {
    pub buffers: Buffers,
    pub crc: crc32fast::Hasher,
    pub level: u32,
}

#[derive(Debug)]
enum State {
    Queued(Job),
    /// Being compressed, or already handed to the writer: either way nobody else may start it.
    Claimed,
    Done(Result<Deflated, CompressError>),
}

/// A block's place in the output order, shared by the writer and the pool task that may compress it.
#[derive(Debug)]
pub(crate) struct Slot {
    state: Mutex<State>,
    done: Condvar,
}

impl Slot {
    /// Queues `job` on the current rayon pool and returns its slot.
    pub(crate) fn spawn(job: Job) -> Arc<Self> {
        let slot = Arc::new(Self { state: Mutex::new(State::Queued(job)), done: Condvar::new() });
        let task = Arc::clone(&slot);
        rayon::spawn(move || {
            // The writer may have claimed the job already (see `wait`); then there is nothing left to do.
            if let Some(job) = task.claim() {
                let result = job.run();
                *task.lock() = State::Done(result);
                task.done.notify_all();
            }
        });
        slot
    }

    /// The result if the block is finished, without blocking.
    pub(crate) fn try_take(&self) -> Option<Result<Deflated, CompressError>> {
        let mut state = self.lock();
        match std::mem::replace(&mut *state, State::Claimed) {
            State::Done(result) => Some(result),
            other => {
                *state = other;
                None
            }
        }
    }

    /// The result, blocking until it exists. A block no pool thread has started yet is compressed right here, so
    /// waiting never depends on the pool having a free thread: calling this from inside a rayon worker, or with every
    /// pool thread busy elsewhere, cannot deadlock.
    pub(crate) fn wait(&self) -> Result<Deflated, CompressError> {
        let mut state = self.lock();
        loop {
            match std::mem::replace(&mut *state, State::Claimed) {
                State::Queued(job) => {
                    drop(state);
                    return job.run();
                }
                State::Done(result) => return result,
                State::Claimed => state = self.done.wait(state).unwrap_or_else(PoisonError::into_inner),
            }
        }
    }

    fn claim(&self) -> Option<Job> {
        let mut state = self.lock();
        match std::mem::replace(&mut *state, State::Claimed) {
            State::Queued(job) => Some(job),
            other => {
                *state = other;
                None
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock, and the state is valid at every assignment anyway.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Job {
    pub(crate) fn run(self) -> Result<Deflated, CompressError> {
        let Job { mut buffers, level, last } = self;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&buffers.input);
        deflate_block(level, &buffers.dictionary, &buffers.input, &mut buffers.output, last)?;
        Ok(Deflated { buffers, crc, level })
    }
}

/// Compresses `input` into `output` (cleared first) as a self-contained piece of a raw deflate stream.
fn deflate_block(
    level: u32,
    dictionary: &[u8],
    input: &[u8],
    output: &mut Vec<u8>,
    last: bool,
) -> Result<(), CompressError> {
    // A new compressor per block, never a reset one: after zlib-rs 0.6's `reset` some state survives that changes
    // match choices (measured: 1 to 4 of 40 attendance blocks came out different), so reuse would make the output
    // depend on which blocks a thread compressed before. Allocating the state costs well under 1 % of a block.
    let mut c = Compress::new(Compression::new(level), false);
    if !dictionary.is_empty() {
        c.set_dictionary(dictionary)?;
    }
    output.clear();
    // Worst case (incompressible input) is stored blocks: 5 bytes per 64 KiB, plus the flush markers.
    output.reserve(input.len() + input.len() / 1024 + 64);
    let flush = if last { FlushCompress::Finish } else { FlushCompress::Sync };
    loop {
        let consumed = c.total_in() as usize;
        let status = c.compress_vec(&input[consumed..], output, flush)?;
        let flushed = if last {
            status == Status::StreamEnd
        } else {
            // zlib's contract: a flush is complete once a call returns with output space to spare.
            c.total_in() as usize == input.len() && output.len() < output.capacity()
        };
        if flushed {
            return Ok(());
        }
        output.reserve(WINDOW);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Decompress, FlushDecompress};

    fn inflate(data: &[u8], expected_len: usize) -> Vec<u8> {
        let mut d = Decompress::new(false);
        let mut out = Vec::with_capacity(expected_len + 1);
        let status = d.decompress_vec(data, &mut out, FlushDecompress::Finish).unwrap();
        assert_eq!(status, Status::StreamEnd);
        assert_eq!(d.total_in() as usize, data.len(), "no trailing bytes");
        out
    }

    fn inflate_primed(data: &[u8], dictionary: &[u8]) -> Vec<u8> {
        let mut d = Decompress::new(false);
        d.set_dictionary(dictionary).unwrap();
        let mut out = Vec::with_capacity(dictionary.len() * 2);
        assert_eq!(d.decompress_vec(data, &mut out, FlushDecompress::Finish).unwrap(), Status::StreamEnd);
        out
    }

    fn run(input: &[u8], dictionary: &[u8], last: bool) -> Vec<u8> {
        let buffers = Buffers { input: input.to_vec(), dictionary: dictionary.to_vec(), output: Vec::new() };
        Job { buffers, level: 6, last }.run().unwrap().buffers.output
    }

    #[test]
    fn blocks_with_dictionaries_concatenate_into_one_stream() {
        let data: Vec<u8> = (0..200_000u32).flat_map(|i| format!("{}|{}\n", i % 977, i % 13).into_bytes()).collect();
        let cut = [0, 70_000, 140_000, data.len()];
        let mut stream = Vec::new();
        for w in 0..3 {
            let dict = &data[cut[w].saturating_sub(WINDOW)..cut[w]];
            stream.extend(run(&data[cut[w]..cut[w + 1]], dict, w == 2));
        }
        assert_eq!(inflate(&stream, data.len()), data);
    }

    fn noise(len: usize) -> Vec<u8> {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn dictionary_is_used() {
        let data = noise(8 * 1024);
        let primed = run(&data, &data, true);
        assert!(primed.len() < 100, "{}", primed.len());
        assert_eq!(inflate_primed(&primed, &data), data);
    }

    #[test]
    fn incompressible_block_grows_output_as_needed() {
        let data = noise(300_000);
        let mut stream = run(&data, &[], false);
        assert!(stream.len() > data.len());
        stream.extend(run(&[], &data[data.len() - WINDOW..], true));
        assert_eq!(inflate(&stream, data.len()), data);
    }

    #[test]
    fn waiting_on_a_queued_slot_compresses_inline() {
        let job = Job { buffers: Buffers { input: b"abc".to_vec(), ..Buffers::default() }, level: 1, last: true };
        let slot = Slot { state: Mutex::new(State::Queued(job)), done: Condvar::new() };
        assert!(slot.try_take().is_none());
        let out = slot.wait().unwrap();
        assert_eq!(inflate(&out.buffers.output, 3), b"abc");
        assert_eq!(out.crc.finalize(), crc32fast::hash(b"abc"));
        assert!(slot.claim().is_none(), "a pool task arriving late finds nothing to do");
    }
}
