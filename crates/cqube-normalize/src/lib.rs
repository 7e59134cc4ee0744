//! Decoding, header mapping and value normalization for cQube exports: pure functions, no I/O beyond
//! `std::io::Read` adapters, no async.
//!
//! - [`decode`]: detect a file's encoding and delimiter, and read it as UTF-8 without a BOM.
//! - [`header`]: map the file's header onto a catalog data source's columns.
//! - [`value`]: normalize one cell to the form cQube's reader accepts, or say which rule it breaks.
//! - [`quick`]: recognise the cells that `value` would leave unchanged or null, from their bytes, in one pass.

pub mod decode;
pub mod header;
pub mod quick;
pub mod value;

mod datetime;

pub use decode::{
    Detected, ENCODING_SAMPLE_BYTES, LineEndReader, LineEnds, TextEncoding, Utf8Reader, detect_delimiter,
    detect_encoding, detect_line_ends, utf8_reader,
};
/// The crate's error type: header mapping is the only operation that fails as a whole (a bad cell is a
/// [`Violation`], reported per row, and decoding replaces malformed sequences instead of failing).
pub use header::HeaderError as Error;
pub use header::{HeaderError, HeaderMap, Mapping, Slot, map_header};
pub use quick::{Quick, QuickRule};
pub use value::{ValueOptions, Violation, normalize_value, warned};
