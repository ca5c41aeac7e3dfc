//! `zkdump`: inspect, verify, summarise and diff ZooKeeper txn logs and snapshots.
//!
//! One module per subcommand ([`records`] is the default `dump`), rendering in [`render`]. Every
//! rendering function writes to a `&mut dyn std::io::Write`, so tests call them in-process.

pub mod args;
pub mod diff;
pub mod pipeline;
pub mod records;
pub mod render;
pub mod sessions;
pub mod source;
pub mod summary;
pub mod verify;

use zkformat::txn::{op, Txn, TxnRecord};
use zkformat::Zxid;

/// How node and txn data is shown when it is not UTF-8 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DataFormat {
    /// Lowercase hex.
    #[default]
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// What to show and how (independent of clap).
#[derive(Debug, Clone, Default)]
pub struct DumpOptions {
    /// Show node and txn data.
    pub data: bool,
    /// Encoding of data that is not UTF-8.
    pub data_format: DataFormat,
    /// Which records to show.
    pub filter: Filter,
    /// `jute.maxbuffer` and other read limits.
    pub limits: zkformat::Limits,
}

/// Record selection. Every set criterion must match.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Smallest zxid shown (txns: the txn zxid; nodes: any of czxid, mzxid, pzxid).
    pub from_zxid: Option<Zxid>,
    /// Largest zxid shown.
    pub to_zxid: Option<Zxid>,
    /// Literal path prefix (txns: the txn path or any multi sub-op / closeSession path).
    pub path_prefix: Option<Vec<u8>>,
    /// Session id (txns: the header's session; nodes: the ephemeral owner; session table rows).
    pub session: Option<i64>,
    /// Op codes (txns only: the top-level op or any multi sub-op).
    pub ops: Vec<i32>,
}

impl Filter {
    /// True when no criterion is set.
    pub fn is_empty(&self) -> bool {
        self.from_zxid.is_none()
            && self.to_zxid.is_none()
            && self.path_prefix.is_none()
            && self.session.is_none()
            && self.ops.is_empty()
    }

    fn zxid_in_range(&self, z: i64) -> bool {
        self.from_zxid.map_or(true, |f| z >= f.0) && self.to_zxid.map_or(true, |t| z <= t.0)
    }

    fn path_matches(&self, path: &[u8]) -> bool {
        self.path_prefix
            .as_deref()
            .map_or(true, |p| path.starts_with(p))
    }

    /// Does a txn header (before decoding the body) pass the zxid and session criteria?
    pub fn header_matches(&self, zxid: Zxid, session: i64) -> bool {
        self.zxid_in_range(zxid.0) && self.session.map_or(true, |s| s == session)
    }

    /// Does a decoded txn pass every criterion?
    pub fn txn_matches(&self, rec: &TxnRecord<'_>) -> bool {
        if !self.header_matches(rec.header.zxid, rec.header.session) {
            return false;
        }
        if !self.ops.is_empty() {
            let mut any = self.ops.contains(&rec.header.op);
            if let Txn::Multi(m) = &rec.body {
                any |= m.ops().any(|o| self.ops.contains(&o.op));
            }
            if !any {
                return false;
            }
        }
        if self.path_prefix.is_some() {
            let mut any = false;
            visit_paths(&rec.body, &mut |p| any |= self.path_matches(p));
            if !any {
                return false;
            }
        }
        true
    }

    /// Does a node pass the criteria (ops are ignored for nodes)?
    pub fn node_matches(&self, path: &[u8], stat: &zkformat::data::Stat) -> bool {
        let display: &[u8] = if path.is_empty() { b"/" } else { path };
        self.path_matches(display)
            && self.session.map_or(true, |s| s == stat.ephemeral_owner)
            && (self.from_zxid.is_none() && self.to_zxid.is_none()
                || [stat.czxid, stat.mzxid, stat.pzxid]
                    .iter()
                    .any(|&z| self.zxid_in_range(z)))
    }
}

/// Calls `f` with every path a txn names (multi sub-ops and closeSession's paths included).
pub fn visit_paths<'a>(body: &Txn<'a>, f: &mut dyn FnMut(&'a [u8])) {
    match body {
        Txn::Multi(m) => {
            for o in m.ops() {
                if let Ok(t) = o.txn() {
                    visit_paths(&t, f);
                }
            }
        }
        Txn::CloseSession(Some(paths)) => {
            for p in paths.iter() {
                f(p);
            }
        }
        other => {
            if let Some(p) = other.path() {
                f(p);
            }
        }
    }
}

