//! Adler32 (`simd-adler32`, which zkformat uses, against `adler`) and CRC32 (`crc32fast`) on
//! 100-byte and 1 MiB buffers.
#![allow(missing_docs)] // criterion_group! generates undocumented functions
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn checksums(c: &mut Criterion) {
    let mut g = c.benchmark_group("checksum");
    for size in [100usize, 1 << 20] {
        let buf: Vec<u8> = (0..size).map(|i| (i * 31 + 7) as u8).collect();
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(
            BenchmarkId::new("adler32/simd-adler32", size),
            &buf,
            |b, d| {
                b.iter(|| {
                    let mut a = simd_adler32::Adler32::new();
                    a.write(black_box(d));
                    a.finish()
                })
            },
        );
        g.bench_with_input(BenchmarkId::new("adler32/adler", size), &buf, |b, d| {
            b.iter(|| adler::adler32_slice(black_box(d)))
        });
        g.bench_with_input(BenchmarkId::new("adler32/zkformat", size), &buf, |b, d| {
            b.iter(|| zkformat::checksum::adler32(black_box(d)))
        });
        g.bench_with_input(BenchmarkId::new("crc32/crc32fast", size), &buf, |b, d| {
            b.iter(|| crc32fast::hash(black_box(d)))
        });
    }
    g.finish();
}

criterion_group!(benches, checksums);
criterion_main!(benches);
