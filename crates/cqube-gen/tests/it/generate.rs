use super::*;

#[test]
fn every_source_generates_valid_unique_rows_with_the_catalog_header() {
    let catalog = Catalog::builtin();
    let universe = Universe::new(5, 120);
    assert_eq!(catalog.sources().len(), 62);
    for source in catalog.sources() {
        let rows = 400;
        let (out, report) = gen_source(source, rows, false, 3, &universe);
        let header = source.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(",");
        assert!(out.starts_with(format!("{header}\n").as_bytes()), "{}: header", source.name);
        assert!(!out.contains(&b'\r'), "{}: LF line ends only", source.name);
        let checked = check(source, &out);
        assert_eq!(checked.rows, report.rows, "{}", source.name);
        assert!(report.rows == rows || report.rows == default_rows(source, &universe, u64::MAX), "{}", source.name);
        assert_eq!((checked.invalid, checked.duplicates), (0, 0), "{}: clean output must be valid", source.name);
        assert_eq!((report.invalid_rows, report.duplicate_key_rows), (0, 0));
        std::str::from_utf8(&out).unwrap();
    }
}

#[test]
fn same_options_give_the_same_bytes_and_another_seed_other_bytes() {
    for name in ["student_attendance", "school_master", "periodic_exam_result_trans", "sch_facility", "diksha_tpd"] {
        for dirty in [false, true] {
            let (a, _) = gen_named(name, 500, dirty, 7);
            let (b, _) = gen_named(name, 500, dirty, 7);
            let (c, _) = gen_named(name, 500, dirty, 8);
            assert!(a == b, "{name}: same seed must give the same bytes");
            assert!(a != c, "{name}: another seed must give other bytes");
        }
    }
}

#[test]
fn row_counts_follow_the_request_and_the_key_space() {
    let (out, report) = gen_named("student_attendance", 1234, false, 1);
    assert_eq!((report.rows, parse(&out).1.len()), (1234, 1234));
    // One row per school at most: the 300-school universe caps the master.
    let (out, report) = gen_named("school_master", 10_000, false, 1);
    assert_eq!((report.rows, parse(&out).1.len()), (300, 300));
    let (out, report) = gen_named("district_master", 0, false, 1);
    assert_eq!((report.rows, parse(&out).1.len()), (0, 0));
}

#[test]
fn default_rows_size_masters_by_the_universe_and_transactions_by_scale() {
    let catalog = Catalog::builtin();
    let u = Universe::new(2, 300);
    let rows = |name| default_rows(catalog.get(name).unwrap(), &u, 100_000);
    assert_eq!(rows("school_master"), 300);
    assert_eq!(rows("sch_facility"), 300);
    assert_eq!(rows("cluster_master"), u.clusters());
    assert_eq!(rows("block_master"), u.blocks());
    assert_eq!(rows("district_master"), u.districts());
    assert_eq!(rows("periodic_exam_mst"), u.exams());
    assert_eq!(rows("periodic_exam_qst_mst"), u.questions());
    assert_eq!(rows("inspection_master"), u.inspections());
    assert_eq!(rows("school_management_master"), 8);
    assert_eq!(rows("student_attendance"), 100_000);
    assert_eq!(rows("teacher_attendance"), 10_000);
    assert_eq!(rows("diksha_tpd"), 1000);
    assert_eq!(default_rows(catalog.get("student_attendance").unwrap(), &u, 0), 1);
}

#[test]
fn attendance_has_the_reference_shape() {
    let (out, _) = gen_named("student_attendance", 20_000, false, 9);
    let (_, rows) = parse(&out);
    let mut codes = std::collections::BTreeMap::new();
    let (mut cells, mut no_aadhaar) = (0u32, 0u32);
    for row in &rows {
        let (year, month): (u32, u32) = (row[4][..4].parse().unwrap(), row[5].parse().unwrap());
        let year = if month < 6 { year + 1 } else { year };
        let len = [31, if year % 4 == 0 { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month as usize - 1];
        for (day, cell) in row[6..].iter().enumerate() {
            if day >= len {
                assert_eq!(cell, "", "days past the month's end are empty");
            } else {
                *codes.entry(cell.clone()).or_insert(0u32) += 1;
                cells += 1;
            }
        }
        no_aadhaar += u32::from(row[3].is_empty());
        assert_eq!(&row[1][..11], row[2], "a student id starts with its school's code");
    }
    let share = |c: &str| f64::from(codes[c]) / f64::from(cells);
    assert_eq!(codes.len(), 4, "{codes:?}");
    assert!((share("1") - 0.80).abs() < 0.01 && (share("2") - 0.11).abs() < 0.01);
    assert!((share("5") - 0.03).abs() < 0.005 && (share("NULL") - 0.06).abs() < 0.005);
    assert!((f64::from(no_aadhaar) / 20_000.0 - 0.30).abs() < 0.02);
    let per_row = out.len() as f64 / 20_000.0;
    assert!((110.0..135.0).contains(&per_row), "{per_row} bytes per row");
}

#[test]
fn school_names_carry_devanagari_commas_and_quotes() {
    let (out, _) = gen_named("school_master", 300, false, 1);
    let (_, rows) = parse(&out);
    let names: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert!(names.iter().any(|n| n.chars().any(|c| ('\u{900}'..='\u{97f}').contains(&c))));
    assert!(names.iter().any(|n| n.contains(',')) && names.iter().any(|n| n.contains('"')));
    for r in &rows {
        for coordinate in [&r[25], &r[26]] {
            assert_eq!(coordinate.split_once('.').unwrap().1.len(), 8, "{coordinate}");
        }
    }
}
