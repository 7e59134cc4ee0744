//! Rendering one row's cells in their clean, canonical form.

use cqube_core::{ColumnType, IntWidth};
use rand_chacha::rand_core::RngCore;

use crate::plan::{ColPlan, Dim, MAX_STUDENTS, Plan, Role};
use crate::universe::{
    CATEGORIES, FIRST_GRADE, GRADES, MANAGEMENTS, PLACES, SUBJECTS, Universe, below, between, civil_from_days,
    days_from_civil, mix, month_len,
};

/// The identity of a row: the entities its key and reference columns show. Filled from the row's key
/// number, then lazily (at random) for references the key does not fix. A duplicate-key row replays a
/// saved context, so its key cells come out the same while its free cells are drawn again.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ctx {
    pub serial: u64,
    school: Option<u32>,
    cluster: Option<u32>,
    block: Option<u32>,
    district: Option<u32>,
    student: Option<u64>,
    teacher: Option<u64>,
    exam: Option<u32>,
    question: Option<u32>,
    subject: Option<u64>,
    grade: Option<u64>,
    management: Option<u64>,
    category: Option<u64>,
    inspection: Option<u64>,
    course: Option<u64>,
    month: Option<u64>,
    codes: [u64; 4],
}

/// Spreads row numbers over a key space: an affine bijection of `0..capacity`, or the identity when
/// every key is used anyway (so masters list their entities in order).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spread {
    capacity: u64,
    a: u64,
    b: u64,
}

impl Spread {
    pub(crate) fn new(capacity: u64, rows: u64, seed: u64) -> Spread {
        if rows >= capacity || capacity <= 1 {
            return Spread { capacity, a: 1, b: 0 };
        }
        let mut a = (mix(seed) % capacity) | 1;
        while gcd(a, capacity) != 1 {
            a = (a + 2) % capacity;
        }
        Spread { capacity, a, b: mix(seed ^ 1) % capacity }
    }

