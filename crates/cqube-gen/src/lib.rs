//! Deterministic synthetic exports for every catalog source
