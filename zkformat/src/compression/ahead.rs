//! Decompressing one step ahead, on a helper thread.
//!
//! A compressed snapshot is read in two stages: the decompressor, then the parser (framing,
//! seals, tree digest). In series on one thread their costs add up; [`open_ahead`] moves the
//! decompressor to a scoped helper thread, which hands decompressed chunks of
//! [`DECOMPRESS_AHEAD_CHUNK`] bytes over to the caller, so on two cores the read runs at the
//! speed of the slower stage. At most [`DECOMPRESS_AHEAD_DEPTH`] chunks wait; their buffers are
//! reused. Plain streams are returned as they are, with no thread.
//!
//! The bytes, the errors and where they occur are those [`super::open`] gives: the helper
//! thread runs the same decompressor and cap, and an error reaches the caller after every byte
//! that came before it. (That the read sizes, 256 KiB chunks here, change nothing is the
//! decompressors' part: see `gzip.rs`.)
//!
//! Dropping the reader hangs up on the helper thread and joins it, so when the drop returns the
//! thread has exited, thread-local destructors and all (a scope alone returns as soon as the
//! thread's closure is done, while the thread may still be tearing down; a leak checker running
//! just then, as libFuzzer's does between inputs, sees its allocations as leaked).

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

use super::{decompress, read_prefix, Compression};
use crate::limits::Limits;

/// Decompressed bytes the helper thread gathers before handing them over.
pub const DECOMPRESS_AHEAD_CHUNK: usize = 256 * 1024;

/// Chunks that may wait for the caller (more than this and the helper thread waits).
pub const DECOMPRESS_AHEAD_DEPTH: usize = 4;

/// What the helper thread sends, in stream order.
enum Message {
    /// `len` decompressed bytes at the start of `buf`.
    Data { buf: Vec<u8>, len: usize },
    /// The decompressed stream ended cleanly.
    End,
    /// Reading or decompressing failed here; nothing follows.
    Failed(io::Error),
}

/// Like [`super::open`], but for a compressed stream the decompressor runs on a helper thread
/// spawned in `scope`, one bounded step ahead of the returned reader. The thread ends at the end
/// of the stream, on its first error, or soon after the returned reader is dropped; dropping the
/// reader waits for it to have exited (a panic on it is passed on there).
///
/// # Errors
/// I/O errors while reading the first bytes.
pub fn open_ahead<'scope, R: Read + Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    mut inner: R,
    limits: Limits,
) -> io::Result<(Compression, Box<dyn Read + Send + 'scope>)> {
    let prefix = read_prefix(&mut inner)?;
    let compression = Compression::detect(&prefix);
    if compression == Compression::None {
        return Ok((compression, Box::new(io::Cursor::new(prefix).chain(inner))));
    }
    let (to_caller, chunks) = sync_channel(DECOMPRESS_AHEAD_DEPTH);
    let (recycle, recycled) = sync_channel(DECOMPRESS_AHEAD_DEPTH);
    let helper = scope.spawn(move || {
        let stream = decompress(prefix, inner, compression, limits);
        produce(stream, &to_caller, &recycled);
    });
    Ok((
        compression,
        Box::new(AheadReader {
            chunks,
            recycle,
            buf: Vec::new(),
            len: 0,
            pos: 0,
            finished: false,
            helper: Some(helper),
        }),
    ))
}

/// The helper thread: fills chunks from `stream` and sends them until the end, an error, or the
/// caller hanging up.
fn produce(mut stream: impl Read, out: &SyncSender<Message>, recycled: &Receiver<Vec<u8>>) {
    loop {
        let mut buf = recycled
            .try_recv()
            .unwrap_or_else(|_| vec![0; DECOMPRESS_AHEAD_CHUNK]);
        let mut len = 0;
        let mut last = None;
        while len < buf.len() {
            match stream.read(&mut buf[len..]) {
                Ok(0) => {
                    last = Some(Message::End);
                    break;
                }
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    last = Some(Message::Failed(e));
                    break;
                }
            }
        }
        // A send fails only when the caller dropped its reader: nothing left to do.
        if len > 0 && out.send(Message::Data { buf, len }).is_err() {
            return;
        }
        if let Some(m) = last {
            let _ = out.send(m);
            return;
        }
    }
}

/// The caller's side: reads the chunks in order.
struct AheadReader<'scope> {
    chunks: Receiver<Message>,
    recycle: SyncSender<Vec<u8>>,
    buf: Vec<u8>,
    len: usize,
    pos: usize,
    finished: bool,
    /// Joined on drop.
    helper: Option<ScopedJoinHandle<'scope, ()>>,
}

impl Drop for AheadReader<'_> {
    fn drop(&mut self) {
        // Hang up first: a helper waiting to hand over a chunk gives up at once, one still
        // decompressing gives up at its next hand-over (after at most one chunk).
        drop(std::mem::replace(&mut self.chunks, sync_channel(0).1));
        if let Some(helper) = self.helper.take() {
            if let Err(panic) = helper.join() {
                if !std::thread::panicking() {
                    std::panic::resume_unwind(panic);
                }
            }
        }
    }
}

