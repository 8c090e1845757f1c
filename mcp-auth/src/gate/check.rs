//! [`AuthGate::check`]: requirement, credentials, scopes, rate limits.

// A refusal is a whole response (a header map and a body); these private steps hand it up
// as it is, once per request, rather than boxing it.
#![allow(clippy::result_large_err)]

use std::net::IpAddr;

use http::header::{RETRY_AFTER, USER_AGENT, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, StatusCode};

use super::{AuthGate, GateRequest, GateResponse, codes};
use crate::audit::{AuthEvent, AuthEventKind, FailureReason};
use crate::bearer::{BearerToken, bearer_token, cf_access_jwt};
use crate::challenge::BearerChallenge;
use crate::jsonrpc::{CallKind, HEADER_MISMATCH, Message, check_message_headers, peek};
use crate::metadata::Cors;
use crate::oauth::{JwtVerifier, SyncVerification};
use crate::principal::{AuthMode, Principal};
use crate::ratelimit::{RateDecision, RateLimitKey};
use crate::scope::Scopes;
use crate::toolmap::{ToolRequirement, Unlisted};

/// A request the gate let through: who is calling, and what the body asked for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Admission {
    /// The authenticated caller (put in the request extensions by the layer).
    pub principal: Principal,
    /// The peeked JSON-RPC message of a `POST`.
    pub message: Option<Message>,
}

/// Who the credentials say the caller is, or why they were refused.
enum Authenticated {
    Principal(Principal),
    Refused {
        reason: FailureReason,
        detail: String,
        kind: AuthEventKind,
    },
}

/// The fields an event takes from the request.
struct Context<'a> {
    method: Option<&'a str>,
    tool: Option<&'a str>,
    ip: Option<IpAddr>,
    user_agent: Option<&'a str>,
}

impl Context<'_> {
    fn event(&self, kind: AuthEventKind) -> AuthEvent {
        AuthEvent::new(kind)
            .with_call(self.method, self.tool)
            .with_client(self.ip, self.user_agent)
    }
}

impl AuthGate {
    /// Checks one request (see the [module documentation](super)): `Ok` with the principal to
    /// hand on, or the response to answer with.
    pub async fn check(&self, request: GateRequest<'_>) -> Result<Admission, GateResponse> {
        let result = self.check_inner(request).await;
        result.map_err(|mut response| {
            self.finish(request.headers, &mut response);
            response
        })
    }

