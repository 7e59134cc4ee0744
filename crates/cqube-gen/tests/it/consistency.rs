use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// Every source at its default row count from one universe, parsed into name → records by column name.
fn gen_all(universe: &Universe, scale: u64) -> BTreeMap<String, Vec<BTreeMap<String, String>>> {
    let catalog = Catalog::builtin();
    catalog
        .sources()
        .iter()
        .map(|s| {
            let rows = default_rows(s, universe, scale);
            let (out, report) = gen_source(s, rows, false, 17, universe);
            assert_eq!(report.rows, rows, "{}", s.name);
            let (header, records) = parse(&out);
            let records = records.into_iter().map(|r| header.iter().cloned().zip(r).collect()).collect();
            (s.name.clone(), records)
        })
        .collect()
}

#[test]
fn every_reference_exists_in_its_master() {
    let universe = Universe::new(8, 250);
    let all = gen_all(&universe, 3000);
    let ids = |source: &str, column: &str| -> BTreeSet<String> {
        let set: BTreeSet<String> = all[source].iter().map(|r| r[column].clone()).collect();
        assert_eq!(set.len(), all[source].len(), "{source}.{column} lists each id once");
        set
    };
    let schools = ids("school_master", "udise_sch_code");
    let clusters = ids("cluster_master", "udise_cluster_code");
    let blocks = ids("block_master", "udise_block_code");
    let districts = ids("district_master", "udise_district_code");
    assert_eq!(schools.len(), 250);
    assert_eq!(
        (clusters.len(), blocks.len(), districts.len()),
        (universe.clusters() as usize, universe.blocks() as usize, universe.districts() as usize)
    );
    let managements = ids("school_management_master", "ManagementId");
    let categories = ids("school_category_master", "SchoolCategoryId");
    let inspections = ids("inspection_master", "InspectionId");
    let references: [(&[&str], &BTreeSet<String>); 7] = [
        (&["udise_sch_code", "SchoolId", "school_id", "SCHCD", "School UDISE ID"], &schools),
        (&["udise_cluster_code", "cluster_cd", "ClusterId"], &clusters),
        (&["udise_block_code", "block_cd_1", "block_cd_2", "BlockId"], &blocks),
        (&["udise_dist_code", "district_cd", "DistrictId", "district_id"], &districts),
        (&["sch_mgmt_id"], &managements),
        (&["sch_category_id"], &categories),
        (&["InspectionId"], &inspections),
    ];
    let mut checked = 0;
    for (source, records) in &all {
        for (columns, master) in references {
            for column in columns {
                for r in records.iter().filter_map(|r| r.get(*column)).filter(|v| !v.is_empty()) {
                    assert!(master.contains(r), "{source}.{column} = {r} is not in its master");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 10_000, "{checked} references checked");
    for (group, prefix) in [("periodic", "PAT"), ("semester", "SAT")] {
        let exams: BTreeMap<&str, &str> = all[&format!("{group}_exam_mst")]
            .iter()
            .map(|r| (r["exam_id"].as_str(), r["exam_code"].as_str()))
            .collect();
        let questions: BTreeMap<&str, &str> = all[&format!("{group}_exam_qst_mst")]
            .iter()
            .map(|r| (r["question_id"].as_str(), r["exam_id"].as_str()))
            .collect();
        assert_eq!((exams.len() as u64, questions.len() as u64), (universe.exams(), universe.questions()));
        assert!(questions.values().all(|e| exams.contains_key(e)), "{group}: question of an unknown exam");
        let results = &all[&format!("{group}_exam_result_trans")];
        assert!(!results.is_empty());
        for r in results {
            let exam = questions[r["question_id"].as_str()];
            assert_eq!(r["exam_id"], exam, "{group}: a result's question belongs to its exam");
            assert_eq!(r["exam_code"], exams[exam], "{group}: exam code matches the master");
            assert!(r["exam_code"].starts_with(prefix));
            assert!(r["student_uid"].starts_with(&r["school_id"]), "student belongs to the result's school");
        }
    }
}

#[test]
fn codes_in_one_row_belong_to_one_place() {
    let universe = Universe::new(8, 250);
    let all = gen_all(&universe, 1000);
    let block_of_cluster: BTreeMap<&str, &str> = all["cluster_master"]
        .iter()
        .map(|r| (r["udise_cluster_code"].as_str(), r["udise_block_code"].as_str()))
        .collect();
    let district_of_block: BTreeMap<&str, &str> =
        all["block_master"].iter().map(|r| (r["udise_block_code"].as_str(), r["udise_dist_code"].as_str())).collect();
    for r in &all["school_master"] {
        assert_eq!(block_of_cluster[r["cluster_cd"].as_str()], r["block_cd_1"]);
        assert_eq!(district_of_block[r["block_cd_1"].as_str()], r["district_cd"]);
    }
    let school_cluster: BTreeMap<&str, &str> =
        all["school_master"].iter().map(|r| (r["udise_sch_code"].as_str(), r["cluster_cd"].as_str())).collect();
    for r in &all["infra_trans"] {
        assert_eq!(school_cluster[r["school_id"].as_str()], r["ClusterId"]);
        assert_eq!(block_of_cluster[r["ClusterId"].as_str()], r["BlockId"]);
    }
    // A result's school names and a mapping's names agree with the masters too.
    let names: BTreeMap<&str, &str> =
        all["school_master"].iter().map(|r| (r["udise_sch_code"].as_str(), r["school_name"].as_str())).collect();
    for r in &all["diksha_tpd_mapping"] {
        assert_eq!(names[r["School UDISE ID"].as_str()], r["School Name"]);
    }
}
