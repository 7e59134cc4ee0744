//! Hand-written date, time and offset parsing for the value hot path.
//!
//! Written by hand rather than with chrono's format strings: a date cell is checked once per row of multi-GB
//! files, a format-string parser re-reads its pattern for every cell and needs one attempt per accepted layout,
//! while this reads the bytes once, accepts every layout in that one pass and formats into a stack buffer (no
//! allocation when the input is already in cQube's form).

use cqube_core::calendar;

/// A real calendar date (year 1..=9999).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Date {
    pub year: u32,
    pub month: u32,
    pub day: u32,
}

/// A time of day; `nonzero_fraction` records digits past the milliseconds too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Time {
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millis: u32,
    pub nonzero_fraction: bool,
}

impl Time {
    pub const MIDNIGHT: Time = Time { hour: 0, minute: 0, second: 0, millis: 0, nonzero_fraction: false };

    pub fn is_midnight(self) -> bool {
        self.hour == 0 && self.minute == 0 && self.second == 0 && !self.nonzero_fraction
    }
}

/// Why a date did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateError {
    /// Not one of the accepted layouts.
    Syntax,
    /// The right layout, but no such day (month 13, 30 February, year 0).
    Calendar,
}

/// A date, optionally followed by a time and then optionally by a UTC offset in minutes.
pub(crate) type DateTime = (Date, Option<(Time, Option<i32>)>);

/// The length and value of the run of ASCII digits at the start of `b` (value saturates; callers bound lengths).
fn digits(b: &[u8]) -> (usize, u32) {
    let len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let value = b[..len].iter().fold(0u32, |acc, &c| acc.saturating_mul(10).saturating_add(u32::from(c - b'0')));
    (len, value)
}

/// Parses `YYYY-MM-DD`, `DD-MM-YYYY`, `DD/MM/YYYY` or `YYYY/MM/DD` (day and month of 1 or 2 digits) at the start
/// of `b`, returning the date and the bytes it took. Day-first, never month-first: Indian exports write `DD/MM`.
fn date_prefix(b: &[u8]) -> Result<(Date, usize), DateError> {
    if let Some(date) = fixed_iso_date(b)
        && !b.get(10).is_some_and(u8::is_ascii_digit)
    {
        return date.checked().map(|date| (date, 10));
    }
    let (len1, v1) = digits(b);
    let sep = *b.get(len1).ok_or(DateError::Syntax)?;
    if !matches!(sep, b'-' | b'/') {
        return Err(DateError::Syntax);
    }
    let mut i = len1 + 1;
    let (len2, v2) = digits(&b[i..]);
    i += len2;
    if b.get(i) != Some(&sep) || !(1..=2).contains(&len2) {
        return Err(DateError::Syntax);
    }
    i += 1;
    let (len3, v3) = digits(&b[i..]);
    i += len3;
    let date = match (len1, len3) {
        (4, 1..=2) => Date { year: v1, month: v2, day: v3 },
        (1..=2, 4) => Date { year: v3, month: v2, day: v1 },
        _ => return Err(DateError::Syntax),
    };
    date.checked().map(|date| (date, i))
}

/// `yyyy-MM-dd` at fixed positions, the layout of nearly every date, read without the general scanner.
fn fixed_iso_date(b: &[u8]) -> Option<Date> {
    let b = b.get(..10)?;
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digit = |i: usize| b[i].is_ascii_digit().then(|| u32::from(b[i] - b'0'));
    let number = |range: std::ops::Range<usize>| range.map(digit).try_fold(0, |acc, d| Some(acc * 10 + d?));
    Some(Date { year: number(0..4)?, month: number(5..7)?, day: number(8..10)? })
}

impl Date {
    /// The date if it exists on the (proleptic Gregorian) calendar.
    fn checked(self) -> Result<Date, DateError> {
        let valid = self.year >= 1
            && (1..=12).contains(&self.month)
            && (1..=calendar::days_in_month(i64::from(self.year), self.month)).contains(&self.day);
        if valid { Ok(self) } else { Err(DateError::Calendar) }
    }
}

/// Parses `H:mm`, `HH:mm`, `HH:mm:ss` or `HH:mm:ss.f…` at the start of `b`, returning it and the bytes it took.
pub(crate) fn time_prefix(b: &[u8]) -> Option<(Time, usize)> {
    let (hour_len, hour) = digits(b);
    if !(1..=2).contains(&hour_len) || b.get(hour_len) != Some(&b':') {
        return None;
    }
    let mut i = hour_len + 1;
    let two = |at: usize| match digits(&b[at..]) {
        (2, v) => Some(v),
        _ => None,
    };
    let minute = two(i)?;
    i += 2;
    let mut time = Time { hour, minute, second: 0, millis: 0, nonzero_fraction: false };
    if b.get(i) == Some(&b':') {
        time.second = two(i + 1)?;
        i += 3;
        if b.get(i) == Some(&b'.') {
            let fraction = &b[i + 1..];
            let (len, _) = digits(fraction);
            if len == 0 {
                return None;
            }
            // Milliseconds: the first three digits, padded with zeros; further digits are truncated.
            let (_, head) = digits(&fraction[..len.min(3)]);
            time.millis = head * 10u32.pow(3 - len.min(3) as u32);
            time.nonzero_fraction = fraction[..len].iter().any(|&c| c != b'0');
            i += 1 + len;
        }
    }
    (time.hour <= 23 && time.minute <= 59 && time.second <= 59).then_some((time, i))
}