    async fn check_inner(&self, request: GateRequest<'_>) -> Result<Admission, GateResponse> {
        let config = &*self.inner;
        if let Some(cors) = &config.cors
            && Cors::is_preflight(request.method, request.headers)
        {
            let mut response = GateResponse::empty(StatusCode::NO_CONTENT);
            cors.apply_preflight(request.headers, &mut response.headers);
            return Err(response);
        }

        // 1. What the request needs.
        let message = match (*request.method == Method::POST, request.body) {
            (true, Some(body)) => Some(self.read_message(request, body)?),
            (true, None) => return Err(self.unreadable_body(request.headers)),
            (false, _) => None,
        };
        let requirements = self.requirements(request.method, message.as_ref())?;
        let first = message.as_ref().and_then(|m| m.calls().first());
        let context = Context {
            method: first.and_then(|c| c.method()),
            tool: first.and_then(|c| c.target()),
            ip: request.client_ip,
            user_agent: request
                .headers
                .get(USER_AGENT)
                .and_then(|v| v.to_str().ok()),
        };

        // 2. Who is calling.
        let principal = match self.authenticate(&request).await {
            Ok(Authenticated::Principal(principal)) => principal,
            Ok(Authenticated::Refused {
                reason,
                detail,
                kind,
            }) => {
                let event = context.event(kind).with_reason(reason).with_detail(detail);
                config.sink.record(&event);
                return Err(self.credentials_refused(reason, message.as_ref()));
            }
            Err(bad_header) => {
                let event = context
                    .event(AuthEventKind::AuthFailed)
                    .with_reason(FailureReason::Malformed)
                    .with_detail(bad_header);
                config.sink.record(&event);
                let challenge = self.challenge(BearerChallenge::invalid_request());
                let mut response = GateResponse::refusal(
                    StatusCode::BAD_REQUEST,
                    message.as_ref(),
                    codes::UNAUTHORIZED,
                    "Malformed credentials",
                    "invalid_request",
                );
                response.headers.insert(WWW_AUTHENTICATE, challenge);
                return Err(response);
            }
        };

        // 3. May it make these calls?
        self.authorize(&principal, &requirements, message.as_ref(), &context)?;

        // 4. How fast?
        if let Some(limiter) = &config.limiter {
            for requirement in &requirements {
                let key = RateLimitKey::new(&principal, requirement.rate_limit_class());
                let decision = match limiter.check_now(&key) {
                    Some(decision) => decision,
                    None => limiter.check(&key).await,
                };
                if let RateDecision::Limited { .. } = decision {
                    let retry = decision.retry_after_secs().unwrap_or(1);
                    let event = context
                        .event(AuthEventKind::RateLimited)
                        .with_principal(principal.label())
                        .with_detail(format!(
                            "class {}, retry after {retry} s",
                            requirement.rate_limit_class()
                        ));
                    config.sink.record(&event);
                    let mut response = GateResponse::refusal(
                        StatusCode::TOO_MANY_REQUESTS,
                        message.as_ref(),
                        codes::RATE_LIMITED,
                        "Rate limit exceeded",
                        "rate_limited",
                    );
                    response
                        .headers
                        .insert(RETRY_AFTER, HeaderValue::from(retry));
                    return Err(response);
                }
            }
        }

        let used = match principal.mode() {
            AuthMode::ApiToken => Some(AuthEventKind::TokenUsed),
            AuthMode::OAuth => Some(AuthEventKind::OAuthAccepted),
            _ => None,
        };
        if let Some(kind) = used
            && config.sink.wants(kind)
        {
            config
                .sink
                .record(&context.event(kind).with_principal(principal.label()));
        }
        Ok(Admission { principal, message })
    }

    /// Peeks the body and checks the `Mcp-Method` / `Mcp-Name` fields against it.
    fn read_message(&self, request: GateRequest<'_>, body: &[u8]) -> Result<Message, GateResponse> {
        if body.len() > self.inner.max_body_bytes {
            return Err(self.too_large(request.headers));
        }
        let message = peek(body, &self.inner.peek_limits).map_err(|error| {
            tracing::debug!(target: "mcp_auth", %error, "refused a JSON-RPC body");
            GateResponse::json_rpc_error(
                StatusCode::BAD_REQUEST,
                None,
                error.code(),
                error.public_message(),
            )
        })?;
        let header = |name: &str| request.headers.get(name).map(HeaderValue::as_bytes);
        check_message_headers(&message, header("mcp-method"), header("mcp-name")).map_err(
            |mismatch| {
                GateResponse::refusal(
                    StatusCode::BAD_REQUEST,
                    Some(&message),
                    HEADER_MISMATCH,
                    &mismatch.to_string(),
                    "invalid_request",
                )
            },
        )?;
        Ok(message)
    }

