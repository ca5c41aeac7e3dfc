//! gzip decoding that hands out every byte decoded before an error, whatever the read sizes.
//!
//! flate2's `GzDecoder::read` inflates straight into the caller's buffer and, when a read runs
//! into damaged deflate data, returns the error and drops the bytes that the same read had
//! already decoded (and miniz_oxide drops decoded bytes still in its window that did not fit).
//! How much of a corrupt stream came out before the error then depended on the size of the
//! reads: `SnapshotReader::open` and [`super::open_ahead`] (which reads 256 KiB chunks) salvaged
//! different items and reported the damage at different offsets.
//!
//! [`GzipReader`] drives flate2's lower-level [`Decompress`] itself, in steps that never decode
//! more than the output room it offers, so a step that meets the damage still reports (and this
//! reader hands out) every byte decoded before it; the error comes on the next read. What comes
//! out before an error is a function of the input alone, whatever the read sizes on either side.

use std::io::{self, Read};

use flate2::{Crc, Decompress, FlushDecompress, Status};

/// Most bytes one decoding step writes: miniz_oxide's window. One call of its `inflate` decodes
/// into the window from the current position up to the window's end at most (then copies out);
/// with exactly that much room offered, everything decoded fits, also on an error. zlib decodes
/// into the caller's buffer directly and never holds decoded bytes back.
const STEP: usize = 32 * 1024;

/// Compressed bytes read from the source at a time.
const INPUT: usize = 32 * 1024;

/// gzip header flags (RFC 1952 §2.3.1).
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const FRESERVED: u8 = 0xe0;

/// A decoder for one gzip member (as `GzDecoder`: bytes after its trailer are not read). The
/// CRC-32 and size in the trailer are checked. Decoding errors are final: every later read
/// returns the same error.
pub(super) struct GzipReader<R> {
    dec: Decoder<R>,
    /// Decoded bytes not handed out yet: `out[pos..len]`.
    out: Box<[u8]>,
    pos: usize,
    len: usize,
}

impl<R: Read> GzipReader<R> {
    /// Decodes the gzip stream `inner` (starting at its magic).
    pub(super) fn new(inner: R) -> GzipReader<R> {
        GzipReader {
            dec: Decoder {
                inner,
                input: vec![0; INPUT].into_boxed_slice(),
                in_pos: 0,
                in_len: 0,
                in_eof: false,
                inflate: Decompress::new(false),
                crc: Crc::new(),
                state: State::Header(Header::default()),
            },
            out: Box::default(),
            pos: 0,
            len: 0,
        }
    }
}

impl<R: Read> Read for GzipReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.pos < self.len {
                let n = (self.len - self.pos).min(buf.len());
                buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if !matches!(self.dec.state, State::Body) {
                if let Some(n) = self.dec.advance()? {
                    return Ok(n);
                }
                continue;
            }
            let step = self.dec.step();
            if let Some(dst) = buf.get_mut(..step) {
                // Room for a whole step: decode straight into the caller's buffer.
                let n = self.dec.inflate(dst)?;
                if n > 0 {
                    return Ok(n);
                }
            } else {
                if self.out.is_empty() {
                    self.out = vec![0; STEP].into_boxed_slice();
                }
                self.len = self.dec.inflate(&mut self.out[..step])?;
                self.pos = 0;
            }
        }
    }
}

/// Where the decoder is in the gzip member.
enum State {
    Header(Header),
    Body,
    /// `got` bytes of the 8-byte trailer (CRC-32, size mod 2^32) read.
    Trailer {
        bytes: [u8; 8],
        got: usize,
    },
    Done,
    /// A decoding error, returned by every read from now on.
    Failed(io::ErrorKind, &'static str),
}

/// Everything but the buffer of decoded bytes (so that a step can decode into it).
struct Decoder<R> {
    inner: R,
    /// Compressed bytes read but not consumed yet: `input[in_pos..in_len]`.
    input: Box<[u8]>,
    in_pos: usize,
    in_len: usize,
    in_eof: bool,
    inflate: Decompress,
    /// Of the decoded bytes, for the trailer.
    crc: Crc,
    state: State,
}

impl<R: Read> Decoder<R> {
    /// Room for the next decoding step: up to the end of the decoder's window.
    fn step(&self) -> usize {
        STEP - (self.inflate.total_out() % STEP as u64) as usize
    }

