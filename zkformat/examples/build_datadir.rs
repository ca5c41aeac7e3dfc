//! Builds a ZooKeeper data dir entirely with zkformat's writers: a snapshot of a tree built in
//! code and a txn log (with TxnDigests) of changes on top of it, plus `expected-tree.json`: the
//! tree a server should serve after loading it (as kazoo shows it).
//!
//! `cargo run -p zkformat --example build_datadir -- OUT_DIR [--no-digest]`
//!
//! Used by tests/server/test_writer.py, which starts real ZooKeeper 3.8 and 3.9 servers on it.

use std::fs;
use std::io::BufWriter;
use std::path::PathBuf;

use zkformat::data::{Acl, AclList, NodeKind, Stat};
use zkformat::digest::DIGEST_VERSION;
use zkformat::jute;
use zkformat::snapshot::{Node, Session, SnapshotWriter, Tail};
use zkformat::tree::DataTree;
use zkformat::txn::{op, MultiTxn, TxnDigest, TxnHeader, TxnRecord};
use zkformat::txnlog::{TxnLog, TxnLogWriter};
use zkformat::zxid::{log_file_name, snapshot_file_name, NameCompression};
use zkformat::{Limits, Zxid};

const EPOCH: u32 = 1;
const T0: i64 = 1_790_000_000_000;

