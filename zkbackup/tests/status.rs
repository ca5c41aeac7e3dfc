//! `zkbackup status` against fake servers on 127.0.0.1: canned `srvr` answers, a server that
//! never answers, a refused port, an answer that stops half-way, an admin server's JSON, and
//! `--wait` on a server that starts serving after a while. The real ZooKeeper ensembles are in
//! tests/backup/test_status.py.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use zkbackup::status::{self, Code, StatusArgs};

const LEADER: &str = "Zookeeper version: 3.8.0-x, built on 2024-12-29 17:54 UTC\nLatency min/avg/max: 0/0.0/0\nReceived: 2\nSent: 1\nConnections: 1\nOutstanding: 0\nZxid: 0x100000003\nMode: leader\nNode count: 5\nProposal sizes last/min/max: -1/-1/-1\n";
const FOLLOWER: &str =
    "Zookeeper version: 3.8.0-x\nZxid: 0x100000001\nMode: follower\nNode count: 5\n";
const STANDALONE: &str = "Zookeeper version: 3.9.3-x\nZxid: 0x0\nMode: standalone\nNode count: 5\n";
const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

/// How a fake server treats a connection.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Read the 4-letter word, answer, close.
    Answer(&'static str),
    /// Read the word, never answer, keep the connection open.
    Hang,
    /// Read the word, send the text, keep the connection open.
    AnswerThenHang(&'static str),
    /// An HTTP server answering every request with this status and body.
    Http(u16, &'static str),
}

/// A fake server on 127.0.0.1; `switch` flips it from `first` to `then`.
struct Fake {
    port: u16,
    switch: Arc<AtomicBool>,
}

impl Fake {
    fn start(first: Behaviour, then: Behaviour) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let switch = Arc::new(AtomicBool::new(false));
        let sw = switch.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut c) = conn else { continue };
                let b = if sw.load(Ordering::SeqCst) {
                    then
                } else {
                    first
                };
                std::thread::spawn(move || serve(&mut c, b));
            }
        });
        Fake { port, switch }
    }

    fn one(b: Behaviour) -> Fake {
        Fake::start(b, b)
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

fn serve(c: &mut TcpStream, b: Behaviour) {
    let mut word = [0u8; 4];
    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
    match b {
        Behaviour::Http(code, body) => {
            // Read the request head (ends with an empty line).
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && c.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            assert!(
                head.starts_with(b"GET /commands/stat"),
                "{}",
                String::from_utf8_lossy(&head)
            );
            let _ = write!(
                c,
                "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        _ => {
            if c.read_exact(&mut word).is_err() || &word != b"srvr" {
                return;
            }
            match b {
                Behaviour::Answer(t) => {
                    let _ = c.write_all(t.as_bytes());
                }
                Behaviour::Hang => std::thread::sleep(Duration::from_secs(10)),
                Behaviour::AnswerThenHang(t) => {
                    let _ = c.write_all(t.as_bytes());
                    std::thread::sleep(Duration::from_secs(10));
                }
                Behaviour::Http(..) => {}
            }
        }
    }
}

/// A port nothing listens on.
fn refused() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    a.to_string()
}

#[derive(Parser)]
struct Cmd {
    #[command(flatten)]
    args: StatusArgs,
}

fn args(argv: &[&str]) -> StatusArgs {
    Cmd::try_parse_from(std::iter::once("status").chain(argv.iter().copied()))
        .unwrap()
        .args
}

fn run(argv: &[&str], json: bool) -> (u8, String) {
    let mut out = Vec::new();
    let code = status::run(&args(argv), json, true, &mut out).unwrap();
    (code, String::from_utf8(out).unwrap())
}

fn json_rows(text: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    v.as_array().unwrap().clone()
}

#[test]
fn an_ensemble_with_one_leader_is_healthy() {
    let (l, f1, f2) = (
        Fake::one(Behaviour::Answer(LEADER)),
        Fake::one(Behaviour::Answer(FOLLOWER)),
        Fake::one(Behaviour::Answer(FOLLOWER)),
    );
    let servers = format!("{},{},{}", l.addr(), f1.addr(), f2.addr());
    let (code, text) = run(&["--servers", &servers], false);
    assert_eq!(code, 0, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    for col in ["SERVER", "CODE", "STATE", "LEADER", "MODE", "ZXID"] {
        assert!(lines[0].contains(col), "{text}");
    }
    assert!(lines[1].starts_with(&l.addr()), "{text}");
    assert!(lines[1].contains("serving") && lines[1].contains("yes"));
    assert!(lines[1].contains("leader") && lines[1].contains("0x100000003"));
    assert!(lines[2].contains("follower") && lines[2].contains("0x100000001"));

    let (code, text) = run(&["--servers", &servers], true);
    assert_eq!(code, 0);
    let rows = json_rows(&text);
    assert_eq!(rows.len(), 3);
    for (r, addr) in rows.iter().zip([l.addr(), f1.addr(), f2.addr()]) {
        assert_eq!(r["code"], 3);
        assert_eq!(r["description"], "serving");
        assert_eq!(r["hostname"], addr.as_str());
        assert!(r["isLeader"].is_boolean());
        assert!(r["error"].is_null());
    }
    assert_eq!(rows[0]["isLeader"], true);
    assert_eq!(rows[0]["mode"], "leader");
    assert_eq!(rows[0]["zxid"], "0x100000003");
    assert_eq!(rows[1]["isLeader"], false);

    // Only the followers: no leader among them.
    let (code, _) = run(&["--servers", &f1.addr(), "--servers", &f2.addr()], false);
    assert_eq!(code, 1);
    // Two leaders (a stale one): not healthy either.
    let l2 = Fake::one(Behaviour::Answer(LEADER));
    let (code, _) = run(
        &["--servers", &format!("{},{}", l.addr(), l2.addr())],
        false,
    );
    assert_eq!(code, 1);
}

#[test]
fn standalone_serves_and_leads() {
    let s = Fake::one(Behaviour::Answer(STANDALONE));
    let (code, text) = run(&["--servers", &s.addr()], true);
    assert_eq!(code, 0);
    let rows = json_rows(&text);
    assert_eq!(rows[0]["code"], 3);
    assert_eq!(rows[0]["isLeader"], true);
    assert_eq!(rows[0]["mode"], "standalone");
    assert_eq!(rows[0]["zxid"], "0x0");
}

#[test]
fn down_and_not_serving() {
    let l = Fake::one(Behaviour::Answer(LEADER));
    let n = Fake::one(Behaviour::Answer(NOT_SERVING));
    let wl = Fake::one(Behaviour::Answer(
        "srvr is not executed because it is not in the whitelist.\n",
    ));
    let gone = refused();
    let servers = format!("{},{},{},{}", l.addr(), n.addr(), gone, wl.addr());
    let (code, text) = run(&["--servers", &servers], true);
    assert_eq!(code, 1);
    let rows = json_rows(&text);
    assert_eq!(
        (rows[1]["code"].as_u64(), rows[1]["description"].as_str()),
        (Some(2), Some("not serving"))
    );
    assert_eq!(rows[1]["isLeader"], false);
    assert_eq!(
        (rows[2]["code"].as_u64(), rows[2]["description"].as_str()),
        (Some(1), Some("down"))
    );
    assert!(
        rows[2]["error"].as_str().unwrap().contains("refused"),
        "{}",
        rows[2]
    );
    assert_eq!(rows[3]["code"], 1);
    assert!(rows[3]["error"].as_str().unwrap().contains("whitelist"));
}

#[test]
fn a_hung_server_is_down_after_the_read_timeout() {
    let h = Fake::one(Behaviour::Hang);
    let l = Fake::one(Behaviour::Answer(LEADER));
    let t = Instant::now();
    let (code, text) = run(&["--servers", &format!("{},{}", h.addr(), l.addr())], true);
    let took = t.elapsed();
    assert_eq!(code, 1);
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(4),
        "{took:?}"
    );
    let rows = json_rows(&text);
    assert_eq!(rows[0]["code"], 1);
    assert!(
        rows[0]["error"].as_str().unwrap().contains("within"),
        "{}",
        rows[0]
    );
    assert_eq!(rows[1]["code"], 3);
}

#[test]
fn an_answer_that_stops_half_way_counts_for_what_it_says() {
    // A complete Mode: line arrived, the server did not close: serving (after the timeout).
    let s = Fake::one(Behaviour::AnswerThenHang(STANDALONE));
    let (code, text) = run(&["--servers", &s.addr()], true);
    assert_eq!(code, 0);
    assert_eq!(json_rows(&text)[0]["mode"], "standalone");
}

#[test]
fn wait_returns_once_serving() {
    let s = Fake::start(
        Behaviour::Answer(NOT_SERVING),
        Behaviour::Answer(STANDALONE),
    );
    let switch = s.switch.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1200));
        switch.store(true, Ordering::SeqCst);
    });
    let t = Instant::now();
    let (code, text) = run(&["--servers", &s.addr(), "--wait", "20"], false);
    let took = t.elapsed();
    assert_eq!(code, 0, "{text}");
    assert!(
        took >= Duration::from_millis(1100) && took < Duration::from_secs(5),
        "{took:?}"
    );
    // Only the final table.
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("standalone"));
}

