//! Issue 16 item 5, the data-quality report (`--report FILE.json|.html`) of `convert`, `validate` and `emit`, on
//! generated data with dirty rows injected: its numbers agree with the rejects file and with the rows written, and
//! the HTML, read by Python's html.parser (not our code), is balanced, self-contained and escapes the data.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod common;
use common::{Server, bin, gen_all, inject, run_ok};

/// Reads an HTML page with Python's html.parser: every table's rows of cell texts by table id, the elements left
/// open or closed out of order, the `src`/`href` values, and how many `script` elements there are.
fn parse_html(page: &Path) -> Value {
    let script = r#"
import json, sys
from html.parser import HTMLParser
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr"}
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.urls, self.scripts, self.tables = [], [], [], 0, {}
        self.table, self.row, self.cell = None, None, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.urls += [v for k, v in attrs if k in ("src", "href")]
        if tag == "script": self.scripts += 1
        if tag not in VOID: self.stack.append(tag)
        if tag == "table": self.table = self.tables.setdefault(a.get("id", "?"), [])
        elif tag == "tr": self.row = []; self.table.append(self.row)
        elif tag in ("td", "th"): self.cell = ""
    def handle_endtag(self, tag):
        if tag in VOID: return
        if not self.stack or self.stack.pop() != tag: self.errors.append("unbalanced </%s>" % tag)
        if tag in ("td", "th"): self.row.append(self.cell.strip()); self.cell = None
    def handle_data(self, data):
        if self.cell is not None: self.cell += data
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
p.close()
print(json.dumps({"tables": p.tables, "open": p.stack, "errors": p.errors, "urls": p.urls, "scripts": p.scripts}))
"#;
    let out = run_ok(Command::new("python3").args(["-c", script]).arg(page));
    serde_json::from_str(&out).unwrap()
}

/// The value of a two-column table's row named `name` (`rows read` → its number).
fn cell(tables: &Value, table: &str, name: &str) -> u64 {
    let rows = tables[table].as_array().unwrap_or_else(|| panic!("no table {table}: {tables}"));
    let row = rows.iter().find(|r| r[0] == name).unwrap_or_else(|| panic!("{table}: no row {name}: {rows:?}"));
    row[1].as_str().unwrap().parse().unwrap()
}

