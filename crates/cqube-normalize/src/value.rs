//! One cell: from what a state export holds to what cQube's reader accepts, or the rule it breaks.
//!
//! This runs for every cell of multi-GB files, so the common cases (a plain integer, plain text, a
//! `yyyy-MM-dd` date, a null token) borrow from the input and never allocate.

use std::borrow::Cow;

use cqube_core::{Check, Column, ColumnType, IntWidth, Severity};
use memchr::{memchr, memchr3};

use crate::datetime::{self, DateError};

/// How cells are read; the same for every column of a job.
#[derive(Debug, Clone)]
pub struct ValueOptions {
    /// Values that mean null, compared after trimming. Default: `""`, `NULL`, `null`, `NA`, `N/A`.
    pub null_tokens: Vec<String>,
    /// Accept `1,234` (well-formed groups of three) in numeric columns and write it `1234`. Default: false.
    pub thousands_separator: bool,
    /// The wall time timestamps are written in, in minutes east of UTC: a timestamp carrying an explicit offset
    /// is converted to it, one without is kept as is. Default: 330 (IST).
    pub utc_offset_minutes: i32,
}

impl Default for ValueOptions {
    fn default() -> Self {
        ValueOptions {
            null_tokens: ["", "NULL", "null", "NA", "N/A"].map(String::from).into(),
            thousands_separator: false,
            utc_offset_minutes: 330,
        }
    }
}

/// The rule a cell breaks. [`Violation::code`] is its stable id; `Display` is the short rule text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    #[error("not an integer")]
    NotInteger,
    #[error("out of range for {} ({}..={})", width.sql_name(), width.bounds().0, width.bounds().1)]
    IntRange { width: IntWidth },
    #[error("thousands separator not allowed (pass --thousands-separator)")]
    ThousandsSeparator,
    #[error("in scientific notation (a spreadsheet may have mangled a long code: export the column as text)")]
    ScientificNotation,
    #[error("not a decimal number")]
    NotDecimal,
    #[error("not a date (accepted: YYYY-MM-DD, DD-MM-YYYY, DD/MM/YYYY, YYYY/MM/DD)")]
    NotDate,
    #[error("no such calendar date")]
    InvalidDate,
    #[error("has a time of day other than midnight, in a date column")]
    DateWithTime,
    #[error(
        "not a timestamp (accepted: a date as for date columns, alone or followed by HH:mm[:ss[.fff]], \
         optionally with T and Z or ±hh:mm)"
    )]
    NotTimestamp,
    #[error("not a time (accepted: H:mm, HH:mm:ss, HH:mm:ss.fff)")]
    NotTime,
    #[error("not a boolean (accepted: true/false, t/f, yes/no, y/n, 1/0)")]
    NotBoolean,
    #[error("longer than {max_chars} characters")]
    TooLong { max_chars: u32 },
    #[error("contains a NUL byte")]
    NulByte,
    #[error("required column is null")]
    Required,
    #[error("fails check: {check}")]
    Check { check: Check },
}

impl Violation {
    /// A stable snake_case id for JSON reports and counts.
    pub fn code(&self) -> &'static str {
        match self {
            Violation::NotInteger => "not_integer",
            Violation::IntRange { .. } => "int_range",
            Violation::ThousandsSeparator => "thousands_separator",
            Violation::ScientificNotation => "scientific_notation",
            Violation::NotDecimal => "not_decimal",
            Violation::NotDate => "not_date",
            Violation::InvalidDate => "invalid_date",
            Violation::DateWithTime => "date_with_time",
            Violation::NotTimestamp => "not_timestamp",
            Violation::NotTime => "not_time",
            Violation::NotBoolean => "not_boolean",
            Violation::TooLong { .. } => "too_long",
            Violation::NulByte => "nul_byte",
            Violation::Required => "required",
            Violation::Check { .. } => "check",
        }
    }
}

