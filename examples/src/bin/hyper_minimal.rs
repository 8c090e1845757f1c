//! `mcp-auth` alone in front of a plain hyper server, no framework: the store's `rmcp` MCP
//! server behind `McpAuthLayer`, with an in-memory API token store and per-IP limits for
//! anonymous callers.
//!
//! ```sh
//! cargo run -p examples --bin hyper_minimal                      # 127.0.0.1:8081
//! cargo run -p examples --bin hyper_minimal -- --addr 127.0.0.1:0
//! ```
//!
//! On start it prints `listening <addr>`, the API token it issued (scope `inventory:read`), and
//! `curl` commands for an anonymous call, a call with the token, and one refused without it.

use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use examples::store::catalogue::Shop;
use examples::store::mcp::mcp_service;
use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use mcp_auth::gate::AuthGate;
use mcp_auth::layer::McpAuthLayer;
use mcp_auth::ratelimit::{RateLimiter, RateLimits};
use mcp_auth::scope::Scopes;
use mcp_auth::token::{ApiTokens, MemoryTokenStore, TokenTtl};
use mcp_auth::toolmap::{Require, ToolMap};
use rmcp::transport::streamable_http_server::StreamableHttpServerConfig;
use tokio::net::TcpListener;
use tower::{Layer, ServiceExt};

type BoxError = Box<dyn Error + Send + Sync>;

#[derive(Debug, Parser)]
#[command(about = "mcp-auth alone in front of a plain hyper MCP server")]
struct Cli {
    /// Where to listen (port 0: any free port, printed on the `listening` line).
    #[arg(long, default_value = "127.0.0.1:8081")]
    addr: SocketAddr,
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();

    // What each call needs (the builder form; the store uses the TOML form).
    // Anyone (and so anyone with a valid token too).
    let open = Require::anonymous;
    let tools = ToolMap::builder()
        .method("initialize", open())
        .method("ping", open())
        .method("tools/list", open())
        .method("notifications/*", open())
        .tool("catalogue.list", open().class("catalogue.read"))
        .tool("product.detail", open().class("catalogue.read"))
        .tool(
            "inventory.check",
            Require::api_token(["inventory:read"]).class("inventory.read"),
        )
        .build()?;
    let tokens = ApiTokens::new(Arc::new(MemoryTokenStore::new()));
    let (token, _) = tokens
        .issue(
            "partner",
            Scopes::parse("inventory:read")?,
            TokenTtl::Default,
        )
        .await?;
    let gate = AuthGate::builder(tools)
        .api_tokens(tokens)
        .rate_limiter(RateLimiter::in_memory(RateLimits::default()))
        .build();

    // The MCP server (any tower service of `http` requests would do), behind the layer.
    let mcp = mcp_service(
        Shop::new(),
        Vec::new(),
        StreamableHttpServerConfig::default(),
    );
    let service = McpAuthLayer::new(gate).layer(mcp);

    let listener = TcpListener::bind(cli.addr).await?;
    let addr = listener.local_addr()?;
    println!("listening {addr}");
    println!("API token (inventory:read): {}", token.expose_secret());
    let url = format!("http://{addr}/mcp");
    let headers =
        "-H 'content-type: application/json' -H 'accept: application/json, text/event-stream'";
    println!(
        r#"curl -s {url} {headers} -d '{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"catalogue.list","arguments":{{}}}}}}'"#
    );
    println!(
        r#"curl -s {url} {headers} -H 'authorization: Bearer {}' -d '{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"inventory.check","arguments":{{"slug":"scale"}}}}}}'"#,
        token.expose_secret()
    );
    println!(
        r#"curl -si {url} {headers} -d '{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"inventory.check","arguments":{{"slug":"scale"}}}}}}'   # 401"#
    );

    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = tokio::signal::ctrl_c() => break,
        };
        // The layer reads the client's address from the request extensions (per-IP limits).
        let service = service
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(peer);
                request
            });
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .await;
            if let Err(error) = served {
                eprintln!("connection from {peer}: {error}");
            }
        });
    }
    Ok(())
}
