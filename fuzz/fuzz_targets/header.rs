//! Header mapping on any header line and any column mapping: no panic, and a mapping that succeeds points every
//! field slot inside the header.
#![no_main]

use cqube_core::Catalog;
use cqube_normalize::{Mapping, Slot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    let catalog = CATALOG.get_or_init(Catalog::builtin);
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let sources: Vec<_> = catalog.sources().iter().filter(|s| s.columns_known()).collect();
    let source = sources[usize::from(pick) % sources.len()];
    // First line: the header; second: `from=to` renames; third: `column=value` constants.
    let mut lines = text.splitn(3, '\n');
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let pairs = |line: Option<&str>| {
        line.unwrap_or("")
            .split(',')
            .filter_map(|p| p.split_once('='))
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect()
    };
    let mapping = Mapping { columns: pairs(lines.next()), constants: pairs(lines.next()) };
    if let Ok(map) = cqube_normalize::map_header(source, &header, &mapping) {
        assert_eq!(map.slots.len(), source.columns.len());
        for slot in &map.slots {
            if let Slot::Field(i) = slot {
                assert!(*i < header.len());
            }
        }
    }
});
