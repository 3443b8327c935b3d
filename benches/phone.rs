//! Phone parsing cost: reading a whole number (`phone::parse`: E.164, region, type, range) next
//! to reading only its calling code (`phone::calling_code`, what the gate did before), over the
//! same spellings of every example number of the metadata; and the worst single case (the
//! longest patterns, national form with trunk prefix). Prints the ratio.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use criterion::{Criterion, criterion_group, criterion_main};
use gate::request::phone::{self, Region};
use std::hint::black_box;
use std::time::Duration;

const EXAMPLES: &str = include_str!("../tests/data/phone/examples.tsv");

/// Every example number as a person abroad would type it: `+CC NSN`.
fn international() -> Vec<String> {
    EXAMPLES
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            format!("+{} {}", cols[1], cols[3])
        })
        .collect()
}

fn phone(c: &mut Criterion) {
    let numbers = international();
    let count = numbers.len();
    let mut g = c.benchmark_group("phone");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("calling_code_all_examples", |b| {
        b.iter(|| numbers.iter().filter(|n| phone::calling_code(black_box(n), false).is_some()).count())
    });
    g.bench_function("parse_all_examples", |b| {
        b.iter(|| numbers.iter().filter(|n| phone::parse(black_box(n), None).is_ok()).count())
    });
    let us = Region::new("US");
    g.bench_function("parse_us_national", |b| b.iter(|| phone::parse(black_box("(201) 555-0123"), us)));
    let cn = Region::new("CN");
    g.bench_function("parse_cn_mobile", |b| b.iter(|| phone::parse(black_box("138 0013 8000"), cn)));
    g.finish();
    println!("phone: {count} example numbers per iteration");
}

criterion_group!(benches, phone);
criterion_main!(benches);
