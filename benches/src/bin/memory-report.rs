//! `memory-report`: floods the rate limiters and the key directory cache with a million distinct
//! keys and reports the memory held per tracked key, at the peak and after eviction, as a
//! Markdown table.
//!
//! ```text
//! cargo run -p benches --release --bin memory-report
//! cargo run -p benches --release --bin memory-report -- --keys 100000
//! ```
//!
//! Method: this binary's global allocator is `cap::Cap<System>`, which counts the bytes
//! currently allocated (what the program asked for, not what the allocator rounds it up to);
//! a structure's memory is the difference between that count after and before the flood. The
//! resident set (`VmRSS` of `/proc/self/status`) is shown beside it: it includes the allocator's
//! rounding and the pages it keeps after a free, so it is indicative. Each structure is measured
//! in a fresh child process (this binary run with `--only NAME`), so that one's freed pages do
//! not hide another's.
//!
//! The structures, each with its own clock moved by hand (1 µs per key: a flood of a million
//! keys a second):
//!
//! - `mcp-auth`: [`MemoryRateLimiter`](mcp_auth::ratelimit::MemoryRateLimiter) with the default table (anonymous `catalogue.read`, 60 a
//!   minute per IP) and the default cap (1,000,000 tracked keys); a million IPv4 addresses.
//!   Eviction: the clock moves two seconds, then [`MemoryRateLimiter::evict_idle`](mcp_auth::ratelimit::MemoryRateLimiter::evict_idle).
//! - `governor`: `governor` 0.10's keyed limiter with its default `DashMap` store, keyed by
//!   `u64` (what ours hashes a key to), the same quota; the reference. Eviction: the clock moves,
//!   then `retain_recent` and `shrink_to_fit`.
//! - `bot-policy`: a policy with one `rate_limit` rule (60 a minute per `ip.src`), flooded
//!   through `Policy::evaluate`. It tracks at most 100,000 keys; at the cap, each new key makes
//!   it sweep the whole table (`retain_recent`, `shrink_to_fit`) and, when nothing is idle,
//!   refuse. The flood goes to the cap plus `--bot-policy-extra` keys (a full million at the cap
//!   would take too long: the time per key at the cap is reported). Eviction: the clock moves,
//!   and one more request triggers the sweep.
//! - `directory-cache`: web-bot-auth's `DirectoryCache`, with a client that answers every fetch
//!   `404` at once: each distinct agent leaves a negative entry (what a flood of made-up
//!   `Signature-Agent`s costs). Twice: with room for a million agents (to measure an entry), and
//!   with the default cap (10,000 agents, evicted in batches), where "after" is the end of the
//!   flood.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cap::Cap;

#[global_allocator]
static ALLOCATOR: Cap<std::alloc::System> = Cap::new(std::alloc::System, usize::MAX);

/// What one structure measured.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Measurement {
    structure: String,
    keys_offered: u64,
    tracked_at_peak: u64,
    /// Allocated bytes held at the end of the flood, over the empty structure.
    live_bytes: u64,
    /// The highest allocated bytes seen during the flood, over the empty structure.
    peak_live_bytes: u64,
    rss_bytes: u64,
    tracked_after: u64,
    live_bytes_after: u64,
    rss_bytes_after: u64,
    flood_secs: f64,
    note: String,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy)]
struct Snapshot {
    live: usize,
    rss: u64,
}

/// `VmRSS` of this process, in bytes (0 if unreadable).
fn rss_bytes() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

fn snapshot() -> Snapshot {
    Snapshot {
        live: ALLOCATOR.allocated(),
        rss: rss_bytes(),
    }
}

impl Snapshot {
    fn live_over(&self, base: &Snapshot) -> u64 {
        self.live.saturating_sub(base.live) as u64
    }

    fn rss_over(&self, base: &Snapshot) -> u64 {
        self.rss.saturating_sub(base.rss)
    }
}

/// The highest allocation count seen, sampled every 4,096 keys.
#[derive(Debug)]
struct Peak(usize);

impl Peak {
    fn sample(&mut self, i: u64) {
        if i.is_multiple_of(4096) {
            self.0 = self.0.max(ALLOCATOR.allocated());
        }
    }
}

/// The `i`-th flooding address: distinct IPv4 addresses from 10.0.0.0 on.
fn flood_ip(i: u64) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000_u32.wrapping_add(i as u32)))
}

fn per_minute(n: u32) -> Result<NonZeroU32, String> {
    NonZeroU32::new(n).ok_or_else(|| "zero quota".to_owned())
}

