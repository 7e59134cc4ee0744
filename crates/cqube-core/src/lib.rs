//! The cQube data-source catalog and the small types every pipeline stage shares.
//!
//! No I/O and no async: the catalog is compiled in (`catalog/datasources.json`, copied verbatim from
//! cQube's sources, plus `catalog/checks.json`, our value checks) and user overrides arrive as text.

pub mod calendar;
mod catalog;
mod check;
mod infer;
mod names;
mod order;
mod reference;

pub use catalog::{Catalog, Column, ColumnType, DataSource, Error, IntWidth};
pub use check::{Check, Rule, Severity};
pub use infer::{Candidate, InferError, InferredBy};
pub use names::canonical_name;
pub use order::{OrderError, emission_order};
pub use reference::{Reference, ReferenceRule};