    /// The requirement of each call (of a `GET` or `DELETE`: one). A call the map does not
    /// list refuses the whole request.
    fn requirements(
        &self,
        method: &Method,
        message: Option<&Message>,
    ) -> Result<Vec<&ToolRequirement>, GateResponse> {
        let map = &self.inner.tool_map;
        let not_allowed = || {
            let mut response = GateResponse::refusal(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                crate::jsonrpc::METHOD_NOT_FOUND,
                "Method not allowed",
                "invalid_request",
            );
            response.headers.insert(
                http::header::ALLOW,
                HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
            );
            response
        };
        match message {
            Some(message) => message
                .calls()
                .iter()
                .map(|call| map.requirement_for(call))
                .collect::<Result<Vec<_>, Unlisted>>()
                .map_err(|unlisted| {
                    // With a request in the body the answer is JSON-RPC errors (HTTP 200);
                    // notifications and responses alone get no JSON-RPC answer: 400.
                    let has_request = message
                        .calls()
                        .iter()
                        .any(|c| c.kind() == CallKind::Request);
                    let status = if has_request {
                        StatusCode::OK
                    } else {
                        StatusCode::BAD_REQUEST
                    };
                    let text = match unlisted {
                        Unlisted::UnknownTool => "Unknown tool",
                        Unlisted::Response => "Client responses are not accepted",
                        _ => "Method not found",
                    };
                    GateResponse::refusal(
                        status,
                        Some(message),
                        unlisted.code(),
                        text,
                        "invalid_request",
                    )
                }),
            None if *method == Method::GET => map
                .requirement_for_get()
                .map(|r| vec![r])
                .map_err(|_| not_allowed()),
            None if *method == Method::DELETE => map
                .requirement_for_delete()
                .map(|r| vec![r])
                .map_err(|_| not_allowed()),
            None => Err(not_allowed()),
        }
    }

    /// Reads and verifies the credentials. `Err` is a malformed header (for the log).
    async fn authenticate(&self, request: &GateRequest<'_>) -> Result<Authenticated, String> {
        let config = &*self.inner;
        let anonymous = || {
            Authenticated::Principal(Principal::Anonymous {
                ip: request.client_ip,
            })
        };
        if let Some(token) = bearer_token(request.headers).map_err(|e| e.to_string())? {
            return Ok(self.bearer(token).await);
        }
        if let Some(verifier) = &config.cf_access
            && let Some(token) = cf_access_jwt(request.headers).map_err(|e| e.to_string())?
        {
            return Ok(verify_jwt(verifier, token.as_str()).await);
        }
        Ok(anonymous())
    }

    /// An `Authorization: Bearer` token: an API token when it has the configured prefix,
    /// otherwise a JWT.
    async fn bearer(&self, token: BearerToken<'_>) -> Authenticated {
        let config = &*self.inner;
        if let Some(tokens) = &config.tokens
            && tokens.looks_like_token(token.as_str())
        {
            return match tokens.authenticate(token.as_str()).await {
                Ok(grant) => {
                    Authenticated::Principal(grant.to_principal(config.tool_map.hierarchy()))
                }
                Err(refusal) => Authenticated::Refused {
                    reason: refusal.reason(),
                    detail: refusal.detail(),
                    kind: AuthEventKind::AuthFailed,
                },
            };
        }
        match &config.oauth {
            Some(verifier) if token.is_jwt_shaped() => verify_jwt(verifier, token.as_str()).await,
            _ => Authenticated::Refused {
                reason: FailureReason::Unknown,
                detail: "a bearer token of no configured kind".to_owned(),
                kind: AuthEventKind::AuthFailed,
            },
        }
    }

