//! Every shape of function `#[tally::track_event]` accepts, compiled with `#![deny(warnings)]`
//! and `clippy::pedantic` denied: an expansion must never make the user's code warn (`.ci/run`
//! runs clippy on the workspace, this crate included). [`grpc`] is a tonic service whose
//! methods are annotated inside `#[tonic::async_trait]`; `tests/grpc.rs` serves it on
//! loopback and checks which events arrive, and when.
//!
//! The catalog is tally-macros' compile-test catalog, `macros/tests/ui/catalog.toml`.

#![deny(warnings)]
#![deny(clippy::pedantic)]

pub mod grpc;
pub mod shapes;
