//! `zkbackup status`: is every server of an ensemble serving, and does exactly one lead?
//!
//! One row per server, with the codes of Exhibitor's `GET /exhibitor/v1/cluster/status`:
//!
//! | code | description | meaning here |
//! |---:|---|---|
//! | 0 | `latent` | not configured (Exhibitor's; never produced by a probe, kept for the shape) |
//! | 1 | `down` | no connection, no answer within the timeouts, or an answer that says nothing |
//! | 2 | `not serving` | the server runs but says "This ZooKeeper instance is not currently serving requests" (electing, or a member without a quorum) |
//! | 3 | `serving` | the answer has a `Mode:` (leader, follower, observer, standalone, read-only) |
//!
//! `isLeader` is true for `leader` and `standalone`, as in Exhibitor.
//!
//! The probe is the four-letter word `srvr` on the client port (on ZooKeeper's default
//! `4lw.commands.whitelist` since 3.5; also in 3.4): send `srvr` over TCP, read until the server
//! closes. With `--admin URL` for a server, its admin server's `/commands/stat` (JSON) is asked
//! instead: `server_stats.server_state` is the mode, `last_processed_zxid` the zxid, and an
//! `error` "not currently serving" is code 2.
//!
//! Connections go only to the addresses given (no proxy, no redirect). Each probe connects within
//! [`CONNECT_TIMEOUT`] and must be answered within [`READ_TIMEOUT`]; the servers are asked in
//! parallel, and a probe that has not finished after both timeouts and a margin counts as down,
//! so a hung server, a black-holed address or a slow name lookup never hangs the command.

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a TCP (or HTTP) connection may take before the server counts as down.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the whole answer may take, once connected, before the server counts as down.
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// The pause between two rounds of `--wait`.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The most that is read of one answer (a `srvr` answer is a few hundred bytes).
pub const MAX_ANSWER: u64 = 64 * 1024;
/// What a running ZooKeeper that is not serving answers (four-letter words and admin commands).
pub const NOT_SERVING: &str = "not currently serving requests";

const STATUS_HELP: &str = "\
Examples:
  # A three-member ensemble, as a table (SERVER CODE STATE LEADER MODE ZXID):
  zkbackup status --servers 127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183
  # Exhibitor's /exhibitor/v1/cluster/status array (plus mode, zxid, error):
  zkbackup status --servers 127.0.0.1:2181 --json
  # Wait up to 30 s for the ensemble to serve with one leader (after a restart or a restore):
  zkbackup status --servers 127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183 --wait 30
  # Through ZooKeeper's admin server (/commands/stat) for the first server, srvr for the second:
  zkbackup status --servers 127.0.0.1:2181,127.0.0.1:2182 --admin http://127.0.0.1:8080,-

Codes (Exhibitor's): 0 latent, 1 down, 2 not serving, 3 serving; LEADER is yes for a leader or a
standalone server. The probe is the four-letter word srvr (on ZooKeeper's default whitelist since
3.5); connect timeout 1 s, answer timeout 2 s; a server that does not answer is down.

Exit status:
  0  every server serves and exactly one leads (a single standalone server counts)
  1  otherwise (with --wait: still not so when the time ran out; the last table is printed)
  2  usage error (no servers, a bad HOST:PORT or URL)";

/// `zkbackup status`: the arguments.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = STATUS_HELP)]
pub struct StatusArgs {
    /// The servers' client ports: HOST:PORT, comma-separated or repeated (an IPv6 address in
    /// brackets).
    #[arg(
        long,
        value_name = "HOST:PORT[,…]",
        value_delimiter = ',',
        required = true
    )]
    pub servers: Vec<String>,
    /// Poll every 0.5 s until every server serves and exactly one leads, for at most this many
    /// seconds (e.g. 30 or 2.5); exit 1 if the time runs out.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub wait: Option<Duration>,
    /// Ask admin servers (/commands/stat) instead of srvr: one http(s) URL per server, in the
    /// order of --servers (comma-separated or repeated); `-` keeps srvr for that server.
    #[arg(long, value_name = "URL[,…]", value_delimiter = ',')]
    pub admin: Vec<String>,
}

