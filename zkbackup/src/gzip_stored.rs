//! A gzip stream of stored (uncompressed) deflate blocks: a valid `.gz` that any gunzip reads,
//! written at memory speed (`--gzip-level 0`). miniz_oxide's own stored mode spent 43% of a
//! backup's time copying bytes one block at a time.

use std::io::{self, Write};

/// Largest stored block (its length field is 16 bits).
const BLOCK: usize = 65_535;

/// Writes `inner` as gzip with stored deflate blocks.
#[derive(Debug)]
pub struct StoredGz<W: Write> {
    inner: W,
    buf: Vec<u8>,
    crc: crc32fast::Hasher,
    len: u64,
    started: bool,
}

impl<W: Write> StoredGz<W> {
    /// A stream into `inner` (the header is written with the first bytes).
    pub fn new(inner: W) -> StoredGz<W> {
        StoredGz {
            inner,
            buf: Vec::with_capacity(BLOCK),
            crc: crc32fast::Hasher::new(),
            len: 0,
            started: false,
        }
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.started {
            // ID1 ID2, CM=8 (deflate), FLG=0, MTIME=0, XFL=0, OS=255 (unknown).
            self.inner
                .write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255])?;
            self.started = true;
        }
        Ok(())
    }

    fn block(&mut self, last: bool) -> io::Result<()> {
        self.header()?;
        let n = self.buf.len() as u16;
        let mut head = [0u8; 5];
        head[0] = u8::from(last);
        head[1..3].copy_from_slice(&n.to_le_bytes());
        head[3..5].copy_from_slice(&(!n).to_le_bytes());
        self.inner.write_all(&head)?;
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Ends the stream (the last block, CRC-32 and length) and returns the writer.
    ///
    /// # Errors
    /// Write errors.
    pub fn finish(mut self) -> io::Result<W> {
        self.block(true)?;
        let crc = self.crc.clone().finalize();
        self.inner.write_all(&crc.to_le_bytes())?;
        self.inner.write_all(&(self.len as u32).to_le_bytes())?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for StoredGz<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(BLOCK - self.buf.len());
        let part = data.get(..n).unwrap_or(&[]);
        self.buf.extend_from_slice(part);
        self.crc.update(part);
        self.len += n as u64;
        if self.buf.len() == BLOCK {
            self.block(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn gunzip_reads_it() {
        for size in [0usize, 1, 65_535, 65_536, 300_001] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            let mut w = StoredGz::new(Vec::new());
            w.write_all(&data).unwrap();
            let gz = w.finish().unwrap();
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_end(&mut back)
                .unwrap();
            assert!(back == data, "{size}");
            let out = std::process::Command::new("gzip")
                .args(["-t", "-"])
                .stdin(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    c.stdin.take().unwrap().write_all(&gz)?;
                    c.wait()
                })
                .unwrap();
            assert!(out.success(), "gzip -t accepts it ({size})");
        }
    }
}
