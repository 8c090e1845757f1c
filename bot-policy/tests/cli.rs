#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The `bot-policy` command-line tool, run as a process on the fixtures in `tests/data/cli/`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn data(name: &str) -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "tests/data/cli", name]
        .iter()
        .collect()
}

/// Runs the tool in `tests/data/cli/`, so that file names in messages are short.
fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bot-policy"))
        .args(args)
        .current_dir(data(""))
        .output()
        .unwrap()
}

fn run_with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bot-policy"))
        .args(args)
        .current_dir(data(""))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\nstderr: {}", stdout(output), stderr(output)))
}

/// A scratch file under the target directory.
fn scratch(name: &str, contents: &[u8]) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    std::fs::write(&path, contents).unwrap();
    path
}

// ---------------------------------------------------------------------------------------------
// check

#[test]
fn check_good_policy_shows_warnings_and_exits_0() {
    let output = run(&["check", "good.toml"]);
    let out = stdout(&output);
    assert_eq!(code(&output), 0, "{out}");
    assert!(
        out.contains("good.toml:15:6: warning: this `allow` rule trusts the user agent alone"),
        "{out}"
    );
    assert!(out.contains("[rule trust-googlebot-ua]"), "{out}");
    assert!(out.contains("\n  fix: "), "{out}");
    assert!(
        out.trim_end().ends_with("good.toml: 7 rules, 1 warning"),
        "{out}"
    );
}