#[test]
fn wait_times_out_with_the_last_table() {
    let l = Fake::one(Behaviour::Answer(LEADER));
    let gone = refused();
    let t = Instant::now();
    let (code, text) = run(
        &[
            "--servers",
            &format!("{},{gone}", l.addr()),
            "--wait",
            "1.5",
        ],
        false,
    );
    let took = t.elapsed();
    assert_eq!(code, 1);
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.lines().nth(2).unwrap().contains("down"));
    // --wait 0: one round.
    let (code, _) = run(&["--servers", &gone, "--wait", "0"], false);
    assert_eq!(code, 1);
}

#[test]
fn admin_server_stat() {
    let serving = Fake::one(Behaviour::Http(
        200,
        r#"{"version":"3.9.3","server_stats":{"server_state":"leader","last_processed_zxid":4294967299},"command":"stats","error":null}"#,
    ));
    let waiting = Fake::one(Behaviour::Http(
        200,
        r#"{"command":"stat","error":"This ZooKeeper instance is not currently serving requests"}"#,
    ));
    let missing = Fake::one(Behaviour::Http(404, "<html>not found</html>"));
    let f = Fake::one(Behaviour::Answer(FOLLOWER));
    let gone = refused();
    let admin = format!(
        "http://{},http://{}/,-,http://{}/commands/stat,http://{gone}",
        serving.addr(),
        waiting.addr(),
        missing.addr()
    );
    // The client ports named in --servers are only labels when --admin is given for them.
    let servers = format!("zk1:2181,zk2:2181,{},zk4:2181,zk5:2181", f.addr());
    let (code, text) = run(&["--servers", &servers, "--admin", &admin], true);
    assert_eq!(code, 1);
    let rows = json_rows(&text);
    assert_eq!(rows[0]["hostname"], "zk1:2181");
    assert_eq!(rows[0]["code"], 3);
    assert_eq!(rows[0]["isLeader"], true);
    assert_eq!(rows[0]["zxid"], "0x100000003");
    assert_eq!(rows[1]["code"], 2);
    assert_eq!(rows[2]["mode"], "follower");
    assert_eq!(rows[3]["code"], 1);
    assert!(
        rows[3]["error"].as_str().unwrap().contains("HTTP 404"),
        "{}",
        rows[3]
    );
    assert_eq!(rows[4]["code"], 1);

    let (code, _) = run(
        &[
            "--servers",
            "zk1:2181",
            "--admin",
            &format!("http://{}", serving.addr()),
        ],
        false,
    );
    assert_eq!(code, 0);
}

