//! The restore filter: a txn log (streaming, as `zkfilter log` runs it) and a snapshot.
#![allow(missing_docs)] // criterion_group! generates undocumented functions
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use zkformat::filter::{filter_log, filter_snapshot, LogFilterOptions, Policy};
use zkformat::snapshot::SnapshotReader;
use zkformat::Limits;
use zkformat_benches::bench_inputs;

fn filters(c: &mut Criterion) {
    let gen = bench_inputs().expect("bench inputs");
    let log = std::fs::read(&gen.log).expect("log");
    let snap = std::fs::read(&gen.snapshot).expect("snapshot");
    let mut g = c.benchmark_group("filter");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(log.len() as u64));
    g.bench_function("log/generated", |b| {
        let mut out = Vec::with_capacity(log.len());
        b.iter(|| {
            out.clear();
            let (_, report, _) = filter_log(
                black_box(&log[..]),
                &mut out,
                &Policy::default(),
                LogFilterOptions::default(),
                &Default::default(),
                Limits::default(),
                false,
            )
            .expect("filter");
            report.records_out
        })
    });
    g.throughput(Throughput::Bytes(snap.len() as u64));
    g.bench_function("snapshot/generated", |b| {
        let mut out = Vec::with_capacity(snap.len());
        b.iter(|| {
            out.clear();
            let r = SnapshotReader::open(black_box(&snap[..]), Limits::default()).expect("open");
            let (_, report, _) =
                filter_snapshot(r, &mut out, &Policy::default(), None).expect("filter");
            report.records_out
        })
    });
    g.finish();
}

criterion_group!(benches, filters);
criterion_main!(benches);
