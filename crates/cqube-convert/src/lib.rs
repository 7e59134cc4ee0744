//! The streaming conversion engine: raw export in, cQube-ready zip out