/// Normalizes one cell for `column`: `Ok(None)` is null, `Ok(Some(v))` the value to write.
///
/// Only the column's error rules run here; [`warned`] tells which warnings a value breaks.
/// Surrounding whitespace is trimmed; a null token is null (an error in a required column); line breaks inside
/// become one space each, since cQube's reader splits records on `\n`; a NUL byte is refused. The value is then
/// parsed by the column type and written in the form cQube's reader expects, and the column's checks run on it.
///
/// ```
/// use cqube_core::Catalog;
/// use cqube_normalize::{normalize_value, ValueOptions};
/// let catalog = Catalog::builtin();
/// let school = catalog.get("school_master").unwrap().column("udise_sch_code").unwrap();
/// let opts = ValueOptions::default();
/// assert_eq!(normalize_value(school, " 07501010100 ", &opts).unwrap().as_deref(), Some("07501010100"));
/// assert_eq!(normalize_value(school, "7.5E+10", &opts).unwrap_err().code(), "scientific_notation");
/// ```
pub fn normalize_value<'a>(
    column: &Column,
    raw: &'a str,
    opts: &ValueOptions,
) -> Result<Option<Cow<'a, str>>, Violation> {
    let value = trim(raw);
    if opts.null_tokens.iter().any(|token| token == value) {
        return if column.required { Err(Violation::Required) } else { Ok(None) };
    }
    let normalized = if !has_nul_or_line_break(value) {
        typed(column.ty, value, opts)?
    } else if memchr(0, value.as_bytes()).is_some() {
        return Err(Violation::NulByte);
    } else {
        Cow::Owned(typed(column.ty, &flatten_line_breaks(value), opts)?.into_owned())
    };
    // Warnings never reject: the caller counts them (see `warned`).
    if let Some(rule) = column.checks.iter().find(|r| r.severity == Severity::Error && !r.check.holds(&normalized)) {
        return Err(Violation::Check { check: rule.check.clone() });
    }
    Ok(Some(normalized))
}

/// The positions (in `column.checks`) of the warning rules a normalized, non-null value breaks.
pub fn warned<'c>(column: &'c Column, value: &'c str) -> impl Iterator<Item = usize> + 'c {
    column
        .checks
        .iter()
        .enumerate()
        .filter(move |(_, r)| r.severity == Severity::Warning && !r.check.holds(value))
        .map(|(i, _)| i)
}

/// `raw.trim()`, skipping the Unicode whitespace tables when both ends are visible ASCII (nearly every cell).
fn trim(raw: &str) -> &str {
    match raw.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => raw,
        [only] if only.is_ascii_graphic() => raw,
        _ => raw.trim(),
    }
}

fn has_nul_or_line_break(value: &str) -> bool {
    let b = value.as_bytes();
    // memchr's SIMD setup costs more than a plain scan over a short cell.
    if b.len() <= 32 {
        b.iter().any(|&c| c <= b'\r' && matches!(c, 0 | b'\r' | b'\n'))
    } else {
        memchr3(0, b'\r', b'\n', b).is_some()
    }
}

/// Replaces each CRLF, CR or LF with one space.
fn flatten_line_breaks(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find(['\r', '\n']) {
        out.push_str(&rest[..i]);
        out.push(' ');
        let len = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[i + len..];
    }
    out.push_str(rest);
    out
}

fn typed<'v>(ty: ColumnType, value: &'v str, opts: &ValueOptions) -> Result<Cow<'v, str>, Violation> {
    match ty {
        ColumnType::Int { width } => integer(value, width, opts.thousands_separator),
        ColumnType::Decimal => decimal(value, opts.thousands_separator),
        ColumnType::Date => date(value),
        ColumnType::Timestamp => timestamp(value, opts.utc_offset_minutes),
        ColumnType::Time => time(value),
        ColumnType::Bool { digits } => boolean(value, digits).map(Cow::Borrowed),
        ColumnType::Text { max_chars } => text(value, max_chars).map(Cow::Borrowed),
    }
}

/// The parts of `[+-]int[.frac][(e|E)[+-]exp]`, where `int` may hold well-formed thousands groups.
struct Number<'v> {
    negative: bool,
    /// Bytes of sign before `int` (0 or 1).
    sign_len: usize,
    int: &'v str,
    frac: Option<&'v str>,
    exp: Option<&'v str>,
    /// Whether `int` holds thousands separators.
    grouped: bool,
}