impl Read for AheadReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.len {
            if self.finished {
                return Ok(0);
            }
            match self.chunks.recv() {
                Ok(Message::Data { buf, len }) => {
                    let done = std::mem::replace(&mut self.buf, buf);
                    // Hand the buffer back for reuse; if the queue is full it is simply freed.
                    if !done.is_empty() {
                        let _ = self.recycle.try_send(done);
                    }
                    self.len = len;
                    self.pos = 0;
                }
                Ok(Message::End) => {
                    self.finished = true;
                    return Ok(0);
                }
                Ok(Message::Failed(e)) => {
                    self.finished = true;
                    return Err(e);
                }
                Err(_) => {
                    self.finished = true;
                    return Err(io::Error::other(
                        "the decompression thread stopped without finishing the stream",
                    ));
                }
            }
        }
        let avail = self.buf.get(self.pos..self.len).unwrap_or(&[]);
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::Compressor;
    use std::io::Write;

    fn compressed(data: &[u8], c: Compression) -> Vec<u8> {
        let mut w = Compressor::new(Vec::new(), c);
        w.write_all(data).unwrap();
        w.finish().unwrap()
    }

    fn sample(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// Reads everything with odd-sized reads; returns the bytes and the error, if any.
    fn drain(mut r: impl Read) -> (Vec<u8>, Option<String>) {
        let mut out = Vec::new();
        let mut buf = [0u8; 7919];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return (out, None),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
    }

    #[test]
    fn same_bytes_as_the_plain_reader() {
        for c in [Compression::None, Compression::Gzip, Compression::Snappy] {
            for n in [
                0,
                1,
                DECOMPRESS_AHEAD_CHUNK,
                3 * DECOMPRESS_AHEAD_CHUNK + 17,
            ] {
                let data = sample(n);
                let file = compressed(&data, c);
                let got = std::thread::scope(|s| {
                    let (found, r) = open_ahead(s, &file[..], Limits::default()).unwrap();
                    assert_eq!(found, c);
                    drain(r)
                });
                assert_eq!(got.1, None, "{c:?} {n}");
                assert!(got.0 == data, "{c:?} {n}");
            }
        }
    }

    #[test]
    fn errors_come_after_the_bytes_before_them() {
        let data = sample(2 * DECOMPRESS_AHEAD_CHUNK + 5);
        for c in [Compression::Gzip, Compression::Snappy] {
            let file = compressed(&data, c);
            let cut = &file[..file.len() * 2 / 3];
            let (_, plain) = super::super::open(cut, Limits::default()).unwrap();
            let want = drain(plain);
            let got =
                std::thread::scope(|s| drain(open_ahead(s, cut, Limits::default()).unwrap().1));
            assert!(want.1.is_some(), "{c:?}: the cut stream must fail");
            assert_eq!(got.1, want.1, "{c:?}");
            assert!(got.0 == want.0, "{c:?}");
        }
    }

    #[test]
    fn the_cap_still_applies() {
        let data = sample(DECOMPRESS_AHEAD_CHUNK * 2);
        let file = compressed(&data, Compression::Gzip);
        let limits = Limits {
            max_decompressed: 100_000,
            ..Limits::default()
        };
        let (got, err) = std::thread::scope(|s| drain(open_ahead(s, &file[..], limits).unwrap().1));
        assert_eq!(
            got.len(),
            100_000,
            "exactly the bytes up to the cap come out"
        );
        assert!(err.unwrap().contains("larger than the limit"));
    }

    /// Dropping the reader returns only once the helper thread has exited, its thread-local
    /// destructors included (what LeakSanitizer between two fuzzing inputs needs).
    #[test]
    fn dropping_the_reader_waits_for_the_thread_to_exit() {
        use std::cell::RefCell;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        use std::thread::ThreadId;

        struct OnExit(Arc<AtomicBool>);
        impl Drop for OnExit {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        thread_local!(static ON_EXIT: RefCell<Option<OnExit>> = const { RefCell::new(None) });

        /// Sets `exited` when a thread other than `caller` that read from it has exited.
        struct Source<'a> {
            data: &'a [u8],
            caller: ThreadId,
            exited: Arc<AtomicBool>,
        }
        impl Read for Source<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if std::thread::current().id() != self.caller {
                    ON_EXIT.with(|e| {
                        e.borrow_mut()
                            .get_or_insert_with(|| OnExit(self.exited.clone()));
                    });
                }
                self.data.read(buf)
            }
        }

        let data = sample(3 * DECOMPRESS_AHEAD_CHUNK);
        for c in [Compression::Gzip, Compression::Snappy] {
            let file = compressed(&data, c);
            for early in [true, false] {
                let exited = Arc::new(AtomicBool::new(false));
                std::thread::scope(|s| {
                    let source = Source {
                        data: &file,
                        caller: std::thread::current().id(),
                        exited: exited.clone(),
                    };
                    let (_, mut r) = open_ahead(s, source, Limits::default()).unwrap();
                    if early {
                        r.read_exact(&mut [0u8; 10]).unwrap();
                    } else {
                        assert!(drain(&mut r).0 == data);
                    }
                    drop(r);
                    assert!(exited.load(Ordering::SeqCst), "{c:?}, early: {early}");
                });
            }
        }
    }

    #[test]
    fn dropping_the_reader_early_ends_the_thread() {
        let data = sample(40 * DECOMPRESS_AHEAD_CHUNK);
        let file = compressed(&data, Compression::Snappy);
        // The scope joins the helper thread: this returns only if the thread noticed.
        std::thread::scope(|s| {
            let (_, mut r) = open_ahead(s, &file[..], Limits::default()).unwrap();
            let mut first = [0u8; 10];
            r.read_exact(&mut first).unwrap();
            assert_eq!(&first[..], &data[..10]);
        });
    }
}
