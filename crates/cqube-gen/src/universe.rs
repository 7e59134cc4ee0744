//! The shared id space every generated source draws from.

use cqube_core::calendar;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// State codes without a leading zero, so district and school codes never start with `0` (an int column
/// would otherwise be ambiguous about whether the zero is part of the code).
const STATES: [u64; 13] = [10, 19, 20, 21, 22, 23, 24, 27, 28, 29, 32, 33, 36];
/// Hard limits of the UDISE code layout: 2-digit district, block and cluster numbers, 3-digit school number.
const MAX_DISTRICTS: u64 = 99;
const MAX_CHILDREN: u64 = 99;
const MAX_SCHOOLS_PER_CLUSTER: u64 = 999;

pub(crate) const SUBJECTS: [&str; 6] = ["Hindi", "English", "Mathematics", "Science", "Social Science", "Sanskrit"];
/// Grades that sit periodic and semester assessments.
pub(crate) const FIRST_GRADE: u64 = 3;
pub(crate) const GRADES: u64 = 6;
pub(crate) const MANAGEMENTS: [&str; 8] = [
    "Department of Education",
    "Tribal Welfare Department",
    "Local Body",
    "Government Aided",
    "Private Unaided (Recognized)",
    "Central Government",
    "Madarsa Recognized",
    "Social Welfare Department",
];
pub(crate) const CATEGORIES: [&str; 11] = [
    "Primary",
    "Primary with Upper Primary",
    "Primary with Upper Primary, Secondary and Higher Secondary",
    "Upper Primary only",
    "Upper Primary with Secondary and Higher Secondary",
    "Primary with Upper Primary and Secondary",
    "Upper Primary with Secondary",
    "Secondary only",
    "Secondary with Higher Secondary",
    "Higher Secondary only",
    "Upper Primary, Secondary and Higher Secondary",
];
/// Place names for districts, blocks and school names.
pub(crate) const PLACES: [&str; 24] = [
    "Rampur",
    "Sitapur",
    "Bareilly",
    "Lucknow",
    "Kanpur Dehat",
    "Agra",
    "Meerut",
    "Gorakhpur",
    "Varanasi",
    "Prayagraj",
    "Jhansi",
    "Aligarh",
    "Mathura",
    "Etawah",
    "Nashik",
    "Pune",
    "Satara",
    "Raigad",
    "Sangli",
    "Latur",
    "Beed",
    "Jalna",
    "Akola",
    "Wardha",
];
const BLOCK_WORDS: [&str; 12] =
    ["Nagar", "Gaon", "Khurd", "Kalan", "Pur", "Ganj", "Abad", "Wadi", "Pet", "Tanda", "Kheda", "Palli"];

/// The shared id space: districts, blocks, clusters and schools (UDISE-style codes: state 2 digits,
/// district 4, block 6, cluster 10, school 11), management and category ids, exams and their questions,
/// inspections and DIKSHA courses.
///
/// It is derived only from `(seed, schools)`, so every source generated with equal universes is
/// referentially consistent: each code a transaction mentions exists in its master.
#[derive(Debug, Clone)]
pub struct Universe {
    seed: u64,
    state: u64,
    /// Academic year the transactional sources describe (its first calendar year).
    year: u64,
    /// Block code and district index, per block.
    blocks: Vec<(u64, u32)>,
    /// Cluster code and block index, per cluster.
    clusters: Vec<(u64, u32)>,
    /// School code and cluster index, per school.
    schools: Vec<(u64, u32)>,
    districts: u32,
    exams: Vec<Exam>,
    /// Exam index of each question.
    questions: Vec<u32>,
}

/// One periodic/semester assessment paper.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exam {
    pub grade: u64,
    /// Index into [`SUBJECTS`].
    pub subject: u64,
    /// Days since 1970-01-01.
    pub day: u64,
    pub semester: u64,
    pub first_question: u32,
    pub questions: u32,
    pub marks_per_question: u64,
}

