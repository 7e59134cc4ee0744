//! cqube-emit's settings: the config file (`cqube-emit.toml`), the `CQUBE_EMIT_*` environment and the flags
//! resolved in one place, each value with its origin (built-in default < config file < env < flag).
//!
//! The binary parses flags with clap and hands them over as plain `*Flags` structs; nothing here parses argv, prints
//! or exits. Errors are returned: the binary decides their exit status.

pub mod config;
mod resolve;
pub mod show;

pub use resolve::*;
