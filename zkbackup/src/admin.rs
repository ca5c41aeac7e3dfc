//! ZooKeeper 3.9's admin server: `GET /commands/snapshot?streaming=true` gives the body of a
//! fresh snapshot (compressed if the server compresses snapshots) and its zxid in the
//! `last_zxid` header. Auth is the `Authorization: <scheme> <data>` header (digest:
//! `digest user:password`). A 429 is the admin rate limiter, a clear error and no retry loop.
//! Credentials never appear in a message.

use std::io::{self, Read, Write};
use std::path::Path;

use zkformat::Zxid;

/// Credentials for the admin server, kept out of every message and `Debug` output.
#[derive(Clone)]
pub struct Auth {
    scheme: String,
    data: String,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Auth({} …)", self.scheme)
    }
}

impl Auth {
    /// Parses `digest:USER:PASS` (or `SCHEME:DATA`), `@FILE` (the same, read from a file, first
    /// line), as given to `--auth` or in `ZKBACKUP_AUTH`.
    ///
    /// # Errors
    /// A message without the secret.
    pub fn parse(spec: &str) -> Result<Auth, String> {
        let text = match spec.strip_prefix('@') {
            Some(file) => std::fs::read_to_string(file)
                .map_err(|e| format!("--auth @{file}: {e}"))?
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string(),
            None => spec.trim().to_string(),
        };
        match text.split_once(':') {
            Some((scheme, data)) if !scheme.is_empty() && !data.is_empty() => Ok(Auth {
                scheme: scheme.to_string(),
                data: data.to_string(),
            }),
            _ => Err(
                "--auth expects SCHEME:DATA, e.g. digest:USER:PASSWORD (or @FILE holding it)"
                    .to_string(),
            ),
        }
    }

    /// The secret part, so tests and callers can make sure it is written nowhere.
    pub fn secret(&self) -> &str {
        &self.data
    }

    fn header(&self) -> String {
        format!("{} {}", self.scheme, self.data)
    }
}

/// The snapshot URL for `url`: a base (`http://host:8080`) gets `/commands/snapshot`; a URL
/// naming a command is used as it is. `streaming=true` is added.
pub fn snapshot_url(url: &str) -> String {
    let base = url.trim_end_matches('/');
    let with_path = if base.contains("/commands/") {
        base.to_string()
    } else {
        format!("{base}/commands/snapshot")
    };
    if with_path.contains("streaming=") {
        with_path
    } else if with_path.contains('?') {
        format!("{with_path}&streaming=true")
    } else {
        format!("{with_path}?streaming=true")
    }
}

/// What the admin server gave.
#[derive(Debug)]
pub struct Fetched {
    /// The zxid the server names the snapshot by.
    pub last_zxid: Zxid,
    /// Bytes received.
    pub size: u64,
}

