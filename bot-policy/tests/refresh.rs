//! The IP range refresher against real HTTP/1.1 servers on loopback: a refresh that verifies a
//! new address, failures that keep the set in force, redirects, URL rules, timeouts, the
//! periodic task, and readers classifying while sets are swapped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bot_policy::LiveClassifier;
use bot_policy::classify::Signals;
use bot_policy::ranges::{
    RangeFormat, RangeRefresher, RangeRefresherBuilder, RangeSource, RangesError, RefreshError,
    RefreshOutcome,
};
use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const GPTBOT_UA: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; +https://openai.com/gptbot";
/// In OpenAI's published GPTBot ranges (`data/ranges/openai-gptbot.json`).
const BUILTIN_GPTBOT_IP: &str = "20.171.206.5";
/// In no built-in set (TEST-NET-2); the served lists add it.
const NEW_IP: &str = "198.51.100.7";
const NEW_PREFIX: &str = "198.51.100.0/24";

// ---------------------------------------------------------------------------------------------
// The test server

type Body = BoxBody<Bytes, Infallible>;

/// What the server answers on one path.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
    /// Send the body in chunks without a `Content-Length`.
    chunked: bool,
    /// Wait this long before answering.
    delay: Duration,
}

impl Reply {
    fn ok(body: impl Into<Bytes>) -> Reply {
        Reply {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
            chunked: false,
            delay: Duration::ZERO,
        }
    }

    fn status(status: u16) -> Reply {
        Reply {
            status,
            ..Reply::ok("oops")
        }
    }

    fn chunked(mut self) -> Reply {
        self.chunked = true;
        self
    }

    fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    fn header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_owned()));
        self
    }
}

/// A body handed out in 256-byte chunks, with no length known in advance.
struct Chunks(Bytes);

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.0.is_empty() {
            return Poll::Ready(None);
        }
        let n = self.0.len().min(256);
        let chunk = self.0.split_to(n);
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }
}

