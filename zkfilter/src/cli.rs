//! Plumbing shared by the `zkdump` and `zkfilter` binaries: opening inputs, telling their kind,
//! reporting errors and mapping outcomes to exit codes.
//!
//! Exit codes (both tools):
//!
//! | code | meaning |
//! |---:|---|
//! | 0 | success (for `zkdump verify`/`diff`: clean / identical) |
//! | 1 | `zkdump verify` found a problem, `zkdump diff` found a difference |
//! | 2 | usage error, or an input could not be read or parsed |
//!
//! A closed standard output (`zkdump … | head`) is not an error for `zkdump`: it stops quietly
//! with exit code 0 (see [`run_main`]).

use std::fmt;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use zkformat::kind::FileKind;
use zkformat::source::FileBytes;
use zkformat::Zxid;

/// Exit code: success, clean, identical.
pub const EXIT_OK: u8 = 0;
/// Exit code: problems found (`verify`) or differences found (`diff`).
pub const EXIT_PROBLEMS: u8 = 1;
/// Exit code: usage error or unreadable input.
pub const EXIT_ERROR: u8 = 2;

/// An error to show to the user: a message with where it happened.
#[derive(Debug, Clone, Default)]
pub struct CliError {
    /// The input file (`-` for stdin), when known.
    pub path: Option<String>,
    /// What went wrong.
    pub message: String,
    /// Byte offset in the (decompressed) input, when known.
    pub offset: Option<u64>,
    /// Zxid of the record being read, when known.
    pub zxid: Option<Zxid>,
    /// What an operator could try next.
    pub hint: Option<String>,
    /// The exit code this error maps to.
    pub exit_code: u8,
}