/// Rows of the rejects file per rule code (its last column).
fn rejects_by_code(rejects: &Path) -> BTreeMap<String, u64> {
    let mut by_code = BTreeMap::new();
    for line in std::fs::read_to_string(rejects).unwrap().lines().skip(1) {
        *by_code.entry(line.rsplit(',').next().unwrap().to_owned()).or_default() += 1;
    }
    by_code
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A page must not load anything: no URL at all in `src` or `href`, no script, and it parses balanced.
fn assert_self_contained(page: &Value) {
    assert_eq!(page["urls"], serde_json::json!([]), "{page}");
    assert_eq!(page["scripts"], 0);
    assert_eq!(page["errors"], serde_json::json!([]), "{page}");
    assert_eq!(page["open"], serde_json::json!([]), "{page}");
}

const SCRIPT: &str = "<script>alert(1)</script>";
const NOT_INTEGER: u64 = 3;
const NULL_AADHAAR: u64 = 4;

/// A generated attendance export with injected rows: 3 whose Month is not an integer (two of them `SCRIPT`), 4
/// with no AadhaarUID, an exact copy of the last row and a copy of its key that differs. Returns the AadhaarUID nulls in all.
fn dirty_attendance(csv: &Path) -> u64 {
    run_ok(bin().args(["gen", "--source", "student_attendance", "--rows", "60", "-o"]).arg(csv));
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (id, month, aadhaar) = (at("StudentAttendanceId"), at("Month"), at("AadhaarUID"));
    let nulls = ["", "NULL", "null", "NA", "N/A"];
    let generated_nulls = lines[1..].iter().filter(|l| nulls.contains(&l.split(',').nth(aadhaar).unwrap())).count();
    let last: Vec<String> = lines.last().unwrap().split(',').map(str::to_owned).collect();
    let edited = |n: u64, column: usize, value: &str| {
        let mut row = last.clone();
        row[id] = (900_000_000 + n).to_string();
        value.clone_into(&mut row[column]);
        row.join(",")
    };
    let mut added: Vec<String> = ["abc", SCRIPT, SCRIPT].iter().zip(0..).map(|(v, n)| edited(n, month, v)).collect();
    added.extend((0..NULL_AADHAAR).map(|n| edited(10 + n, aadhaar, "")));
    let mut differing = last.clone();
    differing[aadhaar] = "999999999999".into();
    added.extend([last.join(","), differing.join(",")]);
    lines.extend(added.iter().map(String::as_str));
    std::fs::write(csv, lines.join("\n") + "\n").unwrap();
    generated_nulls as u64 + NULL_AADHAAR
}

#[test]
fn issue_16_convert_and_validate_reports_agree_with_the_rejects_and_escape_the_data() {
    let work = tempfile::tempdir().unwrap();
    let csv = work.path().join("student_attendance.csv");
    let nulls = dirty_attendance(&csv);
    let (rejects, report) = (work.path().join("rejects.csv"), work.path().join("report.json"));
    let out = bin()
        .args(["convert", "-q", "--on-error", "skip", "--rejects"])
        .arg(&rejects)
        .arg("--report")
        .arg(&report)
        .arg(&csv)
        .arg("-o")
        .arg(work.path().join("att.zip"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "rows rejected: {}", String::from_utf8_lossy(&out.stderr));
    let r = json(&report);
    assert_eq!(r["schema"], "cqube-emit/quality-report/1");
    assert_eq!(r["command"], "convert");
    let s = &r["sources"][0];
    let written = common::zip_rows(&work.path().join("att.zip"));
    assert_eq!((s["source"].as_str(), s["status"].as_str()), (Some("student_attendance"), Some("checked")));
    assert_eq!(s["rows_read"], 60 + NOT_INTEGER + NULL_AADHAAR + 2);
    assert_eq!(s["rows_written"], written, "the zip's rows");
    assert_eq!(s["rows_rejected"], NOT_INTEGER + 2);
    let by_code = rejects_by_code(&rejects);
    assert_eq!(by_code, [("duplicate_key".to_owned(), 2), ("not_integer".to_owned(), NOT_INTEGER)].into());
    let rejected: BTreeMap<String, u64> = s["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["rule"].as_str().unwrap().to_owned(), r["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(rejected, by_code, "the report counts what the rejects file lists");
    let month = s["rejected"].as_array().unwrap().iter().find(|r| r["rule"] == "not_integer").unwrap();
    assert_eq!(month["column"], "Month");
    assert_eq!(month["values"], serde_json::json!([{"value": SCRIPT, "count": 2}, {"value": "abc", "count": 1}]));
    let aadhaar = s["columns"].as_array().unwrap().iter().find(|c| c["column"] == "AadhaarUID").unwrap();
    assert_eq!(aadhaar["nulls"], nulls, "generated nulls and the 4 injected");
    let month_nulls = s["columns"].as_array().unwrap().iter().find(|c| c["column"] == "Month").unwrap();
    assert_eq!(month_nulls["nulls"], 0, "a required column");
    assert_eq!(s["duplicates"]["rows_rejected"], 2);
    assert_eq!(s["duplicates"]["exact"], 1, "one later copy is exact, the other differs");
    assert_eq!(s["cqube_would_drop"]["failing_checks"], NOT_INTEGER);
    assert_eq!(s["cqube_would_drop"]["duplicate_discards"], 3, "every copy of the key whose copies differ");
    assert_eq!(r["totals"]["rows_rejected"], NOT_INTEGER + 2);

    // The same file through `validate`, as a page.
    let page = work.path().join("report.html");
    let out = bin().args(["validate", "-q", "--on-error", "skip", "--report"]).arg(&page).arg(&csv).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&page).unwrap();
    assert!(text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the value shown escaped");
    let html = parse_html(&page);
    assert_self_contained(&html);
    let tables = &html["tables"];
    assert_eq!(cell(tables, "s0-counts", "rows read"), 60 + NOT_INTEGER + NULL_AADHAAR + 2);
    assert_eq!(cell(tables, "s0-counts", "rows written"), written);
    assert_eq!(cell(tables, "s0-counts", "rows rejected"), NOT_INTEGER + 2);
    assert_eq!(cell(tables, "totals", "rows rejected"), NOT_INTEGER + 2);
    assert_eq!(cell(tables, "s0-nulls", "AadhaarUID"), nulls);
    let month = tables["s0-rejected"].as_array().unwrap().iter().find(|r| r[0] == "not_integer").unwrap();
    assert_eq!(month[2], NOT_INTEGER.to_string());
    assert!(month[5].as_str().unwrap().starts_with(&format!("{SCRIPT} ×2")), "parsed back to the value: {month:?}");

    // A report that cannot be written in a known format stops the run before it reads anything.
    let out = bin().args(["validate", "--report"]).arg(work.path().join("r.txt")).arg(&csv).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint: name the file *.json or *.html"));
}

const UNKNOWN_SCHOOLS: u64 = 5;

/// A generated folder whose attendance names 5 schools the school master lacks.
fn folder_with_unknown_schools(dir: &Path) -> BTreeMap<String, std::path::PathBuf> {
    let generated = gen_all(dir, "100");
    let rows: Vec<Vec<(&str, String)>> = (0..UNKNOWN_SCHOOLS)
        .map(|i| {
            vec![
                ("StudentAttendanceId", format!("{}", 900_000_000 + i)),
                ("SchoolId", format!("{}", 99_999_999_900 + i)),
            ]
        })
        .collect();
    inject(&generated["student_attendance"], &rows);
    generated
}

fn source<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["sources"].as_array().unwrap().iter().find(|s| s["source"] == name).unwrap()
}

#[test]
fn issue_16_plan_reports_of_validate_and_emit_count_cross_source_misses() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("cqube_emission");
    let generated = folder_with_unknown_schools(&dir);
    let attendance_rows = common::zip_rows(&generated["student_attendance"]);
    let (rejects, report) = (work.path().join("rejects.csv"), work.path().join("plan.json"));
    let out = bin()
        .args(["validate", "-q", "--on-error", "skip", "--rejects"])
        .arg(&rejects)
        .arg("--report")
        .arg(&report)
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let r = json(&report);
    assert_eq!(r["command"], "validate");
    assert_eq!(r["totals"]["files"], generated.len());
    assert_eq!(r["sources"].as_array().unwrap().len(), generated.len());
    assert_eq!(r["totals"]["misses"], serde_json::json!({"unknown_school": UNKNOWN_SCHOOLS}));
    assert_eq!(r["totals"]["rows_rejected"], UNKNOWN_SCHOOLS);
    assert_eq!(rejects_by_code(&rejects), [("unknown_school".to_owned(), UNKNOWN_SCHOOLS)].into());
    let att = source(&r, "student_attendance");
    assert_eq!(att["rows_read"], attendance_rows);
    assert_eq!(att["rows_written"], attendance_rows - UNKNOWN_SCHOOLS);
    assert_eq!(att["misses"][0]["master"], "school_master.udise_sch_code");
    assert_eq!(att["misses"][0]["count"], UNKNOWN_SCHOOLS);
    assert_eq!(att["cqube_would_drop"]["missing_references"], UNKNOWN_SCHOOLS);
    assert_eq!(att["rejected"][0]["values"].as_array().unwrap().len(), UNKNOWN_SCHOOLS as usize);
    assert_eq!(r["totals"]["cqube_would_drop"]["rows"], UNKNOWN_SCHOOLS);

    // `emit` against the embedded server: the orphans are left out and the page says so.
    let server = Server::start(false);
    let page = work.path().join("emit.html");
    let out = server
        .emit(&["-q", "--on-error", "skip", "--report", page.to_str().unwrap(), dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "rows were left out: {}", String::from_utf8_lossy(&out.stderr));
    let html = parse_html(&page);
    assert_self_contained(&html);
    let tables = &html["tables"];
    assert_eq!(cell(tables, "totals", "files"), generated.len() as u64);
    assert_eq!(cell(tables, "totals", "rows rejected"), UNKNOWN_SCHOOLS);
    assert_eq!(cell(tables, "totals", "cQube would drop: rows missing from masters"), UNKNOWN_SCHOOLS);
    let misses = tables["totals-misses"].as_array().unwrap();
    assert_eq!(misses[1], serde_json::json!(["unknown_school", UNKNOWN_SCHOOLS.to_string()]), "{misses:?}");
    // The attendance file was converted (its orphans out) and so profiled; the rows sent are the rows written.
    let text = std::fs::read_to_string(&page).unwrap();
    let index = text.split("<section").skip(1).position(|s| s.contains("data-source=\"student_attendance\"")).unwrap();
    let counts = format!("s{index}-counts");
    assert_eq!(cell(tables, &counts, "rows read"), attendance_rows);
    assert_eq!(cell(tables, &counts, "rows written"), attendance_rows - UNKNOWN_SCHOOLS);
    assert!(tables[format!("s{index}-nulls")].as_array().is_some_and(|rows| rows.len() > 1), "nulls per column");
}
