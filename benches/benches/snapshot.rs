//! Snapshots: parse (plain, gzip, snappy, the compressed ones also with decompression ahead on
//! a helper thread; every seal checked and the tree digest computed as the
//! parser goes), decompression alone, the tree digest alone, and writing a snapshot.
#![allow(missing_docs)] // criterion_group! generates undocumented functions
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use zkformat::compression;
use zkformat::digest::TreeDigest;
use zkformat::snapshot::{Node, Snapshot, SnapshotItem, SnapshotReader, SnapshotWriter, Tail};
use zkformat::{Limits, Zxid};
use zkformat_benches::{bench_inputs, real_snapshots, workspace_root};

fn snapshots(c: &mut Criterion) {
    let real: Vec<Vec<u8>> = real_snapshots(&workspace_root().join("testdata"))
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .collect();
    let real_plain: Vec<Vec<u8>> = real
        .iter()
        .filter(|d| d.starts_with(b"ZKSN"))
        .cloned()
        .collect();
    let real_bytes: u64 = real_plain.iter().map(|d| d.len() as u64).sum();
    let gen = bench_inputs().expect("bench inputs");
    let plain = std::fs::read(&gen.snapshot).expect("snapshot");
    let gz = std::fs::read(&gen.snapshot_gz).expect("gz");
    let snappy = std::fs::read(&gen.snapshot_snappy).expect("snappy");

    let mut g = c.benchmark_group("snapshot");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(real_bytes));
    g.bench_function("parse+digest/real-testdata", |b| {
        b.iter(|| {
            real_plain
                .iter()
                .map(|d| {
                    Snapshot::new(d, Limits::default())
                        .check()
                        .expect("ok")
                        .nodes
                })
                .sum::<u64>()
        })
    });
    // Throughput is counted in uncompressed bytes for every variant.
    g.throughput(Throughput::Bytes(plain.len() as u64));
    g.bench_function("parse+digest/generated-plain-slice", |b| {
        b.iter(|| {
            Snapshot::new(black_box(&plain), Limits::default())
                .check()
                .expect("ok")
        })
    });
    for (name, data) in [("plain", &plain), ("gzip", &gz), ("snappy", &snappy)] {
        g.bench_function(format!("parse+digest/generated-{name}-stream"), |b| {
            b.iter(|| {
                SnapshotReader::open(black_box(&data[..]), Limits::default())
                    .and_then(SnapshotReader::check)
                    .expect("ok")
            })
        });
    }
    // The same with the decompressor one step ahead on a helper thread (two cores).
    for (name, data) in [("gzip", &gz), ("snappy", &snappy)] {
        g.bench_function(format!("parse+digest/generated-{name}-stream-ahead"), |b| {
            b.iter(|| {
                std::thread::scope(|s| {
                    SnapshotReader::open_ahead(s, black_box(&data[..]), Limits::default())
                        .and_then(SnapshotReader::check)
                        .expect("ok")
                })
            })
        });
    }
    // Decompression alone (into a sink), to show what bounds the compressed parses above.
    for (name, data) in [("gzip", &gz), ("snappy", &snappy)] {
        g.bench_function(format!("decompress-only/generated-{name}"), |b| {
            b.iter(|| {
                let (_, mut r) =
                    compression::open(black_box(&data[..]), Limits::default()).expect("open");
                std::io::copy(&mut r, &mut std::io::sink()).expect("decompress")
            })
        });
    }
    let nodes: Vec<Node<'_>> = Snapshot::new(&plain, Limits::default())
        .items()
        .filter_map(|i| match i.expect("item").value {
            SnapshotItem::Node(n) => Some(n),
            _ => None,
        })
        .collect();
    g.bench_function("digest/generated", |b| {
        b.iter(|| {
            let mut d = TreeDigest::default();
            for n in &nodes {
                d.add(n.path, n.data, &n.stat);
            }
            d
        })
    });
    g.bench_function("write/generated", |b| {
        let mut out = Vec::with_capacity(plain.len() + 1024);
        b.iter(|| {
            out.clear();
            let mut w = SnapshotWriter::new(&mut out).expect("writer");
            w.write_sessions(&[]).expect("sessions");
            w.write_acl_cache(&[]).expect("acls");
            for n in &nodes {
                w.write_node(n).expect("node");
            }
            w.finish(Tail::DIGEST, Zxid(1)).expect("finish");
        })
    });
    g.finish();
}

criterion_group!(benches, snapshots);
criterion_main!(benches);
