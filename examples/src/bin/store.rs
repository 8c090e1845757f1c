//! The agent-ready store: an MCP server (rmcp) and a small shop behind all three crates.
//!
//! ```sh
//! cargo run -p examples --bin store                       # serve on 127.0.0.1:8080
//! cargo run -p examples --bin store -- token --sub bob --scopes "orders:read" --ttl 600
//! cargo run -p examples --bin store -- api-token --scopes "inventory:read" --principal acme
//! cargo run -p examples --bin store -- revoke tok_…
//! ```
//!
//! On start it prints `listening <addr>`, one `demo-credentials {json}` line, and `curl`
//! commands for each case. Logs go to stderr (`RUST_LOG`, default `info`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use examples::store::{
    Admin, DEFAULT_AUTH_SERVER, DemoCredentials, StoreConfig, StoreError, scaled_limits,
    start_with_shutdown,
};
use mcp_auth::clock::{Clock, SystemClock};
use mcp_auth::scope::Scopes;
use mcp_auth::token::{TokenId, TokenTtl};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    about = "The agent-trust demo store: MCP tools and pages behind web-bot-auth, bot-policy and mcp-auth"
)]
struct Cli {
    /// Where to listen (port 0: any free port, printed on the `listening` line).
    #[arg(long, default_value = "127.0.0.1:8080", global = true)]
    addr: SocketAddr,
    /// Keys and the token file.
    #[arg(long, default_value = "./.store-data", global = true)]
    data_dir: PathBuf,
    /// The URL clients use (default `http://<addr>`); the MCP resource is this plus `/mcp`.
    #[arg(long, global = true)]
    public_url: Option<String>,
    /// The authorization server named in the protected resource metadata (and the `iss` of
    /// development tokens).
    #[arg(long, default_value = DEFAULT_AUTH_SERVER, global = true)]
    auth_server: String,
    /// Serve the same routes without any layer (for load comparisons only).
    #[arg(long)]
    no_layers: bool,
    /// Keep API tokens, rate-limit budgets and replay nonces in Redis (`redis://host:port/db`),
    /// shared by every instance.
    #[cfg(feature = "redis")]
    #[arg(long, global = true)]
    redis: Option<String>,
    /// Multiply every rate-limit quota by this (load tests: checked, not reached).
    #[arg(long, default_value_t = 1)]
    rate_limit_scale: u32,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Mints an OAuth access token (a JWT) with the development key.
    Token {
        /// The user (`sub`).
        #[arg(long)]
        sub: String,
        /// Space-separated scopes.
        #[arg(long)]
        scopes: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
    /// Issues an API token into the token file and prints it (once).
    ApiToken {
        /// Space-separated scopes.
        #[arg(long)]
        scopes: String,
        /// Whom it is for.
        #[arg(long)]
        principal: String,
        /// Lifetime in seconds (default 90 days).
        #[arg(long)]
        ttl: Option<u64>,
    },
    /// Revokes an API token by its id (`tok_…`); the running store refuses it at once.
    Revoke {
        /// The token id.
        id: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("store: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), StoreError> {
    let mut config = StoreConfig::new(cli.addr, cli.data_dir);
    config.public_url = cli.public_url;
    config.auth_server = cli.auth_server;
    #[cfg(feature = "redis")]
    if let Some(url) = cli.redis {
        config.state = examples::store::StateBackend::Redis { url };
    }
    if cli.rate_limit_scale > 1 {
        config.rate_limits = scaled_limits(&config.rate_limits, cli.rate_limit_scale);
    }
    if cli.no_layers {
        config.layers = examples::store::Layers::None;
    }
    let public_url = config.public_url_for(cli.addr);
    match cli.command {
        None => serve(config).await,
        Some(Command::Token { sub, scopes, ttl }) => {
            let admin = Admin::open(&config, &public_url).await?;
            Scopes::parse(&scopes).map_err(|e| StoreError::Config(e.to_string()))?;
            let token = admin.authority.mint(
                &sub,
                &scopes,
                SystemClock.now_unix(),
                Duration::from_secs(ttl),
            )?;
            println!("{token}");
            Ok(())
        }
        Some(Command::ApiToken {
            scopes,
            principal,
            ttl,
        }) => {
            let admin = Admin::open(&config, &public_url).await?;
            let scopes = Scopes::parse(&scopes).map_err(|e| StoreError::Config(e.to_string()))?;
            let ttl = ttl.map_or(TokenTtl::Default, |s| TokenTtl::For(Duration::from_secs(s)));
            let (token, record) = admin
                .tokens
                .issue(&principal, scopes, ttl)
                .await
                .map_err(|e| StoreError::Tokens(e.to_string()))?;
            eprintln!("issued {} to {principal} (shown once)", record.id);
            println!("{}", token.expose_secret());
            Ok(())
        }
        Some(Command::Revoke { id }) => {
            let admin = Admin::open(&config, &public_url).await?;
            let id = TokenId::parse(&id).map_err(|e| StoreError::Tokens(e.to_string()))?;
            let record = admin
                .tokens
                .revoke(&id)
                .await
                .map_err(|e| StoreError::Tokens(e.to_string()))?;
            println!("revoked {}", record.id);
            Ok(())
        }
    }
}

async fn serve(config: StoreConfig) -> Result<(), StoreError> {
    let ctrl_c = async {
        // If the handler cannot be installed, the store runs until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let store = start_with_shutdown(config, ctrl_c).await?;
    println!("listening {}", store.addr());
    let credentials = store.credentials();
    let json = serde_json::to_string(credentials).map_err(|e| StoreError::Config(e.to_string()))?;
    println!("demo-credentials {json}");
    print_curls(credentials);
    store.wait().await
}

fn print_curls(c: &DemoCredentials) {
    let mcp = &c.mcp_url;
    let base = mcp.trim_end_matches("/mcp");
    let call = |tool: &str, args: &str| {
        format!(
            r#"'{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{args}}}}}'"#
        )
    };
    let headers =
        "-H 'content-type: application/json' -H 'accept: application/json, text/event-stream'";
    println!();
    println!("# list the tools (anonymous)");
    println!(r#"curl -s {mcp} {headers} -d '{{"jsonrpc":"2.0","id":1,"method":"tools/list"}}'"#);
    println!("# anonymous tool call");
    println!(
        "curl -s {mcp} {headers} -d {}",
        call("catalogue.list", "{}")
    );
    println!("# API token (inventory:read)");
    println!(
        "curl -s {mcp} {headers} -H 'authorization: Bearer {}' -d {}",
        c.api_token,
        call("inventory.check", r#"{"slug":"scale"}"#)
    );
    println!("# OAuth, orders:read: only alice's orders");
    println!(
        "curl -s {mcp} {headers} -H 'authorization: Bearer {}' -d {}",
        c.oauth_token_read,
        call("order.status", "{}")
    );
    println!("# OAuth, orders:write");
    println!(
        "curl -s {mcp} {headers} -H 'authorization: Bearer {}' -d {}",
        c.oauth_token_write,
        call("order.intent", r#"{"slug":"scale","quantity":1}"#)
    );
    println!("# refused: no credentials for an OAuth tool (401 + WWW-Authenticate)");
    println!("curl -si {mcp} {headers} -d {}", call("order.status", "{}"));
    println!("# refused: a read-only token places an order (403 insufficient_scope)");
    println!(
        "curl -si {mcp} {headers} -H 'authorization: Bearer {}' -d {}",
        c.oauth_token_read,
        call("order.intent", r#"{"slug":"scale","quantity":1}"#)
    );
    println!("# protected resource metadata (RFC 9728)");
    println!("curl -s {base}/.well-known/oauth-protected-resource/mcp");
    println!("# a browser reads a product page; a spoofed GPTBot is blocked; curl is challenged");
    println!(
        "curl -si {base}/products/scale -H 'user-agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36' -H 'accept: text/html' -H 'accept-language: en'"
    );
    println!(
        "curl -si {base}/products/scale -H 'user-agent: Mozilla/5.0 (compatible; GPTBot/1.2; +https://openai.com/gptbot)'"
    );
    println!("curl -si {base}/products/scale");
    println!("# a signed crawler pays per crawl (Web Bot Auth)");
    println!(
        "cargo run -p examples --bin signing_client -- --store {base} --key {}",
        c.crawler_key_path
    );
    println!("# the store's own key directory");
    println!("curl -s {base}/.well-known/http-message-signatures-directory");
    println!();
}
