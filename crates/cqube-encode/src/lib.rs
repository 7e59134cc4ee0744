//! Pipe-delimited CSV writing that cQube's reader reads back exactly