/// Parses `--wait`: a non-negative number of seconds, fractions allowed.
///
/// # Errors
/// A message for anything else.
pub fn parse_seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds (e.g. 30 or 2.5)"))?;
    if !(0.0..=86_400.0).contains(&v) {
        return Err(format!("{s}: expected 0 to 86400 seconds"));
    }
    Duration::try_from_secs_f64(v).map_err(|e| format!("{s}: {e}"))
}

/// Exhibitor's server codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 0: not configured (Exhibitor's; no probe here produces it).
    Latent,
    /// 1: no connection or no usable answer.
    Down,
    /// 2: running, "not currently serving requests".
    NotServing,
    /// 3: serving (the answer has a mode).
    Serving,
}

impl Code {
    /// The number Exhibitor gives it.
    pub fn number(self) -> u8 {
        match self {
            Code::Latent => 0,
            Code::Down => 1,
            Code::NotServing => 2,
            Code::Serving => 3,
        }
    }

    /// Exhibitor's description: the lower-cased name.
    pub fn description(self) -> &'static str {
        match self {
            Code::Latent => "latent",
            Code::Down => "down",
            Code::NotServing => "not serving",
            Code::Serving => "serving",
        }
    }
}

/// What one server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus {
    /// The server as given in `--servers` (`HOST:PORT`).
    pub hostname: String,
    /// Exhibitor's code.
    pub code: Code,
    /// Leader or standalone.
    pub is_leader: bool,
    /// The server's mode (`leader`, `follower`, `observer`, `standalone`, `read-only`), when
    /// serving.
    pub mode: Option<String>,
    /// The server's last zxid (`0x…` hex), when it said it.
    pub zxid: Option<String>,
    /// Why the server is down or not serving, or anything odd about its answer.
    pub error: Option<String>,
}

impl ServerStatus {
    fn down(hostname: &str, why: impl Into<String>) -> ServerStatus {
        ServerStatus {
            hostname: hostname.to_string(),
            code: Code::Down,
            is_leader: false,
            mode: None,
            zxid: None,
            error: Some(why.into()),
        }
    }

    fn not_serving(hostname: &str, zxid: Option<String>) -> ServerStatus {
        ServerStatus {
            hostname: hostname.to_string(),
            code: Code::NotServing,
            is_leader: false,
            mode: None,
            zxid,
            error: Some("This ZooKeeper instance is not currently serving requests".to_string()),
        }
    }

    fn serving(hostname: &str, mode: &str, zxid: Option<String>) -> ServerStatus {
        ServerStatus {
            hostname: hostname.to_string(),
            code: Code::Serving,
            is_leader: mode == "leader" || mode == "standalone",
            mode: Some(mode.to_string()),
            zxid,
            error: None,
        }
    }

    /// This row as a JSON object of Exhibitor's shape (`code`, `description`, `hostname`,
    /// `isLeader`) plus `mode`, `zxid` and `error` (null when unknown or none).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code.number(),
            "description": self.code.description(),
            "hostname": self.hostname,
            "isLeader": self.is_leader,
            "mode": self.mode,
            "zxid": self.zxid,
            "error": self.error,
        })
    }
}

/// One server to ask: where, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// As given (trimmed): the `hostname` of its row.
    pub hostname: String,
    /// The host (a name, an IPv4 or an IPv6 address without brackets).
    pub host: String,
    /// The client port.
    pub port: u16,
    /// The admin server's `/commands/stat` URL, when it is asked instead of `srvr`.
    pub admin: Option<String>,
}