    fn apply(self, i: u64) -> u64 {
        ((u128::from(i) * u128::from(self.a) + u128::from(self.b)) % u128::from(self.capacity)) as u64
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Ctx {
    /// The context of row `i` (0-based): its serial and the key components its number selects.
    pub(crate) fn for_row(plan: &Plan, spread: Spread, i: u64) -> Ctx {
        let mut ctx = Ctx { serial: i + 1, ..Ctx::default() };
        if plan.serial {
            return ctx;
        }
        let mut rest = spread.apply(i);
        for &(dim, n) in &plan.dims {
            let v = rest % n;
            rest /= n;
            match dim {
                Dim::School => ctx.school = Some(v as u32),
                Dim::Cluster => ctx.cluster = Some(v as u32),
                Dim::Block => ctx.block = Some(v as u32),
                Dim::District => ctx.district = Some(v as u32),
                Dim::Management => ctx.management = Some(v + 1),
                Dim::Category => ctx.category = Some(v + 1),
                Dim::Exam => ctx.exam = Some(v as u32),
                Dim::Question => ctx.question = Some(v as u32),
                Dim::Subject => ctx.subject = Some(v),
                Dim::Grade => ctx.grade = Some(FIRST_GRADE + v),
                Dim::Month => ctx.month = Some(v + 1),
                Dim::Inspection => ctx.inspection = Some(v),
                Dim::StudentLocal => ctx.student = Some(v + 1),
                Dim::TeacherLocal => ctx.teacher = Some(v + 1),
                Dim::Code { slot } => ctx.codes[usize::from(slot)] = v + 1,
            }
        }
        ctx
    }

    /// Fixes the row's finest place in the hierarchy first, so coarser codes are its ancestors.
    fn prefill(&mut self, plan: &Plan, u: &Universe, rng: &mut impl RngCore) {
        if plan.uses_inspection && self.inspection.is_none() {
            self.inspection = Some(below(rng, u.inspections()));
        }
        match plan.finest {
            4 => {
                self.school(u, rng);
            }
            3 => {
                self.cluster(u, rng);
            }
            2 => {
                self.block(u, rng);
            }
            _ => {}
        }
    }

    fn school(&mut self, u: &Universe, rng: &mut impl RngCore) -> u32 {
        *self.school.get_or_insert_with(|| match self.inspection {
            Some(i) => u.inspection_school(i),
            None => below(rng, u.schools()) as u32,
        })
    }

    fn cluster(&mut self, u: &Universe, rng: &mut impl RngCore) -> u32 {
        if let Some(c) = self.cluster {
            return c;
        }
        let c = match self.school {
            Some(s) => u.school_cluster(s),
            None => below(rng, u.clusters()) as u32,
        };
        self.cluster = Some(c);
        c
    }

    fn block(&mut self, u: &Universe, rng: &mut impl RngCore) -> u32 {
        if let Some(b) = self.block {
            return b;
        }
        let b = if self.school.is_some() || self.cluster.is_some() {
            let c = self.cluster(u, rng);
            u.cluster_block(c)
        } else {
            below(rng, u.blocks()) as u32
        };
        self.block = Some(b);
        b
    }

    fn district(&mut self, u: &Universe, rng: &mut impl RngCore) -> u32 {
        if let Some(d) = self.district {
            return d;
        }
        let d = if self.school.is_some() || self.cluster.is_some() || self.block.is_some() {
            let b = self.block(u, rng);
            u.block_district(b)
        } else {
            below(rng, u.districts()) as u32
        };
        self.district = Some(d);
        d
    }

    fn exam(&mut self, u: &Universe, rng: &mut impl RngCore) -> u32 {
        if let Some(e) = self.exam {
            return e;
        }
        let e = match self.question {
            Some(q) => u.question_exam(q),
            None => below(rng, u.exams()) as u32,
        };
        self.exam = Some(e);
        e
    }

    fn question(&mut self, u: &Universe, rng: &mut impl RngCore) -> u32 {
        if let Some(q) = self.question {
            return q;
        }
        let q = match self.exam {
            Some(e) => {
                let exam = u.exam(e);
                exam.first_question + below(rng, u64::from(exam.questions)) as u32
            }
            None => below(rng, u.questions()) as u32,
        };
        self.question = Some(q);
        q
    }

    fn has_exam(&self) -> bool {
        self.exam.is_some() || self.question.is_some()
    }

    fn month(&mut self, rng: &mut impl RngCore) -> u64 {
        *self.month.get_or_insert_with(|| between(rng, 1, 12))
    }
}

/// Appends the clean cells of one row to `buf`, comma-separated, recording where each cell ends (the next
/// starts one byte later). With `quote`, text cells get their RFC 4180 quotes as they are written, so a
/// clean row goes straight to the output.
pub(crate) fn render_row(
    plan: &Plan,
    u: &Universe,
    ctx: &mut Ctx,
    rng: &mut impl RngCore,
    buf: &mut Vec<u8>,
    ends: &mut Vec<usize>,
    quote: bool,
) {
    ends.clear();
    ctx.prefill(plan, u, rng);
    let mut k = 0;
    while k < plan.cols.len() {
        let col = &plan.cols[k];
        if k > 0 {
            buf.push(b',');
        }
        if let Some((first, n, teacher)) = plan.days
            && first == k
        {
            day_run(u, ctx, rng, buf, ends, n, teacher);
            k += n;
            continue;
        }
        let start = buf.len();
        render_cell(plan, col, u, ctx, rng, buf);
        if quote && matches!(col.ty, ColumnType::Text { .. }) {
            crate::quote_from(buf, start, false);
        }
        ends.push(buf.len());
        k += 1;
    }
}

/// Writes `n` attendance day cells (the hot loop of the biggest source): a code per day of the row's
/// month, empty past its end. One 64-bit draw gives four 16-bit draws, fine enough for the code shares.
fn day_run(
    u: &Universe,
    ctx: &mut Ctx,
    rng: &mut impl RngCore,
    buf: &mut Vec<u8>,
    ends: &mut Vec<usize>,
    n: usize,
    teacher: bool,
) {
    let month = ctx.month(rng);
    let days = month_len(u.academic_year() + u64::from(month < 6), month) as usize;
    let codes: &[(u32, u8)] = if teacher { &DAY_CODES_TEACHER } else { &DAY_CODES_STUDENT };
    let mut bits = 0u64;
    for day in 0..n {
        if day > 0 {
            buf.push(b',');
        }
        if day < days {
            if day % 4 == 0 {
                bits = rng.next_u64();
            }
            let r = (bits & 0xffff) as u32;
            bits >>= 16;
            match codes.iter().find(|(limit, _)| r < *limit) {
                Some((_, b'N')) | None => buf.extend_from_slice(b"NULL"),
                Some((_, code)) => buf.push(*code),
            }
        }
        ends.push(buf.len());
    }
}

/// Cell `k` of a row [`render_row`] wrote at the start of `cells`.
pub(crate) fn cell<'a>(cells: &'a [u8], ends: &[usize], k: usize) -> &'a [u8] {
    &cells[if k == 0 { 0 } else { ends[k - 1] + 1 }..ends[k]]
}

