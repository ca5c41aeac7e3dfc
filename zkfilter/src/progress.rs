//! A progress line on stderr for long runs, shown only when stderr is a terminal.

use std::io::{self, IsTerminal, Read, Write};
use std::time::{Duration, Instant};

/// A reader that reports how far it got.
#[derive(Debug)]
pub struct Progress<R> {
    inner: R,
    done: u64,
    total: Option<u64>,
    last: Instant,
    enabled: bool,
    label: &'static str,
}

impl<R> Progress<R> {
    /// Wraps `inner`; `total` is the input size when known.
    pub fn new(inner: R, total: Option<u64>, label: &'static str, quiet: bool) -> Progress<R> {
        Progress {
            inner,
            done: 0,
            total,
            last: Instant::now(),
            enabled: !quiet && io::stderr().is_terminal(),
            label,
        }
    }

    fn show(&mut self, force: bool) {
        if !self.enabled || (!force && self.last.elapsed() < Duration::from_millis(250)) {
            return;
        }
        self.last = Instant::now();
        let mib = self.done as f64 / 1048576.0;
        let line = match self.total {
            Some(t) if t > 0 => format!(
                "\r{}: {:.1} MiB of {:.1} MiB ({:.0}%)",
                self.label,
                mib,
                t as f64 / 1048576.0,
                100.0 * self.done as f64 / t as f64
            ),
            _ => format!("\r{}: {:.1} MiB", self.label, mib),
        };
        let mut e = io::stderr().lock();
        let _ = e.write_all(line.as_bytes());
        let _ = e.flush();
    }

    /// Reports that `offset` bytes of the input are done (for inputs not read through this
    /// reader, such as a mapped file).
    pub fn reached(&mut self, offset: u64) {
        self.done = offset;
        self.show(false);
    }

    /// Clears the progress line.
    pub fn finish(&mut self) {
        if self.enabled {
            self.show(true);
            let _ = io::stderr().write_all(b"\n");
        }
    }
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        self.show(false);
        Ok(n)
    }
}

impl<R> Drop for Progress<R> {
    fn drop(&mut self) {
        self.finish();
        self.enabled = false;
    }
}