/// A loopback HTTP/1.1 server answering each path with the [`Reply`] set for it (404 for other
/// paths), counting requests per path.
#[derive(Clone)]
struct Server {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Server {
    async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server {
            addr: listener.local_addr().unwrap(),
            routes: Arc::default(),
            hits: Arc::default(),
        };
        let shared = server.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let server = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let server = server.clone();
                        async move { Ok::<_, Infallible>(server.answer(req.uri().path()).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        server
    }

    async fn answer(&self, path: &str) -> Response<Body> {
        *self
            .hits
            .lock()
            .unwrap()
            .entry(path.to_owned())
            .or_default() += 1;
        let reply = self.routes.lock().unwrap().get(path).cloned();
        let Some(reply) = reply else {
            return Response::builder()
                .status(404)
                .body(http_body_util::Full::new(Bytes::new()).boxed())
                .unwrap();
        };
        tokio::time::sleep(reply.delay).await;
        let mut builder = Response::builder().status(reply.status);
        for (name, value) in &reply.headers {
            builder = builder.header(*name, value);
        }
        let body = if reply.chunked {
            Chunks(reply.body).boxed()
        } else {
            http_body_util::Full::new(reply.body).boxed()
        };
        builder.body(body).unwrap()
    }

    fn set(&self, path: &str, reply: Reply) {
        self.routes.lock().unwrap().insert(path.to_owned(), reply);
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// An operator-format document of these prefixes.
fn doc(prefixes: &[String], creation_time: &str) -> String {
    let items: Vec<serde_json::Value> = prefixes
        .iter()
        .map(|p| {
            let key = if p.contains(':') {
                "ipv6Prefix"
            } else {
                "ipv4Prefix"
            };
            serde_json::json!({ key: p })
        })
        .collect();
    serde_json::json!({ "creationTime": creation_time, "prefixes": items }).to_string()
}

/// The prefixes of the built-in GPTBot set, as shipped.
fn builtin_gptbot_prefixes() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/ranges/openai-gptbot.json"
    );
    let value: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    value["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.get("ipv4Prefix")
                .or_else(|| p.get("ipv6Prefix"))
                .and_then(|v| v.as_str())
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// The built-in GPTBot prefixes plus [`NEW_PREFIX`]: what OpenAI would publish after adding a
/// network.
fn gptbot_doc_with_new_prefix(creation_time: &str) -> String {
    let mut prefixes = builtin_gptbot_prefixes();
    prefixes.push(NEW_PREFIX.to_owned());
    doc(&prefixes, creation_time)
}

/// How the live classifier sees a GPTBot claim from `ip`: verified by (`"ip"`), spoofed.
fn gptbot_from(live: &LiveClassifier, ip: &str) -> (Option<&'static str>, bool) {
    let classifier = live.current();
    let signals = Signals {
        user_agent: GPTBOT_UA.as_bytes(),
        client_ip: Some(ip.parse().unwrap()),
        ..Signals::default()
    };
    let classification = classifier.classify(&signals);
    assert_eq!(classification.bot().unwrap().name, "GPTBot");
    (classification.verified_by(), classification.spoofed())
}

fn refresher(sources: impl IntoIterator<Item = RangeSource>) -> RangeRefresherBuilder {
    RangeRefresher::builder()
        .sources(sources)
        .allow_http_loopback(true)
        .timeout(Duration::from_secs(5))
}

fn failure(outcome: Option<&RefreshOutcome>) -> &RefreshError {
    match outcome {
        Some(RefreshOutcome::Failed(error)) => error,
        other => panic!("expected a failure, got {other:?}"),
    }
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn a_refreshed_json_list_verifies_a_new_address() {
    let server = Server::start().await;
    server.set(
        "/gptbot.json",
        Reply::ok(gptbot_doc_with_new_prefix("2026-09-01T00:00:00")),
    );
    let live = LiveClassifier::default();
    let before = live.current();
    let previous = before.ranges().get("openai-gptbot").unwrap().len();

    // Before: a GPTBot claim from the new network is not verified, and is a spoof.
    assert_eq!(gptbot_from(&live, NEW_IP), (None, true));
    assert_eq!(gptbot_from(&live, BUILTIN_GPTBOT_IP), (Some("ip"), false));

    let refresher = refresher([RangeSource::json(
        "openai-gptbot",
        server.url("/gptbot.json"),
    )])
    .build()
    .unwrap();
    let report = refresher.refresh_once(&live).await;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.updated(), 1);
    assert_eq!(
        report.outcome("openai-gptbot"),
        Some(&RefreshOutcome::Updated {
            ranges: previous + 1,
            previous: Some(previous)
        })
    );
    assert_eq!(report.sources()[0].url, server.url("/gptbot.json"));

    // After: verified by IP; the old address still is.
    assert_eq!(gptbot_from(&live, NEW_IP), (Some("ip"), false));
    assert_eq!(gptbot_from(&live, BUILTIN_GPTBOT_IP), (Some("ip"), false));
    let set = live.current();
    let set = set.ranges().get("openai-gptbot").unwrap();
    assert_eq!(set.creation_time(), Some("2026-09-01T00:00:00"));
    // A classifier taken before the swap is untouched; the rest of the registry too.
    assert!(
        !before
            .ranges()
            .contains("openai-gptbot", NEW_IP.parse().unwrap())
    );
    assert_eq!(
        live.current().ranges().get("googlebot"),
        before.ranges().get("googlebot")
    );

    // The same document again: unchanged, and no new classifier is swapped in.
    let held = live.current();
    let report = refresher.refresh_once(&live).await;
    assert_eq!(
        report.outcome("openai-gptbot"),
        Some(&RefreshOutcome::Unchanged {
            ranges: previous + 1
        })
    );
    assert_eq!(report.unchanged(), 1);
    assert!(Arc::ptr_eq(&held, &live.current()));
    assert_eq!(server.hits("/gptbot.json"), 2);
}

#[tokio::test]
async fn a_cidr_list_source_adds_a_set() {
    let server = Server::start().await;
    server.set(
        "/ips.txt",
        Reply::ok("# partner crawler\n198.51.100.0/24\n2001:db8:1::/48 # v6\n\n"),
    );
    let live = LiveClassifier::default();
    let refresher = refresher([RangeSource::new(
        "partner",
        server.url("/ips.txt"),
        RangeFormat::CidrList,
    )])
    .build()
    .unwrap();
    let report = refresher.refresh_once(&live).await;
    assert_eq!(
        report.outcome("partner"),
        Some(&RefreshOutcome::Updated {
            ranges: 2,
            previous: None
        })
    );
    let current = live.current();
    assert!(
        current
            .ranges()
            .contains("partner", NEW_IP.parse().unwrap())
    );
    assert!(
        current
            .ranges()
            .contains("partner", "2001:db8:1::9".parse().unwrap())
    );

    // A list that is not UTF-8, or has a bad line, keeps the set.
    server.set("/ips.txt", Reply::ok(&b"198.51.100.0/24\n\xff\xfe\n"[..]));
    let report = refresher.refresh_once(&live).await;
    assert_eq!(
        failure(report.outcome("partner")),
        &RefreshError::NotUtf8 { position: 16 }
    );
    server.set("/ips.txt", Reply::ok("198.51.100.0/24\nnot-an-address\n"));
    let report = refresher.refresh_once(&live).await;
    assert!(matches!(
        failure(report.outcome("partner")),
        RefreshError::Parse(RangesError::InvalidLine { line: 2, .. })
    ));
    assert!(Arc::ptr_eq(&current, &live.current()));
}

#[tokio::test]
async fn bad_responses_keep_the_set_in_force() {
    let server = Server::start().await;
    let live = LiveClassifier::default();
    let refresher = refresher([RangeSource::json(
        "openai-gptbot",
        server.url("/gptbot.json"),
    )])
    .max_body_bytes(2048)
    .build()
    .unwrap();
    let good_size = gptbot_doc_with_new_prefix("t").len();
    assert!(good_size < 2048);
    let oversized = format!("{}{}", gptbot_doc_with_new_prefix("t"), " ".repeat(4096));
    let one_prefix = doc(&[NEW_PREFIX.to_owned()], "t");

    type Check = fn(&RefreshError) -> bool;
    let cases: Vec<(&str, Option<Reply>, Check)> = vec![
        ("404", None, |e| *e == RefreshError::Status { status: 404 }),
        ("500", Some(Reply::status(500)), |e| {
            *e == RefreshError::Status { status: 500 }
        }),
        (
            "503 with a good body",
            Some(Reply {
                status: 503,
                ..Reply::ok(gptbot_doc_with_new_prefix("t"))
            }),
            |e| *e == RefreshError::Status { status: 503 },
        ),
        (
            "garbage",
            Some(Reply::ok("<html>maintenance</html>")),
            |e| matches!(e, RefreshError::Parse(RangesError::Json { line: 1, .. })),
        ),
        (
            "truncated",
            Some(Reply::ok(gptbot_doc_with_new_prefix("t")[..60].to_owned())),
            |e| matches!(e, RefreshError::Parse(RangesError::Json { .. })),
        ),
        (
            "bad prefix",
            Some(Reply::ok(doc(&["198.51.100.0/33".to_owned()], "t"))),
            |e| {
                matches!(
                    e,
                    RefreshError::Parse(RangesError::InvalidPrefix { entry: 1, .. })
                )
            },
        ),
        ("empty body", Some(Reply::ok("")), |e| {
            matches!(e, RefreshError::Parse(RangesError::Json { .. }))
        }),
        ("empty list", Some(Reply::ok(r#"{"prefixes":[]}"#)), |e| {
            *e == RefreshError::TooFew { ranges: 0, min: 1 }
        }),
        ("much shrunk", Some(Reply::ok(one_prefix)), |e| {
            matches!(
                e,
                RefreshError::Shrunk {
                    ranges: 1,
                    min_percent: 50,
                    ..
                }
            )
        }),
        (
            "oversized, declared",
            Some(Reply::ok(oversized.clone())),
            |e| *e == RefreshError::TooLarge { limit: 2048 },
        ),
        (
            "oversized, chunked",
            Some(Reply::ok(oversized).chunked()),
            |e| *e == RefreshError::TooLarge { limit: 2048 },
        ),
    ];
    for (what, reply, check) in cases {
        match reply {
            Some(reply) => server.set("/gptbot.json", reply),
            None => {
                server.routes.lock().unwrap().remove("/gptbot.json");
            }
        }
        let before = live.current();
        let report = refresher.refresh_once(&live).await;
        assert_eq!(report.failed(), 1, "{what}: {report:?}");
        assert!(!report.is_ok());
        let error = failure(report.outcome("openai-gptbot"));
        assert!(check(error), "{what}: {error:?}");
        assert!(!error.to_string().is_empty());
        // Nothing was swapped: the built-in set still verifies, the new address does not.
        assert!(Arc::ptr_eq(&before, &live.current()), "{what}");
        assert_eq!(gptbot_from(&live, BUILTIN_GPTBOT_IP), (Some("ip"), false));
        assert_eq!(gptbot_from(&live, NEW_IP), (None, true));
    }

    // A good body, chunked, is read whole.
    server.set(
        "/gptbot.json",
        Reply::ok(gptbot_doc_with_new_prefix("t")).chunked(),
    );
    let report = refresher.refresh_once(&live).await;
    assert_eq!(report.updated(), 1, "{report:?}");
    assert_eq!(gptbot_from(&live, NEW_IP), (Some("ip"), false));
}

#[tokio::test]
async fn the_shrink_check_can_be_lowered() {
    let server = Server::start().await;
    server.set(
        "/gptbot.json",
        Reply::ok(doc(&[NEW_PREFIX.to_owned()], "t")),
    );
    let live = LiveClassifier::default();
    let refresher = refresher([RangeSource::json(
        "openai-gptbot",
        server.url("/gptbot.json"),
    )])
    .min_retained_percent(0)
    .build()
    .unwrap();
    let report = refresher.refresh_once(&live).await;
    assert_eq!(report.updated(), 1, "{report:?}");
    assert_eq!(gptbot_from(&live, NEW_IP), (Some("ip"), false));
    // The old ranges are gone: a claim from them is now a spoof.
    assert_eq!(gptbot_from(&live, BUILTIN_GPTBOT_IP), (None, true));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = Server::start().await;
    server.set(
        "/moved.json",
        Reply::status(301).header("location", "/target.json"),
    );
    server.set("/target.json", Reply::ok(gptbot_doc_with_new_prefix("t")));
    let live = LiveClassifier::default();
    let before = live.current();
    let refresher = refresher([RangeSource::json(
        "openai-gptbot",
        server.url("/moved.json"),
    )])
    .build()
    .unwrap();
    let report = refresher.refresh_once(&live).await;
    assert_eq!(
        failure(report.outcome("openai-gptbot")),
        &RefreshError::Redirect {
            status: 301,
            location: "/target.json".into()
        }
    );
    assert_eq!(server.hits("/moved.json"), 1);
    assert_eq!(server.hits("/target.json"), 0);
    assert!(Arc::ptr_eq(&before, &live.current()));
}

#[tokio::test]
async fn http_is_only_for_loopback_and_only_when_allowed() {
    let server = Server::start().await;
    server.set("/gptbot.json", Reply::ok(gptbot_doc_with_new_prefix("t")));
    // http to a host that is not loopback: refused even with loopback allowed.
    for url in [
        "http://example.com/gptbot.json",
        "http://192.0.2.1/gptbot.json",
        "http://[2001:db8::1]/gptbot.json",
    ] {
        let err = refresher([RangeSource::json("openai-gptbot", url)])
            .build()
            .unwrap_err();
        assert!(matches!(err, RefreshError::NotAllowed(_)), "{url}: {err}");
    }
    // http to loopback without the test switch: refused, and nothing is fetched.
    let err = RangeRefresher::builder()
        .sources([RangeSource::json(
            "openai-gptbot",
            server.url("/gptbot.json"),
        )])
        .build()
        .unwrap_err();
    assert!(matches!(err, RefreshError::NotAllowed(_)), "{err}");
    // Other schemes and credentials: refused.
    for url in [
        "ftp://127.0.0.1/gptbot.json",
        "file:///etc/hosts",
        "https://user:secret@openai.com/gptbot.json",
    ] {
        let err = refresher([RangeSource::json("openai-gptbot", url)])
            .build()
            .unwrap_err();
        assert!(matches!(err, RefreshError::NotAllowed(_)), "{url}: {err}");
        assert!(!err.to_string().contains("secret"));
    }
    assert_eq!(server.hits("/gptbot.json"), 0);
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let server = Server::start().await;
    server.set(
        "/slow.json",
        Reply::ok(gptbot_doc_with_new_prefix("t")).delayed(Duration::from_secs(3)),
    );
    let live = LiveClassifier::default();
    let refresher = refresher([RangeSource::json("openai-gptbot", server.url("/slow.json"))])
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let start = Instant::now();
    let report = refresher.refresh_once(&live).await;
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(
        failure(report.outcome("openai-gptbot")),
        &RefreshError::Timeout
    );
    assert_eq!(gptbot_from(&live, NEW_IP), (None, true));
}

#[tokio::test]
async fn a_connection_failure_is_reported() {
    // A port nobody listens on (bound, then released).
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let live = LiveClassifier::default();
    let refresher = refresher([RangeSource::json(
        "openai-gptbot",
        format!("http://{addr}/gptbot.json"),
    )])
    .build()
    .unwrap();
    let report = refresher.refresh_once(&live).await;
    assert!(matches!(
        failure(report.outcome("openai-gptbot")),
        RefreshError::Transport(_)
    ));
}

#[tokio::test]
async fn only_the_sets_that_changed_are_swapped() {
    let server = Server::start().await;
    server.set("/a.json", Reply::ok(doc(&["192.0.2.0/24".into()], "1")));
    server.set("/b.json", Reply::ok(doc(&["203.0.113.0/24".into()], "1")));
    server.set("/c.json", Reply::status(500));
    let live = LiveClassifier::default();
    let refresher = refresher([
        RangeSource::json("a", server.url("/a.json")),
        RangeSource::json("b", server.url("/b.json")),
        RangeSource::json("c", server.url("/c.json")),
    ])
    .build()
    .unwrap();

    let report = refresher.refresh_once(&live).await;
    assert_eq!(
        (report.updated(), report.unchanged(), report.failed()),
        (2, 0, 1)
    );
    let names: Vec<&str> = report.sources().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let first = live.current();
    assert!(first.ranges().get("c").is_none());

    // Only b changes.
    server.set(
        "/b.json",
        Reply::ok(doc(&["203.0.113.0/24".into(), "2001:db8::/32".into()], "2")),
    );
    let report = refresher.refresh_once(&live).await;
    assert_eq!(
        report.outcome("a"),
        Some(&RefreshOutcome::Unchanged { ranges: 1 })
    );
    assert_eq!(
        report.outcome("b"),
        Some(&RefreshOutcome::Updated {
            ranges: 2,
            previous: Some(1)
        })
    );
    let second = live.current();
    assert!(!Arc::ptr_eq(&first, &second));
    assert_eq!(second.ranges().get("a"), first.ranges().get("a"));
    assert!(
        second
            .ranges()
            .contains("b", "2001:db8::1".parse().unwrap())
    );

    // Nothing changes: nothing is swapped.
    let report = refresher.refresh_once(&live).await;
    assert_eq!((report.updated(), report.unchanged()), (0, 2));
    assert!(Arc::ptr_eq(&second, &live.current()));
}

#[tokio::test]
async fn spawn_refreshes_periodically_and_stops_when_dropped() {
    let server = Server::start().await;
    server.set("/p.json", Reply::ok(doc(&[NEW_PREFIX.into()], "1")));
    let live = LiveClassifier::default();
    let refresher = refresher([RangeSource::json("partner", server.url("/p.json"))])
        .interval(Duration::from_millis(100))
        .build()
        .unwrap();
    let handle = refresher.clone().spawn(live.clone()).unwrap();

    // The first round runs at once.
    let contains = |ip: &str| {
        live.current()
            .ranges()
            .contains("partner", ip.parse().unwrap())
    };
    wait_until("the first round", || contains(NEW_IP)).await;
    // A later round picks up a change.
    server.set("/p.json", Reply::ok(doc(&["203.0.113.0/24".into()], "2")));
    wait_until("a later round", || contains("203.0.113.9")).await;
    assert!(!contains(NEW_IP));
    wait_until("three rounds", || handle.rounds() >= 3).await;
    let report = handle.last_report().unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert!(!handle.is_finished());
    assert!(format!("{handle:?}").contains("rounds"));

    // Dropped: no more requests.
    drop(handle);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let hits = server.hits("/p.json");
    assert!(hits >= 3);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.hits("/p.json"), hits);

    // `stop` does the same.
    let handle = refresher.spawn(live.clone()).unwrap();
    wait_until("a round", || handle.rounds() >= 2).await;
    handle.stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let hits = server.hits("/p.json");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.hits("/p.json"), hits);
}

#[tokio::test]
async fn spawn_retries_sooner_after_a_failure() {
    let server = Server::start().await;
    server.set("/p.json", Reply::status(503));
    let live = LiveClassifier::default();
    let handle = refresher([RangeSource::json("partner", server.url("/p.json"))])
        .interval(Duration::from_secs(3600))
        .retry_interval(Duration::from_millis(100))
        .build()
        .unwrap()
        .spawn(live.clone())
        .unwrap();
    wait_until("a failed round", || handle.rounds() >= 1).await;
    assert_eq!(handle.last_report().unwrap().failed(), 1);
    // The publisher recovers; the retry picks it up long before the hour is over.
    server.set("/p.json", Reply::ok(doc(&[NEW_PREFIX.into()], "1")));
    wait_until("the retry", || {
        live.current()
            .ranges()
            .contains("partner", NEW_IP.parse().unwrap())
    })
    .await;
    let rounds = handle.rounds();
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Back to the hourly interval: no further round.
    assert!(handle.rounds() <= rounds + 1);
}

#[test]
fn spawn_needs_a_runtime() {
    let refresher = RangeRefresher::builder().sources([]).build().unwrap();
    let err = refresher.spawn(LiveClassifier::default()).unwrap_err();
    assert_eq!(err, RefreshError::NoRuntime);

    // `spawn_on` takes a runtime explicitly.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let live = LiveClassifier::default();
    let handle = RangeRefresher::builder()
        .sources([])
        .build()
        .unwrap()
        .spawn_on(live, runtime.handle());
    runtime.block_on(async {
        wait_until("a round", || handle.rounds() >= 1).await;
    });
    assert!(handle.last_report().unwrap().sources().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_keep_classifying_during_refreshes() {
    let server = Server::start().await;
    let with_new = gptbot_doc_with_new_prefix("with");
    let without = doc(&builtin_gptbot_prefixes(), "without");
    server.set("/gptbot.json", Reply::ok(with_new.clone()));
    let live = LiveClassifier::default();
    let refresher = refresher([RangeSource::json(
        "openai-gptbot",
        server.url("/gptbot.json"),
    )])
    .build()
    .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let seen_new = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let live = live.clone();
            let stop = Arc::clone(&stop);
            let seen_new = Arc::clone(&seen_new);
            let progress = Arc::new(AtomicUsize::new(0));
            let counted = Arc::clone(&progress);
            let thread = std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    // The built-in address is in every version of the list.
                    assert_eq!(gptbot_from(&live, BUILTIN_GPTBOT_IP), (Some("ip"), false));
                    let (verified, spoofed) = gptbot_from(&live, NEW_IP);
                    // Either state, never a mixture.
                    assert_eq!(verified.is_some(), !spoofed);
                    if verified.is_some() {
                        seen_new.store(true, Ordering::Relaxed);
                    }
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            });
            (thread, progress)
        })
        .collect();

    let mut updated = 0;
    for round in 0..20 {
        let body = if round % 2 == 0 { &with_new } else { &without };
        server.set("/gptbot.json", Reply::ok(body.clone()));
        let report = refresher.refresh_once(&live).await;
        assert!(report.is_ok(), "{report:?}");
        updated += report.updated();
    }
    assert_eq!(updated, 20);
    // End on the list with the new network: the readers see it.
    server.set("/gptbot.json", Reply::ok(with_new));
    refresher.refresh_once(&live).await;
    seen_new.store(false, Ordering::Relaxed);
    wait_until("the readers to see the new list", || {
        seen_new.load(Ordering::Relaxed)
    })
    .await;

    stop.store(true, Ordering::Relaxed);
    for (thread, progress) in readers {
        thread.join().expect("a reader panicked");
        assert!(progress.load(Ordering::Relaxed) > 0);
    }
}