fn push_int(buf: &mut Vec<u8>, v: impl itoa::Integer) {
    buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn push_padded(buf: &mut Vec<u8>, v: u64, width: usize) {
    let mut b = itoa::Buffer::new();
    let s = b.format(v);
    buf.extend(std::iter::repeat_n(b'0', width.saturating_sub(s.len())));
    buf.extend_from_slice(s.as_bytes());
}

/// `yyyy-MM-dd`.
pub(crate) fn push_date(buf: &mut Vec<u8>, days: u64) {
    let (y, m, d) = civil_from_days(days);
    push_padded(buf, y, 4);
    buf.push(b'-');
    push_padded(buf, m, 2);
    buf.push(b'-');
    push_padded(buf, d, 2);
}

fn push_academic_year(buf: &mut Vec<u8>, first: u64) {
    push_int(buf, first);
    buf.push(b'-');
    push_padded(buf, (first + 1) % 100, 2);
}

/// A decimal with `places` digits after the point, given in units of 10^-places.
fn push_fixed(buf: &mut Vec<u8>, units: i64, places: u32) {
    if units < 0 {
        buf.push(b'-');
    }
    let scale = 10u64.pow(places);
    let abs = units.unsigned_abs();
    push_int(buf, abs / scale);
    buf.push(b'.');
    push_padded(buf, abs % scale, places as usize);
}

fn push_uuid(buf: &mut Vec<u8>, hi: u64, lo: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let nibble = |i: usize| if i < 16 { (hi >> (60 - 4 * i)) & 15 } else { (lo >> (60 - 4 * (i - 16))) & 15 };
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            buf.push(b'-');
        }
        buf.push(HEX[nibble(i) as usize]);
    }
}

/// Upper bounds of 16-bit draws per day code; `N` is a literal `NULL`.
const DAY_CODES_STUDENT: [(u32, u8); 4] = [(52_429, b'1'), (59_638, b'2'), (61_604, b'5'), (65_536, b'N')];
const DAY_CODES_TEACHER: [(u32, u8); 6] =
    [(52_429, b'1'), (57_016, b'2'), (59_638, b'3'), (60_948, b'4'), (62_914, b'5'), (65_536, b'N')];