/// Downloads a snapshot from the admin server at `url` into `out`.
///
/// # Errors
/// A message saying what to do: wrong credentials, rate limit, a server not serving, an
/// unreachable server, a body that is not a snapshot.
pub fn fetch_snapshot(
    url: &str,
    auth: Option<&Auth>,
    out: &mut dyn Write,
) -> Result<Fetched, String> {
    let request_url = snapshot_url(url);
    // Messages name the URL without user info (`http://user:pass@host` keeps its secret), and
    // every message is scrubbed of the user info and the --auth secret.
    let full = public_url(&request_url);
    let userinfo = request_url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .map(|(info, _)| info.to_string())
        .filter(|i| !i.contains('/') && !i.is_empty());
    let scrub = |m: String| -> String {
        let m = match &userinfo {
            Some(i) => m.replace(i.as_str(), "***"),
            None => m,
        };
        scrub_secret(auth, m)
    };
    let req = authed(ureq::get(&request_url), auth, 600);
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => {
            let body = r.into_string().unwrap_or_default();
            let body: String = body.chars().take(300).collect();
            return Err(scrub(match code {
                401 => format!("{full}: authentication failed (HTTP 401): check --auth (digest:USER:PASSWORD of a user with ALL on /, e.g. the superDigest user)"),
                403 => format!("{full}: not allowed (HTTP 403): the user needs ALL permission on / (or be the superDigest user)"),
                429 => format!("{full}: rate-limited (HTTP 429): the admin server allows one snapshot per zookeeper.admin.rateLimiterIntervalInMS; try again later"),
                503 => format!("{full}: the snapshot command is disabled (HTTP 503): zookeeper.admin.snapshot.enabled=false"),
                _ => format!("{full}: HTTP {code}: {}", body.trim()),
            }));
        }
        Err(ureq::Error::Transport(t)) => {
            // The transport error names the URL itself: say it once, without user info.
            let what = transport_error(&t);
            return Err(scrub(format!(
                "{full}: {what} (is the admin server enabled and listening?)"
            )));
        }
    };
    let header = resp.header("last_zxid").map(str::to_string);
    let mut body = resp.into_reader();
    let mut head = [0u8; 8];
    let mut got = 0;
    while got < head.len() {
        match body.read(head.get_mut(got..).unwrap_or(&mut [])) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("{full}: reading the snapshot: {e}")),
        }
    }
    let head = head.get(..got).unwrap_or(&[]);
    if !matches!(
        zkformat::kind::FileKind::detect(head),
        zkformat::kind::FileKind::Snapshot
            | zkformat::kind::FileKind::Gzip
            | zkformat::kind::FileKind::Snappy
    ) {
        // An unknown command or a server that is not serving answers 200 with JSON.
        let mut rest = String::new();
        let _ = body.take(300).read_to_string(&mut rest);
        let text = format!("{}{rest}", String::from_utf8_lossy(head));
        return Err(scrub(format!(
            "{full}: the answer is not a snapshot: {}",
            text.trim()
        )));
    }
    let Some(z) = header
        .as_deref()
        .and_then(|h| zkfilter::cli::parse_zxid(h).ok())
    else {
        return Err(format!(
            "{full}: no last_zxid header (ZooKeeper 3.9's admin snapshot sends one)"
        ));
    };
    out.write_all(head)
        .map_err(|e| format!("writing the snapshot: {e}"))?;
    let n = io::copy(&mut body, out).map_err(|e| format!("{full}: reading the snapshot: {e}"))?;
    Ok(Fetched {
        last_zxid: z,
        size: n + head.len() as u64,
    })
}

/// What a transport error says, without the URL it carries: its kind and its innermost cause
/// ("Connection Failed: Connection refused").
pub fn transport_error(t: &ureq::Transport) -> String {
    let detail = t.message().map(str::to_string).or_else(|| {
        let mut cause = std::error::Error::source(t)?;
        while let Some(next) = cause.source() {
            cause = next;
        }
        Some(cause.to_string())
    });
    match detail {
        Some(d) => format!("{}: {d}", t.kind()),
        None => t.kind().to_string(),
    }
}

/// Where the admin server lives, without user info, for the manifest.
pub fn public_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

/// The extension ZooKeeper gives a snapshot with this content.
pub fn snapshot_suffix(path: &Path) -> &'static str {
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    match zkformat::kind::FileKind::detect(head.get(..n).unwrap_or(&[])) {
        zkformat::kind::FileKind::Gzip => ".gz",
        zkformat::kind::FileKind::Snappy => ".snappy",
        _ => "",
    }
}

/// The restore URL for `url` (a base gets `/commands/restore`).
pub fn restore_url(url: &str) -> String {
    let base = url.trim_end_matches('/');
    if base.contains("/commands/") {
        base.to_string()
    } else {
        format!("{base}/commands/restore")
    }
}

/// The admin server's base URL (`http://host:8080`) of `url`, which may name a command.
pub fn base_url(url: &str) -> String {
    let u = url.trim().trim_end_matches('/');
    match u.find("/commands/") {
        Some(i) => u.get(..i).unwrap_or(u).to_string(),
        None => u.to_string(),
    }
}

/// What the admin server says of itself before a snapshot is asked for (`/commands/srvr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFacts {
    /// The `version` field (`3.9.3-…, built on …`), if the answer has one.
    pub version: Option<String>,
    /// `server_stats.last_processed_zxid`: every txn up to it is applied to the live database.
    pub last_processed_zxid: Zxid,
}

