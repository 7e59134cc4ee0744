//! The common cell, recognised in one pass over its bytes.
//!
//! Nearly every cell of a large export is one that [`normalize_value`](crate::normalize_value) returns unchanged
//! (a short plain integer, plain text) or as null (an empty cell, `NULL`). [`QuickRule::classify`] finds those
//! from the bytes alone, without a UTF-8 check of numbers, an allocation or a quoting scan of the output, and
//! leaves every other cell to `normalize_value`, which stays the one definition of the rules.

use std::ops::RangeInclusive;

use cqube_core::{Check, Column, ColumnType};

use crate::value::ValueOptions;

/// What [`QuickRule::classify`] found out about a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quick {
    /// `normalize_value` returns the cell as it is, and it is written without quoting: copy its bytes.
    Verbatim,
    /// `normalize_value` returns null.
    Null,
    /// Anything else: ask `normalize_value`.
    Slow,
}

#[derive(Debug, Clone, Copy)]
enum Shape {
    /// Integer columns: unsigned digits up to `max`. Up to 15 digits, where an f64 is exact, the numeric checks
    /// reduce to `lo..=hi` (empty when a check can never hold), unless other checks remain (`numeric_only` false).
    Digits { max: u64, lo: u64, hi: u64, numeric_only: bool },
    /// Text columns: up to this many bytes (bytes within the character limit keep the characters within it too).
    Text { max_bytes: usize },
    /// Types whose cells are rewritten more often than not (dates, decimals, booleans): only nulls are quick.
    Other,
}

/// A column's rules prepared for [`QuickRule::classify`]; build one per column and job.
#[derive(Debug, Clone)]
pub struct QuickRule {
    shape: Shape,
    required: bool,
    checks: Vec<Check>,
    null_tokens: Vec<Box<[u8]>>,
    /// Bit `n` is set when a null token is `n` bytes long (bit 63: 63 or more), so most cells skip the comparisons.
    null_lengths: u64,
    delimiter: u8,
}

impl QuickRule {
    /// The rule for `column` under `opts`, for output separated by `delimiter`.
    /// Warnings count too: a cell that breaks one goes the slow way, where it is counted.
    pub fn new(column: &Column, opts: &ValueOptions, delimiter: u8) -> QuickRule {
        let checks: Vec<Check> = column.checks.iter().map(|r| r.check.clone()).collect();
        let shape = match column.ty {
            // Digits are never quoted, unless the delimiter is one.
            ColumnType::Int { width } if !delimiter.is_ascii_digit() => {
                digits(width.bounds().1.unsigned_abs(), &checks)
            }
            ColumnType::Text { max_chars } => Shape::Text { max_bytes: max_chars.map_or(usize::MAX, |m| m as usize) },
            _ => Shape::Other,
        };
        let null_tokens: Vec<Box<[u8]>> = opts.null_tokens.iter().map(|t| t.as_bytes().into()).collect();
        QuickRule {
            shape,
            required: column.required,
            checks,
            null_lengths: null_tokens.iter().fold(0, |bits, t| bits | length_bit(t)),
            null_tokens,
            delimiter,
        }
    }

    /// Classifies one raw cell (as parsed, before trimming).
    #[inline]
    pub fn classify(&self, raw: &[u8]) -> Quick {
        // Only cells that trimming leaves alone: `normalize_value` compares the trimmed cell with the null tokens.
        match raw {
            [] => {}
            [only] if only.is_ascii_graphic() => {}
            [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => {}
            _ => return Quick::Slow,
        }
        if self.null_lengths & length_bit(raw) != 0 && self.null_tokens.iter().any(|t| same(t, raw)) {
            // A null in a required column is an error, reported by `normalize_value`.
            return if self.required { Quick::Slow } else { Quick::Null };
        }
        let verbatim = match self.shape {
            Shape::Digits { max, lo, hi, numeric_only } => self.digits(raw, max, lo..=hi, numeric_only),
            Shape::Text { max_bytes } => self.text(raw, max_bytes),
            Shape::Other => false,
        };
        if verbatim { Quick::Verbatim } else { Quick::Slow }
    }

    /// Plain unsigned digits within range that pass the checks: written as given, leading zeros and all.
    fn digits(&self, raw: &[u8], max: u64, bounds: RangeInclusive<u64>, numeric_only: bool) -> bool {
        // 18 digits cannot overflow a u64; longer ones (zero-padded codes) take the slow path.
        if raw.is_empty() || raw.len() > 18 {
            return false;
        }
        let mut n = 0_u64;
        for &b in raw {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                return false;
            }
            n = n * 10 + u64::from(digit);
        }
        if raw.len() <= 15 && numeric_only {
            return bounds.contains(&n);
        }
        // `n as f64` rounds to nearest like parsing the digits as an f64 does, so numeric checks see the same number.
        n <= max
            && self.checks.iter().all(|check| {
                check
                    .holds_for_number(n as f64)
                    .unwrap_or_else(|| std::str::from_utf8(raw).is_ok_and(|s| check.holds(s)))
            })
    }