fn mcp_auth(keys: u64) -> Result<Measurement, String> {
    use mcp_auth::clock::ManualClock;
    use mcp_auth::ratelimit::{
        MemoryLimiterConfig, MemoryRateLimiter, RateLimitClass, RateLimitKey, RateLimitSubject,
        RateLimits, class_names,
    };
    let clock = ManualClock::from_unix(1_700_000_000);
    let class = RateLimitClass::new(class_names::CATALOGUE_READ).map_err(|e| e.to_string())?;
    let base = snapshot();
    let limiter = MemoryRateLimiter::new(
        &RateLimits::default(),
        MemoryLimiterConfig::default(),
        Arc::new(clock.clone()),
    );
    let mut peak = Peak(0);
    let started = Instant::now();
    for i in 0..keys {
        let key = RateLimitKey::from_parts(class.clone(), RateLimitSubject::ip(flood_ip(i)));
        if !limiter.check(&key).is_allowed() {
            return Err(format!(
                "key {i} was refused: a new key has its whole burst"
            ));
        }
        clock.advance(Duration::from_micros(1));
        peak.sample(i);
    }
    let flood_secs = started.elapsed().as_secs_f64();
    let end = snapshot();
    let tracked = limiter.tracked_keys() as u64;
    clock.advance(Duration::from_secs(2));
    limiter.evict_idle();
    let after = snapshot();
    Ok(Measurement {
        structure: "mcp-auth MemoryRateLimiter (cap 1,000,000)".to_owned(),
        keys_offered: keys,
        tracked_at_peak: tracked,
        live_bytes: end.live_over(&base),
        peak_live_bytes: peak.0.max(end.live).saturating_sub(base.live) as u64,
        rss_bytes: end.rss_over(&base),
        tracked_after: limiter.tracked_keys() as u64,
        live_bytes_after: after.live_over(&base),
        rss_bytes_after: after.rss_over(&base),
        flood_secs,
        note: "after: `evict_idle` two seconds later".to_owned(),
    })
}

fn governor(keys: u64) -> Result<Measurement, String> {
    use governor::clock::FakeRelativeClock;
    use governor::state::keyed::DashMapStateStore;
    let clock = FakeRelativeClock::default();
    let base = snapshot();
    let limiter: governor::RateLimiter<
        u64,
        DashMapStateStore<u64>,
        FakeRelativeClock,
        governor::middleware::NoOpMiddleware<governor::nanos::Nanos>,
    > = governor::RateLimiter::new(
        governor::Quota::per_minute(per_minute(60)?),
        DashMapStateStore::<u64>::default(),
        clock.clone(),
    );
    let mut peak = Peak(0);
    let started = Instant::now();
    for i in 0..keys {
        // A spread of 64-bit keys, as ours hashes them.
        let key = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        if limiter.check_key(&key).is_err() {
            return Err(format!("key {i} was refused"));
        }
        clock.advance(Duration::from_micros(1));
        peak.sample(i);
    }
    let flood_secs = started.elapsed().as_secs_f64();
    let end = snapshot();
    let tracked = limiter.len() as u64;
    clock.advance(Duration::from_secs(2));
    limiter.retain_recent();
    limiter.shrink_to_fit();
    let after = snapshot();
    Ok(Measurement {
        structure: "governor 0.10 keyed, DashMap store (no cap)".to_owned(),
        keys_offered: keys,
        tracked_at_peak: tracked,
        live_bytes: end.live_over(&base),
        peak_live_bytes: peak.0.max(end.live).saturating_sub(base.live) as u64,
        rss_bytes: end.rss_over(&base),
        tracked_after: limiter.len() as u64,
        live_bytes_after: after.live_over(&base),
        rss_bytes_after: after.rss_over(&base),
        flood_secs,
        note: "after: `retain_recent` + `shrink_to_fit` two seconds later".to_owned(),
    })
}

/// The most keys a bot-policy `rate_limit` rule tracks (`DEFAULT_MAX_KEYS` in bot-policy).
const BOT_POLICY_MAX_KEYS: u64 = 100_000;