/// Splits `HOST:PORT` (or `[IPv6]:PORT`).
///
/// # Errors
/// A message naming the entry and the expected form.
pub fn parse_host_port(entry: &str) -> Result<(String, u16), String> {
    let s = entry.trim();
    let expected = "expected HOST:PORT, the client port (e.g. 127.0.0.1:2181 or [::1]:2181)";
    if s.is_empty() {
        return Err(format!("an empty server in --servers: {expected}"));
    }
    if s.contains("://") || s.contains('/') {
        return Err(format!(
            "--servers {s}: {expected}; an admin server's URL goes to --admin"
        ));
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("--servers {s}: no closing ']': {expected}"))?;
        let p = after
            .strip_prefix(':')
            .ok_or_else(|| format!("--servers {s}: no port: {expected}"))?;
        if h.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("--servers {s}: {h:?} is not an IPv6 address"));
        }
        (h, p)
    } else {
        let (h, p) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("--servers {s}: no port: {expected}"))?;
        if h.contains(':') {
            return Err(format!(
                "--servers {s}: write an IPv6 address in brackets: [ADDRESS]:PORT"
            ));
        }
        (h, p)
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%'))
    {
        return Err(format!(
            "--servers {s}: {host:?} is not a host name: {expected}"
        ));
    }
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("--servers {s}: {port:?} is not a port (1-65535): {expected}"))?;
    Ok((host.to_string(), port))
}

/// The admin URL to ask: a base (`http://host:8080`) gets `/commands/stat`; a URL naming a
/// command (`…/commands/stat`) is used as it is.
///
/// # Errors
/// Not an `http://` or `https://` URL.
pub fn admin_stat_url(url: &str) -> Result<String, String> {
    let u = url.trim();
    let rest = u
        .strip_prefix("http://")
        .or_else(|| u.strip_prefix("https://"))
        .ok_or_else(|| {
            format!("--admin {u}: expected http://HOST:PORT (the admin server, default port 8080), or - for srvr")
        })?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("--admin {u}: no host"));
    }
    let base = u.trim_end_matches('/');
    Ok(if base.contains("/commands/") {
        base.to_string()
    } else {
        format!("{base}/commands/stat")
    })
}

/// Checks the arguments and pairs each server with its `--admin` URL.
///
/// # Errors
/// No servers, a bad `HOST:PORT`, the same server twice, a bad URL, or a number of `--admin`
/// URLs other than the number of servers.
pub fn targets(args: &StatusArgs) -> Result<Vec<Target>, String> {
    let entries: Vec<&str> = args.servers.iter().map(|s| s.trim()).collect();
    if entries.is_empty() || entries.iter().all(|s| s.is_empty()) {
        return Err("no servers: pass --servers HOST:PORT[,HOST:PORT…]".to_string());
    }
    if !args.admin.is_empty() && args.admin.len() != entries.len() {
        return Err(format!(
            "--admin names {} URL(s) for {} server(s): give one per server, in the order of --servers (- keeps srvr for a server)",
            args.admin.len(),
            entries.len()
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let (host, port) = parse_host_port(entry)?;
        if !seen.insert((host.to_ascii_lowercase(), port)) {
            return Err(format!("--servers names {entry} twice"));
        }
        let admin = match args.admin.get(i).map(|a| a.trim()) {
            None | Some("-") => None,
            Some(a) => Some(admin_stat_url(a)?),
        };
        out.push(Target {
            hostname: (*entry).to_string(),
            host,
            port,
            admin,
        });
    }
    Ok(out)
}

/// Normalises a zxid to lower-case `0x…` hex (kept as given if it is not hex).
fn normalise_zxid(z: &str) -> String {
    let t = z.trim();
    t.strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .map_or_else(|| t.to_string(), |v| format!("{v:#x}"))
}

/// Reads a `srvr` answer: a `Mode:` line is serving (with the `Zxid:`), "not currently serving"
/// is code 2, anything else (nothing, srvr not whitelisted, not ZooKeeper) is down.
pub fn parse_srvr(hostname: &str, answer: &str) -> ServerStatus {
    let mut mode = None;
    let mut zxid = None;
    for line in answer.lines() {
        if let Some(m) = line.strip_prefix("Mode:") {
            mode = Some(m.trim().to_string());
        } else if let Some(z) = line.strip_prefix("Zxid:") {
            zxid = Some(normalise_zxid(z));
        }
    }
    match mode {
        Some(m) if !m.is_empty() => ServerStatus::serving(hostname, &m, zxid),
        _ if answer.contains(NOT_SERVING) => ServerStatus::not_serving(hostname, zxid),
        _ if answer.trim().is_empty() => {
            ServerStatus::down(hostname, "closed the connection without an answer to srvr")
        }
        _ if answer.contains("not in the whitelist") => ServerStatus::down(
            hostname,
            "srvr is not in its 4lw.commands.whitelist (add it, or use --admin)",
        ),
        _ => {
            let first: String = answer
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .chars()
                .take(100)
                .collect();
            ServerStatus::down(
                hostname,
                format!("not a ZooKeeper answer to srvr: {first:?}"),
            )
        }
    }
}

/// Reads an admin `/commands/stat` answer (JSON).
pub fn parse_admin_stat(hostname: &str, body: &str) -> ServerStatus {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        let first: String = body.trim().chars().take(100).collect();
        return ServerStatus::down(
            hostname,
            format!("not a ZooKeeper admin server answer: {first:?}"),
        );
    };
    if let Some(err) = v.get("error").and_then(serde_json::Value::as_str) {
        if err.contains(NOT_SERVING) {
            return ServerStatus::not_serving(hostname, None);
        }
        return ServerStatus::down(hostname, format!("the admin server answered: {err}"));
    }
    let stats = v.get("server_stats");
    let zxid = stats
        .and_then(|s| s.get("last_processed_zxid"))
        .and_then(|z| match z {
            serde_json::Value::Number(n) => n.as_i64().map(|n| format!("{:#x}", n as u64)),
            serde_json::Value::String(s) => Some(normalise_zxid(s)),
            _ => None,
        });
    match stats
        .and_then(|s| s.get("server_state"))
        .and_then(serde_json::Value::as_str)
    {
        Some(mode) if !mode.is_empty() => ServerStatus::serving(hostname, mode, zxid),
        _ => ServerStatus::down(
            hostname,
            "the admin server's stat has no server_stats.server_state",
        ),
    }
}

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "timed out".to_string(),
        io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        _ => e.to_string(),
    }
}

