//! Output safety of `zkfilter`: a run killed with SIGKILL at random points leaves nothing at the
//! destination and the input untouched; a full disk gives a clear error, a non-zero exit code and
//! no output.
//!
//! The disk-full test mounts a 1 MiB tmpfs when it can (root with CAP_SYS_ADMIN, as on CI), and
//! otherwise limits the output file's size with `ulimit -f` (SIGXFSZ ignored, so writes fail with
//! EFBIG), which exercises the same error path.

#![allow(missing_docs)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zkformat::data::{Acl, AclList};
use zkformat::txn::{op, CreateTxn, Txn, TxnHeader, TxnRecord};
use zkformat::txnlog::TxnLogWriter;
use zkformat::Zxid;

const EXIT_ERROR: i32 = 2;

fn zkfilter() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zkfilter"))
}

/// A log of `n` txns written by our writer: sessions, ephemeral and persistent creates with
/// `data_len` bytes of data each, so the filter drops and keeps entries all along.
fn write_log(path: &Path, n: i64, data_len: usize) {
    let mut acl_bytes = Vec::new();
    AclList::encode_acls(&[Acl::OPEN_UNSAFE], &mut acl_bytes);
    let acl = AclList::decode(&mut zkformat::jute::Reader::new(
        &acl_bytes,
        0,
        zkformat::Limits::default(),
    ))
    .expect("acl");
    let data: Vec<u8> = (0..data_len).map(|i| (i * 31 % 251) as u8).collect();
    let file = std::fs::File::create(path).expect("create log");
    let mut w = TxnLogWriter::new(std::io::BufWriter::new(file)).expect("header");
    let mut paths = Vec::new();
    for i in 0..n {
        let session = 0x100 + i / 50;
        let header = |op| TxnHeader {
            session,
            cxid: i as i32,
            zxid: Zxid(i + 1),
            time: 1_700_000_000_000 + i,
            op,
        };
        let rec = if i % 50 == 0 {
            TxnRecord {
                header: header(op::CREATE_SESSION),
                body: Txn::CreateSession { timeout: 30_000 },
                digest: None,
            }
        } else {
            paths.push(format!("/n{i}"));
            let path = paths.last().expect("pushed").as_bytes();
            TxnRecord {
                header: header(op::CREATE),
                body: Txn::Create(CreateTxn {
                    path,
                    data: Some(&data),
                    acl,
                    ephemeral: (i % 3 == 0).into(),
                    parent_cversion: Some(i as i32),
                }),
                digest: None,
            }
        };
        w.append_record(&rec).expect("append");
    }
    w.finish().expect("finish").flush().expect("flush");
}

fn checksum(path: &Path) -> (u64, u32) {
    let b = std::fs::read(path).expect("read input");
    (b.len() as u64, zkformat::checksum::crc32(&b))
}

fn leftovers(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .collect()
}

/// xorshift64 for kill points (deterministic).
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn killed_mid_run_leaves_no_output_and_the_input_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("log.1");
    write_log(&input, 12_000, 2_000); // about 24 MB
    let before = checksum(&input);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).expect("out dir");
    let out = out_dir.join("log.1");

    // How long a full run takes (this also checks a complete run gives an output).
    let t = Instant::now();
    let st = zkfilter()
        .arg("log")
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .arg("-q")
        .status()
        .expect("run zkfilter");
    let full = t.elapsed();
    assert!(st.success(), "a full run succeeds: {st:?}");
    let complete = checksum(&out);
    std::fs::remove_file(&out).expect("rm");
    assert_eq!(
        checksum(&input),
        before,
        "a full run leaves the input as it was"
    );

    let mut state = 0x5eed_1234_u64;
    let mut killed = 0;
    let bytes = std::fs::read(&input).expect("read input");
    for round in 0..8 {
        // Half the rounds read the file and are killed at a random time; the other half read
        // standard input fed only up to a random byte, so the kill always lands mid-run
        // whatever the machine's speed.
        let from_stdin = round % 2 == 1;
        let at = Duration::from_micros(next(&mut state) % (full.as_micros() as u64).max(1));
        let mut cmd = zkfilter();
        cmd.arg("log")
            .arg(if from_stdin {
                std::ffi::OsStr::new("-")
            } else {
                input.as_os_str()
            })
            .arg("-o")
            .arg(&out)
            .arg("-q")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if from_stdin {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().expect("spawn");
        if from_stdin {
            let cut = (next(&mut state) % bytes.len() as u64) as usize;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(&bytes[..cut]).ok();
            std::thread::sleep(Duration::from_millis(50));
            child.kill().ok(); // SIGKILL, standard input still open
            drop(stdin);
        } else {
            std::thread::sleep(at);
        }
        child.kill().ok(); // SIGKILL
        let status = child.wait().expect("wait");
        // An output under its final name is always the complete one: a run may finish, or be
        // killed after its rename while it tears down, before the signal lands.
        if out.exists() {
            assert!(
                !from_stdin,
                "round {round}: standard input was cut, yet {} exists",
                out.display()
            );
            assert_eq!(
                checksum(&out),
                complete,
                "round {round}: killed after {at:?}, {} exists but is not the complete output",
                out.display()
            );
            std::fs::remove_file(&out).expect("rm");
        }
        if !status.success() {
            killed += 1;
        }
        assert_eq!(checksum(&input), before, "round {round}: the input changed");
        // A leftover temporary file (SIGKILL gives no chance to remove it) is hidden and never
        // named like a file ZooKeeper would read.
        for p in leftovers(&out_dir) {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            assert!(
                name.starts_with('.')
                    && !name.starts_with("log.")
                    && !name.starts_with("snapshot."),
                "{name}"
            );
            std::fs::remove_file(&p).ok();
        }
    }
    assert!(
        killed >= 4,
        "only {killed} of 8 runs were killed mid-run (full run took {full:?})"
    );
}

struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn mount_small_tmpfs(dir: &Path) -> Option<Tmpfs> {
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(dir)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Tmpfs(dir.to_path_buf()))
}

#[test]
fn disk_full_gives_a_clear_error_and_no_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("log.1");
    write_log(&input, 3_000, 1_000); // about 3 MB, of which about 2 MB are kept
    let full_dir = dir.path().join("full");
    std::fs::create_dir(&full_dir).expect("dir");
    let out = full_dir.join("log.1");
    let mounted = mount_small_tmpfs(&full_dir);
    let o = if mounted.is_some() {
        zkfilter()
            .arg("log")
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .output()
            .expect("run")
    } else {
        // 1 MiB file size limit (ulimit -f counts 512-byte blocks in sh).
        Command::new("sh")
            .arg("-c")
            .arg(r#"trap '' XFSZ; ulimit -f 2048; exec "$0" log "$1" -o "$2""#)
            .arg(env!("CARGO_BIN_EXE_zkfilter"))
            .arg(&input)
            .arg(&out)
            .output()
            .expect("run")
    };
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(EXIT_ERROR),
        "exit status; stderr: {stderr}"
    );
    let clear = if mounted.is_some() {
        "No space left on device"
    } else {
        "File too large"
    };
    assert!(
        stderr.contains(clear),
        "the error says what happened: {stderr}"
    );
    assert!(
        stderr.contains("log.1"),
        "the error names the file: {stderr}"
    );
    assert!(!out.exists(), "no output at the destination");
    assert!(
        leftovers(&full_dir).is_empty(),
        "no temporary file left: {:?}",
        leftovers(&full_dir)
    );
    drop(mounted);
}

/// The same for `zkfilter datadir`: the new data dir is built aside and renamed into place, so a
/// run killed at any point leaves no data dir at the destination.
#[test]
fn killed_datadir_run_leaves_no_data_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v2 = dir.path().join("in/version-2");
    std::fs::create_dir_all(&v2).expect("mkdir");
    let empty = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/upstream/buffersize/create/version-2/snapshot.0");
    std::fs::copy(&empty, v2.join("snapshot.0")).expect("snapshot.0");
    write_log(&v2.join("log.1"), 12_000, 2_000);
    let before = checksum(&v2.join("log.1"));
    let out = dir.path().join("restored");
    let run = || {
        zkfilter()
            .arg("datadir")
            .arg(dir.path().join("in"))
            .arg("-o")
            .arg(&out)
            .arg("-q")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn")
    };
    let t = Instant::now();
    assert!(run().wait().expect("wait").success());
    let full = t.elapsed();
    assert!(out.join("version-2").is_dir());
    std::fs::remove_dir_all(&out).expect("rm");
    let mut state = 0x0dd_ba11_u64;
    let mut killed = 0;
    for round in 0..8 {
        let at = Duration::from_micros(next(&mut state) % (full.as_micros() as u64).max(1));
        let mut child = run();
        std::thread::sleep(at);
        let finished = child.try_wait().expect("try_wait").is_some();
        child.kill().ok();
        let status = child.wait().expect("wait");
        let _ = (finished, status);
        if out.exists() {
            // Killed after the rename (or not at all): the data dir must then be complete.
            let snaps: Vec<_> = std::fs::read_dir(out.join("version-2"))
                .expect("version-2")
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("snapshot."))
                })
                .collect();
            assert_eq!(snaps.len(), 1, "round {round}");
            let bytes = std::fs::read(&snaps[0]).expect("read");
            zkformat::snapshot::Snapshot::new(&bytes, zkformat::Limits::default())
                .check()
                .unwrap_or_else(|e| panic!("round {round}: incomplete output after a kill: {e}"));
            std::fs::remove_dir_all(&out).expect("rm");
        } else {
            killed += 1;
        }
        assert_eq!(
            checksum(&v2.join("log.1")),
            before,
            "round {round}: the input changed"
        );
        for p in leftovers(dir.path()) {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            assert!(name == "in" || name.starts_with('.'), "{name}");
            if name.starts_with('.') {
                std::fs::remove_dir_all(&p).ok();
            }
        }
    }
    assert!(
        killed >= 3,
        "only {killed} of 8 runs were killed mid-run (full run {full:?})"
    );
}
