//! The daemon's control plane: a Unix socket speaking versioned JSON lines (`proto`), served
//! inside every running router (`server`) and used by `bitrouter start/stop/status/reload/
//! restart/route` and the TUI (`client`; `subscribe` streams request events).

pub mod client;
mod human;
pub mod proto;
pub(crate) mod server;

pub use server::ControlError;