/// Parses `--op` values: ZooKeeper op names (`create`, `setData`, …), comma-separated or repeated.
///
/// # Errors
/// The unknown name.
pub fn parse_ops(names: &[String]) -> Result<Vec<i32>, String> {
    let mut out = Vec::new();
    for n in names.iter().flat_map(|n| n.split(',')) {
        let n = n.trim();
        if n.is_empty() {
            continue;
        }
        match zkformat::txn::op_from_name(n) {
            Some(c) => out.push(c),
            None => {
                return Err(format!(
                    "unknown op {n:?}; expected one of: create, create2, createContainer, createTTL, delete, deleteContainer, setData, setACL, check, multi, createSession, closeSession, reconfig, error"
                ))
            }
        }
    }
    Ok(out)
}

/// True for op codes whose body names a path.
pub fn op_has_path(code: i32) -> bool {
    matches!(
        code,
        op::CREATE
            | op::CREATE2
            | op::CREATE_CONTAINER
            | op::CREATE_TTL
            | op::DELETE
            | op::DELETE_CONTAINER
            | op::SET_DATA
            | op::RECONFIG
            | op::SET_ACL
            | op::CHECK
    )
}

/// `"1 node"`, `"2 nodes"`, `"0 nodes"`: a count with its noun in the right number.
pub fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Formats milliseconds since the epoch as UTC ISO 8601 (`2024-05-01T10:00:00.123Z`).
pub fn format_time(ms: i64) -> String {
    let mut s = String::with_capacity(24);
    push_time(&mut s, ms);
    s
}

/// A day's `YYYY-MM-DDT` text (years 0 to 9999).
type DayText = [u8; 11];

thread_local! {
    /// The last two days formatted, newest first: the calendar arithmetic is the costly part
    /// of a time's text, and the times of a dump fall on few days (a node's ctime and mtime
    /// may be two).
    static DAY_CACHE: std::cell::Cell<[(i64, DayText); 2]> =
        const { std::cell::Cell::new([(i64::MIN, [0; 11]); 2]) };
}

/// The UTC calendar date (year, month, day) of `days` since the epoch (Howard Hinnant's
/// civil_from_days).
fn civil(days: i64) -> [i64; 3] {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    [yoe + era * 400 + i64::from(m <= 2), m, d]
}

/// Two decimal digits of `v` (0 to 99).
fn two(v: i64) -> [u8; 2] {
    [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]
}

/// The text of the day `days` since the epoch, `None` outside years 0 to 9999.
fn day_text(days: i64) -> Option<DayText> {
    let [y, m, d] = civil(days);
    if !(0..=9999).contains(&y) {
        return None;
    }
    let ([y1, y2], [y3, y4]) = (two(y / 100), two(y % 100));
    let ([m1, m2], [d1, d2]) = (two(m), two(d));
    Some([y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2, b'T'])
}

/// Appends [`format_time`]'s text to `out` without allocating.
pub fn push_time(out: &mut String, ms: i64) {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let text = DAY_CACHE.with(|c| {
        let mut cache = c.get();
        if cache[0].0 == days {
            return Some(cache[0].1);
        }
        if cache[1].0 != days {
            cache[1] = (days, day_text(days)?);
        }
        cache.swap(0, 1);
        c.set(cache);
        Some(cache[0].1)
    });
    match text {
        Some(t) => push_ascii(out, &t),
        None => {
            // Years outside 0..=9999, as `{:04}` writes them.
            use std::fmt::Write as _;
            let [y, m, d] = civil(days);
            let _ = write!(out, "{y:04}-{m:02}-{d:02}T");
        }
    }
    let ([h1, h2], [n1, n2], [s1, s2]) = (two(sod / 3600), two(sod / 60 % 60), two(sod % 60));
    push_ascii(out, &[h1, h2, b':', n1, n2, b':', s1, s2, b'.']);
    let m = millis as u32;
    let digits = [
        b'0' + (m / 100) as u8,
        b'0' + (m / 10 % 10) as u8,
        b'0' + (m % 10) as u8,
    ];
    push_ascii(out, &digits);
    out.push('Z');
}

/// Appends bytes that are ASCII (digits, punctuation) to `out`; anything else (never passed) is
/// replaced rather than trusted.
fn push_ascii(out: &mut String, bytes: &[u8]) {
    out.push_str(std::str::from_utf8(bytes).unwrap_or("?"));
}

/// Appends the decimal text of `v` (as `{}` formats it) without going through `fmt`.
pub fn push_dec(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    let mut n = v.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    push_ascii(out, digits.get(at..).unwrap_or(&[]));
}

/// `00`, `01`, … `ff`: the hex text of every byte, built at compile time.
const HEX_PAIRS: &str = {
    const fn pairs() -> [u8; 512] {
        let digits = b"0123456789abcdef";
        let mut t = [0u8; 512];
        let mut i = 0;
        while i < 256 {
            t[2 * i] = digits[i >> 4];
            t[2 * i + 1] = digits[i & 15];
            i += 1;
        }
        t
    }
    const BYTES: [u8; 512] = pairs();
    match std::str::from_utf8(&BYTES) {
        Ok(s) => s,
        Err(_) => "",
    }
};

