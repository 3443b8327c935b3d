//! The native solver's hash rate: what an attacker's straightforward native solver gets on
//! this machine. `scripts/bench widget` runs it twice: as built (sha2 detects and uses the CPU's
//! SHA extensions) and with `--cfg sha2_backend="soft"` (portable code, no SHA extensions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gate::pow::kernel::Scanner;
use gate::pow::{self, Search, Step};
use std::hint::black_box;

/// Nonces per measured iteration.
const BATCH: u64 = 1 << 16;

fn solve(c: &mut Criterion) {
    let seed = pow::seed(b"benchmark token", b"");
    let mut g = c.benchmark_group("solve");
    g.throughput(Throughput::Elements(BATCH));
    // difficulty 40: the search never ends inside a batch, so every iteration is BATCH tries
    g.bench_function("native_sha2_compress", |b| {
        let mut search = Search::new(&seed, 0, 40, 0);
        b.iter(|| assert!(matches!(black_box(search.step(BATCH)), Step::Pending { .. })))
    });
    g.bench_function("native_portable_kernel_4_lanes", |b| {
        let mut scan = Scanner::new(&seed, 0, 40, 0);
        b.iter(|| {
            assert!(matches!(black_box(scan.step::<([u32; 4], [u32; 4])>(BATCH)), Step::Pending { .. }))
        })
    });
    g.finish();
}

criterion_group!(benches, solve);
criterion_main!(benches);