fn bot_policy(keys: u64, extra: u64) -> Result<Measurement, String> {
    use bot_policy::policy::LoadOptions;
    use bot_policy::{ManualClock, Policy, RequestFacts, Verdict};
    let clock = ManualClock::new();
    let toml = r#"
        [[rules]]
        id = "per-ip"
        expression = 'http.request.method eq "GET"'
        action = "rate_limit"
        requests = 60
        period = "1m"
        key = ["ip.src"]
    "#;
    let options = LoadOptions::new().clock(clock.clone());
    let base = snapshot();
    let policy =
        Policy::from_toml_str_with(toml, &options).map_err(|e| e.render("memory-report"))?;
    let to_cap = keys.min(BOT_POLICY_MAX_KEYS);
    let mut peak = Peak(0);
    let mut allowed = 0_u64;
    let started = Instant::now();
    for i in 0..to_cap {
        let facts = RequestFacts::new("GET", "/").with_client_ip(flood_ip(i));
        if !matches!(
            policy.evaluate(&facts).verdict(),
            Verdict::RateLimited { .. }
        ) {
            allowed += 1;
        }
        clock.advance(Duration::from_micros(1));
        peak.sample(i);
    }
    let flood_secs = started.elapsed().as_secs_f64();
    let end = snapshot();
    // Past the cap: each new key sweeps the table; nothing is idle yet, so it is refused.
    let extra = if keys > BOT_POLICY_MAX_KEYS { extra } else { 0 };
    let at_cap = Instant::now();
    let mut refused = 0_u64;
    for i in to_cap..to_cap + extra {
        let facts = RequestFacts::new("GET", "/").with_client_ip(flood_ip(i));
        if matches!(
            black_box(policy.evaluate(&facts)).verdict(),
            Verdict::RateLimited { .. }
        ) {
            refused += 1;
        }
        clock.advance(Duration::from_micros(1));
    }
    let per_key_at_cap = at_cap.elapsed().as_secs_f64() / extra.max(1) as f64;
    let end_extra = snapshot();
    // Two seconds on, every key is idle: the next new key's sweep empties the table.
    clock.advance(Duration::from_secs(2));
    let facts = RequestFacts::new("GET", "/").with_client_ip(flood_ip(keys + 1));
    let _ = black_box(policy.evaluate(&facts));
    let after = snapshot();
    let mut note = format!(
        "cap 100,000 keys; flooded to the cap{}",
        if extra > 0 {
            format!(
                ", then {extra} more keys: {refused} refused, {:.0} µs per key at the cap \
                 (a sweep of the whole table each); {} keys at the cap would take {:.0} s",
                per_key_at_cap * 1e6,
                keys - to_cap,
                per_key_at_cap * (keys - to_cap) as f64
            )
        } else {
            String::new()
        }
    );
    note.push_str("; after: one request two seconds later (its sweep)");
    Ok(Measurement {
        structure: "bot-policy `rate_limit` rule (governor, DashMap, cap 100,000)".to_owned(),
        keys_offered: to_cap + extra,
        tracked_at_peak: allowed,
        live_bytes: end.live_over(&base),
        peak_live_bytes: peak
            .0
            .max(end.live)
            .max(end_extra.live)
            .saturating_sub(base.live) as u64,
        rss_bytes: end.rss_over(&base),
        tracked_after: 1,
        live_bytes_after: after.live_over(&base),
        rss_bytes_after: after.rss_over(&base),
        flood_secs,
        note,
    })
}

/// A directory client that answers `404` at once.
#[derive(Debug)]
struct NotFound;

impl web_bot_auth::directory_cache::DirectoryClient for NotFound {
    fn get<'a>(
        &'a self,
        _url: &'a str,
        _limits: &'a web_bot_auth::directory_cache::FetchLimits,
    ) -> web_bot_auth::directory_cache::DirectoryFuture<'a> {
        Box::pin(std::future::ready(Ok(
            web_bot_auth::directory_cache::DirectoryResponse {
                status: 404,
                headers: http::HeaderMap::new(),
                body: Vec::new(),
            },
        )))
    }
}

fn directory_cache(keys: u64, max_agents: usize) -> Result<Measurement, String> {
    use web_bot_auth::directory_cache::{DirectoryCache, DirectoryCacheConfig};
    use web_bot_auth::fetch::{FetchError, KeyFetcher};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| e.to_string())?;
    let base = snapshot();
    let cache = DirectoryCache::builder(DirectoryCacheConfig {
        max_agents,
        ..DirectoryCacheConfig::default()
    })
    .client(Arc::new(NotFound))
    .build()
    .map_err(|e| e.to_string())?;
    let mut peak = Peak(0);
    let started = Instant::now();
    let outcome: Result<(), String> = runtime.block_on(async {
        let mut agent = String::new();
        for i in 0..keys {
            use std::fmt::Write as _;
            agent.clear();
            let _ = write!(agent, "https://agent-{i}.example");
            match cache.fetch(&agent).await {
                Err(FetchError::Status(404)) => {}
                other => return Err(format!("agent {i}: {other:?}")),
            }
            peak.sample(i);
        }
        Ok(())
    });
    outcome?;
    let flood_secs = started.elapsed().as_secs_f64();
    let end = snapshot();
    let entries = cache.stats().entries as u64;
    let evictions = cache.stats().evictions;
    let (structure, note) = if max_agents as u64 >= keys {
        (
            "web-bot-auth DirectoryCache, negative entries (room for all)".to_owned(),
            "after: none (entries expire after `negative_ttl` and are replaced as new agents come)"
                .to_owned(),
        )
    } else {
        (
            format!("web-bot-auth DirectoryCache, negative entries (default cap {max_agents})"),
            format!(
                "{evictions} entries evicted in batches during the flood; after = end of the flood"
            ),
        )
    };
    Ok(Measurement {
        structure,
        keys_offered: keys,
        tracked_at_peak: entries,
        live_bytes: end.live_over(&base),
        peak_live_bytes: peak.0.max(end.live).saturating_sub(base.live) as u64,
        rss_bytes: end.rss_over(&base),
        tracked_after: entries,
        live_bytes_after: end.live_over(&base),
        rss_bytes_after: end.rss_over(&base),
        flood_secs,
        note,
    })
}