impl Universe {
    /// Builds the universe for `schools` schools (at least 1, at most the UDISE layout's 969,903,999).
    pub fn new(seed: u64, schools: u32) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x756e_6976_6572_7365);
        let target = u64::from(schools).clamp(1, MAX_DISTRICTS * MAX_CHILDREN * MAX_CHILDREN * MAX_SCHOOLS_PER_CLUSTER);
        let state = STATES[below(&mut rng, STATES.len() as u64) as usize];
        let year = 2018 + below(&mut rng, 6);
        let ((lb, hb), (lc, hc), (ls, hs)) = fan_outs(target);
        let mut u = Universe {
            seed,
            state,
            year,
            blocks: Vec::new(),
            clusters: Vec::new(),
            schools: Vec::with_capacity(target as usize),
            districts: 0,
            exams: Vec::new(),
            questions: Vec::new(),
        };
        'outer: for d in 1..=MAX_DISTRICTS {
            u.districts = d as u32;
            let district_code = state * 100 + d;
            for b in 1..=between(&mut rng, lb, hb) {
                let block_code = district_code * 100 + b;
                u.blocks.push((block_code, (d - 1) as u32));
                for c in 1..=between(&mut rng, lc, hc) {
                    u.clusters.push((block_code * 10_000 + c, (u.blocks.len() - 1) as u32));
                    for s in 1..=between(&mut rng, ls, hs) {
                        u.schools.push((block_code * 100_000 + c * 1000 + s, (u.clusters.len() - 1) as u32));
                        if u.schools.len() as u64 == target {
                            break 'outer;
                        }
                    }
                }
            }
        }
        // Two rounds of papers per grade and subject; question counts and marks vary per paper.
        for round in 0..2 {
            for grade in FIRST_GRADE..FIRST_GRADE + GRADES {
                for subject in 0..SUBJECTS.len() as u64 {
                    let questions = between(&mut rng, 5, 15) as u32;
                    let month_offset = if round == 0 { 1 + below(&mut rng, 4) } else { 7 + below(&mut rng, 3) };
                    let day = days_from_civil(
                        year + (6 + month_offset) / 12,
                        (6 + month_offset - 1) % 12 + 1,
                        between(&mut rng, 1, 28),
                    );
                    u.exams.push(Exam {
                        grade,
                        subject,
                        day,
                        semester: round + 1,
                        first_question: u.questions.len() as u32,
                        questions,
                        marks_per_question: between(&mut rng, 1, 5),
                    });
                    u.questions.extend(std::iter::repeat_n((u.exams.len() - 1) as u32, questions as usize));
                }
            }
        }
        u
    }

    /// The seed the universe was built from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of schools.
    pub fn schools(&self) -> u64 {
        self.schools.len() as u64
    }

    /// Number of clusters.
    pub fn clusters(&self) -> u64 {
        self.clusters.len() as u64
    }

    /// Number of blocks.
    pub fn blocks(&self) -> u64 {
        self.blocks.len() as u64
    }

    /// Number of districts.
    pub fn districts(&self) -> u64 {
        u64::from(self.districts)
    }

    /// Number of periodic (and, with the same ids, semester) exams.
    pub fn exams(&self) -> u64 {
        self.exams.len() as u64
    }

    /// Number of exam questions across all exams.
    pub fn questions(&self) -> u64 {
        self.questions.len() as u64
    }

    /// Number of CRC inspections (`InspectionId` 1..=n), three per school.
    pub fn inspections(&self) -> u64 {
        self.schools() * 3
    }

    /// Number of DIKSHA courses.
    pub fn courses(&self) -> u64 {
        (12 + self.schools() / 1000).min(500)
    }

    /// The two-digit state code.
    pub fn state_code(&self) -> u64 {
        self.state
    }

    /// First calendar year of the academic year transactions describe (`2021` for `2021-22`).
    pub fn academic_year(&self) -> u64 {
        self.year
    }

    pub(crate) fn school_code(&self, school: u32) -> u64 {
        self.schools[school as usize].0
    }

    pub(crate) fn school_cluster(&self, school: u32) -> u32 {
        self.schools[school as usize].1
    }

    pub(crate) fn cluster_code(&self, cluster: u32) -> u64 {
        self.clusters[cluster as usize].0
    }

    pub(crate) fn cluster_block(&self, cluster: u32) -> u32 {
        self.clusters[cluster as usize].1
    }

    pub(crate) fn block_code(&self, block: u32) -> u64 {
        self.blocks[block as usize].0
    }

    pub(crate) fn block_district(&self, block: u32) -> u32 {
        self.blocks[block as usize].1
    }

    pub(crate) fn district_code(&self, district: u32) -> u64 {
        self.state * 100 + u64::from(district) + 1
    }

    /// Students enrolled in a school: local student numbers run 1..=this.
    pub(crate) fn enrolment(&self, school: u32) -> u64 {
        30 + mix(self.seed ^ 0x656e_726f ^ u64::from(school)) % 900
    }

    /// The school an inspection (0-based) visited.
    pub(crate) fn inspection_school(&self, inspection: u64) -> u32 {
        (mix(self.seed ^ 0x696e_7370 ^ inspection) % self.schools()) as u32
    }

    pub(crate) fn exam(&self, exam: u32) -> &Exam {
        &self.exams[exam as usize]
    }

    pub(crate) fn question_exam(&self, question: u32) -> u32 {
        self.questions[question as usize]
    }

    pub(crate) fn district_name(&self, district: u32) -> String {
        let i = (u64::from(district) + self.seed % 7) as usize;
        match i / PLACES.len() {
            0 => PLACES[i % PLACES.len()].to_owned(),
            n => format!("{} {}", PLACES[i % PLACES.len()], n + 1),
        }
    }

    pub(crate) fn block_name(&self, block: u32) -> String {
        let code = self.block_code(block);
        let place = PLACES[(mix(self.seed ^ code) % PLACES.len() as u64) as usize];
        format!("{place} {}-{}", BLOCK_WORDS[(code % BLOCK_WORDS.len() as u64) as usize], code % 100)
    }

    pub(crate) fn cluster_name(&self, cluster: u32) -> String {
        let code = self.cluster_code(cluster);
        let place = PLACES[(mix(self.seed ^ code) % PLACES.len() as u64) as usize];
        format!("CRC {place} {}", code % 10_000)
    }
}