    /// Checks each call's modes and scopes.
    fn authorize(
        &self,
        principal: &Principal,
        requirements: &[&ToolRequirement],
        message: Option<&Message>,
        context: &Context<'_>,
    ) -> Result<(), GateResponse> {
        let config = &*self.inner;
        let hierarchy = config.tool_map.hierarchy();
        let granted = principal.scopes();
        let mode = principal.mode();
        // Every scope the refused calls need, for the challenge.
        let mut needed = Scopes::empty();
        let mut failure: Option<(FailureReason, String)> = None;
        for requirement in requirements {
            // A call open to anonymous callers is open to authenticated ones too.
            let scopes = requirement
                .scopes_for(mode)
                .or_else(|| requirement.scopes_for(AuthMode::Anonymous));
            match scopes {
                Some(scopes) if hierarchy.satisfies(&granted, scopes) => {}
                Some(scopes) => {
                    let missing = hierarchy.missing(&granted, scopes);
                    needed = needed.union(scopes);
                    failure.get_or_insert((
                        FailureReason::MissingScope,
                        format!("missing scope {missing}"),
                    ));
                }
                None => {
                    needed = needed.union(requirement.all_scopes());
                    let (reason, detail) = if mode == AuthMode::Anonymous {
                        (FailureReason::Missing, "credentials required".to_owned())
                    } else {
                        (
                            FailureReason::ModeNotAccepted,
                            format!("{mode} credentials not accepted"),
                        )
                    };
                    failure.get_or_insert((reason, detail));
                }
            }
        }
        let Some((reason, detail)) = failure else {
            return Ok(());
        };
        let mut event = context
            .event(AuthEventKind::AuthFailed)
            .with_reason(reason)
            .with_detail(detail);
        if mode != AuthMode::Anonymous {
            event = event.with_principal(principal.label());
        }
        config.sink.record(&event);

        let (status, challenge, code, text) = if reason == FailureReason::Missing {
            let mut challenge = BearerChallenge::new();
            if !needed.is_empty() {
                challenge = challenge.scopes(&needed);
            }
            (
                StatusCode::UNAUTHORIZED,
                challenge,
                codes::UNAUTHORIZED,
                "Authentication required",
            )
        } else {
            (
                StatusCode::FORBIDDEN,
                BearerChallenge::insufficient_scope(&needed),
                codes::FORBIDDEN,
                "Insufficient scope",
            )
        };
        let challenge = self.challenge(challenge);
        if config.challenge_in_tool_result
            && let Some(Message::Single(call)) = message
            && call.kind() == CallKind::Request
            && call.tool_name().is_some()
            && let Some(id) = call.id()
        {
            let mut response =
                GateResponse::tool_result_challenge(id, text, challenge.to_str().unwrap_or(""));
            response.headers.insert(WWW_AUTHENTICATE, challenge);
            return Err(response);
        }
        let oauth_error = if status == StatusCode::FORBIDDEN {
            "insufficient_scope"
        } else {
            "unauthorized"
        };
        let mut response = GateResponse::refusal(status, message, code, text, oauth_error);
        response.headers.insert(WWW_AUTHENTICATE, challenge);
        Err(response)
    }

    /// The answer to refused credentials: `503` when the store or key set is unreachable
    /// (fail closed), else `401` `invalid_token`.
    fn credentials_refused(
        &self,
        reason: FailureReason,
        message: Option<&Message>,
    ) -> GateResponse {
        if reason == FailureReason::StoreUnavailable {
            return GateResponse::refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                message,
                codes::UNAVAILABLE,
                "Credentials cannot be checked right now",
                "temporarily_unavailable",
            );
        }
        let description = match reason {
            FailureReason::Expired => "The token expired",
            FailureReason::Revoked => "The token was revoked",
            _ => "The token is not valid",
        };
        let challenge =
            self.challenge(BearerChallenge::invalid_token().error_description(description));
        let mut response = GateResponse::refusal(
            StatusCode::UNAUTHORIZED,
            message,
            codes::UNAUTHORIZED,
            description,
            "invalid_token",
        );
        response.headers.insert(WWW_AUTHENTICATE, challenge);
        response
    }

    /// Adds the configured realm and `resource_metadata` to a challenge.
    fn challenge(&self, mut challenge: BearerChallenge) -> HeaderValue {
        if let Some(realm) = &self.inner.realm {
            challenge = challenge.realm(realm);
        }
        if let Some(url) = &self.inner.resource_metadata {
            challenge = challenge.resource_metadata(url);
        }
        challenge.to_header_value()
    }
}

/// Verifies a JWT: without a future when the keys are at hand.
async fn verify_jwt(verifier: &JwtVerifier, token: &str) -> Authenticated {
    let result = match verifier.verify_with_current_keys(token) {
        SyncVerification::Verified(verified) => Ok(verified),
        SyncVerification::Refused(refusal) => Err(refusal),
        _ => verifier.verify(token).await,
    };
    match result {
        Ok(verified) => Authenticated::Principal(verified.principal),
        Err(refusal) => Authenticated::Refused {
            reason: refusal.reason(),
            detail: refusal.detail().to_owned(),
            kind: AuthEventKind::OAuthRefused,
        },
    }
}
