//! `cargo bench`: the first stages on a generated export of 20,000 customers.
//! For the million-customer run with peak memory, see `bench/segment.py`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dunwell::campaign::DataSpec;
use dunwell::generate::{GenOptions, generate};
use dunwell::segment::{RuleSet, segment};
use std::hint::black_box;
use std::path::Path;

const CUSTOMERS: usize = 20_000;

fn pipeline(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    generate(&GenOptions {
        customers: CUSTOMERS,
        seed: 1,
        as_of,
        out: dir.path().to_path_buf(),
    })
    .unwrap();
    let spec = DataSpec::from_dir(dir.path()).unwrap();
    let rules = RuleSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("segments/default.yaml"))
        .unwrap();

    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(CUSTOMERS as u64));
    g.sample_size(10);
    g.bench_function("load+validate", |b| {
        b.iter(|| {
            black_box(dunwell::validate::validate(
                dunwell::load::load(&spec).unwrap(),
            ))
        })
    });
    let data = dunwell::validate::validate(dunwell::load::load(&spec).unwrap()).dataset;
    g.bench_function("features+segment", |b| {
        b.iter(|| black_box(segment(&data, &rules, as_of)))
    });
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