    /// Text without control characters or anything that needs quoting, within the length limit.
    fn text(&self, raw: &[u8], max_bytes: usize) -> bool {
        raw.len() <= max_bytes
            && !raw.iter().any(|&b| b < b' ' || b == self.delimiter || b == b'"' || b == b'\\')
            && std::str::from_utf8(raw).is_ok_and(|s| self.checks.iter().all(|check| check.holds(s)))
    }
}

/// The [`Shape::Digits`] of an integer column with unsigned bound `max` and these checks.
fn digits(max: u64, checks: &[Check]) -> Shape {
    let (mut lo, mut hi, mut numeric_only) = (0, max, true);
    for check in checks {
        match *check {
            // For a whole number n: min <= n <= max exactly when ceil(min) <= n <= floor(max). Casts saturate.
            Check::Range([min, max]) if !min.is_nan() && !max.is_nan() => {
                lo = lo.max(min.ceil().max(0.0) as u64);
                if max < 0.0 {
                    // No unsigned number qualifies: an empty range (the bounds only ever narrow).
                    (lo, hi) = (1, 0);
                } else {
                    hi = hi.min(max.floor() as u64);
                }
            }
            Check::NonZero => lo = lo.max(1),
            _ => numeric_only = false,
        }
    }
    Shape::Digits { max, lo, hi, numeric_only }
}

/// `a == b` without a call to `memcmp`, which costs more than the comparison for a null token's few bytes.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

