//! The S3 store against a real S3-protocol server: `moto` (PyPI, `moto[server]`, installed by
//! scripts/install-deps.sh) in server mode on 127.0.0.1 (a free port), one server per test,
//! stopped by its PID when the test ends. Without moto the tests print "skipped", unless CI is set: then they
//! fail.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zkbackup::store::s3::S3Store;
use zkbackup::store::{conformance, Store, StoreError};

/// A moto server; killed (by PID) and reaped when dropped.
struct Moto {
    child: Child,
    port: u16,
    log: tempfile::NamedTempFile,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// One plain HTTP/1.1 request; returns the status and the body.
    fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).unwrap();
        let resp = String::from_utf8_lossy(&resp).into_owned();
        let status = resp
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {resp:?}"));
        let body = resp
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_string();
        (status, body)
    }
}

/// `python3 -m moto.server`, but serving one request at a time: moto checks `If-None-Match: *`
/// and then stores, without a lock, so on its usual threaded server two concurrent conditional
/// PUTs of one key now and then both succeed (seen: 1 round in 150 of 8 racing writers), which
/// would make the conformance suite's race check flaky. Real S3 makes the check atomic.
const MOTO_SERVER: &str = "import sys, moto.server as m
run = m.run_simple
m.run_simple = lambda *a, **k: run(*a, **{**k, 'threaded': False})
m.main(sys.argv[1:])";