fn stat(z: u32, cversion: i32, pzxid: u32) -> Stat {
    let zx = Zxid::from_parts(EPOCH, z).0;
    Stat {
        czxid: zx,
        mzxid: zx,
        ctime: T0 + i64::from(z),
        mtime: T0 + i64::from(z),
        version: 0,
        cversion,
        aversion: 0,
        ephemeral_owner: 0,
        pzxid: Zxid::from_parts(EPOCH, pzxid).0,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .ok_or("usage: build_datadir OUT_DIR [--no-digest]")?,
    );
    let digests = args.next().as_deref() != Some("--no-digest");
    let v2 = out.join("version-2");
    fs::create_dir_all(&v2)?;

    // --- the snapshot: a tree built in code, at zxid 1:5.
    let snap_zxid = Zxid::from_parts(EPOCH, 5);
    let digest_acl = Acl {
        perms: 31,
        scheme: b"digest",
        id: b"ops:bK2vrtycP3OyZ7p+aGPDYWwk0ZA=",
    };
    let read_only = Acl {
        perms: 1,
        scheme: b"world",
        id: b"anyone",
    };
    let ip = Acl {
        perms: 3,
        scheme: b"ip",
        id: b"127.0.0.1",
    };
    let zero = Stat::default();
    let mut nodes: Vec<Node<'_>> = vec![
        Node {
            path: b"",
            data: Some(b""),
            acl_key: -1,
            stat: Stat {
                cversion: 1,
                pzxid: Zxid::from_parts(EPOCH, 1).0,
                ..zero
            },
        },
        Node {
            path: b"/built",
            data: Some(b"hello from zkformat"),
            acl_key: 1,
            stat: Stat {
                cversion: 7,
                ..stat(1, 7, 5)
            },
        },
        Node {
            path: b"/built/binary",
            data: Some(&[0, 1, 2, 0xff, 0xfe]),
            acl_key: 2,
            stat: stat(2, 0, 2),
        },
        Node {
            path: b"/built/null",
            data: None,
            acl_key: 3,
            stat: stat(3, 0, 3),
        },
        Node {
            path: b"/built/seq-0000000006",
            data: Some(b""),
            acl_key: 1,
            stat: stat(4, 0, 4),
        },
        Node {
            path: b"/built/container",
            data: Some(b"c"),
            acl_key: -1,
            stat: Stat {
                ephemeral_owner: zkformat::data::CONTAINER_OWNER,
                ..stat(5, 0, 5)
            },
        },
        Node {
            path: b"/zookeeper",
            data: Some(b""),
            acl_key: -1,
            stat: zero,
        },
        // As in every 3.5+ tree: read-only for the world, aversion -1.
        Node {
            path: b"/zookeeper/config",
            data: Some(b""),
            acl_key: 4,
            stat: Stat {
                aversion: -1,
                ..zero
            },
        },
        Node {
            path: b"/zookeeper/quota",
            data: Some(b""),
            acl_key: -1,
            stat: zero,
        },
    ];
    nodes[1].stat.version = 3;
    nodes[1].stat.mzxid = Zxid::from_parts(EPOCH, 4).0;
    let snap_path = v2.join(snapshot_file_name(snap_zxid, NameCompression::None));
    let mut w = SnapshotWriter::new(BufWriter::new(fs::File::create(&snap_path)?))?;
    w.write_sessions(&[] as &[Session])?;
    w.write_acl_cache(&[
        (1, &[Acl::OPEN_UNSAFE][..]),
        (2, &[digest_acl][..]),
        (3, &[read_only, ip][..]),
        (4, &[read_only][..]),
    ])?;
    for n in &nodes {
        w.write_node(n)?;
    }
    let tail = if digests { Tail::DIGEST } else { Tail::NONE };
    w.finish(tail, snap_zxid)?;

    // --- the log: txns on top of it, each with the digest of the tree after it.
    let bytes = fs::read(&snap_path)?;
    let reader = zkformat::snapshot::SnapshotReader::open(&bytes[..], Limits::default())?;
    let (mut tree, _) = DataTree::from_snapshot(reader, snap_zxid)?;
    let mut counter = 6u32;
    let session = 0x0100_0000_0000_0042i64;
    let mut log = TxnLogWriter::new(BufWriter::new(fs::File::create(
        v2.join(log_file_name(Zxid::from_parts(EPOCH, 6))),
    )?))?;
    let mut emit = |op_code: i32,
                    body: Vec<u8>,
                    log: &mut TxnLogWriter<_>,
                    tree: &mut DataTree|
     -> Result<(), Box<dyn std::error::Error>> {
        let zxid = Zxid::from_parts(EPOCH, counter);
        counter += 1;
        let mut payload = Vec::new();
        TxnHeader {
            session,
            cxid: counter as i32,
            zxid,
            time: T0 + 1000 + i64::from(counter),
            op: op_code,
        }
        .encode(&mut payload);
        payload.extend_from_slice(&body);
        let rec = TxnRecord::decode(&payload, 0, Limits::default())?;
        tree.apply(&rec);
        if digests {
            TxnDigest {
                version: DIGEST_VERSION,
                tree_digest: tree.digest().value(),
            }
            .encode(&mut payload);
        }
        log.append_payload(&payload)?;
        Ok(())
    };
    let create = |path: &[u8], data: &[u8], acls: &[Acl<'_>], ephemeral: bool, pcv: i32| {
        let mut b = Vec::new();
        jute::put_string(&mut b, path);
        jute::put_buffer(&mut b, Some(data));
        AclList::encode_acls(acls, &mut b);
        b.push(u8::from(ephemeral));
        jute::put_i32(&mut b, pcv);
        b
    };
    let mut t = Vec::new();
    jute::put_i32(&mut t, 30000);
    emit(op::CREATE_SESSION, t, &mut log, &mut tree)?;
    emit(
        op::CREATE,
        create(b"/built/fromlog", b"logged", &[Acl::OPEN_UNSAFE], false, 8),
        &mut log,
        &mut tree,
    )?;
    emit(
        op::CREATE2,
        create(b"/built/seq-0000000008", b"", &[Acl::OPEN_UNSAFE], false, 9),
        &mut log,
        &mut tree,
    )?;
    let mut sd = Vec::new();
    jute::put_string(&mut sd, b"/built");
    jute::put_buffer(&mut sd, Some(b"changed by the log"));
    jute::put_i32(&mut sd, 4);
    emit(op::SET_DATA, sd, &mut log, &mut tree)?;
    let mut sa = Vec::new();
    jute::put_string(&mut sa, b"/built/binary");
    AclList::encode_acls(&[read_only], &mut sa);
    jute::put_i32(&mut sa, 1);
    emit(op::SET_ACL, sa, &mut log, &mut tree)?;
    let c1 = create(b"/multi", b"m", &[Acl::OPEN_UNSAFE], false, 2);
    let c2 = create(b"/multi/a", b"a", &[ip], false, 1);
    let mut chk = Vec::new();
    jute::put_string(&mut chk, b"/built");
    jute::put_i32(&mut chk, 4);
    let mut m = Vec::new();
    MultiTxn::encode_ops(
        [
            (op::CHECK, &chk[..]),
            (op::CREATE, &c1[..]),
            (op::CREATE, &c2[..]),
        ]
        .into_iter(),
        &mut m,
    );
    emit(op::MULTI, m, &mut log, &mut tree)?;
    let mut del = Vec::new();
    jute::put_string(&mut del, b"/built/seq-0000000006");
    emit(op::DELETE, del, &mut log, &mut tree)?;
    let mut ttl = Vec::new();
    jute::put_string(&mut ttl, b"/built/ttl");
    jute::put_buffer(&mut ttl, Some(b"t"));
    AclList::encode_acls(&[Acl::OPEN_UNSAFE], &mut ttl);
    jute::put_i32(&mut ttl, 10);
    jute::put_i64(&mut ttl, 3_600_000);
    emit(op::CREATE_TTL, ttl, &mut log, &mut tree)?;
    emit(
        op::CREATE,
        create(b"/built/eph", b"e", &[Acl::OPEN_UNSAFE], true, 11),
        &mut log,
        &mut tree,
    )?;
    let mut err = Vec::new();
    jute::put_i32(&mut err, -110);
    emit(op::ERROR, err, &mut log, &mut tree)?;
    log.finish()?;
    // Our own reader agrees with what we wrote.
    let written = fs::read(v2.join(log_file_name(Zxid::from_parts(EPOCH, 6))))?;
    let count = TxnLog::parse(&written, Limits::default())?
        .entries()
        .filter(|e| e.is_ok())
        .count();
    assert_eq!(count, 10);

    // --- what a server should serve once loaded. The session is still open and its ephemeral
    // node is there (the server keeps it until the session times out).
    let counts = tree.child_counts();
    let mut served = Vec::new();
    for p in tree.sorted_paths() {
        let n = tree.get(p).ok_or("missing node")?;
        let children = i64::from(counts.get(p).copied().unwrap_or(0));
        let acl: Vec<_> = match tree.acls.get(n.acl_key) {
            Some(l) => l
                .iter()
                .map(|a| serde_json::json!({"perms": a.perms, "scheme": String::from_utf8_lossy(&a.scheme), "id": String::from_utf8_lossy(&a.id)}))
                .collect(),
            None => vec![serde_json::json!({"perms": 31, "scheme": "world", "id": "anyone"})],
        };
        let s = n.stat;
        let owner = match s.kind() {
            NodeKind::Container | NodeKind::Ttl(_) => 0,
            _ => s.ephemeral_owner,
        };
        use base64::Engine;
        served.push(serde_json::json!({
            "path": if p.is_empty() { "/".to_string() } else { String::from_utf8_lossy(p).into_owned() },
            "data_b64": n.data.as_ref().map(|d| base64::engine::general_purpose::STANDARD.encode(d)),
            "acl": acl,
            "stat": {
                "czxid": s.czxid, "mzxid": s.mzxid, "ctime": s.ctime, "mtime": s.mtime,
                "version": s.version, "cversion": 2 * i64::from(s.cversion) - children, "aversion": s.aversion,
                "ephemeralOwner": owner, "dataLength": n.data.as_ref().map_or(0, Vec::len),
                "numChildren": children, "pzxid": s.pzxid,
            },
        }));
    }
    fs::write(
        out.join("expected-tree.json"),
        serde_json::to_string_pretty(
            &serde_json::json!({ "nodes": served, "lastZxid": format!("{}", tree.last_zxid) }),
        )?,
    )?;
    println!("{}", v2.display());
    Ok(())
}