/// Splits a number into its parts, or `None` when `value` is not one (including badly grouped thousands).
fn number(value: &str) -> Option<Number<'_>> {
    let b = value.as_bytes();
    let (negative, sign_len) = match b.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let (mut int_len, mut grouped) = (0, false);
    for &c in &b[sign_len..] {
        match c {
            b'0'..=b'9' => {}
            b',' => grouped = true,
            _ => break,
        }
        int_len += 1;
    }
    let int = &value[sign_len..sign_len + int_len];
    let mut rest = &value[sign_len + int_len..];
    let frac = rest.strip_prefix('.').map(|r| {
        let len = r.bytes().take_while(u8::is_ascii_digit).count();
        rest = &r[len..];
        &r[..len]
    });
    let exp = match rest.as_bytes() {
        [] => None,
        [b'e' | b'E', tail @ ..] => {
            let digits = tail.strip_prefix(b"+").or_else(|| tail.strip_prefix(b"-")).unwrap_or(tail);
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some(&rest[1..])
        }
        _ => return None,
    };
    let has_digits = !int.is_empty() || frac.is_some_and(|f| !f.is_empty());
    (has_digits && (!grouped || well_grouped(int))).then_some(Number { negative, sign_len, int, frac, exp, grouped })
}

/// Whether digits with commas are grouped `d{1,3}(,ddd)*`.
fn well_grouped(int: &str) -> bool {
    let mut groups = int.split(',');
    groups.next().is_some_and(|first| (1..=3).contains(&first.len())) && groups.all(|g| g.len() == 3)
}

/// Whether `digits` (ASCII digits and commas) fits `width` with the given sign.
fn in_range(negative: bool, digits: &str, width: IntWidth) -> bool {
    let magnitude = digits
        .bytes()
        .filter(|&c| c != b',')
        .try_fold(0u64, |acc, c| acc.checked_mul(10)?.checked_add(u64::from(c - b'0')));
    let (min, max) = width.bounds();
    match magnitude {
        Some(m) if negative => m <= min.unsigned_abs(),
        Some(m) => m <= max.unsigned_abs(),
        None => false,
    }
}

/// Digits as given (leading zeros of codes kept), without a leading `+`; `12.00` is written `12`.
fn integer(value: &str, width: IntWidth, thousands: bool) -> Result<Cow<'_, str>, Violation> {
    // Fast path for the common case, plain `[+-]digits`; everything else goes through `number`.
    let (negative, digits) = match value.as_bytes().first() {
        Some(b'-') => (true, &value[1..]),
        Some(b'+') => (false, &value[1..]),
        _ => (false, value),
    };
    if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
        return if in_range(negative, digits, width) {
            Ok(Cow::Borrowed(value.strip_prefix('+').unwrap_or(value)))
        } else {
            Err(Violation::IntRange { width })
        };
    }
    let n = number(value).ok_or(Violation::NotInteger)?;
    if n.exp.is_some() {
        return Err(Violation::ScientificNotation);
    }
    if n.int.is_empty() || n.frac.is_some_and(|f| f.is_empty() || f.bytes().any(|c| c != b'0')) {
        return Err(Violation::NotInteger);
    }
    if n.grouped && !thousands {
        return Err(Violation::ThousandsSeparator);
    }
    if !in_range(n.negative, n.int, width) {
        return Err(Violation::IntRange { width });
    }
    if n.grouped {
        let sign = if n.negative { "-" } else { "" };
        return Ok(Cow::Owned(sign.chars().chain(n.int.chars().filter(|&c| c != ',')).collect()));
    }
    let start = usize::from(value.starts_with('+'));
    Ok(Cow::Borrowed(&value[start..n.sign_len + n.int.len()]))
}

/// As given, without a leading `+` (and without thousands separators when those are allowed).
fn decimal(value: &str, thousands: bool) -> Result<Cow<'_, str>, Violation> {
    let n = number(value).ok_or(Violation::NotDecimal)?;
    if !n.grouped {
        return Ok(Cow::Borrowed(value.strip_prefix('+').unwrap_or(value)));
    }
    if !thousands {
        return Err(Violation::ThousandsSeparator);
    }
    let sign = if n.negative { "-" } else { "" };
    let tail = &value[n.sign_len + n.int.len()..];
    Ok(Cow::Owned(sign.chars().chain(n.int.chars().filter(|&c| c != ',')).chain(tail.chars()).collect()))
}

