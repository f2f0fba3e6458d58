//! `cargo bench`: the stages on a generated export of 20,000 customers, up to rendering
//! every planned message. For whole runs with peak memory and the Python baseline, see
//! `bench/segment.py` and `bench/render.py`.

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

    // Plan and render with the sample campaign's matrix, templates and policy.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let campaign = dunwell::campaign::Campaign::load(
        &root.join("samples/campaign.yaml"),
        &dunwell::campaign::Overrides {
            data: Some(dir.path().to_path_buf()),
            as_of: None,
            rules: None,
        },
    )
    .unwrap();
    let signer =
        dunwell::payment::link::Signer::new(b"bench secret, long enough to sign: 0123456789")
            .unwrap();
    let mut kit = dunwell::render::Kit::load(&campaign, signer).unwrap();
    kit.load_letters(&campaign).unwrap();
    let plan_rules = &kit.rules;
    let seg = segment(&data, &rules, as_of);
    let plan = dunwell::plan::plan(&data, &seg, plan_rules, None, as_of);
    let renderer = kit.renderer(&campaign, &rules);
    // E-mail and SMS here; letters have their own group below.
    let messages: Vec<_> = plan
        .messages
        .iter()
        .filter(|m| {
            matches!(
                m.channel,
                dunwell::dataset::Channel::Email | dunwell::dataset::Channel::Sms
            ) && !m.attach_letter
        })
        .collect();
    let mut g = c.benchmark_group("render");
    g.throughput(Throughput::Elements(messages.len() as u64));
    g.sample_size(10);
    g.bench_function("plan", |b| {
        b.iter(|| black_box(dunwell::plan::plan(&data, &seg, plan_rules, None, as_of)))
    });
    // Every message of a list, on all threads, as `run` renders them.
    let render_all = |list: &[&dunwell::plan::Planned]| {
        use rayon::prelude::*;
        list.par_iter().for_each(|m| {
            let i = m.customer as usize;
            let a = seg.assignments[i].as_ref().unwrap();
            black_box(
                renderer
                    .render(m, &data.view(i), a, &seg.features[i])
                    .unwrap(),
            );
        })
    };
    g.bench_function("render every message", |b| b.iter(|| render_all(&messages)));
    g.finish();

    // Letters alone: Markdown, layout, fonts subset per letter, PDF written. 500 of
    // them: `cargo test --all-targets` runs this once unoptimised.
    let only_letters: Vec<_> = plan
        .messages
        .iter()
        .filter(|m| m.channel == dunwell::dataset::Channel::Letter)
        .take(500)
        .collect();
    let mut g = c.benchmark_group("letters");
    g.throughput(Throughput::Elements(only_letters.len() as u64));
    g.sample_size(10);
    g.bench_function("render every letter", |b| {
        b.iter(|| render_all(&only_letters))
    });
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