#[test]
fn usage_errors() {
    let mut out = Vec::new();
    for bad in [
        vec!["--servers", ""],
        vec!["--servers", "127.0.0.1"],
        vec!["--servers", "127.0.0.1:99999"],
        vec!["--servers", "127.0.0.1:2181,127.0.0.1:2181"],
        vec!["--servers", "http://127.0.0.1:8080"],
        vec!["--servers", "a:1,b:1", "--admin", "http://a:8080"],
        vec!["--servers", "a:1", "--admin", "a:8080"],
    ] {
        let e = status::run(&args(&bad), false, true, &mut out).unwrap_err();
        assert!(!e.is_empty(), "{bad:?}");
    }
    let empty = StatusArgs {
        servers: vec![],
        wait: None,
        admin: vec![],
    };
    assert!(status::run(&empty, false, true, &mut out).is_err());
    assert!(out.is_empty(), "nothing printed on a usage error");
    assert!(
        Cmd::try_parse_from(["status"]).is_err(),
        "--servers is required"
    );
    assert!(Cmd::try_parse_from(["status", "--servers", "a:1", "--wait", "x"]).is_err());
}

#[test]
fn a_closed_output_keeps_the_code() {
    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let s = Fake::one(Behaviour::Answer(STANDALONE));
    let code = status::run(&args(&["--servers", &s.addr()]), false, true, &mut Closed);
    assert_eq!(code, Ok(0));
    assert_eq!(Code::NotServing.number(), 2);
    assert_eq!(Code::Latent.description(), "latent");
}