impl CliError {
    /// A plain message (exit code 2).
    pub fn msg(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            exit_code: EXIT_ERROR,
            ..CliError::default()
        }
    }

    /// An error of the library while reading `path`.
    pub fn format(path: &str, e: &zkformat::Error) -> CliError {
        CliError {
            path: Some(path.to_string()),
            message: zk_error_message(e),
            offset: Some(e.offset()),
            zxid: e.zxid(),
            hint: Some(e.hint().to_string()),
            exit_code: EXIT_ERROR,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: &str, e: &io::Error) -> CliError {
        CliError {
            path: Some(path.to_string()),
            message: e.to_string(),
            exit_code: EXIT_ERROR,
            ..CliError::default()
        }
    }

    /// Says which output an I/O error was about (`writing the report: …`).
    pub fn with_what(mut self, what: &str) -> CliError {
        self.message = format!("writing {what}: {}", self.message);
        self
    }

    /// Sets the file path (kept if one is set already).
    pub fn with_path(mut self, path: &str) -> CliError {
        if self.path.is_none() {
            self.path = Some(path.to_string());
        }
        self
    }

    /// Prints `error: <path>: <message>` and a `hint:` line to `w`.
    pub fn print(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "error: {self}")?;
        if let Some(h) = &self.hint {
            writeln!(w, "hint: {h}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{p}: ")?;
        }
        write!(f, "{}", self.message)?;
        let mut parts = Vec::new();
        if let Some(o) = self.offset {
            parts.push(format!("offset {o}"));
        }
        if let Some(z) = self.zxid {
            parts.push(format!("zxid {z}"));
        }
        if !parts.is_empty() {
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for CliError {}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> CliError {
        CliError {
            message: e.to_string(),
            exit_code: EXIT_ERROR,
            ..CliError::default()
        }
    }
}

/// The library's message without its own "record N (zxid …) at byte …" prefix (the CLI prints
/// offset and zxid itself).
pub fn zk_error_message(e: &zkformat::Error) -> String {
    let full = e.to_string();
    match full.find("): ") {
        Some(i) if full[..i].contains("at byte ") => full[i + 3..].to_string(),
        _ => full,
    }
}

/// Refuses standard input when it is a terminal: nothing would come, the run would wait.
///
/// # Errors
/// Standard input is a terminal.
pub fn refuse_terminal_stdin() -> Result<(), CliError> {
    if io::stdin().is_terminal() {
        let mut e = CliError::msg("standard input (-) is a terminal, not a file: nothing to read");
        e.hint = Some(
            "pipe the file in (`… - < log.100000001`, or `cat FILE | …`), or name it instead of -"
                .into(),
        );
        return Err(e);
    }
    Ok(())
}

/// Standard input when it is a regular file read from its start (`… - < FILE`): mapped, with
/// its holes, like a file named on the command line. `None` for pipes, terminals, sockets, empty
/// files and a file already partly read: those are read as a stream.
fn map_stdin_file() -> Option<(FileBytes, Vec<std::ops::Range<usize>>)> {
    use std::io::Seek;
    use std::os::fd::AsFd;
    let file = std::fs::File::from(io::stdin().as_fd().try_clone_to_owned().ok()?);
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() == 0 || (&file).stream_position().ok()? != 0 {
        return None;
    }
    // A file that cannot be mapped is read whole, as a named one is.
    FileBytes::of_file_with_holes(&file).ok()
}

/// An opened input.
#[derive(Debug)]
pub enum Input {
    /// A file, memory-mapped (or read whole when it cannot be mapped).
    File {
        /// The path as given.
        path: PathBuf,
        /// Its bytes.
        bytes: FileBytes,
        /// Its holes ([`FileBytes::open_with_holes`]): ranges known to read as zeros.
        holes: Vec<std::ops::Range<usize>>,
        /// A temporary copy of standard input (see [`Input::spool`]), removed on drop.
        temp: Option<tempfile::TempPath>,
    },
    /// Standard input, read as a stream; `prefix` holds the first bytes already read.
    Stdin {
        /// Bytes read to detect the kind (to be replayed first).
        prefix: Vec<u8>,
    },
}

impl Input {
    /// Opens `arg`: `-` is standard input, anything else a file.
    ///
    /// # Errors
    /// I/O errors opening or reading.
    pub fn open(arg: &str) -> Result<Input, CliError> {
        if arg == "-" {
            refuse_terminal_stdin()?;
            if let Some((bytes, holes)) = map_stdin_file() {
                return Ok(Input::File {
                    path: PathBuf::from("-"),
                    bytes,
                    holes,
                    temp: None,
                });
            }
            let mut prefix = Vec::with_capacity(512);
            io::stdin()
                .lock()
                .take(512)
                .read_to_end(&mut prefix)
                .map_err(|e| CliError::io("-", &e))?;
            return Ok(Input::Stdin { prefix });
        }
        let path = PathBuf::from(arg);
        let (bytes, holes) =
            FileBytes::open_with_holes(&path).map_err(|e| CliError::io(arg, &e))?;
        Ok(Input::File {
            path,
            bytes,
            holes,
            temp: None,
        })
    }

    /// Copies standard input to a temporary file and maps it, for readers that need two passes
    /// (snapshots: `numChildren` is counted first). Files are returned as they are.
    ///
    /// # Errors
    /// I/O errors reading stdin or writing the temporary file.
    pub fn spool(self) -> Result<Input, CliError> {
        let Input::Stdin { prefix } = self else {
            return Ok(self);
        };
        let mut tmp = tempfile::NamedTempFile::new().map_err(|e| CliError::io("-", &e))?;
        tmp.write_all(&prefix).map_err(|e| CliError::io("-", &e))?;
        io::copy(&mut io::stdin().lock(), &mut tmp).map_err(|e| CliError::io("-", &e))?;
        tmp.flush().map_err(|e| CliError::io("-", &e))?;
        let temp = tmp.into_temp_path();
        let bytes = FileBytes::open(&temp).map_err(|e| CliError::io("-", &e))?;
        Ok(Input::File {
            path: PathBuf::from("-"),
            bytes,
            holes: Vec::new(),
            temp: Some(temp),
        })
    }

    /// The kind of the input, from its first bytes.
    pub fn kind(&self) -> FileKind {
        match self {
            Input::File { bytes, .. } => FileKind::detect(bytes),
            Input::Stdin { prefix } => FileKind::detect(prefix),
        }
    }

    /// The first bytes (up to 512): what tells the kind, for messages.
    pub fn head(&self) -> Vec<u8> {
        match self {
            Input::File { bytes, .. } => bytes.get(..512).unwrap_or(bytes).to_vec(),
            Input::Stdin { prefix } => prefix.clone(),
        }
    }

    /// The file's bytes when it is a file.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Input::File { bytes, .. } => Some(bytes),
            Input::Stdin { .. } => None,
        }
    }

    /// The file's holes (ranges known to be zeros; none for standard input read as a stream).
    pub fn holes(&self) -> &[std::ops::Range<usize>] {
        match self {
            Input::File { holes, .. } => holes,
            Input::Stdin { .. } => &[],
        }
    }

    /// A reader over the whole input (the file's bytes, or the prefix then the rest of stdin).
    pub fn reader(&self) -> Box<dyn Read + Send + '_> {
        match self {
            Input::File { bytes, .. } => Box::new(&bytes[..]),
            Input::Stdin { prefix } => Box::new(io::Cursor::new(prefix.clone()).chain(io::stdin())),
        }
    }

    /// The name to show in messages.
    pub fn name(&self) -> String {
        match self {
            Input::File { path, .. } => path.display().to_string(),
            Input::Stdin { .. } => "-".to_string(),
        }
    }
}

