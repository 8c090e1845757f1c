//! The shop's MCP server, built with `rmcp`'s tool macros and served over Streamable HTTP.
//!
//! The tools do no authentication of their own: `mcp-auth`'s layer in front of the endpoint
//! checked the caller against the tool map and put the [`Principal`] in the request extensions;
//! `rmcp` hands the request's `http::request::Parts` to a tool through
//! [`Extension`], and the order tools read the user
//! from there.

use std::sync::Arc;

use mcp_auth::Principal;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;

use super::catalogue::Shop;

/// The tool names, as the tool map lists them.
pub mod tools {
    /// Lists the catalogue (anonymous).
    pub const CATALOGUE_LIST: &str = "catalogue.list";
    /// One product (anonymous).
    pub const PRODUCT_DETAIL: &str = "product.detail";
    /// Stock per warehouse (API token, `inventory:read`).
    pub const INVENTORY_CHECK: &str = "inventory.check";
    /// The caller's orders (OAuth, `orders:read`).
    pub const ORDER_STATUS: &str = "order.status";
    /// A new order intent for the caller (OAuth, `orders:write`).
    pub const ORDER_INTENT: &str = "order.intent";
}

/// Arguments of `catalogue.list`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ListArgs {
    /// Only products whose name or slug contains this text.
    #[serde(default)]
    pub query: Option<String>,
}

/// Arguments of `product.detail` and `inventory.check`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ProductArgs {
    /// The product's slug, as `catalogue.list` gives it.
    pub slug: String,
}

/// Arguments of `order.status`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct StatusArgs {
    /// One order (`ord_…`); all of the caller's orders when absent.
    #[serde(default)]
    pub order_id: Option<String>,
}

/// Arguments of `order.intent`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct IntentArgs {
    /// The product's slug.
    pub slug: String,
    /// How many (1 to 20).
    pub quantity: u32,
}

/// The MCP server of the shop: five tools over the shared [`Shop`].
#[derive(Debug, Clone)]
pub struct ShopServer {
    shop: Shop,
    tool_router: ToolRouter<ShopServer>,
}

impl ShopServer {
    /// A server over `shop`.
    pub fn new(shop: Shop) -> ShopServer {
        ShopServer {
            shop,
            tool_router: Self::tool_router(),
        }
    }
}

/// A tool result holding `value` as JSON text.
fn json_result(value: &impl serde::Serialize) -> Result<CallToolResult, ErrorData> {
    let text = serde_json::to_string(value)
        .map_err(|e| ErrorData::internal_error(format!("serializing the result: {e}"), None))?;
    Ok(CallToolResult::success(vec![ContentBlock::text(text)]))
}

/// A tool's own failure: a result with `isError: true`, as MCP wants.
fn tool_error(message: &str) -> Result<CallToolResult, ErrorData> {
    Ok(CallToolResult::error(vec![ContentBlock::text(
        message.to_owned(),
    )]))
}

/// The OAuth user `mcp-auth` authenticated, from the request parts `rmcp` passes on.
fn oauth_user(parts: &http::request::Parts) -> Option<Arc<str>> {
    match parts.extensions.get::<Principal>() {
        Some(Principal::OAuth { sub, .. }) => Some(Arc::clone(sub)),
        _ => None,
    }
}

#[tool_router]
impl ShopServer {
    /// `catalogue.list`.
    #[tool(
        name = "catalogue.list",
        description = "List the shop's products (slug, name, price in cents), optionally filtered by a search text."
    )]
    async fn catalogue_list(
        &self,
        Parameters(args): Parameters<ListArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        json_result(&self.shop.list(args.query.as_deref()))
    }

    /// `product.detail`.
    #[tool(
        name = "product.detail",
        description = "One product's details by slug."
    )]
    async fn product_detail(
        &self,
        Parameters(args): Parameters<ProductArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        match self.shop.product(&args.slug) {
            Some(product) => json_result(product),
            None => tool_error("no such product"),
        }
    }

    /// `inventory.check`.
    #[tool(
        name = "inventory.check",
        description = "Units in stock per warehouse for a product (partners, API token with inventory:read)."
    )]
    async fn inventory_check(
        &self,
        Parameters(args): Parameters<ProductArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        match self.shop.stock(&args.slug) {
            Some(stock) => json_result(&stock),
            None => tool_error("no such product"),
        }
    }

    /// `order.status`: only the caller's orders.
    #[tool(
        name = "order.status",
        description = "The signed-in user's orders, or one of them by id (OAuth, orders:read)."
    )]
    async fn order_status(
        &self,
        Extension(parts): Extension<http::request::Parts>,
        Parameters(args): Parameters<StatusArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let Some(user) = oauth_user(&parts) else {
            return tool_error("this tool needs a signed-in user");
        };
        let orders = self.shop.orders_of(&user, args.order_id.as_deref());
        if args.order_id.is_some() && orders.is_empty() {
            // Another user's order looks exactly like one that does not exist.
            return tool_error("no such order");
        }
        json_result(&orders)
    }

    /// `order.intent`: records an order intent for the caller.
    #[tool(
        name = "order.intent",
        description = "Prepare an order for the signed-in user, who confirms it in the shop (OAuth, orders:write)."
    )]
    async fn order_intent(
        &self,
        Extension(parts): Extension<http::request::Parts>,
        Parameters(args): Parameters<IntentArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let Some(user) = oauth_user(&parts) else {
            return tool_error("this tool needs a signed-in user");
        };
        if !(1..=20).contains(&args.quantity) {
            return tool_error("quantity must be between 1 and 20");
        }
        match self.shop.order_intent(&user, &args.slug, args.quantity) {
            Some(order) => json_result(&order),
            None => tool_error("no such product"),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for ShopServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_instructions(
            "A coffee-gear shop: browse the catalogue anonymously; partners check stock with an \
             API token; signed-in users see their orders and prepare new ones.",
        )
    }
}

/// The Streamable HTTP service of `shop`, to mount at `/mcp`: stateless (no sessions, so any
/// instance can answer any request) with plain JSON responses. `allowed_hosts` are the `Host`
/// values accepted (DNS-rebinding protection); empty accepts any.
pub fn mcp_service(
    shop: Shop,
    allowed_hosts: Vec<String>,
    config: StreamableHttpServerConfig,
) -> StreamableHttpService<ShopServer, LocalSessionManager> {
    let config = config
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None);
    let config = if allowed_hosts.is_empty() {
        config.disable_allowed_hosts()
    } else {
        config.with_allowed_hosts(allowed_hosts)
    };
    StreamableHttpService::new(
        move || Ok(ShopServer::new(shop.clone())),
        Arc::default(),
        config,
    )
}