/// `value` itself when it already is `formatted`, else a new string.
fn borrow_if_same<'v>(value: &'v str, formatted: &[u8]) -> Cow<'v, str> {
    if value.as_bytes() == formatted {
        Cow::Borrowed(value)
    } else {
        formatted.iter().map(|&b| char::from(b)).collect()
    }
}

fn date(value: &str) -> Result<Cow<'_, str>, Violation> {
    let (date, time) = datetime::parse(value).map_err(|e| match e {
        DateError::Syntax => Violation::NotDate,
        DateError::Calendar => Violation::InvalidDate,
    })?;
    // Databases export dates as midnight timestamps (`2023-04-01 00:00:00`, `…T00:00:00.000Z`): keep the date.
    match time {
        Some((t, _)) if !t.is_midnight() => Err(Violation::DateWithTime),
        // A parsed date of 10 bytes with dashes at 4 and 7 can only be `yyyy-MM-dd`: nothing to rewrite.
        None if value.len() == 10 && value.as_bytes()[4] == b'-' && value.as_bytes()[7] == b'-' => {
            Ok(Cow::Borrowed(value))
        }
        _ => Ok(borrow_if_same(value, &datetime::format_date(date))),
    }
}

fn timestamp(value: &str, to_minutes: i32) -> Result<Cow<'_, str>, Violation> {
    let calendar = |e| match e {
        DateError::Syntax => Violation::NotTimestamp,
        DateError::Calendar => Violation::InvalidDate,
    };
    let (date, time) = datetime::parse(value).map_err(calendar)?;
    let (date, time) = match time {
        None => (date, datetime::Time::MIDNIGHT),
        Some((time, None)) => (date, time),
        Some((time, Some(from_minutes))) => datetime::shift(date, time, from_minutes, to_minutes).map_err(calendar)?,
    };
    Ok(borrow_if_same(value, &datetime::format_timestamp(date, time)))
}

fn time(value: &str) -> Result<Cow<'_, str>, Violation> {
    match datetime::time_prefix(value.as_bytes()) {
        Some((time, len)) if len == value.len() => Ok(borrow_if_same(value, &datetime::format_time(time))),
        _ => Err(Violation::NotTime),
    }
}

fn boolean(value: &str, digits: bool) -> Result<&'static str, Violation> {
    const TRUE: [&str; 5] = ["true", "t", "yes", "y", "1"];
    const FALSE: [&str; 5] = ["false", "f", "no", "n", "0"];
    let truth = if TRUE.iter().any(|t| value.eq_ignore_ascii_case(t)) {
        true
    } else if FALSE.iter().any(|f| value.eq_ignore_ascii_case(f)) {
        false
    } else {
        return Err(Violation::NotBoolean);
    };
    Ok(match (truth, digits) {
        (true, false) => "true",
        (false, false) => "false",
        (true, true) => "1",
        (false, true) => "0",
    })
}