#[test]
fn check_broken_policy_shows_errors_and_exits_1() {
    let output = run(&["check", "broken.toml"]);
    let out = stdout(&output);
    assert_eq!(code(&output), 1, "{out}");
    let errors: Vec<&str> = out.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(errors.len(), 2, "{out}");
    assert!(
        errors[0].starts_with("broken.toml:6:10: error: unknown action `rate-limit`"),
        "{out}"
    );
    assert!(errors[0].contains("did you mean `rate_limit`?"), "{out}");
    // The bad field is on the second line of a multi-line string: line 12, column 7 of the file.
    assert!(
        errors[1].starts_with("broken.toml:12:7: error: unknown field `http.user_agnt`"),
        "{out}"
    );
    assert!(
        out.contains("    and http.user_agnt contains \"bot\"\n        ^^^^^^^^^^^^^^"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("broken.toml: 2 errors"), "{out}");
}

#[test]
fn check_toml_syntax_error_has_a_position() {
    let output = run(&["check", "syntax.toml"]);
    assert_eq!(code(&output), 1);
    assert!(
        stdout(&output).starts_with("syntax.toml:5:5: error: "),
        "{}",
        stdout(&output)
    );
}

#[test]
fn check_unreadable_file_exits_1_with_a_message() {
    let output = run(&["check", "no-such-policy.toml"]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("cannot read no-such-policy.toml"),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(code(&run(&["check"])), 2);
    assert_eq!(code(&run(&["frobnicate"])), 2);
    assert_eq!(code(&run(&["eval", "good.toml", "--bogus"])), 2);
    assert_eq!(
        code(&run(&[
            "replay",
            "good.toml",
            "access.log",
            "--format",
            "xml"
        ])),
        2
    );
}

// ---------------------------------------------------------------------------------------------
// eval

#[test]
fn eval_prints_the_decision() {
    let output = run(&[
        "eval",
        "good.toml",
        "--ua",
        "sqlmap/1.7",
        "--url",
        "https://shop.example/search?q=1",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let decision = json(&output);
    assert_eq!(decision["action"], "block");
    assert_eq!(decision["rule"], "no-scanners");
    assert_eq!(decision["status"], 403);
    assert!(decision.get("trace").is_none());
    let classification = decision["classification"].as_object().unwrap();
    for key in [
        "bot",
        "operator",
        "category",
        "claimed",
        "verified",
        "verified_by",
        "signed",
        "spoofed",
        "score",
        "automation",
    ] {
        assert!(
            classification.contains_key(key),
            "{key} missing: {decision}"
        );
    }
    assert!(classification["score"].is_u64());
}

#[test]
fn eval_default_is_allow_with_no_rule() {
    let output = run(&[
        "eval",
        "good.toml",
        "--ua",
        "Mozilla/5.0",
        "--ip",
        "203.0.113.1",
    ]);
    let decision = json(&output);
    assert_eq!(decision["action"], "allow");
    assert_eq!(decision["rule"], Value::Null);
    assert_eq!(decision["status"], Value::Null);
}

#[test]
fn eval_ip_selects_the_office_rule() {
    for ip in ["192.0.2.7", "2001:db8:1::9", "::ffff:192.0.2.8"] {
        let decision = json(&run(&["eval", "good.toml", "--ip", ip, "--url", "/admin"]));
        assert_eq!(decision["rule"], "office", "{ip}");
        assert_eq!(decision["action"], "allow", "{ip}");
    }
    let decision = json(&run(&[
        "eval",
        "good.toml",
        "--ip",
        "198.51.100.1",
        "--url",
        "/admin",
    ]));
    assert_eq!(decision["rule"], "admin");
    assert_eq!(decision["status"], 403);
}

#[test]
fn eval_trace_with_headers() {
    let output = run(&[
        "eval",
        "good.toml",
        "--method",
        "POST",
        "--url",
        "https://shop.example/api/orders?v=2",
        "--header",
        "X-Canary: 1",
        "--header",
        "User-Agent: python-requests/2.32",
        "--trace",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let decision = json(&output);
    assert_eq!(decision["action"], "allow");
    assert_eq!(decision["rule"], Value::Null);
    let trace: Vec<(String, String, String)> = decision["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["rule"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("office", "allow", "no_match"),
        ("trust-googlebot-ua", "allow", "no_match"),
        ("log-python", "log", "logged"),
        ("canary", "block", "logged"),
        ("no-scanners", "block", "no_match"),
        ("api-limit", "rate_limit", "within_limit"),
        ("admin", "challenge", "no_match"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect();
    assert_eq!(trace, expected);
}

#[test]
fn eval_ua_replaces_a_user_agent_header() {
    let decision = json(&run(&[
        "eval",
        "good.toml",
        "--header",
        "user-agent: sqlmap/1.7",
        "--ua",
        "Mozilla/5.0",
    ]));
    assert_eq!(decision["action"], "allow");
    assert_eq!(decision["rule"], Value::Null);
}

#[test]
fn eval_classifies_the_client() {
    let decision = json(&run(&[
        "eval",
        "good.toml",
        "--ua",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
        "--ip",
        "203.0.113.50",
    ]));
    let classification = &decision["classification"];
    assert_eq!(classification["bot"], "GPTBot", "{decision}");
    assert_eq!(classification["operator"], "OpenAI");
    assert_eq!(classification["category"], "AI Crawler");
    assert_eq!(classification["claimed"], true);
    assert_eq!(classification["verified"], false);
    assert_eq!(classification["verified_by"], Value::Null);
    // GPTBot publishes its addresses; this one is not among them.
    assert_eq!(classification["spoofed"], true, "{decision}");
    assert_eq!(classification["score"], 1);

    // A verified Web Bot Auth signature names the bot, whatever the user agent says.
    let decision = json(&run(&[
        "eval",
        "good.toml",
        "--ua",
        "Mozilla/5.0",
        "--verified-agent",
        "https://chatgpt.com",
    ]));
    let classification = &decision["classification"];
    assert_eq!(classification["bot"], "ChatGPT Agent", "{decision}");
    assert_eq!(classification["category"], "AI Assistant");
    assert_eq!(classification["verified"], true);
    assert_eq!(classification["verified_by"], "signature");
    assert_eq!(classification["signed"], true);
    assert_eq!(classification["spoofed"], false);

    let decision = json(&run(&["eval", "good.toml", "--ua", "curl/8.4.0"]));
    let classification = &decision["classification"];
    assert_eq!(classification["bot"], Value::Null, "{decision}");
    assert_eq!(classification["automation"], "curl", "{decision}");
    assert!(classification["score"].as_u64().unwrap() < 30, "{decision}");
}

#[test]
fn eval_classification_reaches_the_rules() {
    let policy = scratch("baseline.toml", b"include = [\"baseline\"]\n");
    let policy = policy.to_str().unwrap();
    // A GPTBot claim from outside OpenAI's ranges is spoofed (score 1): blocked.
    let decision = json(&run(&[
        "eval",
        policy,
        "--ua",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
        "--ip",
        "203.0.113.50",
        "--trace",
    ]));
    assert_eq!(decision["action"], "block", "{decision}");
    assert_eq!(
        decision["rule"], "baseline-block-definite-bots",
        "{decision}"
    );
    assert_eq!(decision["trace"][0]["outcome"], "no_match", "{decision}");
    // A verified AI assistant skips the score rules and reaches checkout.
    let decision = json(&run(&[
        "eval",
        policy,
        "--url",
        "https://shop.example/checkout/pay",
        "--verified-agent",
        "https://chatgpt.com",
    ]));
    assert_eq!(decision["action"], "allow", "{decision}");
    assert_eq!(
        decision["rule"], "baseline-ai-assistants-reach-checkout",
        "{decision}"
    );
}

#[test]
fn eval_rejects_bad_arguments_with_exit_2() {
    for (args, message) in [
        (
            &["--ip", "1.2.3"][..],
            "--ip `1.2.3` is not an IPv4 or IPv6 address",
        ),
        (&["--ip", "example.com"][..], "--ip"),
        (
            &["--header", "no colon"][..],
            "is not of the form \"Name: value\"",
        ),
        (&["--header", "bad name: x"][..], "is not a header name"),
        (&["--url", "example.com/x"][..], "--url"),
        (&["--url", "https:///x"][..], "--url"),
        (&["--method", "G E T"][..], "--method"),
    ] {
        let mut all = vec!["eval", "good.toml"];
        all.extend_from_slice(args);
        let output = run(&all);
        assert_eq!(code(&output), 2, "{args:?}");
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "{args:?}");
    }
}

#[test]
fn eval_on_a_broken_policy_exits_1() {
    let output = run(&["eval", "broken.toml", "--ua", "x"]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("broken.toml:6:10: error: "),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).is_empty());
}

// ---------------------------------------------------------------------------------------------
// replay

/// Hits per rule and totals per action from `replay --json`.
type Counts = Vec<(String, u64)>;

fn counts(report: &Value) -> (Counts, Counts) {
    let rules = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["hits"].as_u64().unwrap(),
            )
        })
        .collect();
    let actions = report["actions"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, n)| n.as_u64() != Some(0))
        .map(|(name, n)| (name.clone(), n.as_u64().unwrap()))
        .collect();
    (rules, actions)
}

fn owned(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    pairs.iter().map(|(s, n)| ((*s).to_owned(), *n)).collect()
}

#[test]
fn replay_combined_log_table() {
    let output = run(&["replay", "good.toml", "access.log"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let out = stdout(&output);
    let table: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let has = |row: &[&str]| table.iter().any(|r| r.as_slice() == row);
    assert!(has(&["office", "allow", "2"]), "{out}");
    assert!(has(&["trust-googlebot-ua", "allow", "1"]), "{out}");
    assert!(has(&["log-python", "log", "1"]), "{out}");
    assert!(has(&["canary", "block", "(log)", "0"]), "{out}");
    assert!(has(&["no-scanners", "block", "2"]), "{out}");
    assert!(has(&["api-limit", "rate_limit", "2"]), "{out}");
    assert!(has(&["admin", "challenge", "1"]), "{out}");
    assert!(has(&["allow", "6", "66.7%"]), "{out}");
    assert!(has(&["block", "2", "22.2%"]), "{out}");
    assert!(has(&["challenge", "1", "11.1%"]), "{out}");
    assert!(has(&["lines", "12"]), "{out}");
    assert!(has(&["requests", "9"]), "{out}");
    assert!(has(&["malformed", "2"]), "{out}");
    // Rules are listed in policy order.
    let office = out.find("office").unwrap();
    let admin = out.find("admin ").unwrap();
    assert!(office < admin);
    assert!(
        stderr(&output).contains("access.log: 2 malformed lines skipped (lines 8, 12)"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn replay_combined_log_json() {
    let output = run(&["replay", "good.toml", "access.log", "--json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report = json(&output);
    let (rules, actions) = counts(&report);
    assert_eq!(
        rules,
        owned(&[
            ("office", 2),
            ("trust-googlebot-ua", 1),
            ("log-python", 1),
            ("canary", 0),
            ("no-scanners", 2),
            ("api-limit", 2),
            ("admin", 1),
        ])
    );
    assert_eq!(
        actions,
        owned(&[("allow", 6), ("block", 2), ("challenge", 1)])
    );
    assert_eq!(report["lines"], 12);
    assert_eq!(report["requests"], 9);
    assert_eq!(report["malformed"], 2);
    assert_eq!(report["malformed_lines"], serde_json::json!([8, 12]));
    assert!(report.get("compare").is_none());
}

#[test]
fn replay_jsonl_log() {
    let output = run(&[
        "replay",
        "good.toml",
        "access.jsonl",
        "--format",
        "jsonl",
        "--json",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report = json(&output);
    let (rules, actions) = counts(&report);
    assert_eq!(
        rules,
        owned(&[
            ("office", 1),
            ("trust-googlebot-ua", 1),
            ("log-python", 1),
            ("canary", 1),
            ("no-scanners", 1),
            ("api-limit", 1),
            ("admin", 1),
        ])
    );
    assert_eq!(
        actions,
        owned(&[("allow", 3), ("block", 1), ("challenge", 1)])
    );
    assert_eq!(report["lines"], 7);
    assert_eq!(report["requests"], 5);
    assert_eq!(report["malformed"], 2);
    assert_eq!(report["malformed_lines"], serde_json::json!([5, 6]));
}

#[test]
fn replay_is_dry() {
    // `api-limit` allows 1 request a minute; a replay must not enforce it.
    let log = "198.51.100.7 - - [t] \"GET /api/a HTTP/1.1\" 200 1 \"-\" \"x\"\n".repeat(5);
    let log = scratch("dry.log", log.as_bytes());
    let output = run(&["replay", "good.toml", log.to_str().unwrap(), "--json"]);
    let report = json(&output);
    let (rules, actions) = counts(&report);
    assert!(rules.contains(&("api-limit".to_owned(), 5)), "{rules:?}");
    assert_eq!(actions, owned(&[("allow", 5)]));
}

#[test]
fn replay_compare_lists_differences() {
    let output = run(&[
        "replay",
        "good.toml",
        "access.log",
        "--compare",
        "other.toml",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("2 requests decided differently"), "{out}");
    assert!(
        out.contains(
            "line 2: GET /wp-login.php \"Mozilla/5.0 (Windows NT 10.0; Win64; x64)\"  A: block (no-scanners) vs B: challenge (admin)"
        ),
        "{out}"
    );
    assert!(
        out.contains("line 4: GET /api/items \"python-requests/2.31.0\"  A: allow (default) vs B: block (block-python)"),
        "{out}"
    );

    let report = json(&run(&[
        "replay",
        "good.toml",
        "access.log",
        "--compare",
        "other.toml",
        "--json",
    ]));
    let compare = &report["compare"];
    assert_eq!(compare["policy"], "other.toml");
    assert_eq!(compare["differences"], 2);
    let diffs = compare["diffs"].as_array().unwrap();
    assert_eq!(diffs.len(), 2);
    assert_eq!(diffs[0]["line"], 2);
    assert_eq!(diffs[0]["a"]["rule"], "no-scanners");
    assert_eq!(diffs[0]["b"]["action"], "challenge");
    assert_eq!(diffs[1]["line"], 4);
    assert_eq!(diffs[1]["a"]["rule"], Value::Null);
    assert_eq!(diffs[1]["b"]["rule"], "block-python");
    let b_actions = compare["actions"].as_object().unwrap();
    assert_eq!(b_actions["allow"], 5);
    assert_eq!(b_actions["block"], 2);
    assert_eq!(b_actions["challenge"], 2);

    // Capped, with the total still counted.
    let output = run(&[
        "replay",
        "good.toml",
        "access.log",
        "--compare",
        "other.toml",
        "--max-diffs",
        "1",
    ]);
    let out = stdout(&output);
    assert!(out.contains("2 requests decided differently"), "{out}");
    assert!(out.contains("line 2: "), "{out}");
    assert!(!out.contains("line 4: "), "{out}");
    assert!(out.contains("and 1 more"), "{out}");
}

#[test]
fn replay_compare_with_itself_finds_nothing() {
    let report = json(&run(&[
        "replay",
        "good.toml",
        "access.jsonl",
        "--format",
        "jsonl",
        "--compare",
        "good.toml",
        "--json",
    ]));
    assert_eq!(report["compare"]["differences"], 0);
    assert_eq!(report["compare"]["diffs"], serde_json::json!([]));
}

#[test]
fn replay_counts_overlong_and_garbage_lines_as_malformed() {
    let mut log = Vec::new();
    log.extend_from_slice(b"192.0.2.1 - - [t] \"GET / HTTP/1.1\" 200 1 \"-\" \"ok\"\n");
    // A line over 64 KiB.
    log.extend_from_slice(b"192.0.2.1 - - [t] \"GET /");
    log.extend(std::iter::repeat_n(b'a', 70 * 1024));
    log.extend_from_slice(b" HTTP/1.1\" 200 1 \"-\" \"long\"\n");
    // Binary noise, NULs, a lone quote, invalid UTF-8.
    log.extend_from_slice(b"\x00\x01\x02\xff\xfe\n\"\n[\n\xc3\x28 - - [ \"GET\n");
    // Control characters inside a valid line still parse.
    log.extend_from_slice(b"192.0.2.1 - - [t] \"GET /x HTTP/1.1\" 200 1 \"-\" \"a\x01b\"\r\n");
    // No final newline.
    log.extend_from_slice(b"192.0.2.1 - - [t] \"GET /y HTTP/1.1\" 200 1 \"-\" \"last\"");
    let path = scratch("malformed.log", &log);
    let output = run(&["replay", "good.toml", path.to_str().unwrap(), "--json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report = json(&output);
    assert_eq!(report["lines"], 8);
    assert_eq!(report["requests"], 3);
    assert_eq!(report["malformed"], 5);
    assert_eq!(
        report["malformed_lines"],
        serde_json::json!([2, 3, 4, 5, 6])
    );
    assert!(
        stderr(&output).contains("5 malformed lines skipped (lines 2, 3, 4, 5, 6)"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn replay_survives_noise() {
    // Pseudo-random bytes, in both formats: no panic, every line accounted for.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut log = Vec::new();
    for _ in 0..20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let byte = match state % 16 {
            0 => b'\n',
            1 => b'"',
            2 => b'[',
            3 => b']',
            4 => b' ',
            5 => b'\\',
            6 => b'{',
            _ => (state >> 8) as u8,
        };
        log.push(byte);
    }
    let path = scratch("noise.log", &log);
    for format in ["combined", "jsonl"] {
        let output = run(&[
            "replay",
            "good.toml",
            path.to_str().unwrap(),
            "--format",
            format,
            "--json",
        ]);
        assert_eq!(code(&output), 0, "{format}: {}", stderr(&output));
        let report = json(&output);
        let lines = report["lines"].as_u64().unwrap();
        let requests = report["requests"].as_u64().unwrap();
        let malformed = report["malformed"].as_u64().unwrap();
        assert!(requests + malformed <= lines, "{format}: {report}");
        assert!(malformed > 0, "{format}");
    }
}

#[test]
fn replay_reads_standard_input() {
    let log = std::fs::read(data("access.log")).unwrap();
    let output = run_with_stdin(&["replay", "good.toml", "-", "--json"], &log);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report = json(&output);
    assert_eq!(report["requests"], 9);
    assert_eq!(report["malformed"], 2);
}

#[test]
fn replay_missing_log_exits_1() {
    let output = run(&["replay", "good.toml", "no-such.log"]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("cannot read no-such.log"),
        "{}",
        stderr(&output)
    );
}
