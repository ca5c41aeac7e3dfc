//! Allocation bound: reading any malformed file (and synthetic files whose lengths and counts
//! claim gigabytes) allocates at most a small multiple of the input's size plus a fixed
//! allowance for the streaming readers' buffers. A counting global allocator (this test binary
//! only) records the peak of live heap bytes while each file is read.
//!
//! Measured on this project's files (see the table printed with `--nocapture`): the slice readers
//! allocate nothing that depends on the input; the streaming readers hold one 256 KiB read
//! buffer (`READ_CHUNK`) plus the decompressor's state (gzip ≈ 40 KiB, snappy-java one 32 KiB
//! block and its compressed form). The largest measured was 338,784 bytes (gzip); the bound checked is `2 × input + 512 KiB`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use zkformat::snapshot::{Snapshot, SnapshotReader};
use zkformat::txnlog::{LogReader, TxnLog};
use zkformat::Limits;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size > layout.size() {
                let now = LIVE.fetch_add(new_size - layout.size(), Ordering::SeqCst) + new_size
                    - layout.size();
                PEAK.fetch_max(now, Ordering::SeqCst);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::SeqCst);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak extra heap bytes while `f` runs.
fn peak_of(f: impl FnOnce()) -> usize {
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    f();
    PEAK.load(Ordering::SeqCst).saturating_sub(base)
}

/// The fixed allowance for read buffers and decompressor state.
const ALLOWANCE: usize = 512 << 10;

fn read_everything(d: &[u8], limits: Limits) {
    // Slice readers.
    if let Ok(log) = TxnLog::parse(d, limits) {
        for e in log.entries_lenient() {
            match e {
                Ok(e) => drop(e.record()),
                Err(_) => break,
            }
        }
    }
    let _ = Snapshot::new(d, limits).check();
    // Streaming readers, fed in small reads.
    if let Ok(mut rd) = LogReader::lenient(Small(d), limits) {
        while let Ok(Some(e)) = rd.next_entry() {
            let _ = e.record();
        }
    }
    if let Ok(rd) = SnapshotReader::open(Small(d), limits) {
        let _ = rd.check();
    }
}

/// Returns at most 1000 bytes per read.
struct Small<'a>(&'a [u8]);

impl Read for Small<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.0.len()).min(1000);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// Synthetic inputs whose fields claim far more than the file holds.
fn synthetic() -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    // A log whose first entry claims the largest legal length (2,097,150) in a 60-byte file.
    let mut log = b"ZKLG\0\0\0\x02\0\0\0\0\0\0\0\0".to_vec();
    log.extend_from_slice(&[0; 8]);
    log.extend_from_slice(&2_097_150i32.to_be_bytes());
    log.extend_from_slice(&[7; 32]);
    v.push(("log: legal max length, 60 bytes".into(), log));
    // A snapshot whose first node claims 2,097,150 bytes of path and of data.
    let mut snap = b"ZKSN\0\0\0\x02\xff\xff\xff\xff\xff\xff\xff\xff".to_vec();
    snap.extend_from_slice(&0i32.to_be_bytes()); // sessions
    snap.extend_from_slice(&0i32.to_be_bytes()); // ACL cache
    snap.extend_from_slice(&2_097_150i32.to_be_bytes()); // path length
    snap.extend_from_slice(&[b'/'; 20]);
    v.push(("snapshot: legal max path length".into(), snap.clone()));
    // Session and ACL cache counts of 2^31-1.
    let mut s2 = snap[..16].to_vec();
    s2.extend_from_slice(&i32::MAX.to_be_bytes());
    s2.extend_from_slice(&[0; 40]);
    v.push(("snapshot: session count 2^31-1".into(), s2));
    let mut s3 = snap[..20].to_vec();
    s3.extend_from_slice(&i32::MAX.to_be_bytes());
    s3.extend_from_slice(&[0; 40]);
    v.push(("snapshot: ACL cache count 2^31-1".into(), s3));
    // A snappy-java chunk claiming 64 MiB of compressed bytes, in a 24-byte file.
    let mut sn = vec![
        0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
    ];
    sn.extend_from_slice(&(64i32 << 20).to_be_bytes());
    sn.extend_from_slice(&[0; 4]);
    v.push(("snappy: 64 MiB chunk length".into(), sn));
    v
}

#[test]
fn malformed_inputs_allocate_little() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/malformed");
    let mut inputs = synthetic();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("testdata/malformed")
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    for p in names {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".md") || name.ends_with(".py") {
            continue;
        }
        inputs.push((name, std::fs::read(&p).expect("read")));
    }
    // Read the bomb with a cap too (the default cap lets it inflate to 48 MiB, streamed).
    let capped = Limits {
        max_decompressed: 16 << 20,
        ..Limits::default()
    };
    let mut worst = 0usize;
    for (name, d) in &inputs {
        for limits in [Limits::default(), capped] {
            let peak = peak_of(|| read_everything(d, limits));
            let bound = 2 * d.len() + ALLOWANCE;
            println!(
                "{name:40} {:>8} bytes in, peak {:>8} bytes allocated",
                d.len(),
                peak
            );
            assert!(
                peak <= bound,
                "{name}: {peak} bytes allocated for {} input bytes (bound {bound})",
                d.len()
            );
            worst = worst.max(peak.saturating_sub(2 * d.len()));
        }
    }
    println!("largest allocation beyond 2 × input: {worst} bytes");
}
