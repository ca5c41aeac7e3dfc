//! Compressed snapshots: gzip (`.gz`) and snappy-java's stream format (`.snappy`), detected
//! from their magic bytes.
//!
//! snappy-java's `SnappyOutputStream` format (not Google's framing format): 16-byte header
//! (`82 'SNAPPY' 00`, BE version 1, BE compatible version 1), then chunks of a BE `i32`
//! compressed length followed by one raw snappy block. Decompressed output is capped by
//! [`Limits::max_decompressed`] so a bomb cannot run forever; memory stays bounded by one block.

use std::io::{self, Read, Write};

use flate2::write::GzEncoder;

use crate::kind::{FileKind, SNAPPY_JAVA_MAGIC};
use crate::limits::Limits;

mod ahead;
mod gzip;
pub use ahead::{open_ahead, DECOMPRESS_AHEAD_CHUNK, DECOMPRESS_AHEAD_DEPTH};

/// Largest snappy-java chunk accepted (compressed or decompressed): 64 MiB. snappy-java writes
/// 32 KiB blocks by default.
pub const MAX_SNAPPY_BLOCK: usize = 64 << 20;

/// How a snapshot stream is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain.
    None,
    /// gzip (RFC 1952), as `java.util.zip.GZIPOutputStream` writes.
    Gzip,
    /// snappy-java stream format.
    Snappy,
}

impl Compression {
    /// Compression of a stream, from its first bytes (8 are needed for snappy).
    pub fn detect(prefix: &[u8]) -> Compression {
        match FileKind::detect(prefix) {
            FileKind::Gzip => Compression::Gzip,
            FileKind::Snappy => Compression::Snappy,
            _ => Compression::None,
        }
    }

    /// The file-name extension ZooKeeper uses (`""`, `".gz"`, `".snappy"`).
    pub fn extension(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Snappy => ".snappy",
        }
    }

    /// Parses `none`, `gz`/`gzip`, `snappy`.
    pub fn from_name(name: &str) -> Option<Compression> {
        match name.to_ascii_lowercase().as_str() {
            "none" | "" => Some(Compression::None),
            "gz" | "gzip" => Some(Compression::Gzip),
            "snappy" => Some(Compression::Snappy),
            _ => None,
        }
    }
}

/// Wraps a reader so that it yields the decompressed stream; `prefix` are bytes already read
/// from `inner` (used to detect the compression) that must be replayed first.
pub fn decompress<'r, R: Read + 'r>(
    prefix: Vec<u8>,
    inner: R,
    compression: Compression,
    limits: Limits,
) -> Box<dyn Read + 'r> {
    let chained = io::Cursor::new(prefix).chain(inner);
    match compression {
        Compression::None => Box::new(chained),
        Compression::Gzip => Box::new(Capped::new(
            gzip::GzipReader::new(chained),
            limits.max_decompressed,
        )),
        Compression::Snappy => Box::new(Capped::new(
            SnappyJavaReader::new(chained),
            limits.max_decompressed,
        )),
    }
}

/// Reads the first bytes of `inner`, detects the compression and returns the decompressed
/// stream with the detected compression.
///
/// # Errors
/// I/O errors while reading the first bytes.
pub fn open<'r, R: Read + 'r>(
    mut inner: R,
    limits: Limits,
) -> io::Result<(Compression, Box<dyn Read + 'r>)> {
    let prefix = read_prefix(&mut inner)?;
    let c = Compression::detect(&prefix);
    Ok((c, decompress(prefix, inner, c, limits)))
}

/// The first 8 bytes of `inner` (fewer if it ends sooner): enough to detect the compression.
fn read_prefix(inner: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut prefix = vec![0u8; 8];
    let mut got = 0;
    while got < prefix.len() {
        match inner.read(&mut prefix[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    prefix.truncate(got);
    Ok(prefix)
}

/// A reader that fails once more than `cap` bytes came out.
#[derive(Debug)]
struct Capped<R> {
    inner: R,
    left: u64,
    cap: u64,
}

impl<R> Capped<R> {
    fn new(inner: R, cap: u64) -> Capped<R> {
        Capped {
            inner,
            left: cap,
            cap,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    /// Exactly the first `cap` bytes come out, however the reads are sized; then a read that
    /// finds more fails.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "decompressed snapshot is larger than the limit of {} bytes",
                    self.cap
                ),
            ));
        }
        let room = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..room])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Decoder for snappy-java's `SnappyOutputStream` format.
