//! Integration tests: the public API used the way the conversion engine uses it.

mod pipeline;
mod props;