/// Parses a whole UTC offset: `Z`, `±hh`, `±hhmm` or `±hh:mm`, in minutes east of UTC.
fn offset(b: &[u8]) -> Option<i32> {
    let (sign, rest) = match b {
        [b'Z' | b'z'] => return Some(0),
        [b'+', rest @ ..] => (1, rest),
        [b'-', rest @ ..] => (-1, rest),
        _ => return None,
    };
    let (hh, mm) = match rest {
        [h1, h2] => ([*h1, *h2], *b"00"),
        [h1, h2, m1, m2] | [h1, h2, b':', m1, m2] => ([*h1, *h2], [*m1, *m2]),
        _ => return None,
    };
    let (2, hours) = digits(&hh) else { return None };
    let (2, minutes) = digits(&mm) else { return None };
    (hours <= 23 && minutes <= 59).then_some(sign * (hours * 60 + minutes).cast_signed())
}

/// Parses a whole value: a date, then optionally ` ` or `T` and a time, then optionally an offset.
pub(crate) fn parse(value: &str) -> Result<DateTime, DateError> {
    let b = value.as_bytes();
    let (date, i) = date_prefix(b)?;
    if i == b.len() {
        return Ok((date, None));
    }
    if !matches!(b[i], b' ' | b'T' | b't') {
        return Err(DateError::Syntax);
    }
    let (time, j) = time_prefix(&b[i + 1..]).ok_or(DateError::Syntax)?;
    let rest = &b[i + 1 + j..];
    if rest.is_empty() {
        return Ok((date, Some((time, None))));
    }
    let offset = offset(rest).ok_or(DateError::Syntax)?;
    Ok((date, Some((time, Some(offset)))))
}

/// The wall-clock date and time at `to_minutes` east of UTC for a date and time read at `from_minutes`.
pub(crate) fn shift(date: Date, time: Time, from_minutes: i32, to_minutes: i32) -> Result<(Date, Time), DateError> {
    let minute_of_day = i64::from(time.hour * 60 + time.minute) - i64::from(from_minutes) + i64::from(to_minutes);
    let days = days_from_civil(date) + minute_of_day.div_euclid(1440);
    let minute_of_day = minute_of_day.rem_euclid(1440) as u32;
    let date = civil_from_days(days).ok_or(DateError::Calendar)?;
    Ok((date, Time { hour: minute_of_day / 60, minute: minute_of_day % 60, ..time }))
}

fn days_from_civil(date: Date) -> i64 {
    calendar::days_from_civil(i64::from(date.year), date.month, date.day)
}

/// The date of a day number; `None` outside years 1..=9999.
fn civil_from_days(days: i64) -> Option<Date> {
    let (year, month, day) = calendar::civil_from_days(days);
    (1..=9999).contains(&year).then_some(Date { year: year as u32, month, day })
}

fn put(buf: &mut [u8], mut value: u32) {
    for slot in buf.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// `yyyy-MM-dd`.
pub(crate) fn format_date(date: Date) -> [u8; 10] {
    let mut out = *b"0000-00-00";
    put(&mut out[..4], date.year);
    put(&mut out[5..7], date.month);
    put(&mut out[8..], date.day);
    out
}

/// `HH:mm:ss`.
pub(crate) fn format_time(time: Time) -> [u8; 8] {
    let mut out = *b"00:00:00";
    put(&mut out[..2], time.hour);
    put(&mut out[3..5], time.minute);
    put(&mut out[6..], time.second);
    out
}

/// `yyyy-MM-dd HH:mm:ss.SSS`.
pub(crate) fn format_timestamp(date: Date, time: Time) -> [u8; 23] {
    let mut out = *b"0000-00-00 00:00:00.000";
    out[..10].copy_from_slice(&format_date(date));
    out[11..19].copy_from_slice(&format_time(time));
    put(&mut out[20..], time.millis);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: u32, month: u32, day: u32) -> Date {
        Date { year, month, day }
    }

    #[test]
    fn civil_day_numbers_round_trip() {
        assert_eq!(days_from_civil(date(1970, 1, 1)), 0);
        assert_eq!(days_from_civil(date(2000, 3, 1)), 11_017);
        for days in [-719_162, -1, 0, 59, 60, 11_016, 2_932_896] {
            assert_eq!(days_from_civil(civil_from_days(days).unwrap()), days);
        }
        assert_eq!(civil_from_days(-719_163), None, "year 0");
        assert_eq!(civil_from_days(2_932_897), None, "year 10000");
    }

    #[test]
    fn offsets() {
        assert_eq!(offset(b"Z"), Some(0));
        assert_eq!(offset(b"+05:30"), Some(330));
        assert_eq!(offset(b"+0530"), Some(330));
        assert_eq!(offset(b"-08"), Some(-480));
        for bad in [&b"+5:30"[..], b"+24:00", b"05:30", b"+05:3", b"+05:60", b"UTC"] {
            assert_eq!(offset(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn times_keep_millis_and_notice_any_nonzero_fraction() {
        let (t, len) = time_prefix(b"7:05:09.1234").unwrap();
        assert_eq!((t.hour, t.minute, t.second, t.millis, len), (7, 5, 9, 123, 12));
        assert_eq!(time_prefix(b"00:00:00.5").unwrap().0.millis, 500);
        assert!(!time_prefix(b"00:00:00.0000").unwrap().0.nonzero_fraction);
        assert!(time_prefix(b"00:00:00.0001").unwrap().0.nonzero_fraction);
        assert!(!time_prefix(b"00:00:00.0001").unwrap().0.is_midnight());
    }
}
