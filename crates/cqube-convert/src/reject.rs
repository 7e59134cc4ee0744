//! Rejected rows: what was wrong, where, and the report file they go to.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

/// One rejected row: where it is and which rule it broke.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reject {
    /// 1-based line in the input where the row starts.
    pub line: u64,
    /// The catalog column (or source column) at fault; `None` for row-level problems.
    pub column: Option<String>,
    /// The offending value, cut to 200 characters.
    pub value: String,
    /// The rule broken, in words.
    pub rule: String,
    /// A stable identifier of the rule, for machines.
    pub code: &'static str,
    /// For a code missing from its master: the referring column's place in the source.
    #[serde(skip)]
    pub(crate) reference_column: Option<usize>,
}

const VALUE_LIMIT: usize = 200;

/// A value cut to [`VALUE_LIMIT`] characters, saying so: as reports show it.
pub(crate) fn cut(value: &str) -> std::borrow::Cow<'_, str> {
    match value.char_indices().nth(VALUE_LIMIT) {
        Some((cut, _)) => format!("{}… ({} bytes)", &value[..cut], value.len()).into(),
        None => value.into(),
    }
}

impl Reject {
    pub(crate) fn new(line: u64, column: Option<&str>, value: &str, rule: String, code: &'static str) -> Reject {
        Reject {
            line,
            column: column.map(str::to_owned),
            value: cut(value).into_owned(),
            rule,
            code,
            reference_column: None,
        }
    }

    /// This reject as a missing reference of the source's column `column`.
    pub(crate) fn of_reference(mut self, column: usize) -> Reject {
        self.reference_column = Some(column);
        self
    }
}

/// Where rejected rows are reported.
pub trait RejectSink: Send {
    fn record(&mut self, input: &str, reject: &Reject) -> io::Result<()>;

    /// Writes out what is buffered (a report shared by several conversions cannot be finished by any one).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One report for conversions running at once (`emit` of several files): each record is written whole.
#[derive(Clone)]
pub struct SharedRejects(Arc<Mutex<dyn RejectSink>>);

impl SharedRejects {
    pub fn new(sink: impl RejectSink + 'static) -> SharedRejects {
        SharedRejects(Arc::new(Mutex::new(sink)))
    }
}

impl std::fmt::Debug for SharedRejects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedRejects")
    }
}

impl RejectSink for SharedRejects {
    fn record(&mut self, input: &str, reject: &Reject) -> io::Result<()> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).record(input, reject)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).flush()
    }
}

/// Discards rejects (they are still counted in the summary).
#[derive(Debug, Default)]
pub struct NoRejects;

impl RejectSink for NoRejects {
    fn record(&mut self, _: &str, _: &Reject) -> io::Result<()> {
        Ok(())
    }
}

/// A CSV report: `file,line,column,value,rule,code`, one row per rejected row.
#[derive(Debug)]
pub struct RejectCsv<W: Write> {
    writer: csv::Writer<W>,
}

impl<W: Write> RejectCsv<W> {
    pub fn new(out: W) -> io::Result<RejectCsv<W>> {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(["file", "line", "column", "value", "rule", "code"])?;
        Ok(RejectCsv { writer })
    }

    /// Flushes the report and returns the writer.
    pub fn finish(self) -> io::Result<W> {
        self.writer.into_inner().map_err(csv::IntoInnerError::into_error)
    }
}

impl<W: Write + Send> RejectSink for RejectCsv<W> {
    fn record(&mut self, input: &str, r: &Reject) -> io::Result<()> {
        let line = r.line.to_string();
        self.writer.write_record([input, &line, r.column.as_deref().unwrap_or(""), &r.value, &r.rule, r.code])?;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_is_csv_with_a_header() {
        let mut report = RejectCsv::new(Vec::new()).unwrap();
        let r = Reject::new(7, Some("Month"), "13", "fails check: range 1..=12".into(), "check");
        report.record("att.csv", &r).unwrap();
        let text = String::from_utf8(report.finish().unwrap()).unwrap();
        assert_eq!(text, "file,line,column,value,rule,code\natt.csv,7,Month,13,fails check: range 1..=12,check\n");
    }

    #[test]
    fn a_shared_report_takes_records_from_several_threads() {
        let file = tempfile_path();
        let shared = SharedRejects::new(RejectCsv::new(std::fs::File::create(&file).unwrap()).unwrap());
        std::thread::scope(|s| {
            for t in 0..4 {
                let mut sink = shared.clone();
                s.spawn(move || {
                    for line in 0..100 {
                        let r = Reject::new(line, Some("Month"), "13", "fails check: range 1..=12".into(), "check");
                        sink.record(&format!("f{t}.csv"), &r).unwrap();
                    }
                });
            }
        });
        shared.clone().flush().unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        let _ = std::fs::remove_file(&file);
        assert_eq!(text.lines().count(), 401);
        assert!(text.lines().skip(1).all(|l| l.ends_with(",13,fails check: range 1..=12,check")), "{text}");
    }

    fn tempfile_path() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("cqube-rejects-{}-{:?}.csv", std::process::id(), std::thread::current().id()))
    }

    #[test]
    fn long_values_are_cut_and_say_so() {
        let r = Reject::new(1, None, &"é".repeat(1000), "x".into(), "x");
        assert!(r.value.starts_with(&"é".repeat(200)));
        assert!(r.value.ends_with("… (2000 bytes)"));
    }
}