/// The error for an input that is neither a txn log nor a snapshot, as `zkdump` says it.
pub fn unknown_kind_error(name: &str, prefix: &[u8]) -> CliError {
    kind_error("zkdump", "a ZooKeeper txn log or snapshot", name, prefix)
}

/// The error for an input of the wrong kind: what it is (told from its first bytes), what
/// `tool` (e.g. `zkfilter log`) expects, and which command reads what was found.
pub fn kind_error(tool: &str, expected: &str, name: &str, prefix: &[u8]) -> CliError {
    // A file can say more than the few bytes a caller kept.
    let found = match crate::inputs::sniff_file(Path::new(name)) {
        Ok(f) if name != "-" && prefix.len() < crate::inputs::SNIFF_LEN => f,
        _ => crate::inputs::sniff(prefix),
    };
    let looks_legacy = Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(zkformat::zxid::parse_file_name)
        .is_some();
    let zkfilter = tool.starts_with("zkfilter");
    use crate::inputs::Sniffed;
    let hint = match &found {
        _ if tool.ends_with("--snapshot") => {
            "--snapshot takes the snapshot taken before the log (snapshot.<zxid> at or below the log's first zxid)".to_string()
        }
        Sniffed::TxnLog if zkfilter => "use `zkfilter log` for a txn log".to_string(),
        Sniffed::Snapshot(_) if zkfilter => "use `zkfilter snapshot` for a snapshot".to_string(),
        Sniffed::Archive(_) if zkfilter => "use `zkfilter datadir` for an archive of a data dir".to_string(),
        Sniffed::Archive(_) => "archives of data dirs are read by `zkdump verify`, `zkdump summary`, `zkdump sessions` and `zkdump diff`".to_string(),
        Sniffed::Empty => "the file is empty (an interrupted copy?): there is nothing to read".to_string(),
        _ if looks_legacy => "the name looks like a ZooKeeper data file: files without the ZKLG/ZKSN magic are pre-3.0 \"version 1\" files, which must first be upgraded by ZooKeeper 3.4's UpgradeMain".to_string(),
        _ => "expected a file from a data dir's version-2/ folder: log.<zxid>, or snapshot.<zxid> (plain, .gz or .snappy)".to_string(),
    };
    let mut e = CliError::msg(format!(
        "this is {}; {tool} expects {expected}",
        found.describe()
    ))
    .with_path(name);
    e.offset = Some(0);
    e.hint = Some(hint);
    e
}

/// True when `e` (or what it wraps) says standard output was closed by its reader.
pub fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Standard output, block-buffered (line-buffered on a terminal).
pub fn stdout() -> Box<dyn Write> {
    let out = io::stdout();
    if out.is_terminal() {
        Box::new(io::LineWriter::new(out))
    } else {
        Box::new(BufWriter::with_capacity(64 * 1024, out))
    }
}

/// Runs a tool's body and turns its outcome into a process exit code: `Ok(code)` as is, a broken
/// pipe on standard output as 0 (quietly), and any other error printed as `error: …` (exit 2 or
/// the error's own code).
pub fn run_main(body: impl FnOnce() -> Result<u8, CliError>) -> std::process::ExitCode {
    let code = match body() {
        Ok(c) => c,
        // A broken pipe on standard output: stop quietly.
        Err(e) if e.exit_code == EXIT_OK => EXIT_OK,
        Err(e) => {
            let _ = e.print(&mut io::stderr().lock());
            e.exit_code
        }
    };
    std::process::ExitCode::from(code)
}