/// Asks the admin server for its version and last processed zxid (`GET /commands/srvr`, which
/// needs no credentials; `auth` is sent anyway, for servers that ask).
///
/// # Errors
/// A message without secrets: an unreachable server, an HTTP error, an answer without
/// `server_stats.last_processed_zxid`.
pub fn server_facts(url: &str, auth: Option<&Auth>) -> Result<ServerFacts, String> {
    let request_url = format!("{}/commands/srvr", base_url(url));
    let full = public_url(&request_url);
    let scrub = |m: String| scrub_secret(auth, m);
    let req = authed(ureq::get(&request_url), auth, 60);
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => {
            let body = body_start(r)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            return Err(scrub(format!(
                "{full}: HTTP {code} (is this ZooKeeper 3.9's admin server, http://HOST:8080?): {}",
                body.chars().take(160).collect::<String>()
            )));
        }
        Err(ureq::Error::Transport(t)) => {
            return Err(scrub(format!(
                "{full}: {} (is the admin server enabled and listening?)",
                transport_error(&t)
            )))
        }
    };
    let text = resp
        .into_string()
        .map_err(|e| scrub(format!("{full}: reading the answer: {e}")))?;
    parse_server_facts(&text).ok_or_else(|| {
        scrub(format!(
            "{full}: the answer has no server_stats.last_processed_zxid (is this ZooKeeper's admin server, serving?): {}",
            text.chars().take(200).collect::<String>().trim()
        ))
    })
}

/// Reads the JSON answer of `/commands/srvr`.
pub fn parse_server_facts(text: &str) -> Option<ServerFacts> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let z = match v.get("server_stats")?.get("last_processed_zxid")? {
        serde_json::Value::Number(n) => n.as_i64()?,
        serde_json::Value::String(s) => zkfilter::cli::parse_zxid(s).ok()?.0,
        _ => return None,
    };
    Some(ServerFacts {
        version: v
            .get("version")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string),
        last_processed_zxid: Zxid(z),
    })
}

/// Whether the admin `snapshot` command of this ZooKeeper version fast-forwards the live
/// database from the txn log before writing (3.9.0 to 3.9.3; ZOOKEEPER-4872, fixed in 3.9.4).
/// The request pipeline then applies those txns a second time while the snapshot is written, so
/// a node may be written out in a state older than the snapshot's name. An unknown version is
/// taken to do so.
pub fn snapshot_fast_forwards(version: Option<&str>) -> bool {
    let Some(v) = version else { return true };
    let numbers: Vec<Option<u32>> = v
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()
        .unwrap_or("")
        .split('.')
        .map(|p| p.parse().ok())
        .collect();
    match numbers.as_slice() {
        [Some(3), Some(9), Some(patch), ..] => *patch <= 3,
        [Some(_), Some(_), ..] => false,
        _ => true,
    }
}

/// Makes a 3.9 member save its in-memory database as a snapshot in its data dir: `GET
/// /commands/snapshot?streaming=false` (nothing is downloaded). Returns the zxid the file is named
/// by (the `last_zxid` header).
///
/// ZooKeeper's admin `restore` swaps the database in memory and writes nothing to disk: until the
/// member writes a snapshot of its own, a restart loads the old snapshot and replays the old logs
/// (the data of before the restore comes back on that member alone).
///
/// # Errors
/// A message without secrets (auth, 429 naming `zookeeper.admin.rateLimiterIntervalInMS`, a
/// disabled command, a server error).
pub fn save_snapshot(url: &str, auth: Option<&Auth>) -> Result<Zxid, String> {
    let request_url = format!("{}/commands/snapshot?streaming=false", base_url(url));
    let full = public_url(&request_url);
    let scrub = |m: String| scrub_secret(auth, m);
    let req = authed(ureq::get(&request_url), auth, 600);
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => {
            return Err(scrub(status_error(
                &full,
                code,
                r,
                "snapshot",
                "try again later",
            )));
        }
        Err(ureq::Error::Transport(t)) => {
            return Err(scrub(format!("{full}: {}", transport_error(&t))))
        }
    };
    let header = resp.header("last_zxid").map(str::to_string);
    let text = body_start(resp);
    header
        .as_deref()
        .and_then(|h| zkfilter::cli::parse_zxid(h).ok())
        .ok_or_else(|| {
            scrub(format!(
                "{full}: no snapshot was written (no last_zxid header): {}",
                text.trim()
            ))
        })
}