fn text(value: &str, max_chars: Option<u32>) -> Result<&str, Violation> {
    match max_chars {
        // A string has at least as many bytes as characters, so the count is only needed for long byte lengths.
        Some(max) if value.len() > max as usize && value.chars().count() > max as usize => {
            Err(Violation::TooLong { max_chars: max })
        }
        _ => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(ty: ColumnType) -> Column {
        Column::new("c", ty)
    }

    const SMALL: ColumnType = ColumnType::Int { width: IntWidth::Small };
    const INT: ColumnType = ColumnType::Int { width: IntWidth::Int };
    const BIG: ColumnType = ColumnType::Int { width: IntWidth::Big };

    fn norm_with(ty: ColumnType, raw: &str, opts: &ValueOptions) -> Result<Option<String>, Violation> {
        normalize_value(&column(ty), raw, opts).map(|v| v.map(Cow::into_owned))
    }

    fn norm(ty: ColumnType, raw: &str) -> Result<Option<String>, Violation> {
        norm_with(ty, raw, &ValueOptions::default())
    }

    fn ok(ty: ColumnType, raw: &str) -> String {
        norm(ty, raw).unwrap_or_else(|e| panic!("{raw:?}: {e}")).unwrap_or_else(|| panic!("{raw:?} is null"))
    }

    fn err(ty: ColumnType, raw: &str) -> &'static str {
        match norm(ty, raw) {
            Err(v) => v.code(),
            Ok(v) => panic!("{raw:?} accepted as {v:?}"),
        }
    }

    fn borrowed(ty: ColumnType, raw: &str) -> bool {
        matches!(normalize_value(&column(ty), raw, &ValueOptions::default()), Ok(Some(Cow::Borrowed(_))))
    }

    #[test]
    fn null_tokens_after_trimming() {
        for raw in ["", "   ", "\t", "NULL", " null ", "NA", "N/A", "\r\n"] {
            assert_eq!(norm(INT, raw), Ok(None), "{raw:?}");
            assert_eq!(norm(ColumnType::Text { max_chars: None }, raw), Ok(None), "{raw:?}");
        }
        // Not a token: compared exactly.
        assert_eq!(err(INT, "Null"), "not_integer");
        let opts = ValueOptions { null_tokens: vec!["-".into()], ..ValueOptions::default() };
        assert_eq!(norm_with(INT, " - ", &opts), Ok(None));
        assert_eq!(norm_with(ColumnType::Text { max_chars: None }, "", &opts), Ok(Some(String::new())));
    }

    #[test]
    fn null_in_a_required_column_is_a_violation() {
        let mut c = column(INT);
        c.required = true;
        let opts = ValueOptions::default();
        assert_eq!(normalize_value(&c, " NULL ", &opts), Err(Violation::Required));
        assert_eq!(Violation::Required.to_string(), "required column is null");
        assert_eq!(normalize_value(&c, "5", &opts), Ok(Some(Cow::Borrowed("5"))));
    }

    #[test]
    fn line_breaks_inside_values_become_one_space_each() {
        let text = ColumnType::Text { max_chars: None };
        assert_eq!(ok(text, "a\r\nb\nc\rd\n\ne"), "a b c d  e");
        assert_eq!(ok(text, "\n  Pune\r\n"), "Pune");
        assert_eq!(err(INT, "1\n2"), "not_integer");
    }

    #[test]
    fn nul_bytes_are_refused_in_every_type() {
        for ty in [INT, ColumnType::Decimal, ColumnType::Date, ColumnType::Text { max_chars: None }] {
            assert_eq!(norm(ty, "a\0b"), Err(Violation::NulByte));
            assert_eq!(norm(ty, "1\n\0"), Err(Violation::NulByte));
        }
        assert_eq!(Violation::NulByte.to_string(), "contains a NUL byte");
    }

    #[test]
    fn integers_are_written_as_given() {
        assert_eq!(ok(BIG, "07501010100"), "07501010100");
        assert_eq!(ok(INT, " 42 "), "42");
        assert_eq!(ok(INT, "+42"), "42");
        assert_eq!(ok(INT, "-0"), "-0");
        assert_eq!(ok(INT, "-17"), "-17");
        assert_eq!(ok(SMALL, "000000000000000000000001"), "000000000000000000000001");
        assert!(borrowed(INT, "123") && borrowed(INT, "+123") && borrowed(BIG, "07501010100"));
    }

    #[test]
    fn integer_bounds_follow_the_width() {
        assert_eq!(ok(SMALL, "32767"), "32767");
        assert_eq!(ok(SMALL, "-32768"), "-32768");
        assert_eq!(norm(SMALL, "32768"), Err(Violation::IntRange { width: IntWidth::Small }));
        assert_eq!(err(SMALL, "-32769"), "int_range");
        assert_eq!(
            Violation::IntRange { width: IntWidth::Small }.to_string(),
            "out of range for smallint (-32768..=32767)"
        );
        assert_eq!(ok(INT, "2147483647"), "2147483647");
        assert_eq!(err(INT, "2147483648"), "int_range");
        assert_eq!(err(INT, "07501010100"), "int_range");
        assert_eq!(ok(BIG, "-9223372036854775808"), "-9223372036854775808");
        assert_eq!(ok(BIG, "9223372036854775807"), "9223372036854775807");
        assert_eq!(err(BIG, "9223372036854775808"), "int_range");
        assert_eq!(err(BIG, "99999999999999999999999"), "int_range");
    }

    #[test]
    fn integer_fractions_must_be_zero() {
        assert_eq!(ok(INT, "12.0"), "12");
        assert_eq!(ok(INT, "12.00"), "12");
        assert_eq!(ok(INT, "+12.0"), "12");
        assert_eq!(ok(INT, "-0.0"), "-0");
        assert!(borrowed(INT, "12.00"));
        for bad in ["12.5", "12.01", "12.", ".0", "1.2.3", "-", "+", "abc", "0x1F", "1 2", "--1", "+-1"] {
            assert_eq!(err(INT, bad), "not_integer", "{bad}");
        }
        assert_eq!(Violation::NotInteger.to_string(), "not an integer");
    }

    #[test]
    fn thousands_separators_need_the_option_and_good_grouping() {
        assert_eq!(err(INT, "1,234"), "thousands_separator");
        assert_eq!(
            Violation::ThousandsSeparator.to_string(),
            "thousands separator not allowed (pass --thousands-separator)"
        );
        let opts = ValueOptions { thousands_separator: true, ..ValueOptions::default() };
        let int = |raw| norm_with(BIG, raw, &opts);
        assert_eq!(int("1,234"), Ok(Some("1234".into())));
        assert_eq!(int("-12,345,678"), Ok(Some("-12345678".into())));
        assert_eq!(int("+1,000.00"), Ok(Some("1000".into())));
        for bad in ["1,23", "1234,567", ",123", "1,,234", "1,234,", "12,34,567"] {
            assert_eq!(int(bad).map_err(|v| v.code()), Err("not_integer"), "{bad}");
        }
        assert_eq!(norm_with(SMALL, "40,000", &opts), Err(Violation::IntRange { width: IntWidth::Small }));
    }

    #[test]
    fn scientific_notation_is_refused_for_integers() {
        for raw in ["7.50101E+10", "1e3", "1E-2"] {
            assert_eq!(err(BIG, raw), "scientific_notation", "{raw}");
        }
        assert!(Violation::ScientificNotation.to_string().contains("mangled a long code"));
    }

    #[test]
    fn decimals() {
        for (raw, want) in [
            ("19.86473199", "19.86473199"),
            ("+74.9", "74.9"),
            ("-0.5", "-0.5"),
            (".5", ".5"),
            ("5.", "5."),
            ("1e-3", "1e-3"),
            ("6.02E+23", "6.02E+23"),
            ("007", "007"),
        ] {
            assert_eq!(ok(ColumnType::Decimal, raw), want);
        }
        assert!(borrowed(ColumnType::Decimal, "19.8") && borrowed(ColumnType::Decimal, "+19.8"));
        for bad in ["NaN", "inf", "-Infinity", ".", "1e", "1e+", "e5", "1.2.3", "12,5", "1,2345.5", "0x10", "1 000"] {
            assert_eq!(err(ColumnType::Decimal, bad), "not_decimal", "{bad}");
        }
        assert_eq!(err(ColumnType::Decimal, "1,234.5"), "thousands_separator");
        let opts = ValueOptions { thousands_separator: true, ..ValueOptions::default() };
        assert_eq!(norm_with(ColumnType::Decimal, "-1,234.50e2", &opts), Ok(Some("-1234.50e2".into())));
    }

    #[test]
    fn dates_in_every_accepted_layout() {
        for raw in ["2023-04-09", "2023-4-9", "09-04-2023", "9-4-2023", "09/04/2023", "2023/04/09", " 2023/4/09 "] {
            assert_eq!(ok(ColumnType::Date, raw), "2023-04-09", "{raw}");
        }
        assert!(borrowed(ColumnType::Date, "2023-04-09"));
        assert!(!borrowed(ColumnType::Date, "09/04/2023"));
    }

    #[test]
    fn dates_followed_by_midnight_keep_the_date() {
        for raw in [
            "2023-04-09 00:00:00",
            "2023-04-09T00:00:00.000Z",
            "2023-04-09 00:00",
            "09/04/2023 00:00:00.000000",
            "2023-04-09T00:00:00+05:30",
        ] {
            assert_eq!(ok(ColumnType::Date, raw), "2023-04-09", "{raw}");
        }
        assert_eq!(err(ColumnType::Date, "2023-04-09 10:30:00"), "date_with_time");
        assert_eq!(err(ColumnType::Date, "2023-04-09 00:00:00.001"), "date_with_time");
    }

    #[test]
    fn dates_must_exist_on_the_calendar() {
        assert_eq!(ok(ColumnType::Date, "29/02/2024"), "2024-02-29");
        assert_eq!(ok(ColumnType::Date, "2000-02-29"), "2000-02-29");
        for bad in ["2023-02-29", "1900-02-29", "2023-04-31", "2023-13-01", "2023-00-10", "00-01-2023", "0000-01-01"] {
            assert_eq!(err(ColumnType::Date, bad), "invalid_date", "{bad}");
        }
        assert_eq!(Violation::InvalidDate.to_string(), "no such calendar date");
    }

    #[test]
    fn malformed_dates_are_not_dates() {
        for bad in [
            "2023-04-09x",
            "2023-04-091",
            "2023-0a-09",
            "2023-04/09",
            "2023.04.09",
            "20230409",
            "23-04-09",
            "2023-004-09",
            "9-4-23",
            "April 9, 2023",
            "2023-04-09  00:00",
            "2023-04-09 0:0",
            "-2023-04-09",
        ] {
            assert_eq!(err(ColumnType::Date, bad), "not_date", "{bad}");
        }
        assert_eq!(
            Violation::NotDate.to_string(),
            "not a date (accepted: YYYY-MM-DD, DD-MM-YYYY, DD/MM/YYYY, YYYY/MM/DD)"
        );
    }

    #[test]
    fn timestamps_are_written_with_milliseconds() {
        let ts = ColumnType::Timestamp;
        for (raw, want) in [
            ("2023-04-09 10:30:05.123", "2023-04-09 10:30:05.123"),
            ("2023-04-09 10:30:05", "2023-04-09 10:30:05.000"),
            ("2023-04-09 10:30:05.5", "2023-04-09 10:30:05.500"),
            ("2023-04-09 10:30:05.123456789", "2023-04-09 10:30:05.123"),
            ("2023-04-09T10:30:05", "2023-04-09 10:30:05.000"),
            ("09/04/2023 7:05", "2023-04-09 07:05:00.000"),
            ("9-4-2023 10:30:05.12", "2023-04-09 10:30:05.120"),
            ("2023/04/09 23:59:59.999", "2023-04-09 23:59:59.999"),
            ("2023-04-09", "2023-04-09 00:00:00.000"),
        ] {
            assert_eq!(ok(ts, raw), want, "{raw}");
        }
        assert!(borrowed(ts, "2023-04-09 10:30:05.123"));
        for bad in ["2023-04-09 24:00:00", "2023-04-09 10:60", "2023-04-09 10:30:05.", "2023-04-09 10", "10:30", "x"] {
            assert_eq!(err(ts, bad), "not_timestamp", "{bad}");
        }
        assert_eq!(err(ts, "2023-02-29 10:00:00"), "invalid_date");
    }

    #[test]
    fn timestamp_offsets_convert_to_the_configured_wall_time() {
        let ts = ColumnType::Timestamp;
        assert_eq!(ok(ts, "2023-04-09T10:30:05.250Z"), "2023-04-09 16:00:05.250");
        assert_eq!(ok(ts, "2023-04-09T10:30:05+05:30"), "2023-04-09 10:30:05.000");
        // Rolls into the next day, month and year.
        assert_eq!(ok(ts, "2023-12-31T20:00:00Z"), "2024-01-01 01:30:00.000");
        assert_eq!(ok(ts, "2024-02-28 22:00:00-02:00"), "2024-02-29 05:30:00.000");
        let utc = ValueOptions { utc_offset_minutes: 0, ..ValueOptions::default() };
        // And back into the previous one.
        assert_eq!(norm_with(ts, "2023-03-01T03:00:00+05:30", &utc), Ok(Some("2023-02-28 21:30:00.000".into())));
        assert_eq!(norm_with(ts, "2023-04-09 10:30:05", &utc), Ok(Some("2023-04-09 10:30:05.000".into())));
        assert_eq!(err(ts, "9999-12-31T23:00:00Z"), "invalid_date");
        assert_eq!(err(ts, "2023-04-09T10:30:05+5:30"), "not_timestamp");
    }

    #[test]
    fn times() {
        for (raw, want) in
            [("9:05", "09:05:00"), ("09:05", "09:05:00"), ("23:59:59", "23:59:59"), ("07:05:09.123", "07:05:09")]
        {
            assert_eq!(ok(ColumnType::Time, raw), want, "{raw}");
        }
        assert!(borrowed(ColumnType::Time, "23:59:59"));
        for bad in ["24:00", "9:5", "09:05:60", "0905", "09:05 AM", "09:05:00Z", "123:00", "9:05:"] {
            assert_eq!(err(ColumnType::Time, bad), "not_time", "{bad}");
        }
    }

    #[test]
    fn booleans() {
        let words = ColumnType::Bool { digits: false };
        let digits = ColumnType::Bool { digits: true };
        for raw in ["true", "TRUE", "t", "Yes", "y", "1"] {
            assert_eq!(ok(words, raw), "true", "{raw}");
            assert_eq!(ok(digits, raw), "1", "{raw}");
        }
        for raw in ["false", "F", "no", "N", "0"] {
            assert_eq!(ok(words, raw), "false", "{raw}");
            assert_eq!(ok(digits, raw), "0", "{raw}");
        }
        for bad in ["2", "yess", "on", "-1"] {
            assert_eq!(err(words, bad), "not_boolean", "{bad}");
        }
    }

    #[test]
    fn text_length_counts_characters_not_bytes() {
        let ty = ColumnType::Text { max_chars: Some(5) };
        // Five Devanagari characters are 15 bytes.
        assert_eq!(ok(ty, "नमस्त"), "नमस्त");
        assert_eq!(norm(ty, "नमस्ते"), Err(Violation::TooLong { max_chars: 5 }));
        assert_eq!(ok(ty, "abcde"), "abcde");
        assert_eq!(err(ty, "abcdef"), "too_long");
        assert_eq!(Violation::TooLong { max_chars: 100 }.to_string(), "longer than 100 characters");
        assert!(borrowed(ColumnType::Text { max_chars: None }, "  plain text "));
    }

    #[test]
    fn checks_run_on_the_normalized_value() {
        let mut month = column(SMALL);
        month.checks = vec![cqube_core::Rule::from_override(Check::Range([1.0, 12.0]))];
        let opts = ValueOptions::default();
        assert_eq!(normalize_value(&month, "+12", &opts), Ok(Some(Cow::Borrowed("12"))));
        let v = normalize_value(&month, "13", &opts).unwrap_err();
        assert_eq!((v.code(), v.to_string()), ("check", "fails check: range 1..=12".to_owned()));
        assert_eq!(normalize_value(&month, "", &opts), Ok(None), "null skips checks");
    }

    #[test]
    fn warnings_keep_the_value_and_are_named() {
        let catalog = cqube_core::Catalog::builtin();
        let inityear = catalog.get("district_master").unwrap().column("inityear").unwrap();
        let opts = ValueOptions::default();
        assert_eq!(normalize_value(inityear, "2001", &opts), Ok(Some(Cow::Borrowed("2001"))));
        assert_eq!(warned(inityear, "2001").collect::<Vec<_>>(), [0]);
        assert_eq!(warned(inityear, "2000-01").count(), 0);
        let mut raised = inityear.clone();
        raised.raise_warnings();
        assert_eq!(normalize_value(&raised, "2001", &opts).unwrap_err().code(), "check");
    }

    #[test]
    fn every_violation_has_a_distinct_code() {
        let all = [
            Violation::NotInteger,
            Violation::IntRange { width: IntWidth::Int },
            Violation::ThousandsSeparator,
            Violation::ScientificNotation,
            Violation::NotDecimal,
            Violation::NotDate,
            Violation::InvalidDate,
            Violation::DateWithTime,
            Violation::NotTimestamp,
            Violation::NotTime,
            Violation::NotBoolean,
            Violation::TooLong { max_chars: 1 },
            Violation::NulByte,
            Violation::Required,
            Violation::Check { check: Check::NonZero },
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(Violation::code).collect();
        assert_eq!(codes.len(), all.len());
        assert!(all.iter().all(|v| v.to_string().chars().next().is_some_and(char::is_lowercase)));
    }
}
