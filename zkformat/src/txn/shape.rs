//! A quick look at a txn record: the common ones (create/create2, delete, setData, error,
//! createSession, closeSession) read in place, every length checked exactly as the jute decoder
//! checks it, without building the record. Anything else, or anything unusual, gives `None`:
//! the caller decodes in full ([`super::TxnRecord::decode`]) and gets the decoder's answer. So a
//! `Some` always means the record decodes, with the same facts (tested against the decoder on
//! every real log, on damaged records, and in the fuzz filter target).

use super::{op, TXN_DIGEST_SIZE, TXN_HEADER_SIZE};

/// What [`shape`] finds in a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Where the op's path sits in the payload (create, delete, setData).
    pub path: Option<(usize, usize)>,
    /// Create and create2: the ephemeral flag, the parentCVersion and the data length.
    pub create: Option<CreateShape>,
    /// createSession: the timeout.
    pub session_timeout: Option<i32>,
    /// Whether a TxnDigest follows the body.
    pub digest: bool,
}

/// The facts of a create or create2 that the filter needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CreateShape {
    pub ephemeral: bool,
    pub parent_cversion: i32,
    pub data_len: usize,
}

/// A cursor over a payload for the fast path: `None` at the first thing it does not expect.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn left(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }

    fn take(&mut self, n: usize) -> Option<(usize, usize)> {
        let end = self.at.checked_add(n)?;
        if end > self.bytes.len() {
            return None;
        }
        let range = (self.at, end);
        self.at = end;
        Some(range)
    }

    fn i32(&mut self) -> Option<i32> {
        let (a, b) = self.take(4)?;
        let v: [u8; 4] = self.bytes.get(a..b)?.try_into().ok()?;
        Some(i32::from_be_bytes(v))
    }

    fn u8(&mut self) -> Option<u8> {
        let (a, _) = self.take(1)?;
        self.bytes.get(a).copied()
    }

    /// A jute buffer: `Some(None)` for null (-1); a negative length other than -1, or one past
    /// the end, is unexpected. (Lengths within the payload are within jute's limit: the entry's
    /// own length was checked against it.)
    fn buffer(&mut self) -> Option<Option<(usize, usize)>> {
        match self.i32()? {
            -1 => Some(None),
            n if n >= 0 => self.take(n as usize).map(Some),
            _ => None,
        }
    }

    /// A jute ustring that must not be null.
    fn string(&mut self) -> Option<(usize, usize)> {
        self.buffer()?
    }
}

/// The shape of the record in `payload` (header included) logged under `op_code`, or `None` to
/// decode it in full.
pub(crate) fn shape(payload: &[u8], op_code: i32) -> Option<Shape> {
    let mut c = Cursor {
        bytes: payload,
        at: TXN_HEADER_SIZE,
    };
    let mut found = Shape {
        path: None,
        create: None,
        session_timeout: None,
        digest: false,
    };
    match op_code {
        op::CREATE | op::CREATE2 => {
            found.path = Some(c.string()?);
            let data = c.buffer()?;
            let count = c.i32()?;
            // A count the bytes cannot hold, or a negative one, is left to the decoder.
            if count < 0 || (count as usize).saturating_mul(crate::data::MIN_ACL_SIZE) > c.left() {
                return None;
            }
            for _ in 0..count {
                c.i32()?;
                c.string()?;
                c.string()?;
            }
            let ephemeral = c.u8()? != 0;
            // Without parentCVersion (pre-3.4 records) the decoder decides.
            let parent_cversion = c.i32()?;
            found.create = Some(CreateShape {
                ephemeral,
                parent_cversion,
                data_len: data.map_or(0, |(a, b)| b - a),
            });
        }
        op::DELETE => found.path = Some(c.string()?),
        op::SET_DATA => {
            found.path = Some(c.string()?);
            c.buffer()?;
            c.i32()?;
        }
        op::ERROR => {
            c.i32()?;
        }
        op::CREATE_SESSION => found.session_timeout = Some(c.i32()?),
        op::CLOSE_SESSION => {
            // No body, or just a digest (its version is 2); a path list goes to the decoder.
            let rest = payload.get(TXN_HEADER_SIZE..)?;
            found.digest = match rest.len() {
                0 => false,
                TXN_DIGEST_SIZE if rest.starts_with(&[0, 0, 0, 2]) => true,
                _ => return None,
            };
            return Some(found);
        }
        _ => return None,
    }
    found.digest = match c.left() {
        0 => false,
        TXN_DIGEST_SIZE => true,
        _ => return None,
    };
    Some(found)
}