/// POSTs an uncompressed snapshot stream to a 3.9 admin server's `restore` command; returns the
/// `last_zxid` it reports.
///
/// # Errors
/// A message without secrets: auth, 429 (naming `zookeeper.admin.rateLimiterIntervalInMS`),
/// disabled command, an error in the reply.
pub fn post_restore(url: &str, auth: Option<&Auth>, body: &Path) -> Result<Option<Zxid>, String> {
    let request_url = restore_url(url);
    let full = public_url(&request_url);
    let scrub = |m: String| scrub_secret(auth, m);
    let file = std::fs::File::open(body).map_err(|e| format!("{}: {e}", body.display()))?;
    let req = authed(
        ureq::post(&request_url).set("Content-Type", "application/octet-stream"),
        auth,
        600,
    );
    let resp = match req.send(file) {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => {
            return Err(scrub(status_error(
                &full,
                code,
                r,
                "restore",
                "wait, or lower that property",
            )));
        }
        Err(e) => return Err(scrub(format!("{full}: {e}"))),
    };
    let text = resp
        .into_string()
        .map_err(|e| format!("{full}: reading the reply: {e}"))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
        format!(
            "{full}: the reply is not JSON: {}",
            text.chars().take(200).collect::<String>()
        )
    })?;
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        return Err(scrub(format!(
            "{full}: the server refused the restore: {err}"
        )));
    }
    Ok(match v.get("last_zxid") {
        Some(serde_json::Value::Number(n)) => n.as_i64().map(Zxid),
        Some(serde_json::Value::String(s)) => zkfilter::cli::parse_zxid(s).ok(),
        _ => None,
    })
}

/// `req` with the credentials' `Authorization` header and a timeout of `secs`.
fn authed(req: ureq::Request, auth: Option<&Auth>, secs: u64) -> ureq::Request {
    let req = req.timeout(std::time::Duration::from_secs(secs));
    match auth {
        Some(a) => req.set("Authorization", &a.header()),
        None => req,
    }
}

/// `m` with the credentials' secret replaced by `***`.
fn scrub_secret(auth: Option<&Auth>, m: String) -> String {
    match auth {
        Some(a) if !a.secret().is_empty() => m.replace(a.secret(), "***"),
        _ => m,
    }
}

/// The first 300 characters of a response's body (empty if it cannot be read as text): enough
/// to quote in a message.
fn body_start(resp: ureq::Response) -> String {
    resp.into_string()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}

/// The message for an admin command's HTTP error status (`command` is `snapshot` or `restore`:
/// it names the rate limit and the property that disables it).
fn status_error(
    full: &str,
    code: u16,
    resp: ureq::Response,
    command: &str,
    advice: &str,
) -> String {
    let text = body_start(resp);
    match code {
        401 => format!("{full}: authentication failed (HTTP 401): check --auth"),
        403 => format!("{full}: not allowed (HTTP 403): the user needs ALL permission on /"),
        429 => format!("{full}: rate-limited (HTTP 429): the admin server allows one {command} per zookeeper.admin.rateLimiterIntervalInMS; {advice}"),
        503 => format!("{full}: the {command} command is disabled (HTTP 503): zookeeper.admin.{command}.enabled=false"),
        _ => format!("{full}: HTTP {code}: {}", text.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_auth() {
        assert_eq!(
            snapshot_url("http://h:8080"),
            "http://h:8080/commands/snapshot?streaming=true"
        );
        assert_eq!(
            snapshot_url("http://h:8080/commands/snapshot"),
            "http://h:8080/commands/snapshot?streaming=true"
        );
        let a = Auth::parse("digest:super:s3cret").unwrap();
        assert_eq!(a.header(), "digest super:s3cret");
        assert!(!format!("{a:?}").contains("s3cret"));
        assert!(Auth::parse("nocolon").is_err());
        assert_eq!(public_url("http://u:p@h:1/x"), "http://h:1/x");
        assert_eq!(base_url("http://h:1/"), "http://h:1");
        assert_eq!(base_url("http://h:1/commands/restore"), "http://h:1");
    }

    #[test]
    fn server_facts_and_the_versions_whose_snapshot_fast_forwards() {
        // The shape of a real 3.9.3 answer (abridged).
        let answer = r#"{"version" : "3.9.3-${mvngit.commit.id}, built on 2026-03-08 16:19 UTC",
            "server_stats" : {"last_processed_zxid" : 11889, "server_state" : "standalone"},
            "command" : "server_stats", "error" : null}"#;
        let f = parse_server_facts(answer).unwrap();
        assert_eq!(f.last_processed_zxid, Zxid(11889));
        assert!(snapshot_fast_forwards(f.version.as_deref()));
        assert_eq!(parse_server_facts(r#"{"error":"not serving"}"#), None);
        assert_eq!(parse_server_facts("<html>"), None);
        for (v, ff) in [
            ("3.9.0", true),
            ("3.9.2-abc", true),
            ("3.9.4-1, built on x", false),
            ("3.9.10", false),
            ("3.10.0", false),
            ("4.0.0", false),
            ("garbage", true),
        ] {
            assert_eq!(snapshot_fast_forwards(Some(v)), ff, "{v}");
        }
        assert!(snapshot_fast_forwards(None));
    }
}
