//! Decoding, header mapping and value normalization for cQube exports: pure functions
