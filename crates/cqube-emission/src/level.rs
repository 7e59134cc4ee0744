//! `--level auto`: the zip level follows the link. While a file is emitted, each zip block's level is decided as
//! the block is cut, from a look at the upload: the file's part queue full (every PUT slot busy, the producer about
//! to wait: spend CPU on smaller parts), or no PUT running at all (the link waits for parts: compress less). The
//! levels chosen are recorded as runs, which the journal keeps with every stored part, so a resumed run replays them
//! and regenerates the stored parts byte for byte before it goes on deciding.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// A zip level setting: one level for every block, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Fixed(u32),
    Auto,
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Level, String> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Level::Auto);
        }
        match s.parse::<u32>() {
            Ok(n) if n <= 9 => Ok(Level::Fixed(n)),
            _ => Err(format!("expected 0-9 or auto, got {s:?}")),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Level::Fixed(n) => write!(f, "{n}"),
            Level::Auto => f.write_str("auto"),
        }
    }
}

/// A number in a config file and in journals written before `auto` existed; the word `auto`.
impl Serialize for Level {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Level::Fixed(n) => s.serialize_u32(*n),
            Level::Auto => s.serialize_str("auto"),
        }
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Level, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u32),
            Word(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Number(n) => n.to_string(),
            Raw::Word(w) => w,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// How `auto` moves the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoLevel {
    /// The lowest level. 1 is the cheapest level that still compresses; 0 stores, which sends about four times the
    /// bytes of level 1 on exports like cQube's, so it never wins while a link is involved at all.
    pub min: u32,
    /// The highest level. 7 is the first that is smaller than `pigz -6` on the same bytes (issue 18's table:
    /// 0.955x); 8 and 9 search much longer match chains for a fraction of a percent more, which a link slow
    /// enough to want them would rather spend on the next block.
    pub max: u32,
    /// Blocks per decision. The level moves by one at most once a window: up when the queue was full at three
    /// quarters of the window's blocks or more, down when the link was idle at a quarter or more, else not at all;
    /// a link that is busy without holding the producer up leaves the level alone. A window as long as the blocks in
    /// flight (8) lets a change reach the queue before the next one is decided; longer ones were measured to leave
    /// most of a 120 MB file at the starting level (docs/benchmarks.md).
    pub window: u32,
}

impl Default for AutoLevel {
    fn default() -> AutoLevel {
        AutoLevel { min: 1, max: 7, window: 8 }
    }
}

/// The level of every block cut so far, as runs of (level, blocks): what the journal records with each part.
pub(crate) type Runs = Vec<(u32, u64)>;

/// What the upload looks like as a block is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upload {
    /// The part queue is full: every PUT slot is busy and the producer is about to wait for the link.
    Behind,
    /// Some PUT is running and the queue has room.
    Busy,
    /// No PUT is running: the link waits for parts.
    Idle,
}

/// One file's level source under `auto`: replays an earlier run's levels, then decides.
pub(crate) struct Controller {
    auto: AutoLevel,
    level: u32,
    /// Blocks of the current window, how many found the upload behind and how many idle.
    seen: u32,
    behind: u32,
    idle: u32,

    /// Levels still to replay, in order.
    replay: std::collections::VecDeque<(u32, u64)>,
    /// How the upload looks right now; `None` before its first part is under way, when the link is idle only for
    /// want of one.
    upload: Box<dyn Fn() -> Option<Upload> + Send>,
    /// Every block's level so far, shared with the journal's writer.
    schedule: Arc<Mutex<Runs>>,
    /// Called with (block, level) when a decided level differs from the block before's.
    on_change: Box<dyn FnMut(u64, u32) + Send>,
}

impl Controller {
    /// Starts at `start` (clamped to the range) after replaying `replay`.
    pub fn new(
        auto: AutoLevel,
        start: u32,
        replay: &[(u32, u64)],
        upload: Box<dyn Fn() -> Option<Upload> + Send>,
        schedule: Arc<Mutex<Runs>>,
        on_change: Box<dyn FnMut(u64, u32) + Send>,
    ) -> Controller {
        Controller {
            auto,
            level: start.clamp(auto.min, auto.max),
            seen: 0,
            behind: 0,
            idle: 0,
            replay: replay.iter().copied().filter(|r| r.1 > 0).collect(),
            upload,
            schedule,
            on_change,
        }
    }

    fn decide(&mut self) -> u32 {
        // A replayed level may lie outside this run's range: deciding starts back inside it.
        self.level = self.level.clamp(self.auto.min, self.auto.max);
        let Some(upload) = (self.upload)() else { return self.level };
        self.seen += 1;
        self.behind += u32::from(upload == Upload::Behind);
        self.idle += u32::from(upload == Upload::Idle);
        if self.seen >= self.auto.window.max(1) {
            if self.behind * 4 >= self.seen * 3 {
                self.level = (self.level + 1).min(self.auto.max);
            } else if self.idle * 4 >= self.seen {
                self.level = self.level.saturating_sub(1).max(self.auto.min);
            }
            (self.seen, self.behind, self.idle) = (0, 0, 0);
        }
        self.level
    }
}