#[allow(clippy::many_single_char_names, reason = "u is the universe crate-wide; entity indexes read best short")]
fn render_cell(plan: &Plan, col: &ColPlan, u: &Universe, ctx: &mut Ctx, rng: &mut impl RngCore, buf: &mut Vec<u8>) {
    if col.empty_per_mille > 0 && below(rng, 1000) < col.empty_per_mille {
        return;
    }
    match col.role {
        Role::School => push_int(buf, u.school_code(ctx.school(u, rng))),
        Role::SchoolName => school_name(buf, u, ctx.school(u, rng)),
        Role::Cluster => push_int(buf, u.cluster_code(ctx.cluster(u, rng))),
        Role::ClusterName => buf.extend_from_slice(u.cluster_name(ctx.cluster(u, rng)).as_bytes()),
        Role::Block => push_int(buf, u.block_code(ctx.block(u, rng))),
        Role::BlockName => buf.extend_from_slice(u.block_name(ctx.block(u, rng)).as_bytes()),
        Role::District => push_int(buf, u.district_code(ctx.district(u, rng))),
        Role::DistrictName => buf.extend_from_slice(u.district_name(ctx.district(u, rng)).as_bytes()),
        Role::State => push_int(buf, u.state_code()),
        Role::StateName => buf.extend_from_slice(state_name(u.state_code()).as_bytes()),
        Role::Serial => {
            let max = match col.ty {
                ColumnType::Int { width } => width.bounds().1 as u64,
                _ => u64::MAX,
            };
            push_int(buf, (ctx.serial - 1) % max + 1);
        }
        Role::Uuid => push_uuid(buf, mix(u.seed() ^ ctx.serial), mix(ctx.serial.rotate_left(17) ^ 0x5555)),
        Role::SerialText => {
            buf.extend_from_slice(b"TCH");
            push_padded(buf, ctx.serial, 8);
        }
        Role::Student => {
            let school = ctx.school(u, rng);
            let local = *ctx.student.get_or_insert_with(|| between(rng, 1, u.enrolment(school).min(MAX_STUDENTS)));
            push_int(buf, u.school_code(school) * 10_000 + local);
        }
        Role::Aadhaar => push_int(buf, between(rng, 200_000_000_000, 999_999_999_999)),
        Role::Teacher => {
            let school = ctx.school(u, rng);
            let local = *ctx.teacher.get_or_insert_with(|| between(rng, 1, 40));
            push_int(buf, u.school_code(school) * 100 + local);
        }
        Role::AcademicYear => push_academic_year(buf, u.academic_year()),
        Role::Month => push_int(buf, ctx.month(rng)),
        Role::Management => {
            push_int(buf, *ctx.management.get_or_insert_with(|| between(rng, 1, MANAGEMENTS.len() as u64)));
        }
        Role::ManagementName => {
            let m = *ctx.management.get_or_insert_with(|| between(rng, 1, MANAGEMENTS.len() as u64));
            buf.extend_from_slice(MANAGEMENTS[m as usize - 1].as_bytes());
        }
        Role::Category => push_int(buf, *ctx.category.get_or_insert_with(|| between(rng, 1, CATEGORIES.len() as u64))),
        Role::CategoryName => {
            let c = *ctx.category.get_or_insert_with(|| between(rng, 1, CATEGORIES.len() as u64));
            buf.extend_from_slice(CATEGORIES[c as usize - 1].as_bytes());
        }
        Role::Exam => push_int(buf, ctx.exam(u, rng) + 1),
        Role::ExamCode => {
            let e = u.exam(ctx.exam(u, rng));
            let (y, m, d) = civil_from_days(e.day);
            buf.extend_from_slice(plan.exam_prefix.as_bytes());
            push_padded(buf, e.grade, 2);
            push_padded(buf, e.subject + 1, 2);
            push_padded(buf, d, 2);
            push_padded(buf, m, 2);
            push_padded(buf, y, 4);
        }
        Role::Grade => {
            let g = match ctx.grade {
                Some(g) => g,
                None if ctx.has_exam() => u.exam(ctx.exam(u, rng)).grade,
                None => FIRST_GRADE + below(rng, GRADES),
            };
            ctx.grade = Some(g);
            push_int(buf, g);
        }
        Role::Subject | Role::SubjectName => {
            let s = match ctx.subject {
                Some(s) => s,
                None if ctx.has_exam() => u.exam(ctx.exam(u, rng)).subject,
                None => below(rng, SUBJECTS.len() as u64),
            };
            ctx.subject = Some(s);
            if col.role == Role::Subject {
                push_int(buf, s + 1);
            } else {
                buf.extend_from_slice(SUBJECTS[s as usize].as_bytes());
            }
        }
        Role::ExamDate => push_date(buf, u.exam(ctx.exam(u, rng)).day),
        Role::TotalQuestions => push_int(buf, u.exam(ctx.exam(u, rng)).questions),
        Role::TotalMarks => {
            let e = u.exam(ctx.exam(u, rng));
            push_int(buf, u64::from(e.questions) * e.marks_per_question);
        }
        Role::ExamType => buf.extend_from_slice(if plan.exam_prefix == "SAT" {
            b"Semester Assessment".as_slice()
        } else {
            b"Periodic Assessment".as_slice()
        }),
        Role::ExamTypeId => push_int(buf, if plan.exam_prefix == "SAT" { 3 } else { 2 }),
        Role::Semester => push_int(buf, u.exam(ctx.exam(u, rng)).semester),
        Role::Question => push_int(buf, ctx.question(u, rng) + 1),
        Role::QuestionMarks => {
            let q = ctx.question(u, rng);
            push_int(buf, u.exam(u.question_exam(q)).marks_per_question);
        }
        Role::ObtainedMarks => {
            let q = ctx.question(u, rng);
            let marks = u.exam(u.question_exam(q)).marks_per_question;
            let halves = below(rng, 2 * marks + 1);
            push_int(buf, halves / 2);
            if halves % 2 == 1 {
                buf.extend_from_slice(b".5");
            }
        }
        Role::Inspection => {
            let i = *ctx.inspection.get_or_insert_with(|| below(rng, u.inspections()));
            push_int(buf, i + 1);
        }
        Role::Course => {
            let c = *ctx.course.get_or_insert_with(|| below(rng, u.courses()));
            buf.extend_from_slice(b"do_31");
            push_padded(buf, mix(u.seed() ^ 0x636f ^ c) % 100_000_000_000_000_000, 17);
        }
        // Inside India, so never 0 and always within the range checks.
        Role::Latitude => push_fixed(buf, between(rng, 800_000_000, 3_200_000_000).cast_signed(), 8),
        Role::Longitude => push_fixed(buf, between(rng, 7_000_000_000, 9_000_000_000).cast_signed(), 8),
        Role::PersonName => {
            buf.extend_from_slice(FIRST_NAMES[below(rng, FIRST_NAMES.len() as u64) as usize].as_bytes());
            buf.push(b' ');
            buf.extend_from_slice(LAST_NAMES[below(rng, LAST_NAMES.len() as u64) as usize].as_bytes());
        }
        Role::KeyCode { slot, n } => {
            let code = &mut ctx.codes[usize::from(slot)];
            if *code == 0 {
                *code = between(rng, 1, n);
            }
            push_int(buf, *code);
        }
        Role::Generic => generic(col, rng, buf),
        // Written as one run by `render_row`.
        Role::Day { .. } => {}
    }
}