#[derive(Debug)]
pub struct SnappyJavaReader<R> {
    inner: R,
    header_done: bool,
    compressed: Vec<u8>,
    block: Vec<u8>,
    pos: usize,
    decoder: snap::raw::Decoder,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Reads exactly `buf.len()` bytes; returns false on a clean EOF before the first byte.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "snappy stream truncated",
                ))
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

impl<R: Read> SnappyJavaReader<R> {
    /// Wraps a snappy-java stream (starting at its magic).
    pub fn new(inner: R) -> SnappyJavaReader<R> {
        SnappyJavaReader {
            inner,
            header_done: false,
            compressed: Vec::new(),
            block: Vec::new(),
            pos: 0,
            decoder: snap::raw::Decoder::new(),
        }
    }

    fn next_block(&mut self) -> io::Result<bool> {
        if !self.header_done {
            let mut h = [0u8; 16];
            if !read_full(&mut self.inner, &mut h)? || h[..8] != SNAPPY_JAVA_MAGIC {
                return Err(invalid("not a snappy-java stream (bad magic)".into()));
            }
            self.header_done = true;
        }
        let mut len = [0u8; 4];
        if !read_full(&mut self.inner, &mut len)? {
            return Ok(false);
        }
        // A concatenated stream starts again with the magic.
        if len == SNAPPY_JAVA_MAGIC[..4] {
            let mut rest = [0u8; 12];
            read_full(&mut self.inner, &mut rest)?;
            if rest[..4] != SNAPPY_JAVA_MAGIC[4..] {
                return Err(invalid("bad snappy-java chunk header".into()));
            }
            return self.next_block();
        }
        let n = i32::from_be_bytes(len);
        if n < 0 || n as usize > MAX_SNAPPY_BLOCK {
            return Err(invalid(format!(
                "snappy-java chunk length {n} out of range"
            )));
        }
        // Read the chunk as its bytes arrive (never allocate from the length field alone).
        self.compressed.clear();
        let got = (&mut self.inner)
            .take(n as u64)
            .read_to_end(&mut self.compressed)?;
        if got < n as usize {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "snappy stream truncated",
            ));
        }
        let out_len = snap::raw::decompress_len(&self.compressed)
            .map_err(|e| invalid(format!("corrupt snappy block: {e}")))?;
        // A snappy element expands at most 64 bytes out of 3 (a copy with a 2-byte offset), so
        // a larger claimed length is corrupt: refuse it before allocating the output.
        if out_len > MAX_SNAPPY_BLOCK || out_len > self.compressed.len().saturating_mul(22) {
            return Err(invalid(format!(
                "snappy block of {} bytes claims {out_len} bytes of output",
                self.compressed.len()
            )));
        }
        self.block.resize(out_len, 0);
        let got = self
            .decoder
            .decompress(&self.compressed, &mut self.block)
            .map_err(|e| invalid(format!("corrupt snappy block: {e}")))?;
        self.block.truncate(got);
        self.pos = 0;
        Ok(true)
    }
}

impl<R: Read> Read for SnappyJavaReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.block.len() {
            if !self.next_block()? {
                return Ok(0);
            }
        }
        let avail = &self.block[self.pos..];
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.pos += n;
        Ok(n)
    }
}

/// Encoder for snappy-java's stream format (32 KiB blocks, as snappy-java writes by default).
#[derive(Debug)]
pub struct SnappyJavaWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
    encoder: snap::raw::Encoder,
    out: Vec<u8>,
    header_done: bool,
}

/// Block size of [`SnappyJavaWriter`].
pub const SNAPPY_BLOCK: usize = 32 * 1024;

