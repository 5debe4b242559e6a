//! The tally catalog: a team's tracking plan as a TOML file, its parser and its lint rules.
//!
//! A catalog lists the events an application emits, their typed properties with a privacy
//! class each, the identity strategy that decides every event's `distinct_id`, groups,
//! common properties, categories and retention. The `#[track_event]` macro checks code
//! against it at compile time and the runtime validates dynamic events against it.
//!
//! ```
//! let catalog = tally_catalog::Catalog::parse("catalog.toml", r#"
//!     [catalog]
//!     name = "shop"
//!     version = "1.0.0"
//!
//!     [events."order.placed"]
//!     description = "A customer placed an order."
//!     trigger = "After the order is committed."
//!     properties.total_cents = { type = "integer" }
//! "#).unwrap();
//! assert!(catalog.event("order.placed").is_some());
//! assert!(catalog.lint().is_empty());
//! ```
//!
//! The model is read through methods (names as `&str`, tables as iterators in file order); the
//! parse tree behind them stays private, and the enums are `#[non_exhaustive]`:
//!
//! ```
//! use tally_catalog::model::{Fill, Privacy, PropertyType};
//!
//! let catalog = tally_catalog::Catalog::parse("catalog.toml", r#"
//!     [catalog]
//!     name = "shop"
//!     version = "1.0.0"
//!
//!     [common.request_id]
//!     type = "string"
//!     fill = "request_id"
//!
//!     [events."order.placed"]
//!     description = "A customer placed an order."
//!     properties.email = { type = "string", privacy = "pseudonymize" }
//! "#).unwrap();
//! let event = catalog.event("order.placed").unwrap();
//! let properties: Vec<&str> = catalog.properties_of(event).map(|(name, _)| name).collect();
//! assert_eq!(properties, ["request_id", "email"]);
//! assert_eq!(event.property("email").unwrap().privacy(), Privacy::Pseudonymize);
//! assert_eq!(catalog.common_property("request_id").unwrap().fill(), Some(&Fill::RequestId));
//! assert_eq!(catalog.common_property("request_id").unwrap().ty(), PropertyType::String);
//! assert_eq!(catalog.event_location("order.placed").unwrap().to_string(), "catalog.toml:10:13");
//! ```
//!
//! Errors name `file:line:col`:
//!
//! ```
//! let err = tally_catalog::Catalog::parse("catalog.toml", "[catalog]\nname = \"x\"\nversion = \"1.0.0\"\nnmespace = \"x.\"\n").unwrap_err();
//! assert_eq!(err.to_string(), "catalog.toml:4:1: error[unknown-key]: unknown field `nmespace`, expected one of `name`, `version`, `description`, `owner`, `namespace`, `naming`\n  = help: did you mean `namespace`?");
//! ```
//!
//! The format is documented key by key in
//! [docs/catalog.md](https://github.com/tally-rs/tally/blob/main/docs/catalog.md), which is also
//! the documentation of `tally::catalog` in the `tally` crate.

mod catalog;
mod diagnostic;
pub mod lint;
mod locate;
pub mod model;
pub mod naming;
mod parse;
pub mod personal;
mod schema;
mod suggest;
mod validate;

pub use catalog::Catalog;
pub use diagnostic::{CatalogError, Diagnostic, Location, Severity, Source, escape};
pub use locate::{
    CATALOG_ENV_VAR, CATALOG_FILE, CATALOG_FIX, CatalogOrigin, Located, crate_dir, locate, locate_catalog,
};
pub use schema::format_schema;
pub use suggest::closest;