fn length_bit(bytes: &[u8]) -> u64 {
    1 << bytes.len().min(63)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use cqube_core::IntWidth;

    use super::*;
    use crate::normalize_value;

    /// Cells around every edge of the quick path: signs, leading zeros, decimals, exponents, spaces, widths,
    /// 15 to 19 digits (where checks switch from exact to rounded numbers), null tokens, quoting, control bytes.
    fn cells() -> Vec<String> {
        let mut cells: Vec<String> = (0..=1200).map(|n| n.to_string()).collect();
        for n in [32_767_u64, 32_768, 65_535, 2_147_483_647, 2_147_483_648, 4_294_967_296] {
            cells.push(n.to_string());
        }
        for n in [i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX, 9_007_199_254_740_993, 999_999_999_999_999] {
            cells.push(n.to_string());
        }
        for digits in 14..=20 {
            cells.push("9".repeat(digits));
            cells.push(format!("1{}", "0".repeat(digits - 1)));
            cells.push(format!("{}7", "0".repeat(digits - 1)));
        }
        for n in ["0", "1", "7", "8", "12", "13", "32767", "32768"] {
            for form in [
                format!("0{n}"),
                format!("00{n}"),
                format!("+{n}"),
                format!("-{n}"),
                format!("{n}.0"),
                format!("{n}.00"),
                format!("{n}.5"),
                format!(" {n}"),
                format!("{n} "),
                format!("\t{n}"),
                format!("{n}\n"),
                format!("{n}\r\n"),
                format!("{n}e3"),
                format!("{n},000"),
                format!("1,{n}"),
                format!("{n}x"),
                format!("{n}\0"),
            ] {
                cells.push(form);
            }
        }
        for s in [
            "",
            " ",
            "  ",
            "NULL",
            "null",
            "Null",
            "NA",
            "N/A",
            "na",
            " NULL",
            "NULL ",
            "-",
            "+",
            ".",
            "e",
            "-0",
            "2022-23",
            "2022-24",
            "2022-2023",
            "2023-04-09",
            "09/04/2023",
            "true",
            "yes",
            "0.0",
            "19.86",
            "abc",
            "abcde",
            "abcdef",
            "a b",
            "a|b",
            "a,b",
            "a\"b",
            "\"ab\"",
            r"C:\new",
            "a\tb",
            "a\u{7f}b",
            "नमस्त",
            "नमस्ते",
            " नमस्ते",
            "नमस्ते ",
            "\u{a0}x",
            "x\u{a0}",
            "x\u{3000}",
            "\u{feff}1",
        ] {
            cells.push(s.to_owned());
        }
        cells.push("x".repeat(70));
        cells
    }

    fn columns() -> Vec<Column> {
        let mut columns = Vec::new();
        let types = [
            ColumnType::Int { width: IntWidth::Small },
            ColumnType::Int { width: IntWidth::Int },
            ColumnType::Int { width: IntWidth::Big },
            ColumnType::Text { max_chars: None },
            ColumnType::Text { max_chars: Some(5) },
            ColumnType::Decimal,
            ColumnType::Date,
            ColumnType::Bool { digits: true },
        ];
        let checks = [
            vec![],
            vec![Check::Range([0.0, 7.0])],
            vec![Check::Range([1.0, 12.0])],
            vec![Check::Range([-5.0, 999_999_999_999_999.0])],
            vec![Check::Range([0.5, 9_007_199_254_740_992.0])],
            vec![Check::NonZero],
            vec![Check::Range([-3.0, -0.5])],
            vec![Check::Range([2.5, 2.5])],
            vec![Check::Range([7.0, 7.0]), Check::NonZero, Check::Range([-1.0, 1e300])],
            vec![Check::OneOf(vec!["1".into(), "07".into(), "abc".into()])],
            vec![Check::AcademicYear],
        ];
        for ty in types {
            for checks in &checks {
                for required in [false, true] {
                    let mut column = Column::new("c", ty);
                    column.checks = checks.iter().cloned().map(cqube_core::Rule::from_override).collect();
                    column.required = required;
                    columns.push(column);
                }
            }
        }
        columns
    }

    fn options() -> Vec<ValueOptions> {
        let default = ValueOptions::default();
        vec![
            default.clone(),
            ValueOptions { null_tokens: vec!["-".into(), "0".into(), "x".repeat(70)], ..default.clone() },
            ValueOptions { null_tokens: vec![], ..default.clone() },
            ValueOptions { thousands_separator: true, ..default },
        ]
    }

    #[test]
    fn quick_answers_agree_with_normalize_value() {
        let cells = cells();
        let (mut verbatim, mut null) = (0, 0);
        for opts in options() {
            for column in columns() {
                for delimiter in [b'|', b',', b'1'] {
                    let rule = QuickRule::new(&column, &opts, delimiter);
                    for cell in &cells {
                        let slow = normalize_value(&column, cell, &opts);
                        let context = || {
                            format!(
                                "{cell:?} in {:?} {:?}, {opts:?}, {:?}",
                                column.ty, column.checks, delimiter as char
                            )
                        };
                        match rule.classify(cell.as_bytes()) {
                            Quick::Verbatim => {
                                verbatim += 1;
                                assert_eq!(slow, Ok(Some(Cow::Borrowed(cell.as_str()))), "{}", context());
                                let mut written = Vec::new();
                                cqube_encode::write_field(&mut written, cell, delimiter);
                                assert_eq!(written, cell.as_bytes(), "needs quoting: {}", context());
                            }
                            Quick::Null => {
                                null += 1;
                                assert_eq!(slow, Ok(None), "{}", context());
                            }
                            Quick::Slow => {}
                        }
                    }
                }
            }
        }
        assert!(verbatim > 100_000 && null > 1000, "the quick path is taken: {verbatim} verbatim, {null} null");
    }

    #[test]
    fn common_attendance_cells_are_quick() {
        let day = {
            let mut c = Column::new("17", ColumnType::Int { width: IntWidth::Small });
            c.checks = vec![cqube_core::Rule::from_override(Check::Range([0.0, 7.0]))];
            c
        };
        let rule = QuickRule::new(&day, &ValueOptions::default(), b'|');
        assert_eq!(rule.classify(b"1"), Quick::Verbatim);
        assert_eq!(rule.classify(b"NULL"), Quick::Null);
        assert_eq!(rule.classify(b""), Quick::Null);
        assert_eq!(rule.classify(b"8"), Quick::Slow, "fails the check: normalize_value says why");
        assert_eq!(rule.classify(b"+1"), Quick::Slow);
        let year = Column::new("AcademicYear", ColumnType::Text { max_chars: None });
        assert_eq!(QuickRule::new(&year, &ValueOptions::default(), b'|').classify(b"2022-23"), Quick::Verbatim);
    }
}
