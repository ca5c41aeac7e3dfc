//! A bounded in-memory pipe between a thread that writes an archive and a store that reads it:
//! at most `depth` chunks of 1 MiB are in flight, so memory stays flat whatever the size.

use std::io::{self, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Chunk size.
const CHUNK: usize = 1 << 20;

/// The writing end. Dropping it ends the stream; [`PipeWriter::fail`] ends it with an error.
#[derive(Debug)]
pub struct PipeWriter {
    tx: Option<SyncSender<io::Result<Vec<u8>>>>,
    buf: Vec<u8>,
}

/// The reading end.
#[derive(Debug)]
pub struct PipeReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    cur: Vec<u8>,
    pos: usize,
    done: bool,
}

/// A pipe holding at most `depth` chunks.
pub fn pipe(depth: usize) -> (PipeWriter, PipeReader) {
    let (tx, rx) = sync_channel(depth);
    (
        PipeWriter {
            tx: Some(tx),
            buf: Vec::with_capacity(CHUNK),
        },
        PipeReader {
            rx,
            cur: Vec::new(),
            pos: 0,
            done: false,
        },
    )
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the store stopped reading")
}

impl PipeWriter {
    fn send(&mut self, v: io::Result<Vec<u8>>) -> io::Result<()> {
        match &self.tx {
            Some(tx) => tx.send(v).map_err(|_| closed()),
            None => Err(closed()),
        }
    }

    /// Ends the stream with an error: the reader fails instead of seeing a clean end, so a
    /// store never keeps a truncated object as if it were whole.
    pub fn fail(mut self, why: String) {
        let _ = self.send(Err(io::Error::other(why)));
        self.tx = None;
    }

    /// Sends what is buffered and ends the stream cleanly.
    ///
    /// # Errors
    /// The reader is gone.
    pub fn finish(mut self) -> io::Result<()> {
        self.flush()?;
        self.tx = None;
        Ok(())
    }
}

impl Write for PipeWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(data.get(..n).unwrap_or(&[]));
        if self.buf.len() >= CHUNK {
            let full = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
            self.send(Ok(full))?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let part = std::mem::take(&mut self.buf);
            self.send(Ok(part))?;
        }
        Ok(())
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        // A writer dropped without `finish` (a panic or an early return) must not look like a
        // complete stream.
        if self.tx.is_some() {
            let _ = self.send(Err(io::Error::other("the archive was not completed")));
        }
    }
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.cur.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.cur = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let rest = self.cur.get(self.pos..).unwrap_or(&[]);
        let n = rest.len().min(out.len());
        out.get_mut(..n)
            .unwrap_or(&mut [])
            .copy_from_slice(rest.get(..n).unwrap_or(&[]));
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_pass_and_errors_too() {
        let (mut w, mut r) = pipe(2);
        let data: Vec<u8> = (0..5_000_000u32).map(|i| i as u8).collect();
        let d2 = data.clone();
        let t = std::thread::spawn(move || {
            w.write_all(&d2).unwrap();
            w.finish().unwrap();
        });
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        t.join().unwrap();
        assert!(got == data);
        let (mut w, mut r) = pipe(2);
        let t = std::thread::spawn(move || {
            w.write_all(b"partial").unwrap();
            drop(w);
        });
        let mut got = Vec::new();
        assert!(
            r.read_to_end(&mut got).is_err(),
            "a dropped writer is an error"
        );
        t.join().unwrap();
    }
}
