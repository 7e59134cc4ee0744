//! Value normalization on any cell of any catalog column, and the quick classifier against it: a cell the
//! classifier copies verbatim must be one `normalize_value` leaves as it is, and a quick null one it nulls.
#![no_main]

use cqube_core::Catalog;
use cqube_normalize::{Quick, QuickRule, ValueOptions, normalize_value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    let catalog = CATALOG.get_or_init(Catalog::builtin);
    let Some((&pick, raw)) = data.split_first() else { return };
    let Ok(raw) = std::str::from_utf8(raw) else { return };
    let columns: Vec<_> = catalog.sources().iter().flat_map(|s| s.columns.iter()).collect();
    let column = columns[usize::from(pick) * 7 % columns.len()];
    let opts = ValueOptions::default();
    let value = normalize_value(column, raw, &opts);
    match QuickRule::new(column, &opts, b'|').classify(raw.as_bytes()) {
        Quick::Verbatim => assert_eq!(value, Ok(Some(raw.into())), "verbatim {raw:?} in {}", column.name),
        Quick::Null => assert_eq!(value, Ok(None), "null {raw:?} in {}", column.name),
        Quick::Slow => {}
    }
    if let Ok(Some(v)) = value {
        assert!(!v.contains(['\n', '\r', '\0']), "normalized values hold no line break or NUL");
    }
});
