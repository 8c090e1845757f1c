//! The shop's data: an embedded, in-memory catalogue of products with their stock, and the
//! orders of a few demo users.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

/// A product of the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct Product {
    /// The URL name: `/products/<slug>`.
    pub slug: &'static str,
    /// The display name.
    pub name: &'static str,
    /// The price in cents (EUR).
    pub price_cents: u32,
    /// A sentence about it.
    pub description: &'static str,
}

/// Stock of one product in one warehouse.
#[derive(Debug, Clone, Serialize)]
pub struct Stock {
    /// The warehouse.
    pub warehouse: &'static str,
    /// Units available.
    pub units: u32,
}

/// An order, or an order intent the caller has not confirmed yet.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Order {
    /// `ord_…`.
    pub id: String,
    /// The user (`sub`) who placed it.
    pub user: String,
    /// The product ordered.
    pub slug: String,
    /// How many.
    pub quantity: u32,
    /// `shipped`, `processing` or `intent` (awaiting the user's confirmation).
    pub status: &'static str,
    /// Quantity × price, in cents.
    pub total_cents: u64,
}

const PRODUCTS: &[Product] = &[
    Product {
        slug: "espresso-grinder",
        name: "Conical burr espresso grinder",
        price_cents: 24_900,
        description: "Stepless adjustment, 58 mm burrs, quiet enough for early mornings.",
    },
    Product {
        slug: "pour-over-kettle",
        name: "Gooseneck pour-over kettle",
        price_cents: 6_900,
        description: "One litre, thermometer in the lid, a spout made for slow circles.",
    },
    Product {
        slug: "ceramic-dripper",
        name: "Ceramic dripper, size 02",
        price_cents: 2_900,
        description: "Spiral ribs and one large hole: the flow is in your hands.",
    },
    Product {
        slug: "paper-filters",
        name: "Paper filters, 100 pack",
        price_cents: 600,
        description: "Oxygen-bleached, for size 02 drippers.",
    },
    Product {
        slug: "scale",
        name: "Coffee scale with timer",
        price_cents: 4_500,
        description: "0.1 g resolution, auto-tare, USB-C.",
    },
];

const STOCK: &[(&str, &[(&str, u32)])] = &[
    ("espresso-grinder", &[("Lyon", 4), ("Rotterdam", 0)]),
    ("pour-over-kettle", &[("Lyon", 12), ("Rotterdam", 30)]),
    ("ceramic-dripper", &[("Lyon", 41), ("Rotterdam", 17)]),
    ("paper-filters", &[("Lyon", 380), ("Rotterdam", 920)]),
    ("scale", &[("Lyon", 0), ("Rotterdam", 6)]),
];

/// The catalogue and the orders, shared by the MCP tools and the pages (cheap to clone).
#[derive(Debug, Clone)]
pub struct Shop {
    orders: Arc<Mutex<Orders>>,
}

#[derive(Debug)]
struct Orders {
    by_id: BTreeMap<String, Order>,
    next: u32,
}

impl Default for Shop {
    fn default() -> Self {
        Shop::new()
    }
}

impl Shop {
    /// The embedded catalogue, with demo orders for `alice` and `bob`.
    pub fn new() -> Shop {
        let mut orders = Orders {
            by_id: BTreeMap::new(),
            next: 1001,
        };
        for (user, slug, quantity, status) in [
            ("alice", "pour-over-kettle", 1, "shipped"),
            ("alice", "paper-filters", 3, "processing"),
            ("bob", "espresso-grinder", 1, "shipped"),
        ] {
            orders.add(user, slug, quantity, status);
        }
        Shop {
            orders: Arc::new(Mutex::new(orders)),
        }
    }

    /// Every product whose slug or name contains `query` (ASCII case-insensitive), or all.
    pub fn list(&self, query: Option<&str>) -> Vec<&'static Product> {
        let query = query.map(str::to_ascii_lowercase);
        PRODUCTS
            .iter()
            .filter(|p| {
                query
                    .as_deref()
                    .is_none_or(|q| p.slug.contains(q) || p.name.to_ascii_lowercase().contains(q))
            })
            .collect()
    }

    /// The product `slug`.
    pub fn product(&self, slug: &str) -> Option<&'static Product> {
        PRODUCTS.iter().find(|p| p.slug == slug)
    }

    /// The stock of `slug` per warehouse.
    pub fn stock(&self, slug: &str) -> Option<Vec<Stock>> {
        STOCK.iter().find(|(s, _)| *s == slug).map(|(_, stock)| {
            stock
                .iter()
                .map(|&(warehouse, units)| Stock { warehouse, units })
                .collect()
        })
    }

    /// The orders of `user`, oldest first; only `order_id` when given.
    pub fn orders_of(&self, user: &str, order_id: Option<&str>) -> Vec<Order> {
        let orders = self.orders.lock().unwrap_or_else(PoisonError::into_inner);
        orders
            .by_id
            .values()
            .filter(|o| o.user == user && order_id.is_none_or(|id| o.id == id))
            .cloned()
            .collect()
    }

    /// Records an order intent of `user` for `quantity` × `slug` (the user confirms it
    /// elsewhere). `None` for an unknown product.
    pub fn order_intent(&self, user: &str, slug: &str, quantity: u32) -> Option<Order> {
        self.product(slug)?;
        let mut orders = self.orders.lock().unwrap_or_else(PoisonError::into_inner);
        Some(orders.add(user, slug, quantity, "intent"))
    }
}

impl Orders {
    fn add(&mut self, user: &str, slug: &str, quantity: u32, status: &'static str) -> Order {
        let price = PRODUCTS
            .iter()
            .find(|p| p.slug == slug)
            .map_or(0, |p| u64::from(p.price_cents));
        let order = Order {
            id: format!("ord_{}", self.next),
            user: user.to_owned(),
            slug: slug.to_owned(),
            quantity,
            status,
            total_cents: price * u64::from(quantity),
        };
        self.next += 1;
        self.by_id.insert(order.id.clone(), order.clone());
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_per_user() {
        let shop = Shop::new();
        assert_eq!(shop.orders_of("alice", None).len(), 2);
        assert_eq!(shop.orders_of("bob", None).len(), 1);
        let bobs = shop.orders_of("bob", None)[0].id.clone();
        assert!(shop.orders_of("alice", Some(&bobs)).is_empty());
        let intent = shop.order_intent("alice", "scale", 2).unwrap();
        assert_eq!(intent.total_cents, 9_000);
        assert_eq!(shop.orders_of("alice", None).len(), 3);
        assert!(shop.order_intent("alice", "nothing", 1).is_none());
    }

    #[test]
    fn search_and_stock() {
        let shop = Shop::new();
        assert_eq!(shop.list(Some("KETTLE")).len(), 1);
        assert_eq!(shop.list(None).len(), PRODUCTS.len());
        assert_eq!(shop.stock("scale").unwrap()[1].units, 6);
        assert!(shop.stock("nothing").is_none());
    }
}