/// Starts moto with `env` added; `None` (after printing "skipped") when moto is not installed
/// and CI is unset.
fn start_moto(env: &[(&str, &str)]) -> Option<Moto> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let have = Command::new(&python)
        .args(["-c", "import moto.server, flask, flask_cors"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var_os("CI").is_none(),
            "moto[server] is not installed for {python}: run scripts/install-deps.sh"
        );
        eprintln!("skipped: moto[server] is not installed for {python} (scripts/install-deps.sh)");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let out = File::create(log.path()).unwrap();
    let mut cmd = Command::new(&python);
    cmd.args([
        "-c",
        MOTO_SERVER,
        "-H",
        "127.0.0.1",
        "-p",
        &port.to_string(),
    ])
    .stdin(Stdio::null())
    .stdout(out.try_clone().unwrap())
    .stderr(out);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("start moto");
    let mut moto = Moto { child, port, log };
    // Ready when it accepts connections (a plain connect: it is not an S3 action, which
    // matters when moto counts unauthenticated actions).
    let t0 = Instant::now();
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(moto);
        }
        if let Ok(Some(st)) = moto.child.try_wait() {
            panic!("moto exited ({st}) before answering:\n{}", moto.log_text());
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "moto did not answer on port {port} within 60 s:\n{}",
            moto.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn vars(moto: &Moto, key_id: &str, secret: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", moto.endpoint().as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", key_id),
        ("AWS_SECRET_ACCESS_KEY", secret),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The conformance suite through `S3Store::from_url` (settings from the environment), in a
/// prefix of a fresh bucket; then what moto holds (keys under the prefix, a large object in
/// parts), a source failing after several parts (the upload aborted, nothing left), listing
/// from the bucket's root, and a bucket that does not exist.
#[test]
fn s3_store_conformance_against_moto() {
    let Some(moto) = start_moto(&[]) else { return };
    let (st, body) = moto.http("PUT", "/zkb-conformance", &[], b"");
    assert_eq!(st, 200, "create bucket: {body}");
    // The only test here that reads the process environment.
    for k in [
        "AWS_ENDPOINT",
        "AWS_ENDPOINT_URL_S3",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
    ] {
        std::env::remove_var(k);
    }
    for (k, v) in vars(&moto, "testing", "testing") {
        std::env::set_var(k, v);
    }
    let store = S3Store::from_url("s3://zkb-conformance/zk/backups/").expect("from_url");
    assert_eq!(store.describe(), "s3://zkb-conformance/zk/backups");
    conformance::run(&store);

    // Keys live under the prefix.
    let (st, listing) = moto.http("GET", "/zkb-conformance?list-type=2", &[], b"");
    assert_eq!(st, 200, "{listing}");
    assert!(listing.contains("<Key>zk/backups/a/big</Key>"), "{listing}");
    assert!(listing.contains("<Key>zk/backups/race</Key>"), "{listing}");
    assert!(!listing.contains("a/failed"), "{listing}");
    // The failed streamed upload was aborted, not left pending.
    let (st, uploads) = moto.http("GET", "/zkb-conformance?uploads", &[], b"");
    assert_eq!(st, 200, "{uploads}");
    assert!(
        !uploads.contains("<Upload>"),
        "a multipart upload is left over: {uploads}"
    );

    // The 12 MiB object went up in two parts, one upload.
    let log = moto.log_text();
    assert!(
        log.contains("PUT /zkb-conformance/zk/backups/a/big?partNumber=2&uploadId="),
        "{log}"
    );

    // A source that fails after several parts: the multipart upload is aborted, no object.
    // (It takes a second to fail, so the parts before are uploaded by then, usually.)
    struct FailsAfter(usize);
    impl Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                std::thread::sleep(Duration::from_secs(1));
                return Err(std::io::Error::other("the source broke"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(3);
            self.0 -= n;
            Ok(n)
        }
    }
    let e = store
        .put_stream("late-failure", &mut FailsAfter(20 << 20))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("s3://zkb-conformance/zk/backups/late-failure: "),
        "{e}"
    );
    assert!(e.contains("the source broke"), "{e}");
    assert!(matches!(
        store.get("late-failure"),
        Err(StoreError::NotFound(_))
    ));
    let log = moto.log_text();
    assert!(
        log.contains("POST /zkb-conformance/zk/backups/late-failure?uploads="),
        "{log}"
    );
    assert!(
        log.contains("DELETE /zkb-conformance/zk/backups/late-failure?uploadId="),
        "{log}"
    );
    let (_, uploads) = moto.http("GET", "/zkb-conformance?uploads", &[], b"");
    assert!(
        !uploads.contains("<Upload>"),
        "a multipart upload is left over: {uploads}"
    );
    // (moto does list a pending upload: the check above means something.)
    let (st, started) = moto.http("POST", "/zkb-conformance/pending?uploads", &[], b"");
    assert_eq!(st, 200, "{started}");
    let (_, uploads) = moto.http("GET", "/zkb-conformance?uploads", &[], b"");
    assert!(uploads.contains("<Key>pending</Key>"), "{uploads}");

    // The bucket's root sees the same objects, with the prefix in their keys.
    let root = S3Store::from_url("s3://zkb-conformance").expect("from_url");
    let keys: Vec<String> = root
        .list("zk/")
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(
        keys,
        ["zk/backups/a/b/two", "zk/backups/a/big", "zk/backups/race"]
    );
    // A prefix that ends inside a name.
    let keys: Vec<String> = root
        .list("zk/backups/a/b")
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(keys, ["zk/backups/a/b/two", "zk/backups/a/big"]);

    // A bucket that does not exist: a clear error, not "not found".
    let missing = S3Store::from_url("s3://zkb-no-such-bucket/x").expect("from_url");
    let e = missing.list("").unwrap_err().to_string();
    assert!(e.starts_with("s3://zkb-no-such-bucket/x"), "{e}");
    assert!(
        e.contains("does not exist") && e.contains("AWS_ENDPOINT_URL"),
        "{e}"
    );
    let e = missing
        .get("k")
        .err()
        .expect("get from a missing bucket fails");
    assert!(matches!(e, StoreError::Other(_)), "{e}");
    assert!(missing
        .put("k", b"v")
        .unwrap_err()
        .to_string()
        .contains("does not exist"));
}

