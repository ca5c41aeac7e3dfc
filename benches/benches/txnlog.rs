//! Txn logs: parse + verify (framing and Adler32 of every entry), decode every txn, write a log.
//! Inputs: every real log in testdata/ (concatenated per run) and the generated log
//! (`benches/generated/bench`, or `$ZKBENCH_INPUTS`; made on first use).
#![allow(missing_docs)] // criterion_group! generates undocumented functions
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use zkformat::txn::TxnRecord;
use zkformat::txnlog::{LogReader, TxnLog, TxnLogWriter};
use zkformat::Limits;
use zkformat_benches::{bench_inputs, real_logs, workspace_root};

fn verify(data: &[u8]) -> u64 {
    let log = TxnLog::parse(data, Limits::default()).expect("log");
    let mut n = 0;
    for e in log.entries() {
        e.expect("entry");
        n += 1;
    }
    n
}

fn decode_all(data: &[u8]) -> u64 {
    let log = TxnLog::parse(data, Limits::default()).expect("log");
    let mut n = 0;
    for e in log.entries() {
        let r = e.expect("entry").record().expect("record");
        n += r.header.zxid.0 as u64 & 1;
    }
    n
}

fn logs(c: &mut Criterion) {
    let real: Vec<Vec<u8>> = real_logs(&workspace_root().join("testdata"))
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .collect();
    let real_bytes: u64 = real.iter().map(|d| d.len() as u64).sum();
    let gen = bench_inputs().expect("bench inputs");
    let big = std::fs::read(&gen.log).expect("generated log");

    let mut g = c.benchmark_group("txnlog");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(real_bytes));
    g.bench_function("verify/real-testdata", |b| {
        b.iter(|| real.iter().map(|d| verify(d)).sum::<u64>())
    });
    g.bench_function("decode/real-testdata", |b| {
        b.iter(|| real.iter().map(|d| decode_all(d)).sum::<u64>())
    });
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("verify/generated", |b| b.iter(|| verify(black_box(&big))));
    g.bench_function("verify-stream/generated", |b| {
        b.iter(|| {
            let mut r = LogReader::new(black_box(&big[..]), Limits::default()).expect("log");
            let mut n = 0u64;
            while r.next_entry().expect("entry").is_some() {
                n += 1;
            }
            n
        })
    });
    g.bench_function("decode/generated", |b| {
        b.iter(|| decode_all(black_box(&big)))
    });
    // Writing: re-encode every decoded record (framing + Adler32) into a buffer.
    let log = TxnLog::parse(&big, Limits::default()).expect("log");
    let records: Vec<TxnRecord<'_>> = log
        .entries()
        .map(|e| e.expect("entry").record().expect("record"))
        .collect();
    g.bench_function("write/generated", |b| {
        let mut out = Vec::with_capacity(big.len() + 1024);
        b.iter(|| {
            out.clear();
            let mut w = TxnLogWriter::new(&mut out).expect("writer");
            for r in &records {
                w.append_record(r).expect("append");
            }
            w.bytes_written()
        })
    });
    g.finish();
}

criterion_group!(benches, logs);
criterion_main!(benches);