    /// Moves the unconsumed input to the front and reads more after it; the number of new
    /// bytes (0 at the end of the input). Interruptions are retried; other read errors are
    /// returned and leave the decoder as it was.
    fn fill(&mut self) -> io::Result<usize> {
        if self.in_pos > 0 {
            self.input.copy_within(self.in_pos..self.in_len, 0);
            self.in_len -= self.in_pos;
            self.in_pos = 0;
        }
        if self.in_eof || self.in_len == self.input.len() {
            return Ok(0);
        }
        loop {
            match self.inner.read(&mut self.input[self.in_len..]) {
                Ok(0) => {
                    self.in_eof = true;
                    return Ok(0);
                }
                Ok(n) => {
                    self.in_len += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Records a decoding error (returned by every later read) and returns it.
    fn fail(&mut self, kind: io::ErrorKind, msg: &'static str) -> io::Error {
        self.state = State::Failed(kind, msg);
        io::Error::new(kind, msg)
    }

    /// Works through the header or the trailer: `Some(0)` at the end of the member, `None` once
    /// the body is reached, an error when the stream is damaged or cut short.
    fn advance(&mut self) -> io::Result<Option<usize>> {
        loop {
            match &mut self.state {
                State::Body => return Ok(None),
                State::Done => return Ok(Some(0)),
                State::Failed(kind, msg) => return Err(io::Error::new(*kind, *msg)),
                State::Header(h) => {
                    match h.feed(&self.input[self.in_pos..self.in_len]) {
                        Ok((used, done)) => {
                            self.in_pos += used;
                            if done {
                                self.state = State::Body;
                                continue;
                            }
                        }
                        Err(msg) => return Err(self.fail(io::ErrorKind::InvalidInput, msg)),
                    }
                    if self.fill()? == 0 {
                        return Err(self.fail(
                            io::ErrorKind::UnexpectedEof,
                            "gzip stream cut short in its header",
                        ));
                    }
                }
                State::Trailer { bytes, got } => {
                    let avail = &self.input[self.in_pos..self.in_len];
                    let n = avail.len().min(8 - *got);
                    bytes[*got..*got + n].copy_from_slice(&avail[..n]);
                    *got += n;
                    self.in_pos += n;
                    if *got == 8 {
                        let crc = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                        let size = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
                        if crc != self.crc.sum() || size != self.crc.amount() {
                            return Err(self.fail(
                                io::ErrorKind::InvalidInput,
                                "corrupt gzip stream does not have a matching checksum",
                            ));
                        }
                        self.state = State::Done;
                        continue;
                    }
                    if self.fill()? == 0 {
                        return Err(self.fail(
                            io::ErrorKind::UnexpectedEof,
                            "gzip stream cut short in its trailer",
                        ));
                    }
                }
            }
        }
    }

    /// One decoding step into `dst` (exactly [`Decoder::step`] bytes long): the number of bytes
    /// decoded, 0 only at the end of the deflate data (then the trailer is next). When the data
    /// are damaged, the bytes decoded before the damage come out first (`Ok`), and the error on
    /// the next call.
    fn inflate(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        debug_assert_eq!(dst.len(), self.step());
        if let State::Failed(kind, msg) = self.state {
            return Err(io::Error::new(kind, msg));
        }
        loop {
            if self.in_pos == self.in_len && !self.in_eof {
                self.fill()?;
            }
            // Without input left (at its end) the decoder is still called: bits it holds may
            // decode to more bytes, or to the end of the stream.
            let input = &self.input[self.in_pos..self.in_len];
            let no_input = input.is_empty();
            let (in_before, out_before) = (self.inflate.total_in(), self.inflate.total_out());
            let status = self.inflate.decompress(input, dst, FlushDecompress::None);
            let used = (self.inflate.total_in() - in_before) as usize;
            let made = (self.inflate.total_out() - out_before) as usize;
            self.in_pos += used;
            self.crc.update(&dst[..made]);
            match status {
                Ok(Status::StreamEnd) => {
                    self.state = State::Trailer {
                        bytes: [0; 8],
                        got: 0,
                    };
                    return Ok(made);
                }
                Ok(_) if made > 0 => return Ok(made),
                Ok(_) if no_input => {
                    return Err(self.fail(io::ErrorKind::UnexpectedEof, "incomplete deflate stream"))
                }
                Ok(_) if used > 0 => {}
                // No progress with input left: the decoder wants more of it at once.
                Ok(_) => {
                    if self.fill()? == 0 {
                        return Err(if self.in_eof {
                            self.fail(io::ErrorKind::UnexpectedEof, "incomplete deflate stream")
                        } else {
                            self.fail(io::ErrorKind::InvalidInput, "corrupt deflate stream")
                        });
                    }
                }
                Err(_) => {
                    let e = self.fail(io::ErrorKind::InvalidInput, "corrupt deflate stream");
                    return if made > 0 { Ok(made) } else { Err(e) };
                }
            }
        }
    }
}

/// The part of the gzip header being read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// The 10 fixed bytes: magic, method, flags, mtime, extra flags, OS.
    #[default]
    Fixed,
    /// FEXTRA's 2-byte length.
    ExtraLen,
    /// FEXTRA's data.
    Extra,
    /// FNAME, up to its zero byte.
    Name,
    /// FCOMMENT, up to its zero byte.
    Comment,
    /// FHCRC: the low 16 bits of the CRC-32 of the header before it.
    HeaderCrc,
    Done,
}

/// A resumable parser of the gzip header: fed the input as it arrives.
#[derive(Default)]
struct Header {
    field: Field,
    /// Bytes of the current fixed-size field read so far.
    got: usize,
    fixed: [u8; 10],
    two: [u8; 2],
    flags: u8,
    /// FEXTRA bytes still to skip.
    extra_left: usize,
    crc: Crc,
}

impl Header {
    /// The field after `field` that the flags say is present.
    fn next(&self, field: Field) -> Field {
        let order = [
            (Field::ExtraLen, FEXTRA),
            (Field::Name, FNAME),
            (Field::Comment, FCOMMENT),
            (Field::HeaderCrc, FHCRC),
        ];
        order
            .iter()
            .filter(|(f, _)| (*f as u8) > (field as u8))
            .find(|(_, bit)| self.flags & bit != 0)
            .map_or(Field::Done, |(f, _)| *f)
    }

    /// Reads header bytes from `input`: how many it used and whether the header is complete.
    fn feed(&mut self, input: &[u8]) -> Result<(usize, bool), &'static str> {
        let mut used = 0;
        while self.field != Field::Done {
            let Some(&b) = input.get(used) else {
                return Ok((used, false));
            };
            used += 1;
            if self.field != Field::HeaderCrc {
                self.crc.update(&[b]);
            }
            match self.field {
                Field::Fixed => {
                    self.fixed[self.got] = b;
                    self.got += 1;
                    if self.got == self.fixed.len() {
                        let f = &self.fixed;
                        if f[0] != 0x1f || f[1] != 0x8b || f[2] != 8 || f[3] & FRESERVED != 0 {
                            return Err("invalid gzip header");
                        }
                        self.flags = f[3];
                        self.got = 0;
                        self.field = self.next(Field::Fixed);
                    }
                }
                Field::ExtraLen => {
                    self.two[self.got] = b;
                    self.got += 1;
                    if self.got == 2 {
                        self.got = 0;
                        self.extra_left = usize::from(u16::from_le_bytes(self.two));
                        self.field = if self.extra_left > 0 {
                            Field::Extra
                        } else {
                            self.next(Field::Extra)
                        };
                    }
                }
                Field::Extra => {
                    self.extra_left -= 1;
                    if self.extra_left == 0 {
                        self.field = self.next(Field::Extra);
                    }
                }
                Field::Name | Field::Comment => {
                    if b == 0 {
                        self.field = self.next(self.field);
                    }
                }
                Field::HeaderCrc => {
                    self.two[self.got] = b;
                    self.got += 1;
                    if self.got == 2 {
                        if u16::from_le_bytes(self.two) != self.crc.sum() as u16 {
                            return Err("corrupt gzip stream does not have a matching checksum");
                        }
                        self.field = Field::Done;
                    }
                }
                Field::Done => unreachable!("the loop stops at Done"),
            }
        }
        Ok((used, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::tests::Dribble;
    use std::io::Write;

    fn gzip(data: &[u8], builder: flate2::GzBuilder) -> Vec<u8> {
        let mut w = builder.write(Vec::new(), flate2::Compression::default());
        w.write_all(data).unwrap();
        w.finish().unwrap()
    }

    fn read_all(file: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        GzipReader::new(file).read_to_end(&mut out).map(|_| out)
    }

    fn sample() -> Vec<u8> {
        (0..100_000u32).map(|i| (i * 7 % 253) as u8).collect()
    }

    #[test]
    fn reads_what_flate2_writes_with_every_header_field() {
        let data = sample();
        let plain = gzip(&data, flate2::GzBuilder::new());
        assert_eq!(read_all(&plain).unwrap(), data);
        let full = gzip(
            &data,
            flate2::GzBuilder::new()
                .filename("snapshot.1")
                .comment("a comment")
                .extra(vec![1, 2, 3, 4])
                .mtime(12345),
        );
        assert_eq!(read_all(&full).unwrap(), data);
        // Bytes after the member are not read, as with flate2's GzDecoder.
        let mut trailing = plain.clone();
        trailing.extend_from_slice(b"garbage");
        assert_eq!(read_all(&trailing).unwrap(), data);
        // Empty content.
        assert_eq!(read_all(&gzip(b"", flate2::GzBuilder::new())).unwrap(), b"");
    }

    #[test]
    fn every_length_reads_back_with_any_read_and_input_sizes() {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let noise: Vec<u8> = (0..3 * STEP + 77)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for n in [0, 1, 100, STEP - 1, STEP, STEP + 1, 2 * STEP, 3 * STEP + 77] {
            // Incompressible (stored blocks), highly compressible, and mixed.
            let zeros = vec![0u8; n];
            let mixed: Vec<u8> = (0..n)
                .map(|i| if i % 300 < 20 { noise[i] } else { b'a' })
                .collect();
            for data in [&noise[..n], &zeros[..], &mixed[..]] {
                let file = gzip(data, flate2::GzBuilder::new());
                for input_step in [1, 7, file.len().max(1)] {
                    for read_size in [1, 5000, STEP, 1 << 20] {
                        let mut r = GzipReader::new(Dribble {
                            data: &file,
                            step: input_step,
                        });
                        let mut out = Vec::new();
                        let mut buf = vec![0u8; read_size];
                        loop {
                            match r.read(&mut buf) {
                                Ok(0) => break,
                                Ok(k) => out.extend_from_slice(&buf[..k]),
                                Err(e) => panic!("{n} {input_step} {read_size}: {e}"),
                            }
                        }
                        assert!(out == data, "{n} {input_step} {read_size}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_header_crc_is_checked() {
        // FHCRC set by hand: flags byte 3, then the CRC-16 before the deflate data.
        let data = sample();
        let plain = gzip(&data, flate2::GzBuilder::new());
        let mut with = plain[..10].to_vec();
        with[3] |= FHCRC;
        let mut crc = Crc::new();
        crc.update(&with);
        with.extend_from_slice(&(crc.sum() as u16).to_le_bytes());
        with.extend_from_slice(&plain[10..]);
        assert_eq!(read_all(&with).unwrap(), data);
        with[10] ^= 1;
        let e = read_all(&with).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn damage_is_reported() {
        let data = sample();
        let plain = gzip(&data, flate2::GzBuilder::new());
        let n = plain.len();
        // Cut short in the header, the body and the trailer.
        for (cut, what) in [
            (5, "header"),
            (n / 2, "incomplete deflate"),
            (n - 3, "trailer"),
        ] {
            let e = read_all(&plain[..cut]).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{cut}");
            assert!(e.to_string().contains(what), "{cut}: {e}");
        }
        // A wrong CRC-32, a wrong size.
        for at in [n - 8, n - 1] {
            let mut bad = plain.clone();
            bad[at] ^= 1;
            let e = read_all(&bad).unwrap_err();
            assert!(e.to_string().contains("checksum"), "{e}");
        }
        // Not gzip, a reserved flag.
        let mut bad = plain.clone();
        bad[2] = 7;
        assert!(read_all(&bad)
            .unwrap_err()
            .to_string()
            .contains("invalid gzip header"));
        let mut bad = plain.clone();
        bad[3] = 0x20;
        assert!(read_all(&bad).is_err());
    }

    #[test]
    fn an_error_is_final() {
        let data = sample();
        let plain = gzip(&data, flate2::GzBuilder::new());
        let mut r = GzipReader::new(&plain[..plain.len() / 2]);
        let mut sink = Vec::new();
        let first = r.read_to_end(&mut sink).unwrap_err();
        let again = r.read(&mut [0u8; 100]).unwrap_err();
        assert_eq!(first.kind(), again.kind());
        assert_eq!(first.to_string(), again.to_string());
    }

    #[test]
    fn read_errors_of_the_source_pass_through_and_can_be_retried() {
        struct Flaky<'a> {
            data: &'a [u8],
            calls: usize,
        }
        impl Read for Flaky<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.calls += 1;
                match self.calls % 3 {
                    0 => Err(io::Error::new(io::ErrorKind::Interrupted, "again")),
                    1 => Err(io::Error::other("flaky")),
                    _ => {
                        let n = buf.len().min(self.data.len()).min(3);
                        buf[..n].copy_from_slice(&self.data[..n]);
                        self.data = &self.data[n..];
                        Ok(n)
                    }
                }
            }
        }
        let data = sample();
        let plain = gzip(&data, flate2::GzBuilder::new().filename("x"));
        let mut r = GzipReader::new(Flaky {
            data: &plain,
            calls: 0,
        });
        let mut out = Vec::new();
        let mut buf = [0u8; 1000];
        loop {
            match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => assert_eq!(e.to_string(), "flaky"),
            }
        }
        assert!(out == data);
    }
}
