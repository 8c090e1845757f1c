//! The benchmark entry point: one criterion group per workspace crate.
//!
//! `cargo bench -p benches --bench perf -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};

use benches::groups::{
    Case, bot_policy, bot_policy_layer, ip_ranges, mcp_auth, redis_limits, web_bot_auth,
};

fn run_group(c: &mut Criterion, group: &str, cases: &[Case]) {
    let mut g = c.benchmark_group(group);
    for case in cases {
        assert!(case.run(), "{group}/{} failed before timing", case.name);
        g.bench_function(case.name, |b| b.iter(|| case.run()));
    }
    g.finish();
}

fn bench_web_bot_auth(c: &mut Criterion) {
    let cases = web_bot_auth::cases().expect("web_bot_auth fixtures");
    run_group(c, web_bot_auth::GROUP, &cases);
}

fn bench_bot_policy(c: &mut Criterion) {
    let cases = bot_policy::cases().expect("bot_policy fixtures");
    run_group(c, bot_policy::GROUP, &cases);
}

fn bench_bot_policy_layer(c: &mut Criterion) {
    let cases = bot_policy_layer::cases().expect("bot_policy_layer fixtures");
    run_group(c, bot_policy_layer::GROUP, &cases);
}

fn bench_ip_ranges(c: &mut Criterion) {
    let cases = ip_ranges::cases().expect("ip_ranges fixtures");
    run_group(c, ip_ranges::GROUP, &cases);
}

fn bench_mcp_auth(c: &mut Criterion) {
    let cases = mcp_auth::cases().expect("mcp_auth fixtures");
    run_group(c, mcp_auth::GROUP, &cases);
}

fn bench_redis_limits(c: &mut Criterion) {
    let cases = redis_limits::cases().expect("redis_limits fixtures");
    run_group(c, redis_limits::GROUP, &cases);
}

criterion_group!(
    perf,
    bench_web_bot_auth,
    bench_bot_policy,
    bench_bot_policy_layer,
    bench_ip_ranges,
    bench_mcp_auth,
    bench_redis_limits,
);
criterion_main!(perf);
