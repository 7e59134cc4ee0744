use std::fmt;

use serde::{Deserialize, Serialize};

/// A value rule applied after a cell has been normalized to its column type.
///
/// In catalog files a check is written `{"range": [1, 12]}`, `"academic_year"`, `"non_zero"` or
/// `{"one_of": ["A", "B"]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// A number within `[min, max]`, both inclusive.
    Range([f64; 2]),
    /// `YYYY-YY` where `YY` is the year after `YYYY` (cQube derives the calendar year from it).
    AcademicYear,
    /// A number other than zero (cQube treats latitude 0 as "no location").
    NonZero,
    /// One of the listed values, compared exactly.
    OneOf(Vec<String>),
}

/// Whether breaking a rule rejects the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// cQube would lose the row or file: the row is rejected (per `--on-error`).
    Error,
    /// A plausibility rule cQube does not enforce: counted and reported, the row is kept (unless raised).
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// A check with what breaking it costs in cQube.
///
/// In `checks.json` a rule is written `{"check": {"range": [1, 12]}, "severity": "error", "consequence": "...",
/// "reference": "INGESTION.md §2.7"}`. A catalog override may give a bare check, which is an error rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub check: Check,
    pub severity: Severity,
    /// What cQube does with a row or file that breaks the rule; `None` for a warning (cQube does not enforce it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consequence: Option<String>,
    /// Where the consequence (or, for a warning, its absence) is documented: a section of INGESTION.md, the
    /// catalog's notes, or the user's catalog override.
    pub reference: String,
}

impl Rule {
    /// An error rule given by the user's catalog override, which is its own authority.
    pub fn from_override(check: Check) -> Rule {
        Rule {
            check,
            severity: Severity::Error,
            consequence: Some("rejected because the catalog override asks for it".to_owned()),
            reference: "catalog override (--catalog)".to_owned(),
        }
    }
}

impl Check {
    /// Whether a normalized, non-null value satisfies the rule.
    pub fn holds(&self, value: &str) -> bool {
        match self {
            Check::Range(_) | Check::NonZero => number(value).and_then(|v| self.holds_for_number(v)) == Some(true),
            Check::OneOf(allowed) => allowed.iter().any(|a| a == value),
            Check::AcademicYear => is_academic_year(value),
        }
    }

    /// Whether a value already read as a number satisfies the rule: for a number's text `t`, the same as
    /// `holds(t)`. `None` for the rules that compare text (`one_of`, `academic_year`).
    pub fn holds_for_number(&self, value: f64) -> Option<bool> {
        match self {
            Check::Range([min, max]) => Some((*min..=*max).contains(&value)),
            Check::NonZero => Some(value != 0.0),
            Check::OneOf(_) | Check::AcademicYear => None,
        }
    }
}

/// `value` as a number. Most checked cells are short integers (day codes, months, years), which are read
/// without the general float parser; the result is the same, since up to 15 digits are exact in an f64.
fn number(value: &str) -> Option<f64> {
    let (negative, digits) = match value.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        all => (false, all),
    };
    if (1..=15).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit) {
        let n = digits.iter().fold(0_i64, |n, d| n * 10 + i64::from(d - b'0'));
        return Some(if negative { -n } else { n } as f64);
    }
    value.parse().ok()
}

fn is_academic_year(value: &str) -> bool {
    let b = value.as_bytes();
    if b.len() != 7 || b[4] != b'-' || !b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit) {
        return false;
    }
    let first: u32 = value[..4].parse().unwrap_or(0);
    let second: u32 = value[5..].parse().unwrap_or(100);
    (1950..=2099).contains(&first) && (first + 1) % 100 == second
}

impl fmt::Display for Check {
    /// The rule's name as it appears in errors and rejects reports.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Range([min, max]) => write!(f, "range {min}..={max}"),
            Check::AcademicYear => f.write_str("academic year YYYY-YY"),
            Check::NonZero => f.write_str("non-zero"),
            Check::OneOf(allowed) => write!(f, "one of {}", allowed.join(",")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Check, Rule, Severity};

    #[test]
    fn range_is_inclusive_and_numeric() {
        let month = Check::Range([1.0, 12.0]);
        assert!(month.holds("1") && month.holds("12"));
        assert!(!month.holds("0") && !month.holds("13") && !month.holds("x"));
        assert_eq!(month.to_string(), "range 1..=12");
    }

    #[test]
    fn academic_year_needs_consecutive_years() {
        let ay = Check::AcademicYear;
        assert!(ay.holds("2020-21") && ay.holds("1999-00"));
        for bad in ["2020-22", "2020-2021", "20-21", "2020/21", "abcd-ef", "1900-01"] {
            assert!(!ay.holds(bad), "{bad}");
        }
    }

    #[test]
    fn non_zero_and_one_of() {
        assert!(Check::NonZero.holds("19.8") && !Check::NonZero.holds("0.0") && !Check::NonZero.holds("0"));
        let codes = Check::OneOf(vec!["1".into(), "2".into()]);
        assert!(codes.holds("2") && !codes.holds("3"));
    }

    #[test]
    fn integer_fast_path_agrees_with_float_parsing() {
        let range = Check::Range([-5.0, 999_999_999_999_999.0]);
        for value in ["0", "-0", "007", "-5", "-6", "12", "999999999999999", "1000000000000000", "-", "", "1-", "+3"] {
            let by_float = value.parse::<f64>().is_ok_and(|v| (-5.0..=999_999_999_999_999.0).contains(&v));
            assert_eq!(range.holds(value), by_float, "{value:?}");
            assert_eq!(Check::NonZero.holds(value), value.parse::<f64>().is_ok_and(|v| v != 0.0), "{value:?}");
        }
        assert!(range.holds("999999999999999") && !range.holds("1000000000000000") && !range.holds("-"));
        assert!(!Check::NonZero.holds("-0") && !Check::NonZero.holds("000") && Check::NonZero.holds("-007"));
    }

    #[test]
    fn parses_catalog_spelling() {
        let checks: Vec<Check> =
            serde_json::from_str(r#"[{"range":[1,12]},"academic_year","non_zero",{"one_of":["a"]}]"#).unwrap();
        assert_eq!(
            checks,
            vec![Check::Range([1.0, 12.0]), Check::AcademicYear, Check::NonZero, Check::OneOf(vec!["a".into()])]
        );
    }

    #[test]
    fn rules_parse_with_severity_and_consequence() {
        let rule: Rule = serde_json::from_str(
            r#"{"check":"non_zero","severity":"error","consequence":"moved","reference":"INGESTION.md §2.5"}"#,
        )
        .unwrap();
        assert_eq!(
            (rule.check, rule.severity, rule.consequence.as_deref()),
            (Check::NonZero, Severity::Error, Some("moved"))
        );
        let warning: Rule =
            serde_json::from_str(r#"{"check":"academic_year","severity":"warning","reference":"notes"}"#).unwrap();
        assert_eq!((warning.severity, warning.consequence), (Severity::Warning, None));
        assert!(serde_json::from_str::<Rule>(r#"{"check":"non_zero","severity":"fatal","reference":"x"}"#).is_err());
    }
}