impl<W: Write> SnappyJavaWriter<W> {
    /// Starts a stream.
    pub fn new(inner: W) -> SnappyJavaWriter<W> {
        SnappyJavaWriter {
            inner,
            pending: Vec::with_capacity(SNAPPY_BLOCK),
            encoder: snap::raw::Encoder::new(),
            out: Vec::new(),
            header_done: false,
        }
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.header_done {
            self.inner.write_all(&SNAPPY_JAVA_MAGIC)?;
            self.inner.write_all(&1i32.to_be_bytes())?;
            self.inner.write_all(&1i32.to_be_bytes())?;
            self.header_done = true;
        }
        Ok(())
    }

    fn flush_block(&mut self) -> io::Result<()> {
        self.header()?;
        if self.pending.is_empty() {
            return Ok(());
        }
        self.out
            .resize(snap::raw::max_compress_len(self.pending.len()), 0);
        let n = self
            .encoder
            .compress(&self.pending, &mut self.out)
            .map_err(io::Error::other)?;
        self.inner.write_all(&(n as i32).to_be_bytes())?;
        self.inner.write_all(&self.out[..n])?;
        self.pending.clear();
        Ok(())
    }

    /// Writes the last block and returns the destination.
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(mut self) -> io::Result<W> {
        self.flush_block()?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for SnappyJavaWriter<W> {
    fn write(&mut self, mut buf: &[u8]) -> io::Result<usize> {
        let total = buf.len();
        while !buf.is_empty() {
            let room = SNAPPY_BLOCK - self.pending.len();
            let n = room.min(buf.len());
            self.pending.extend_from_slice(&buf[..n]);
            buf = &buf[n..];
            if self.pending.len() == SNAPPY_BLOCK {
                self.flush_block()?;
            }
        }
        Ok(total)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A compressing writer for snapshot output.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per output file; boxing buys nothing
pub enum Compressor<W: Write> {
    /// Plain.
    None(W),
    /// gzip.
    Gzip(GzEncoder<W>),
    /// snappy-java.
    Snappy(SnappyJavaWriter<W>),
}

impl<W: Write> Compressor<W> {
    /// Wraps `inner` for `compression`.
    pub fn new(inner: W, compression: Compression) -> Compressor<W> {
        match compression {
            Compression::None => Compressor::None(inner),
            Compression::Gzip => {
                Compressor::Gzip(GzEncoder::new(inner, flate2::Compression::default()))
            }
            Compression::Snappy => Compressor::Snappy(SnappyJavaWriter::new(inner)),
        }
    }

    /// Finishes the compressed stream and returns the destination.
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Compressor::None(mut w) => {
                w.flush()?;
                Ok(w)
            }
            Compressor::Gzip(g) => g.finish(),
            Compressor::Snappy(s) => s.finish(),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::None(w) => w.write(buf),
            Compressor::Gzip(w) => w.write(buf),
            Compressor::Snappy(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::None(w) => w.flush(),
            Compressor::Gzip(w) => w.flush(),
            Compressor::Snappy(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(c: Compression) {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut w = Compressor::new(Vec::new(), c);
        w.write_all(&data).unwrap();
        let packed = w.finish().unwrap();
        assert_eq!(Compression::detect(&packed), c);
        let (found, mut r) = open(&packed[..], Limits::default()).unwrap();
        assert_eq!(found, c);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        // The cap stops a large output.
        let small = Limits {
            max_decompressed: 1000,
            ..Limits::default()
        };
        let (_, mut r) = open(&packed[..], small).unwrap();
        if c != Compression::None {
            assert!(r.read_to_end(&mut Vec::new()).is_err());
        }
    }

    #[test]
    fn gzip_and_snappy_round_trip() {
        round_trip(Compression::None);
        round_trip(Compression::Gzip);
        round_trip(Compression::Snappy);
    }

    /// A gzip stream whose deflate data hold `data` (compressed, ending on a byte boundary with
    /// a sync flush), then a stored block whose length check fails: zlib decodes every byte of
    /// `data`, then reports "invalid stored block lengths".
    fn gzip_with_corrupt_block(data: &[u8]) -> Vec<u8> {
        use flate2::{Compress, FlushCompress};
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        let mut deflate = Compress::new(flate2::Compression::default(), false);
        let mut raw = Vec::with_capacity(data.len() + 1024);
        deflate
            .compress_vec(data, &mut raw, FlushCompress::Sync)
            .unwrap();
        while deflate.total_in() < data.len() as u64 || raw.len() == raw.capacity() {
            raw.reserve(64 * 1024);
            let done = deflate.total_in() as usize;
            deflate
                .compress_vec(&data[done..], &mut raw, FlushCompress::Sync)
                .unwrap();
        }
        out.extend_from_slice(&raw);
        // A final stored block (BFINAL = 1, BTYPE = 00) of 5 bytes whose NLEN is not !LEN.
        out.extend_from_slice(&[0x01, 5, 0, 0, 0, b'x', b'x', b'x', b'x', b'x']);
        out
    }

    /// What a reader gave before it ended, and the error that ended it.
    type ReadOutcome = (Vec<u8>, Option<io::ErrorKind>);

    /// Reads `r` to its end or first error with reads of `size` bytes: the bytes, then the error
    /// kind.
    fn read_in_steps(mut r: impl Read, size: usize) -> ReadOutcome {
        let mut out = Vec::new();
        let mut buf = vec![0u8; size];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return (out, None),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return (out, Some(e.kind())),
            }
        }
    }

    /// A reader that hands its input out `step` bytes at a time (also for `gzip`'s tests).
    pub(super) struct Dribble<'a> {
        pub(super) data: &'a [u8],
        pub(super) step: usize,
    }

    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// Regression (fuzzing, `snapshot`): what comes out of a corrupt gzip stream before the error
    /// does not depend on the size of the reads, on how the compressed input arrives, or on
    /// whether the decompressor runs ahead on a helper thread; it is every byte decoded before
    /// the damage. flate2's `GzDecoder::read` dropped what a read had decoded when that read hit
    /// the damage.
    #[test]
    fn corrupt_gzip_reads_the_same_whatever_the_read_sizes() {
        // Compressible, so one buffer of input expands to more than any read below; not a
        // multiple of any chunk size.
        let data: Vec<u8> = (0..1_500_000u32)
            .map(|i| if i % 1000 < 10 { (i % 251) as u8 } else { 0 })
            .collect();
        let file = gzip_with_corrupt_block(&data);
        let want = (data, Some(io::ErrorKind::InvalidInput));
        for size in [1, 7, 4096, DECOMPRESS_AHEAD_CHUNK, 1 << 20] {
            // Plain; the compressed input arriving in small pieces; decompressed ahead.
            let plain = || read_in_steps(open(&file[..], Limits::default()).unwrap().1, size);
            let dribbled = || {
                let input = Dribble {
                    data: &file,
                    step: 13,
                };
                read_in_steps(open(input, Limits::default()).unwrap().1, size)
            };
            let ahead = || {
                std::thread::scope(|s| {
                    read_in_steps(open_ahead(s, &file[..], Limits::default()).unwrap().1, size)
                })
            };
            let ways: [(&str, &dyn Fn() -> ReadOutcome); 3] = [
                ("plain", &plain),
                ("input by 13 bytes", &dribbled),
                ("read ahead", &ahead),
            ];
            for (how, read) in ways {
                let got = read();
                assert!(
                    got.0 == want.0,
                    "{how}, reads of {size}: {} bytes, not {}",
                    got.0.len(),
                    want.0.len()
                );
                assert_eq!(got.1, want.1, "{how}, reads of {size}");
            }
        }
    }

    #[test]
    fn corrupt_snappy_is_an_error() {
        let mut w = SnappyJavaWriter::new(Vec::new());
        w.write_all(&[7u8; 5000]).unwrap();
        let mut packed = w.finish().unwrap();
        let n = packed.len();
        packed[n - 3] ^= 0xff;
        packed.truncate(n - 1);
        let mut out = Vec::new();
        assert!(SnappyJavaReader::new(&packed[..])
            .read_to_end(&mut out)
            .is_err());
    }
}
