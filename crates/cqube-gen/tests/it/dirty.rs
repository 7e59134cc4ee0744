use super::*;

#[test]
fn injected_counts_match_an_independent_check_for_every_source() {
    let catalog = Catalog::builtin();
    let universe = Universe::new(3, 150);
    let (mut invalid, mut duplicates) = (0, 0);
    for source in catalog.sources() {
        let (out, report) = gen_source(source, 3000, true, 21, &universe);
        let checked = check(source, &out);
        assert_eq!(checked.rows, report.rows, "{}", source.name);
        assert_eq!(checked.invalid, report.invalid_rows, "{}: invalid rows", source.name);
        assert_eq!(checked.duplicates, report.duplicate_key_rows, "{}: duplicate keys", source.name);
        assert!(checked.bad_cells.iter().all(|&n| n == 1), "{}: one bad cell per invalid row", source.name);
        if source.key.is_empty() {
            assert_eq!(report.duplicate_key_rows, 0, "{}", source.name);
        }
        invalid += report.invalid_rows;
        duplicates += report.duplicate_key_rows;
    }
    assert!(invalid > 500 && duplicates > 20, "{invalid} invalid, {duplicates} duplicates");
}

#[test]
fn shares_are_about_one_percent_invalid_and_a_tenth_of_a_percent_duplicates() {
    let (out, report) = gen_named("student_attendance", 100_000, true, 4);
    let checked = check(Catalog::builtin().get("student_attendance").unwrap(), &out);
    assert_eq!((checked.invalid, checked.duplicates), (report.invalid_rows, report.duplicate_key_rows));
    assert!((800..1200).contains(&report.invalid_rows), "{report:?}");
    assert!((60..140).contains(&report.duplicate_key_rows), "{report:?}");
}

#[test]
fn dirty_output_carries_every_accepted_kind_of_mess() {
    let mut all = Vec::new();
    for name in ["inspection_master", "student_attendance", "school_master", "nsqf_faculty"] {
        all.extend(gen_named(name, 3000, true, 2).0);
    }
    let text = String::from_utf8(all).unwrap();
    for needle in [",NA,", ",N/A,", ",null,", ",NULL,", ".0,", "\r\n", "  ,", ", "] {
        assert!(text.contains(needle), "no {needle:?} in dirty output");
    }
    let needlessly_quoted = text.split(',').any(|f| {
        f.len() > 2 && f.starts_with('"') && f.ends_with('"') && f[1..f.len() - 1].bytes().all(|b| b.is_ascii_digit())
    });
    assert!(needlessly_quoted, "no quoted number");
    let (_, rows) = parse(&gen_named("inspection_master", 3000, true, 2).0);
    let cells = || rows.iter().flatten();
    assert!(cells().any(|c| c.contains('\n') && c.contains(',') && c.contains('"')), "multi-line text");
    for layout in [r"^\d\d/\d\d/\d{4}$", r"^\d\d-\d\d-\d{4}$", r"^\d{4}/\d\d/\d\d$"] {
        let matches = |c: &str| {
            let b = c.as_bytes();
            match layout.len() {
                _ if layout.starts_with(r"^\d\d/") => b.len() == 10 && b[2] == b'/' && b[5] == b'/',
                _ if layout.starts_with(r"^\d\d-") => b.len() == 10 && b[2] == b'-' && b[5] == b'-',
                _ => b.len() == 10 && b[4] == b'/' && b[7] == b'/',
            }
        };
        assert!(cells().any(|c| matches(c)), "no date like {layout}");
    }
    let (header, _) = parse(&gen_named("student_attendance", 1, true, 3).0);
    let catalog = Catalog::builtin();
    let names: Vec<&str> = catalog.get("student_attendance").unwrap().columns.iter().map(|c| c.name.as_str()).collect();
    assert_ne!(header, names, "dirty headers vary the names");
}