/// Ranges of blocks per district, clusters per block and schools per cluster: about the fourth root of the
/// school count at each level (300 schools: 4 districts of 4 blocks of 4 clusters), widened where needed
/// so that 99 districts hold every school even at the lower ends.
fn fan_outs(target: u64) -> ((u64, u64), (u64, u64), (u64, u64)) {
    let mut r: u64 = 1;
    while (r + 1).pow(4) <= target {
        r += 1;
    }
    let per_cluster = target.div_ceil(r * r * r);
    let (mut lb, mut lc) = ((r / 2).clamp(1, MAX_CHILDREN), (r / 2).clamp(1, MAX_CHILDREN));
    let mut ls = (per_cluster / 2).clamp(1, MAX_SCHOOLS_PER_CLUSTER);
    while MAX_DISTRICTS * lb * lc * ls < target {
        if lb < MAX_CHILDREN {
            lb += 1;
        } else if lc < MAX_CHILDREN {
            lc += 1;
        } else {
            ls += 1;
        }
    }
    let (hb, hc) = ((r * 3 / 2).clamp(lb, MAX_CHILDREN), (r * 3 / 2).clamp(lc, MAX_CHILDREN));
    ((lb, hb), (lc, hc), (ls, (per_cluster * 3 / 2).clamp(ls, MAX_SCHOOLS_PER_CLUSTER)))
}

/// A uniform draw in `0..n` (`n > 0`); the multiply-shift keeps the stream stable across platforms.
pub(crate) fn below(rng: &mut impl RngCore, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

/// A uniform draw in `lo..=hi`.
pub(crate) fn between(rng: &mut impl RngCore, lo: u64, hi: u64) -> u64 {
    lo + below(rng, hi - lo + 1)
}

/// splitmix64's finalizer: a bijection on u64, used to derive per-entity attributes without storing them.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Days since 1970-01-01 (generated dates are all after it).
#[allow(clippy::cast_possible_wrap)] // generated dates lie between 1970 and 2100
pub(crate) fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    calendar::days_from_civil(y as i64, m as u32, d as u32) as u64
}