/// Connects to the first address of `host:port` that accepts within `connect` each.
fn connect(host: &str, port: u16, connect: Duration) -> Result<TcpStream, String> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let mut last = format!("{host} resolves to no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, connect) {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("connecting to {a}: {}", io_reason(&e)),
        }
    }
    Err(last)
}

/// Asks one server `srvr` on its client port and reads the answer.
pub fn probe_srvr(target: &Target, connect_timeout: Duration, read: Duration) -> ServerStatus {
    let host = &target.hostname;
    let mut stream = match connect(&target.host, target.port, connect_timeout) {
        Ok(s) => s,
        Err(e) => return ServerStatus::down(host, e),
    };
    let deadline = Instant::now() + read;
    if let Err(e) = stream
        .set_write_timeout(Some(read))
        .and_then(|()| stream.write_all(b"srvr"))
    {
        return ServerStatus::down(host, format!("sending srvr: {}", io_reason(&e)));
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let mut failure = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            failure = Some(format!("no complete answer within {}s", read.as_secs_f64()));
            break;
        }
        if let Err(e) = stream.set_read_timeout(Some(left)) {
            failure = Some(io_reason(&e));
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(buf.get(..n).unwrap_or(&[]));
                if answer.len() as u64 >= MAX_ANSWER {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                failure = Some(match e.kind() {
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                        format!("no complete answer within {}s", read.as_secs_f64())
                    }
                    _ => format!("reading the answer: {}", io_reason(&e)),
                });
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&answer);
    let status = parse_srvr(host, &text);
    match failure {
        // What did arrive decides (a complete `Mode:` line, or "not serving"); nothing at all
        // (or nothing useful) is down, for the reason the read stopped.
        Some(f) if status.code == Code::Down => ServerStatus::down(host, f),
        _ => status,
    }
}

/// Asks one admin server `/commands/stat`.
pub fn probe_admin(
    target: &Target,
    url: &str,
    connect_timeout: Duration,
    read: Duration,
) -> ServerStatus {
    let host = &target.hostname;
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(connect_timeout)
        .timeout_read(read)
        .timeout_write(read)
        .timeout(connect_timeout + read)
        .redirects(0)
        .build();
    let public = crate::admin::public_url(url);
    let response = match agent.get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(t)) => {
            let what = crate::admin::transport_error(&t);
            return ServerStatus::down(host, format!("{public}: {what}"));
        }
    };
    let status = response.status();
    let mut body = String::new();
    if let Err(e) = response
        .into_reader()
        .take(MAX_ANSWER)
        .read_to_string(&mut body)
    {
        return ServerStatus::down(host, format!("{public}: reading the answer: {e}"));
    }
    let s = parse_admin_stat(host, &body);
    if s.code == Code::Down && status != 200 {
        return ServerStatus::down(host, format!("{public}: HTTP {status}"));
    }
    s
}