/// A value of the column's type that passes its checks.
fn generic(col: &ColPlan, rng: &mut impl RngCore, buf: &mut Vec<u8>) {
    if !col.one_of.is_empty() {
        buf.extend_from_slice(col.one_of[below(rng, col.one_of.len() as u64) as usize].as_bytes());
        return;
    }
    match col.ty {
        ColumnType::Int { width } => {
            let (lo, hi) = int_bounds(col, width);
            push_int(buf, lo + below(rng, (hi - lo).unsigned_abs() + 1).cast_signed());
        }
        ColumnType::Decimal => {
            let (lo, hi) =
                col.range.map_or((0, 10_000_000), |(lo, hi)| ((lo * 100.0).ceil() as i64, (hi * 100.0).floor() as i64));
            let mut v = lo + below(rng, (hi - lo).unsigned_abs() + 1).cast_signed();
            if col.non_zero && v == 0 {
                v = if hi > 0 { hi } else { lo };
            }
            push_fixed(buf, v, 2);
        }
        ColumnType::Date => push_date(buf, days_from_civil(2005, 1, 1) + below(rng, 7000)),
        ColumnType::Timestamp => {
            push_date(buf, days_from_civil(2019, 6, 1) + below(rng, 1500));
            buf.push(b' ');
            push_time(buf, below(rng, 86_400));
            buf.push(b'.');
            push_padded(buf, below(rng, 1000), 3);
        }
        ColumnType::Time => push_time(buf, 8 * 3600 + below(rng, 10 * 3600)),
        ColumnType::Bool { digits } => {
            let yes = below(rng, 2) == 1;
            buf.extend_from_slice(match (digits, yes) {
                (true, true) => b"1".as_slice(),
                (true, false) => b"0",
                (false, true) => b"true",
                (false, false) => b"false",
            });
        }
        ColumnType::Text { max_chars } => {
            let max = max_chars.map_or(60, |m| m as usize);
            if col.academic_year {
                push_academic_year(buf, between(rng, 1960, 2020));
            } else if let Some(n) = col.fixed_digits {
                buf.push(b'1' + below(rng, 9) as u8);
                for _ in 1..n {
                    buf.push(b'0' + below(rng, 10) as u8);
                }
            } else if let Some(choices) = text_choices(&col.name) {
                buf.extend_from_slice(choices[below(rng, choices.len() as u64) as usize].as_bytes());
            } else if col.name.contains("year") && max >= 4 {
                push_int(buf, between(rng, 1950, 2022));
            } else {
                let start = buf.len();
                for w in 0..between(rng, 1, 4) {
                    if w > 0 {
                        buf.push(b' ');
                    }
                    buf.extend_from_slice(WORDS[below(rng, WORDS.len() as u64) as usize].as_bytes());
                }
                // Words are ASCII, so bytes are chars; never leave a trailing space to be trimmed away.
                buf.truncate(start + max.min(buf.len() - start));
                while buf.len() > start + 1 && buf.last() == Some(&b' ') {
                    buf.pop();
                }
            }
        }
    }
}