/// The (year, month, day) of a day number from [`days_from_civil`].
#[allow(clippy::cast_possible_wrap)] // generated dates lie between 1970 and 2100
pub(crate) fn civil_from_days(z: u64) -> (u64, u64, u64) {
    let (y, m, d) = calendar::civil_from_days(z as i64);
    (y as u64, u64::from(m), u64::from(d))
}

/// Days in a month of a year.
#[allow(clippy::cast_possible_wrap)] // generated dates lie between 1970 and 2100
pub(crate) fn month_len(year: u64, month: u64) -> u64 {
    u64::from(calendar::days_in_month(year as i64, month as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_nest_and_are_unique() {
        let u = Universe::new(7, 5000);
        assert_eq!(u.schools(), 5000);
        let mut codes: Vec<u64> = (0..5000).map(|s| u.school_code(s)).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 5000);
        for s in 0..5000 {
            let code = u.school_code(s);
            let cluster = u.school_cluster(s);
            let block = u.cluster_block(cluster);
            let district = u.block_district(block);
            assert_eq!(code.to_string().len(), 11);
            assert_eq!(code / 100_000, u.block_code(block));
            assert_eq!(u.cluster_code(cluster) / 10_000, u.block_code(block));
            assert_eq!(u.block_code(block) / 100, u.district_code(district));
            assert_eq!(u.district_code(district) / 100, u.state_code());
            assert_eq!(u.cluster_code(cluster).to_string().len(), 10);
        }
        assert!(u.districts() > 1 && u.districts() <= 99);
    }

    #[test]
    fn large_universes_still_fit_99_districts() {
        let u = Universe::new(1, 100_000);
        assert_eq!(u.schools(), 100_000);
        assert!(u.districts() <= 99);
        assert_eq!(Universe::new(1, 0).schools(), 1);
        let small = Universe::new(1, 300);
        assert!(small.districts() >= 2 && small.blocks() > small.districts() && small.clusters() > small.blocks());
        // The largest universe fits at the lower ends of the ranges (checked without building it).
        let max = MAX_DISTRICTS * MAX_CHILDREN * MAX_CHILDREN * MAX_SCHOOLS_PER_CLUSTER;
        for target in [1, 300, 1_500_000, 100_000_000, max] {
            let ((lb, hb), (lc, hc), (ls, hs)) = fan_outs(target);
            assert!(MAX_DISTRICTS * lb * lc * ls >= target, "{target}");
            assert!(lb <= hb && hb <= 99 && lc <= hc && hc <= 99 && ls <= hs && hs <= 999, "{target}");
        }
    }

    #[test]
    fn same_seed_same_universe_and_different_seed_differs() {
        let (a, b, c) = (Universe::new(3, 800), Universe::new(3, 800), Universe::new(4, 800));
        assert_eq!(a.schools, b.schools);
        assert_eq!(a.questions, b.questions);
        assert!(a.schools != c.schools || a.questions != c.questions);
    }

    #[test]
    fn civil_dates_round_trip() {
        for (y, m, d) in [(1970, 1, 1), (2000, 2, 29), (2021, 12, 31), (2024, 3, 1)] {
            assert_eq!(civil_from_days(days_from_civil(y, m, d)), (y, m, d));
        }
        assert_eq!(days_from_civil(1970, 1, 2), 1);
        assert_eq!((month_len(2024, 2), month_len(2023, 2), month_len(1900, 2), month_len(2023, 4)), (29, 28, 28, 30));
    }

    #[test]
    fn every_question_belongs_to_its_exam() {
        let u = Universe::new(9, 100);
        for (i, e) in u.exams.iter().enumerate() {
            for q in e.first_question..e.first_question + e.questions {
                assert_eq!(u.question_exam(q) as usize, i);
            }
        }
    }
}
