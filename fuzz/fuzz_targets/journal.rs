//! The resume journal reader on any bytes: no panic, and a journal reads the same after a torn last line.
#![no_main]

use cqube_upload::JournalState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(state) = JournalState::parse(data) else { return };
    let mut torn = data.to_vec();
    if !torn.ends_with(b"\n") {
        torn.push(b'\n');
    }
    torn.extend_from_slice(b"{\"entry\":\"par");
    let again = JournalState::parse(&torn[..]).expect("the same bytes and a torn line");
    assert_eq!(state, again);
});
