//! Integration tests of the emission API against the embedded store, moto_server and SeaweedFS.

// Object keys are ours and exact: `.zip` is never `.ZIP`.
#![allow(clippy::case_sensitive_file_extension_comparisons)]

mod harness;

mod auth_matrix;
mod bad_input;
mod capabilities;
mod clients;
mod conformance;
mod console;
mod console_browser;
mod metrics;
mod multipart;
mod post_form;
mod replicas;
mod restart;
mod sweeper;
mod tls;