/// The integer range a generic cell draws from: the column's range check within its width, else a
/// realistic span for UDISE counts (`_yn` flags are 1 yes / 2 no).
pub(crate) fn int_bounds(col: &ColPlan, width: IntWidth) -> (i64, i64) {
    let (wlo, whi) = width.bounds();
    let (lo, hi) = match col.range {
        Some((lo, hi)) => (lo.ceil() as i64, hi.floor() as i64),
        None if col.name.ends_with("_yn") => (1, 2),
        None if col.name == "pincode" => (110_001, 855_999),
        None if col.name.contains("year") => (1990, 2023),
        None => match width {
            IntWidth::Small => (0, 60),
            IntWidth::Int => (0, 5000),
            IntWidth::Big => (0, 1_000_000_000),
        },
    };
    let lo = if col.non_zero && lo == 0 { 1 } else { lo };
    (lo.max(wlo), hi.min(whi))
}

/// Short lists for text columns whose values are well known.
fn text_choices(name: &str) -> Option<&'static [&'static str]> {
    match name {
        "medium" => Some(&["Hindi", "English", "Marathi", "Urdu", "Bengali"]),
        "division" | "section" => Some(&["A", "B", "C", "D"]),
        _ => None,
    }
}

fn push_time(buf: &mut Vec<u8>, seconds: u64) {
    push_padded(buf, seconds / 3600, 2);
    buf.push(b':');
    push_padded(buf, seconds / 60 % 60, 2);
    buf.push(b':');
    push_padded(buf, seconds % 60, 2);
}

fn state_name(code: u64) -> &'static str {
    match code {
        10 => "Bihar",
        19 => "West Bengal",
        20 => "Jharkhand",
        21 => "Odisha",
        22 => "Chhattisgarh",
        23 => "Madhya Pradesh",
        24 => "Gujarat",
        27 => "Maharashtra",
        28 => "Andhra Pradesh",
        29 => "Karnataka",
        32 => "Kerala",
        33 => "Tamil Nadu",
        _ => "Telangana",
    }
}

const WORDS: [&str; 20] = [
    "Ward", "Road", "Campus", "North", "South", "Main", "Old", "New", "Market", "Station", "Colony", "Tank", "Temple",
    "Lane", "Board", "Trust", "Society", "Centre", "Unit", "Block",
];
const FIRST_NAMES: [&str; 12] =
    ["Asha", "Ramesh", "Sunita", "Vijay", "Priya", "Anil", "Kavita", "Suresh", "Meena", "Rahul", "Pooja", "Deepak"];