/// Asks one server, by `srvr` or its admin server.
pub fn probe(target: &Target) -> ServerStatus {
    match &target.admin {
        Some(url) => probe_admin(target, url, CONNECT_TIMEOUT, READ_TIMEOUT),
        None => probe_srvr(target, CONNECT_TIMEOUT, READ_TIMEOUT),
    }
}

/// Asks every server in parallel; the rows are in the order of `targets`. A probe still running
/// after the timeouts plus a margin (a name lookup that hangs) is left behind and counted down.
pub fn probe_all(targets: &[Target]) -> Vec<ServerStatus> {
    let (tx, rx) = mpsc::channel();
    for (i, t) in targets.iter().enumerate() {
        let (tx_probe, t_probe) = (tx.clone(), t.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("status-{i}"))
            .spawn(move || {
                let _ = tx_probe.send((i, probe(&t_probe)));
            });
        if let Err(e) = spawned {
            let _ = tx.send((i, ServerStatus::down(&t.hostname, e.to_string())));
        }
    }
    drop(tx);
    let deadline = Instant::now() + CONNECT_TIMEOUT + READ_TIMEOUT + Duration::from_secs(1);
    let mut rows: Vec<Option<ServerStatus>> = vec![None; targets.len()];
    while rows.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, s)) => {
                if let Some(r) = rows.get_mut(i) {
                    *r = Some(s);
                }
            }
            Err(_) => break,
        }
    }
    rows.into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| {
                ServerStatus::down(&t_hostname(targets, i), "no answer in time (name lookup?)")
            })
        })
        .collect()
}

fn t_hostname(targets: &[Target], i: usize) -> String {
    targets
        .get(i)
        .map(|t| t.hostname.clone())
        .unwrap_or_default()
}

/// True when every server serves (and none is `read-only`) and exactly one leads (a leader, or
/// one standalone server).
pub fn healthy(rows: &[ServerStatus]) -> bool {
    !rows.is_empty()
        && rows
            .iter()
            .all(|r| r.code == Code::Serving && r.mode.as_deref() != Some("read-only"))
        && rows.iter().filter(|r| r.is_leader).count() == 1
}

/// A one-line summary: "3 of 3 serving, leader 127.0.0.1:2181".
pub fn summary(rows: &[ServerStatus]) -> String {
    let serving = rows.iter().filter(|r| r.code == Code::Serving).count();
    let leaders: Vec<&str> = rows
        .iter()
        .filter(|r| r.is_leader)
        .map(|r| r.hostname.as_str())
        .collect();
    let lead = match leaders.as_slice() {
        [] => "no leader".to_string(),
        [one] => format!("leader {one}"),
        many => format!("{} leaders ({})", many.len(), many.join(", ")),
    };
    format!("{serving} of {} serving, {lead}", rows.len())
}

/// The text table: SERVER, CODE, STATE, LEADER, MODE, ZXID.
pub fn table(rows: &[ServerStatus]) -> String {
    let w = rows
        .iter()
        .map(|r| r.hostname.chars().count())
        .max()
        .unwrap_or(0)
        .max("SERVER".len());
    let mut s = format!(
        "{:<w$}  {:>4}  {:<11}  {:<6}  {:<10}  {}\n",
        "SERVER", "CODE", "STATE", "LEADER", "MODE", "ZXID"
    );
    for r in rows {
        s.push_str(&format!(
            "{:<w$}  {:>4}  {:<11}  {:<6}  {:<10}  {}\n",
            r.hostname,
            r.code.number(),
            r.code.description(),
            if r.is_leader { "yes" } else { "no" },
            r.mode.as_deref().unwrap_or("-"),
            r.zxid.as_deref().unwrap_or("-"),
        ));
    }
    s
}

