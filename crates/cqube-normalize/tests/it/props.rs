//! Property tests: no input makes `normalize_value` panic, and its output is a fixed point.

use cqube_core::{Column, ColumnType, IntWidth};
use cqube_normalize::{ValueOptions, normalize_value};
use proptest::prelude::*;

const TYPES: [ColumnType; 10] = [
    ColumnType::Int { width: IntWidth::Small },
    ColumnType::Int { width: IntWidth::Int },
    ColumnType::Int { width: IntWidth::Big },
    ColumnType::Decimal,
    ColumnType::Date,
    ColumnType::Timestamp,
    ColumnType::Time,
    ColumnType::Bool { digits: false },
    ColumnType::Bool { digits: true },
    ColumnType::Text { max_chars: Some(8) },
];

fn column(ty: ColumnType) -> Column {
    Column::new("c", ty)
}

/// Arbitrary text, plus strings shaped like the values the parsers look for, so deep paths get exercised.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ +-]{0,2}[0-9,]{0,24}(\\.[0-9]{0,4})?([eE][+-]?[0-9]{0,3})?[ ]?",
        "[0-9]{1,4}[-/][0-9]{1,3}[-/][0-9]{1,4}([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,9})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?",
        "[0-9]{1,3}:[0-9]{1,3}(:[0-9]{1,2}(\\.[0-9]{0,4})?)?",
        "[ \\r\\n\\t]{0,2}[a-zA-Zअ-ह0-9\\r\\n]{0,12}[ \\r\\n]{0,2}",
    ]
}

fn options() -> impl Strategy<Value = ValueOptions> {
    (any::<bool>(), -900..=900i32).prop_map(|(thousands_separator, utc_offset_minutes)| ValueOptions {
        thousands_separator,
        utc_offset_minutes,
        ..ValueOptions::default()
    })
}

proptest! {
    #[test]
    fn never_panics_and_output_renormalizes_to_itself(raw in cell(), opts in options()) {
        for ty in TYPES {
            let column = column(ty);
            if let Ok(Some(once)) = normalize_value(&column, &raw, &opts) {
                let twice = normalize_value(&column, &once, &opts);
                prop_assert_eq!(twice.as_ref().map(|v| v.as_deref()), Ok(Some(&*once)), "{:?} as {:?}", raw, ty);
            }
        }
    }

    #[test]
    fn integers_keep_their_digits(sign in "[+-]?", digits in "[0-9]{1,18}", zeros in "(\\.0{1,3})?") {
        let raw = format!("{sign}{digits}{zeros}");
        let column = column(ColumnType::Int { width: IntWidth::Big });
        let out = normalize_value(&column, &raw, &ValueOptions::default()).unwrap().unwrap();
        let want = if sign == "-" { format!("-{digits}") } else { digits };
        prop_assert_eq!(out, want);
    }
}