impl cqube_zip::LevelSource for Controller {
    fn level(&mut self, block: u64) -> u32 {
        let before = self.level;
        let level = if let Some(run) = self.replay.front_mut() {
            run.1 -= 1;
            let level = run.0;
            if run.1 == 0 {
                self.replay.pop_front();
            }
            // Deciding goes on from the last replayed level.
            self.level = level;
            level
        } else {
            let level = self.decide();
            if level != before {
                (self.on_change)(block, level);
            }
            level
        };
        let mut schedule = self.schedule.lock().unwrap_or_else(PoisonError::into_inner);
        match schedule.last_mut() {
            Some(run) if run.0 == level => run.1 += 1,
            _ => schedule.push((level, 1)),
        }
        level
    }
}

#[cfg(test)]
mod tests {
    use cqube_zip::LevelSource;

    use super::*;

    /// A controller reading the upload's look from `now`.
    fn controller(
        auto: AutoLevel,
        replay: &[(u32, u64)],
        now: &Arc<Mutex<Option<Upload>>>,
    ) -> (Controller, Arc<Mutex<Runs>>) {
        let schedule = Arc::new(Mutex::new(Vec::new()));
        let now = Arc::clone(now);
        let upload = Box::new(move || *now.lock().unwrap());
        (Controller::new(auto, 5, replay, upload, Arc::clone(&schedule), Box::new(|_, _| {})), schedule)
    }

    #[test]
    fn an_upload_behind_raises_an_idle_link_lowers_within_the_range() {
        let now = Arc::new(Mutex::new(Some(Upload::Behind)));
        let (mut c, schedule) = controller(AutoLevel { min: 2, max: 7, window: 4 }, &[], &now);
        let mut levels: Vec<u32> = (0..12).map(|b| c.level(b)).collect();
        assert_eq!(levels, [5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7, 7], "one step per window, capped at max");
        *now.lock().unwrap() = Some(Upload::Idle);
        levels = (12..40).map(|b| c.level(b)).collect();
        assert_eq!(&levels[..8], [7, 7, 7, 6, 6, 6, 6, 5]);
        assert_eq!(*levels.last().unwrap(), 2, "floored at min");
        assert_eq!(&schedule.lock().unwrap()[..4], [(5, 3), (6, 4), (7, 8), (6, 4)]);
    }

    #[test]
    fn a_busy_link_that_holds_nobody_up_keeps_the_level() {
        let now = Arc::new(Mutex::new(Some(Upload::Busy)));
        let (mut c, _) = controller(AutoLevel::default(), &[], &now);
        for b in 0..200 {
            // Behind half the time, never idle: neither direction has its share.
            *now.lock().unwrap() = Some(if b % 2 == 0 { Upload::Behind } else { Upload::Busy });
            assert_eq!(c.level(b), 5);
        }
    }

    #[test]
    fn an_idle_link_before_the_first_part_is_not_a_reason_to_lower() {
        let now = Arc::new(Mutex::new(None));
        let (mut c, _) = controller(AutoLevel { min: 1, max: 7, window: 2 }, &[], &now);
        assert!((0..50).all(|b| c.level(b) == 5), "no part yet");
        *now.lock().unwrap() = Some(Upload::Idle);
        assert_eq!(c.level(50), 5);
        assert_eq!(c.level(51), 4, "idle once a part is under way");
    }

    #[test]
    fn replayed_levels_come_first_and_deciding_goes_on_from_the_last() {
        let now = Arc::new(Mutex::new(Some(Upload::Behind)));
        let replay = [(3, 2), (1, 3)];
        let (mut c, schedule) = controller(AutoLevel { min: 1, max: 7, window: 1 }, &replay, &now);
        let levels: Vec<u32> = (0..7).map(|b| c.level(b)).collect();
        assert_eq!(levels, [3, 3, 1, 1, 1, 2, 3]);
        assert_eq!(*schedule.lock().unwrap(), [(3, 2), (1, 3), (2, 1), (3, 1)]);
    }

    #[test]
    fn levels_parse_and_serialize_as_numbers_or_auto() {
        assert_eq!("auto".parse::<Level>(), Ok(Level::Auto));
        assert_eq!("7".parse::<Level>(), Ok(Level::Fixed(7)));
        assert_eq!("10".parse::<Level>(), Err("expected 0-9 or auto, got \"10\"".into()));
        assert_eq!(serde_json::to_string(&[Level::Fixed(5), Level::Auto]).unwrap(), r#"[5,"auto"]"#);
        let back: Vec<Level> = serde_json::from_str(r#"[5,"auto"]"#).unwrap();
        assert_eq!(back, [Level::Fixed(5), Level::Auto]);
        assert!(serde_json::from_str::<Level>("12").is_err());
    }
}
