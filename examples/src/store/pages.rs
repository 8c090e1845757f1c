//! The store's public pages: `/products/<slug>` (HTML) and `/api/products` (JSON), behind
//! `bot-policy`. Each tells the visitor what the layers found out about it (classification and
//! decision), which is what a demo is for.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use bot_policy::layer::{PolicyDecision, RequestClassification};
use serde_json::{Value, json};
use web_bot_auth::profile::Outcome;

use super::catalogue::Shop;

/// What the layers in front said about the visitor, as JSON.
pub fn visitor(request: &Request) -> Value {
    let extensions = request.extensions();
    let classification = extensions.get::<RequestClassification>();
    let decision = extensions.get::<PolicyDecision>();
    let signature = extensions.get::<Outcome>().map_or("none", Outcome::kind);
    json!({
        "bot": classification.and_then(|c| c.bot()).map(|b| json!({
            "name": b.name, "operator": b.operator, "category": b.category,
        })),
        "automation": classification.and_then(|c| c.automation()),
        "verified_by": classification.and_then(|c| c.verified_by()),
        "signature": signature,
        "signature_agent": classification.and_then(|c| c.signature_agent()),
        "spoofed": classification.map(|c| c.spoofed()),
        "score": classification.map(|c| c.score()),
        "decision": decision.map(|d| d.verdict().name()),
        "rule": decision.and_then(|d| d.rule()),
    })
}

/// `GET /api/products`: the catalogue as JSON, with what the store knows of the caller.
pub async fn api_products(State(shop): State<Shop>, request: Request) -> Response {
    Json(json!({
        "products": shop.list(None),
        "visitor": visitor(&request),
    }))
    .into_response()
}

/// `GET /products/<slug>`: one product as an HTML page.
pub async fn product_page(
    State(shop): State<Shop>,
    Path(slug): Path<String>,
    request: Request,
) -> Response {
    let Some(product) = shop.product(&slug) else {
        return (StatusCode::NOT_FOUND, Html("<h1>Not found</h1>\n")).into_response();
    };
    let visitor = visitor(&request);
    let page = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{name}</title></head>\n\
         <body><h1>{name}</h1>\n<p>{description}</p>\n<p>EUR {euros}.{cents:02}</p>\n\
         <pre id=\"visitor\">{visitor}</pre>\n</body></html>\n",
        name = escape(product.name),
        description = escape(product.description),
        euros = product.price_cents / 100,
        cents = product.price_cents % 100,
        visitor = escape(&visitor.to_string()),
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// `GET /`: where to go from here.
pub async fn index() -> Html<&'static str> {
    Html(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>agent-trust store</title></head>\n\
         <body><h1>agent-trust store</h1><ul>\n\
         <li>MCP (Streamable HTTP): <code>POST /mcp</code></li>\n\
         <li><a href=\"/api/products\">/api/products</a> (JSON)</li>\n\
         <li><a href=\"/products/scale\">/products/scale</a> (HTML; AI crawlers pay per crawl)</li>\n\
         <li><a href=\"/.well-known/oauth-protected-resource/mcp\">protected resource metadata</a></li>\n\
         <li><a href=\"/.well-known/http-message-signatures-directory\">the store's Web Bot Auth key directory</a></li>\n\
         </ul></body></html>\n",
    )
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}