/// The structures, by the name `--only` takes.
const STRUCTURES: &[&str] = &[
    "mcp-auth",
    "governor",
    "bot-policy",
    "directory-cache",
    "directory-cache-default",
];

#[derive(Debug, Clone)]
struct Options {
    keys: u64,
    bot_policy_extra: u64,
    only: Option<String>,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        keys: 1_000_000,
        bot_policy_extra: 200,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--keys" => {
                options.keys = value("--keys")?
                    .parse()
                    .map_err(|e| format!("--keys: {e}"))?;
            }
            "--bot-policy-extra" => {
                options.bot_policy_extra = value("--bot-policy-extra")?
                    .parse()
                    .map_err(|e| format!("--bot-policy-extra: {e}"))?;
            }
            "--only" => options.only = Some(value("--only")?),
            "--bench" => {}
            "-h" | "--help" => {
                return Err(format!(
                    "usage: memory-report [--keys N] [--bot-policy-extra N] [--only {}]",
                    STRUCTURES.join("|")
                ));
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(options)
}

fn measure(name: &str, options: &Options) -> Result<Measurement, String> {
    match name {
        "mcp-auth" => mcp_auth(options.keys),
        "governor" => governor(options.keys),
        "bot-policy" => bot_policy(options.keys, options.bot_policy_extra),
        "directory-cache" => directory_cache(options.keys, options.keys as usize),
        "directory-cache-default" => directory_cache(
            options.keys,
            web_bot_auth::directory_cache::DirectoryCacheConfig::default().max_agents,
        ),
        other => Err(format!("unknown structure {other:?}")),
    }
}

/// Runs this binary with `--only name` and reads its measurement.
fn measure_in_child(name: &str, options: &Options) -> Result<Measurement, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = Command::new(exe)
        .args(["--only", name, "--keys", &options.keys.to_string()])
        .args(["--bot-policy-extra", &options.bot_policy_extra.to_string()])
        .output()
        .map_err(|e| format!("{name}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("{name}: {e}"))
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn per_key(bytes: u64, keys: u64) -> String {
    if keys == 0 {
        "—".to_owned()
    } else {
        format!("{:.0}", bytes as f64 / keys as f64)
    }
}

fn table(rows: &[Measurement]) -> String {
    let mut out = String::from(
        "| structure | keys offered | tracked | bytes / tracked key (allocated) | bytes / tracked key (RSS) | allocated at the end (peak) | tracked after eviction | allocated after | RSS after | flood |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} ({}) | {} | {} | {} | {:.2} s |\n",
            r.structure,
            r.keys_offered,
            r.tracked_at_peak,
            per_key(r.live_bytes, r.tracked_at_peak),
            per_key(r.rss_bytes, r.tracked_at_peak),
            mb(r.live_bytes),
            mb(r.peak_live_bytes),
            r.tracked_after,
            mb(r.live_bytes_after),
            mb(r.rss_bytes_after),
            r.flood_secs,
        ));
    }
    out.push('\n');
    for r in rows {
        out.push_str(&format!("- {}: {}\n", r.structure, r.note));
    }
    out
}

fn run() -> Result<(), String> {
    let options = parse_options()?;
    if let Some(name) = &options.only {
        let measurement = measure(name, &options)?;
        println!(
            "{}",
            serde_json::to_string(&measurement).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    if cfg!(debug_assertions) {
        eprintln!("memory-report: a debug build; run with --release (a million keys each)");
    }
    let mut rows = Vec::new();
    for name in STRUCTURES {
        eprintln!("memory-report: {name}...");
        rows.push(measure_in_child(name, &options)?);
    }
    print!("{}", table(&rows));
    println!(
        "\nAllocated: bytes held (counting global allocator, `cap`), over the empty structure; \
         RSS: `VmRSS` growth, indicative. One child process per structure; clocks moved 1 µs per key."
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("memory-report: {error}");
            ExitCode::FAILURE
        }
    }
}