const LAST_NAMES: [&str; 10] =
    ["Sharma", "Verma", "Yadav", "Patil", "Singh", "Kumar", "Gupta", "Deshmukh", "Mishra", "Pawar"];
const HINDI_WORDS: [&str; 16] = [
    "राजकीय",
    "प्राथमिक",
    "विद्यालय",
    "उच्च",
    "माध्यमिक",
    "कन्या",
    "बालक",
    "सरस्वती",
    "शिशु",
    "मंदिर",
    "ग्राम",
    "नगर",
    "पंचायत",
    "जूनियर",
    "हाई",
    "स्कूल",
];
const EN_WORDS: [&str; 19] = [
    "Govt",
    "Primary",
    "School",
    "Upper",
    "Girls",
    "Boys",
    "Model",
    "Public",
    "Saraswati",
    "Shishu",
    "Mandir",
    "Junior",
    "High",
    "Composite",
    "Kasturba",
    "Gandhi",
    "Balika",
    "Vidyalaya",
    "Inter",
];
const HINDI_PLACES: [&str; 8] = ["रामपुर", "सीतापुर", "बरेली", "लखनऊ", "कानपुर देहात", "आगरा", "मेरठ", "गोरखपुर"];

/// A school's name, the same in every source: Devanagari or English, some with commas or quotes.
fn school_name(buf: &mut Vec<u8>, u: &Universe, school: u32) {
    let mut h = mix(u.seed() ^ u.school_code(school));
    let mut pick = |n: usize| {
        h = mix(h);
        (h % n as u64) as usize
    };
    let words = |buf: &mut Vec<u8>, list: &[&str], count: usize, pick: &mut dyn FnMut(usize) -> usize| {
        for w in 0..count {
            if w > 0 {
                buf.push(b' ');
            }
            buf.extend_from_slice(list[pick(list.len())].as_bytes());
        }
    };
    match pick(100) {
        0..25 => {
            let n = 2 + pick(4);
            words(buf, &HINDI_WORDS, n, &mut pick);
            buf.push(b' ');
            buf.extend_from_slice(HINDI_PLACES[pick(HINDI_PLACES.len())].as_bytes());
        }
        25..45 => {
            let n = 2 + pick(3);
            words(buf, &EN_WORDS, n, &mut pick);
            buf.extend_from_slice(b", ");
            buf.extend_from_slice(PLACES[pick(PLACES.len())].as_bytes());
        }
        45..52 => {
            buf.extend_from_slice(b"Shri \"");
            words(buf, &EN_WORDS, 1, &mut pick);
            buf.extend_from_slice(b"\" ");
            words(buf, &EN_WORDS, 1, &mut pick);
            if pick(2) == 0 {
                buf.extend_from_slice(b", ");
                buf.extend_from_slice(PLACES[pick(PLACES.len())].as_bytes());
            }
        }
        _ => {
            let n = 2 + pick(4);
            words(buf, &EN_WORDS, n, &mut pick);
            buf.push(b' ');
            buf.extend_from_slice(PLACES[pick(PLACES.len())].as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_a_bijection() {
        for (cap, rows) in [(1000, 10), (997, 500), (12, 3), (5, 5)] {
            let s = Spread::new(cap, rows, 42);
            let mut seen: Vec<u64> = (0..cap).map(|i| s.apply(i)).collect();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len() as u64, cap);
        }
        assert_eq!(Spread::new(10, 10, 1).apply(3), 3, "full key spaces keep their order");
    }

    #[test]
    fn fixed_point_and_uuid_formats() {
        let mut b = Vec::new();
        push_fixed(&mut b, 1_986_473_199, 8);
        b.push(b' ');
        push_fixed(&mut b, -5, 2);
        b.push(b' ');
        push_uuid(&mut b, 0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210);
        b.push(b' ');
        push_date(&mut b, days_from_civil(2021, 2, 3));
        b.push(b' ');
        push_time(&mut b, 3600 + 62);
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "19.86473199 -0.05 01234567-89ab-cdef-fedc-ba9876543210 2021-02-03 01:01:02"
        );
    }
}