/// With signature checking on (moto counts unauthenticated actions: the first four set up an
/// IAM user, its key, its policy and the bucket), a wrong secret key or session token fails
/// every operation with a message that names the place and the fix, and never the secret.
#[test]
fn s3_store_errors_never_show_the_secret() {
    let Some(moto) = start_moto(&[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]) else {
        return;
    };
    let iam = |params: &str| {
        let (st, body) = moto.http(
            "POST",
            "/",
            &[
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00",
                ),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            format!("Version=2010-05-08&{params}").as_bytes(),
        );
        assert_eq!(st, 200, "{params}: {body}");
        body
    };
    let between = |text: &str, tag: &str| -> String {
        let start = text.find(&format!("<{tag}>")).expect(tag) + tag.len() + 2;
        let end = text[start..].find(&format!("</{tag}>")).expect(tag) + start;
        text[start..end].to_string()
    };
    iam("Action=CreateUser&UserName=zkb");
    let key = iam("Action=CreateAccessKey&UserName=zkb");
    let (key_id, secret) = (
        between(&key, "AccessKeyId"),
        between(&key, "SecretAccessKey"),
    );
    iam(concat!(
        "Action=PutUserPolicy&UserName=zkb&PolicyName=all&PolicyDocument=",
        "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow",
        "%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D"
    ));
    let (st, body) = moto.http("PUT", "/zkb-auth", &[], b"");
    assert_eq!(st, 200, "create bucket: {body}");

    // The right key works (so moto does check signatures below).
    let good =
        S3Store::from_url_and_vars("s3://zkb-auth/p", vars(&moto, &key_id, &secret)).unwrap();
    good.put("ok", b"yes").expect("put with the right secret");
    assert_eq!(good.get_bytes("ok").unwrap(), b"yes");

    let wrong_secret = "zkbackup-WRONG-secret-8c1f0e2d9b7a";
    let token = "zkbackup-SESSION-token-41d7c9aa";
    let mut with_token = vars(&moto, &key_id, &secret);
    with_token.push(("AWS_SESSION_TOKEN".into(), token.into()));
    let big = vec![5u8; 9 << 20];
    for (what, v, code) in [
        (
            "wrong secret",
            vars(&moto, &key_id, wrong_secret),
            "SignatureDoesNotMatch",
        ),
        ("bogus session token", with_token, "InvalidToken"),
    ] {
        let bad = S3Store::from_url_and_vars("s3://zkb-auth/p", v).unwrap();
        let errors: Vec<(&str, StoreError)> = vec![
            ("put", bad.put("k", b"v").unwrap_err()),
            ("put_new", bad.put_new("k", b"v").unwrap_err()),
            (
                "put_stream",
                bad.put_stream("big", &mut &big[..]).unwrap_err(),
            ),
            ("get", bad.get("ok").err().expect("get fails")),
            ("list", bad.list("").unwrap_err()),
            ("delete", bad.delete("ok").unwrap_err()),
        ];
        for (op, e) in errors {
            let text = format!("{e} {e:?}");
            eprintln!("{what}, {op}: {e}");
            assert!(
                !text.contains(wrong_secret),
                "{what}, {op}: secret in {text}"
            );
            assert!(
                !text.contains(token),
                "{what}, {op}: session token in {text}"
            );
            assert!(
                !text.contains(&secret),
                "{what}, {op}: the real secret in {text}"
            );
            assert!(matches!(e, StoreError::Other(_)), "{what}, {op}: {text}");
            assert!(
                text.contains("s3://zkb-auth/p"),
                "{what}, {op}: no place in {text}"
            );
            assert!(text.contains(code), "{what}, {op}: no {code} in {text}");
            assert!(
                text.contains("AWS_SECRET_ACCESS_KEY"),
                "{what}, {op}: no hint in {text}"
            );
        }
    }
    // Nothing was written with the wrong key. (Listed from the bucket's root: moto 5.2.1
    // rejects the signature of any list request whose prefix has a '/', boto3's too.)
    let root = S3Store::from_url_and_vars("s3://zkb-auth", vars(&moto, &key_id, &secret)).unwrap();
    let keys: Vec<String> = root.list("").unwrap().into_iter().map(|m| m.key).collect();
    assert_eq!(keys, ["p/ok"]);
}

/// Nothing listening at the endpoint (no moto needed): the message names the place and the
/// setting to check, and not the secret; a plain http:// endpoint without AWS_ALLOW_HTTP says
/// to set it.
#[test]
fn s3_store_unreachable_endpoint_is_a_clear_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let secret = "zkbackup-secret-3e9b1c77";
    let vars = |allow_http: bool| {
        let mut v: Vec<(String, String)> = vec![
            (
                "AWS_ENDPOINT_URL".into(),
                format!("http://127.0.0.1:{port}"),
            ),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), secret.into()),
            ("AWS_SESSION_TOKEN".into(), format!("token-{secret}")),
        ];
        if allow_http {
            v.push(("AWS_ALLOW_HTTP".into(), "true".into()));
        }
        v
    };
    let store = S3Store::from_url_and_vars("s3://zkb-closed/p", vars(true)).unwrap();
    let e = store.put("k", b"x").unwrap_err().to_string();
    assert!(e.starts_with("s3://zkb-closed/p/k: "), "{e}");
    assert!(e.contains("check AWS_ENDPOINT_URL"), "{e}");
    assert!(!e.contains(secret), "{e}");
    let store = S3Store::from_url_and_vars("s3://zkb-closed/p", vars(false)).unwrap();
    let e = store.list("").unwrap_err().to_string();
    assert!(e.starts_with("s3://zkb-closed/p: "), "{e}");
    assert!(e.contains("AWS_ALLOW_HTTP=true"), "{e}");
    assert!(!e.contains(secret), "{e}");
}