/// The `--json` array: Exhibitor's `/exhibitor/v1/cluster/status` shape, one object per server,
/// `{"code": 3, "description": "serving", "hostname": "127.0.0.1:2181", "isLeader": true}`,
/// each with three more keys: `mode` and `zxid` (strings, or null when the server did not say)
/// and `error` (why it is down or not serving; null when serving). Consumers of Exhibitor's
/// shape keep working: JSON parsers ignore keys they do not read.
pub fn json(rows: &[ServerStatus]) -> serde_json::Value {
    serde_json::Value::Array(rows.iter().map(ServerStatus::to_json).collect())
}

/// Runs `zkbackup status`: asks every server, prints the table (or with `json` the array) on
/// `out`, and returns the exit code.
///
/// * **0**: every server serves and exactly one leads ([`healthy`]; a single standalone server
///   counts as serving and leading). Listing only some members of an ensemble (no leader among
///   them) is therefore 1.
/// * **1**: otherwise. With `--wait SECONDS`, the servers are asked again every 0.5 s until they
///   are healthy (0) or the time is up (1); only the final table is printed. A round takes up
///   to 3 s when a server hangs, so the run may end up to that much after SECONDS.
///
/// Unless `quiet`, stderr gets the reason for each server that is not serving, the summary when
/// the result is 1, and with `--wait` a line whenever the summary changes. A closed `out`
/// (`… | head`) stops the printing and keeps the code.
///
/// # Errors
/// A usage error (exit 2): no servers, a bad `HOST:PORT`, the same server twice, a bad
/// `--admin` URL or count; or `out` failing for another reason than a closed pipe.
pub fn run(args: &StatusArgs, json: bool, quiet: bool, out: &mut dyn Write) -> Result<u8, String> {
    let targets = targets(args)?;
    let start = Instant::now();
    let deadline = args.wait.map(|w| start + w);
    let mut last_summary = String::new();
    let rows = loop {
        let rows = probe_all(&targets);
        let ok = healthy(&rows);
        let now = Instant::now();
        match deadline {
            Some(d) if !ok && now < d => {
                let s = summary(&rows);
                if !quiet && s != last_summary {
                    eprintln!(
                        "zkbackup: waiting ({:.1} s left): {s}",
                        d.saturating_duration_since(now).as_secs_f64()
                    );
                }
                last_summary = s;
                std::thread::sleep(POLL_INTERVAL.min(d.saturating_duration_since(now)));
            }
            _ => break rows,
        }
    };
    let ok = healthy(&rows);
    let code = u8::from(!ok);
    let text = if json {
        format!("{}\n", self::json(&rows))
    } else {
        table(&rows)
    };
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(code),
        Err(e) => return Err(format!("writing output: {e}")),
    }
    if !quiet {
        for r in rows.iter().filter(|r| r.code != Code::Serving) {
            if let Some(e) = &r.error {
                eprintln!("zkbackup: {}: {}: {e}", r.hostname, r.code.description());
            }
        }
        if !ok {
            let mut s = summary(&rows);
            if rows.iter().any(|r| r.mode.as_deref() == Some("read-only")) {
                s.push_str(" (a read-only server is not healthy)");
            }
            match args.wait {
                Some(w) => eprintln!(
                    "zkbackup: not every server serves with one leader after {:.1} s: {s}",
                    w.as_secs_f64()
                ),
                None => eprintln!("zkbackup: not every server serves with one leader: {s}"),
            }
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEADER: &str = "Zookeeper version: 3.8.0-x, built on 2024-12-29 17:54 UTC\nLatency min/avg/max: 0/0.0/0\nReceived: 2\nSent: 1\nConnections: 1\nOutstanding: 0\nZxid: 0x100000000\nMode: leader\nNode count: 5\nProposal sizes last/min/max: -1/-1/-1\n";

    #[test]
    fn srvr_answers() {
        let s = parse_srvr("h:1", LEADER);
        assert_eq!(s.code, Code::Serving);
        assert!(s.is_leader);
        assert_eq!(s.mode.as_deref(), Some("leader"));
        assert_eq!(s.zxid.as_deref(), Some("0x100000000"));
        let f = parse_srvr("h:1", &LEADER.replace("Mode: leader", "Mode: follower"));
        assert!(!f.is_leader);
        let st = parse_srvr("h:1", "Zxid: 0X1F\nMode: standalone\n");
        assert!(st.is_leader);
        assert_eq!(st.zxid.as_deref(), Some("0x1f"));
        let ns = parse_srvr(
            "h:1",
            "This ZooKeeper instance is not currently serving requests\n",
        );
        assert_eq!((ns.code, ns.is_leader), (Code::NotServing, false));
        assert_eq!(parse_srvr("h:1", "").code, Code::Down);
        let wl = parse_srvr(
            "h:1",
            "srvr is not executed because it is not in the whitelist.\n",
        );
        assert_eq!(wl.code, Code::Down);
        assert!(wl.error.unwrap_or_default().contains("whitelist"));
        assert_eq!(parse_srvr("h:1", "HTTP/1.1 400 Bad\r\n").code, Code::Down);
    }

    #[test]
    fn admin_answers() {
        let s = parse_admin_stat(
            "h:1",
            r#"{"server_stats":{"server_state":"follower","last_processed_zxid":4294967298},"command":"stats","error":null}"#,
        );
        assert_eq!(s.code, Code::Serving);
        assert_eq!(s.zxid.as_deref(), Some("0x100000002"));
        assert!(!s.is_leader);
        let n = parse_admin_stat(
            "h:1",
            r#"{"command":"stat","error":"This ZooKeeper instance is not currently serving requests"}"#,
        );
        assert_eq!(n.code, Code::NotServing);
        assert_eq!(parse_admin_stat("h:1", "<html>").code, Code::Down);
        assert_eq!(
            parse_admin_stat("h:1", r#"{"error":"Command not found"}"#).code,
            Code::Down
        );
    }

    #[test]
    fn host_ports() {
        assert_eq!(
            parse_host_port(" 127.0.0.1:2181 "),
            Ok(("127.0.0.1".into(), 2181))
        );
        assert_eq!(parse_host_port("[::1]:2181"), Ok(("::1".into(), 2181)));
        assert_eq!(
            parse_host_port("zk-1.example:2181"),
            Ok(("zk-1.example".into(), 2181))
        );
        for bad in [
            "",
            "127.0.0.1",
            "127.0.0.1:0",
            "127.0.0.1:65536",
            ":2181",
            "::1:2181",
            "[::1]2181",
            "http://h:8080",
            "h:x",
            "a b:1",
            "[zz]:1",
        ] {
            assert!(parse_host_port(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn seconds_and_urls() {
        assert_eq!(parse_seconds("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_seconds("0"), Ok(Duration::ZERO));
        for bad in ["-1", "x", "NaN", "inf", "1e9"] {
            assert!(parse_seconds(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            admin_stat_url("http://h:8080/").as_deref(),
            Ok("http://h:8080/commands/stat")
        );
        assert_eq!(
            admin_stat_url("https://h:8080/commands/stats").as_deref(),
            Ok("https://h:8080/commands/stats")
        );
        assert!(admin_stat_url("h:8080").is_err());
        assert!(admin_stat_url("http://").is_err());
        assert_eq!(crate::admin::public_url("http://u:p@h:1/x"), "http://h:1/x");
    }

    #[test]
    fn health_rule() {
        let l = parse_srvr("a:1", "Mode: leader\n");
        let f = parse_srvr("b:1", "Mode: follower\n");
        let d = ServerStatus::down("c:1", "x");
        assert!(healthy(&[l.clone(), f.clone()]));
        assert!(!healthy(std::slice::from_ref(&f)));
        assert!(!healthy(&[l.clone(), l.clone()]));
        assert!(!healthy(&[l.clone(), f.clone(), d]));
        assert!(!healthy(&[]));
        assert!(healthy(&[parse_srvr("s:1", "Mode: standalone\n")]));
        assert!(!healthy(&[l, parse_srvr("r:1", "Mode: read-only\n")]));
        assert_eq!(summary(&[f]), "1 of 1 serving, no leader");
    }
}