/// Maps an I/O error on the output: a broken pipe becomes a quiet stop.
pub fn output_error(e: io::Error) -> CliError {
    if is_broken_pipe(&e) {
        CliError {
            message: "broken pipe".to_string(),
            exit_code: EXIT_OK,
            ..CliError::default()
        }
    } else {
        CliError {
            message: format!("writing output: {e}"),
            exit_code: EXIT_ERROR,
            ..CliError::default()
        }
    }
}

/// Parses a zxid given on the command line: `0x…` hex, or decimal.
///
/// # Errors
/// A message for clap when the text is neither.
pub fn parse_zxid(s: &str) -> Result<Zxid, String> {
    parse_i64(s).map(Zxid)
}

/// Parses a 64-bit id (zxid or session): `0x…` hex (up to 16 digits, two's complement), or decimal.
///
/// # Errors
/// A message for clap when the text is neither.
pub fn parse_i64(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
            .map(|v| v as i64)
            .map_err(|e| format!("bad hex number {s:?}: {e}"))
    } else {
        t.parse::<i64>()
            .map_err(|e| format!("bad number {s:?} (use decimal or 0x… hex): {e}"))
    }
}

/// Parses a point in time: milliseconds since the epoch, or RFC 3339
/// (`2026-12-02T04:07:41Z`, `2026-12-02T05:07:41.250+01:00`; a space may stand for `T`).
///
/// # Errors
/// A message for clap.
pub fn parse_time_ms(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<i64>().map_err(|e| format!("{s:?}: {e}"));
    }
    let bad = || {
        format!("{s:?} is not a time: use RFC 3339 (2026-12-02T04:07:41Z, or with an offset like +01:00) or milliseconds since the epoch")
    };
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        t.get(r)
            .filter(|x| x.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|x| x.parse::<i64>().ok())
            .ok_or_else(bad)
    };
    if b.len() < 19
        || b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return Err(bad());
    }
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return Err(bad());
    }
    let mut i = 19;
    let mut ms = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start {
            return Err(bad());
        }
        let frac = t.get(start..end).unwrap_or("0");
        let padded: String = frac.chars().chain("000".chars()).take(3).collect();
        ms = padded.parse::<i64>().map_err(|_| bad())?;
        i = end;
    }
    let offset_min = match t.get(i..) {
        Some("Z" | "z") => 0,
        Some(o)
            if o.len() == 6
                && (o.starts_with('+') || o.starts_with('-'))
                && o.as_bytes().get(3) == Some(&b':') =>
        {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?)
        }
        _ => return Err(bad()),
    };
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok((((days * 24 + h) * 60 + mi - offset_min) * 60 + se) * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time_ms("1764648461123").unwrap(), 1_764_648_461_123);
        let z = parse_time_ms("2025-12-02T04:07:41.123Z").unwrap();
        assert_eq!(crate::dump::format_time(z), "2025-12-02T04:07:41.123Z");
        assert_eq!(parse_time_ms("2025-12-02T05:07:41.123+01:00").unwrap(), z);
        assert_eq!(parse_time_ms("2025-12-02 04:07:41.1234Z").unwrap(), z);
        for bad in [
            "yesterday",
            "2025-13-02T04:07:41Z",
            "2025-12-02T04:07:41",
            "2025-12-02",
        ] {
            assert!(parse_time_ms(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_zxid("0x100000001").unwrap(), Zxid(0x1_0000_0001));
        assert_eq!(parse_zxid("42").unwrap(), Zxid(42));
        assert_eq!(parse_i64("0x8000000000000000").unwrap(), i64::MIN);
        assert!(parse_zxid("zz").is_err());
    }

    #[test]
    fn display() {
        let mut e = CliError::msg("bad").with_path("f");
        e.offset = Some(61);
        e.zxid = Some(Zxid(0x88_0000_0002));
        assert_eq!(e.to_string(), "f: bad (offset 61, zxid 0x8800000002)");
    }
}
