//! `bot-policy eval POLICY …`: the decision for one request, as JSON.

use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;

use bot_policy::Verdict;
use bot_policy::classify::Classifier;
use http::{HeaderMap, HeaderName};
use serde::Serialize;

use crate::request::{ClassificationJson, Request, header_value, split_url, valid_method};
use crate::{EvalArgs, Failure, load_policy};

#[derive(Serialize)]
struct Output<'a> {
    action: &'static str,
    rule: Option<&'a str>,
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<String>,
    classification: ClassificationJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<Vec<TraceJson<'a>>>,
}

#[derive(Serialize)]
struct TraceJson<'a> {
    rule: &'a str,
    action: &'static str,
    outcome: &'static str,
}

/// Builds the request from the arguments; a bad argument is a usage error.
fn request(args: &EvalArgs) -> Result<Request, Failure> {
    let mut request = Request::new();
    if !valid_method(&args.method) {
        return Err(Failure::Usage(format!(
            "--method `{}` is not an HTTP method",
            args.method
        )));
    }
    request.method.clone_from(&args.method);
    let url = split_url(&args.url).map_err(|e| Failure::Usage(format!("--url: {e}")))?;
    request.scheme = url.scheme.unwrap_or("https").to_owned();
    request.host = url.host.unwrap_or("example.com").to_owned();
    request.target = url.target;
    request.headers = headers(&args.headers)?;
    if let Some(ua) = &args.ua {
        let value = http::HeaderValue::from_str(ua).map_err(|_| {
            Failure::Usage("--ua: a User-Agent cannot hold control characters".to_owned())
        })?;
        request.headers.insert(http::header::USER_AGENT, value);
    }
    if let Some(ip) = &args.ip {
        let ip: IpAddr = ip
            .trim()
            .parse()
            .map_err(|_| Failure::Usage(format!("--ip `{ip}` is not an IPv4 or IPv6 address")))?;
        request.client_ip = Some(ip);
    }
    request.signature_agent.clone_from(&args.verified_agent);
    Ok(request)
}

/// `Name: value` lines into a header map.
fn headers(lines: &[String]) -> Result<HeaderMap, Failure> {
    let mut map = HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(Failure::Usage(format!(
                "--header `{line}` is not of the form \"Name: value\""
            )));
        };
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            Failure::Usage(format!(
                "--header `{line}`: `{}` is not a header name",
                name.trim()
            ))
        })?;
        let value = value.trim();
        if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(Failure::Usage(format!(
                "--header `{line}`: the value holds control characters"
            )));
        }
        map.append(name, header_value(value.as_bytes()));
    }
    Ok(map)
}

/// Prints the decision.
pub(crate) fn run(args: &EvalArgs) -> Result<ExitCode, Failure> {
    let request = request(args)?;
    let policy = load_policy(&args.policy)?;
    let classifier = Classifier::builtin();
    let json = request.with_facts(&classifier, |facts, classification| {
        let decision = if args.trace {
            policy.evaluate_traced(facts)
        } else {
            policy.evaluate(facts)
        };
        let output = Output {
            action: decision.verdict().name(),
            rule: decision.rule(),
            status: decision.status(),
            price: match decision.verdict() {
                Verdict::Charge(price) => Some(price.to_string()),
                _ => None,
            },
            classification: ClassificationJson::new(classification),
            trace: args.trace.then(|| {
                decision
                    .trace()
                    .iter()
                    .map(|entry| TraceJson {
                        rule: entry.rule,
                        action: entry.action,
                        outcome: entry.outcome.name(),
                    })
                    .collect()
            }),
        };
        serde_json::to_string_pretty(&output)
    });
    let json = json.map_err(|e| Failure::Failed(Some(format!("cannot write JSON: {e}"))))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{json}")?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