/// Appends the lowercase hex text of `v` (as `{:x}` formats it, no `0x`) without `fmt`: two
/// digits at a time from a table, no check per call (the long session ids and zxids of a log
/// dump are most of its numbers).
pub fn push_hex(out: &mut String, v: u64) {
    let digits = (64 - v.leading_zeros() as usize).div_ceil(4).max(1);
    let mut i = digits;
    if i % 2 == 1 {
        i -= 1;
        // A lone leading digit is the second character of its pair.
        let d = ((v >> (4 * i)) & 0xf) as usize;
        out.push_str(HEX_PAIRS.get(2 * d + 1..2 * d + 2).unwrap_or("?"));
    }
    while i > 0 {
        i -= 2;
        let b = ((v >> (4 * i)) & 0xff) as usize;
        out.push_str(HEX_PAIRS.get(2 * b..2 * b + 2).unwrap_or("??"));
    }
}

/// Appends a path for display ([`path_str`]'s text) without copying a valid UTF-8 path first.
pub fn push_path(out: &mut String, p: &[u8]) {
    match std::str::from_utf8(p) {
        Ok("") => out.push('/'),
        Ok(s) => out.push_str(s),
        Err(_) => out.push_str(&String::from_utf8_lossy(p)),
    }
}

/// `0x…` lowercase hex of a 64-bit id (two's complement for negative values).
pub fn hex64(v: i64) -> String {
    format!("0x{:x}", v as u64)
}

/// A path for display (lossy UTF-8; the root `""` as `/`).
pub fn path_str(p: &[u8]) -> std::borrow::Cow<'_, str> {
    if p.is_empty() {
        std::borrow::Cow::Borrowed("/")
    } else {
        String::from_utf8_lossy(p)
    }
}

/// The parent of a stored path (`""` for the root's children and for the root itself).
pub use zkformat::data::parent_path as parent_of;

/// A stable 64-bit hash of a path (for compact per-path maps).
pub fn path_hash(path: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    // A fixed seed: the two passes of a dump must agree (SipHash was 5% of a snapshot dump).
    foldhash::fast::FixedState::with_seed(0x7a6b_666f_726d_6174).hash_one(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_time(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(format_time(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_time(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(format_time(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        assert_eq!(
            format_time(253_402_300_800_000),
            "10000-01-01T00:00:00.000Z"
        );
        assert_eq!(format_time(-62_135_596_800_001), "0000-12-31T23:59:59.999Z");
        assert_eq!(format_time(-62_167_219_200_001), "-001-12-31T23:59:59.999Z");
    }

    #[test]
    fn time_cache_keeps_two_days() {
        // A node's ctime and mtime may fall on two days; a third day evicts the older one.
        for (ms, text) in [
            (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
            (1_600_000_000_456, "2020-09-13T12:26:40.456Z"),
            (1_700_000_000_999, "2023-11-14T22:13:20.999Z"),
            (1_600_000_000_001, "2020-09-13T12:26:40.001Z"),
            (1_500_000_000_000, "2017-07-14T02:40:00.000Z"),
            (1_700_000_000_000, "2023-11-14T22:13:20.000Z"),
            (1_600_000_000_002, "2020-09-13T12:26:40.002Z"),
            (1_700_000_001_000, "2023-11-14T22:13:21.000Z"),
            (253_402_300_800_000, "10000-01-01T00:00:00.000Z"),
            (1_700_000_001_001, "2023-11-14T22:13:21.001Z"),
        ] {
            assert_eq!(format_time(ms), text, "{ms}");
        }
    }

    #[test]
    fn ops_parse() {
        assert_eq!(
            parse_ops(&["create,setData".into(), "multi".into()]).unwrap(),
            vec![1, 5, 14]
        );
        assert!(parse_ops(&["nope".into()]).is_err());
    }

    #[test]
    fn parents() {
        assert_eq!(parent_of(b"/a/b"), b"/a");
        assert_eq!(parent_of(b"/a"), b"");
        assert_eq!(parent_of(b""), b"");
    }

    #[test]
    fn hand_formatted_numbers_match_fmt() {
        let mut samples = vec![0i64, 1, -1, 9, 10, 99, 100, i64::MIN, i64::MAX, 0x1000f442e];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push(x as i64 >> (x % 64));
        }
        for v in samples {
            let (mut d, mut h) = (String::new(), String::new());
            push_dec(&mut d, v);
            push_hex(&mut h, v as u64);
            assert_eq!(d, format!("{v}"));
            assert_eq!(h, format!("{:x}", v as u64));
        }
    }

    #[test]
    fn pushed_paths_match_path_str() {
        for p in [&b""[..], b"/", b"/a/b", b"/caf\xc3\xa9", b"/bad\xff\xfe"] {
            let mut s = String::new();
            push_path(&mut s, p);
            assert_eq!(s, path_str(p));
        }
    }
}
