//! `--level auto`: the zip level follows the link. While a file is emitted, each zip block's level is decided as
//! the block is cut, from whether the file's part queue is full (the uploader is behind: spend CPU on smaller
//! parts) or empty (the uploader waits for parts: compress less). The levels chosen are recorded as runs, which the
//! journal keeps with every stored part, so a resumed run replays them and regenerates the stored parts byte for
//! byte before it goes on deciding.

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
    /// Blocks per decision. The level moves by one at most once a window, and only when the queue was full in at
    /// least three quarters of the window's blocks (raise) or in at most a quarter (lower): a link that keeps up
    /// about half the time leaves the level alone, so it does not flap. A window longer than the blocks in flight
    /// also lets a change reach the queue before the next one is decided.
    pub window: u32,
}

impl Default for AutoLevel {
    fn default() -> AutoLevel {
        AutoLevel { min: 1, max: 7, window: 16 }
    }
}

/// The level of every block cut so far, as runs of (level, blocks): what the journal records with each part.
pub(crate) type Runs = Vec<(u32, u64)>;

/// One file's level source under `auto`: replays an earlier run's levels, then decides.
pub(crate) struct Controller {
    auto: AutoLevel,
    level: u32,
    /// Blocks of the current window, and how many of them found the queue full.
    seen: u32,
    full: u32,
    /// Levels still to replay, in order.
    replay: std::collections::VecDeque<(u32, u64)>,
    /// Whether the file's part queue is full right now.
    queue_full: Box<dyn Fn() -> bool + Send>,
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
        queue_full: Box<dyn Fn() -> bool + Send>,
        schedule: Arc<Mutex<Runs>>,
        on_change: Box<dyn FnMut(u64, u32) + Send>,
    ) -> Controller {
        Controller {
            auto,
            level: start.clamp(auto.min, auto.max),
            seen: 0,
            full: 0,
            replay: replay.iter().copied().filter(|r| r.1 > 0).collect(),
            queue_full,
            schedule,
            on_change,
        }
    }

    fn decide(&mut self) -> u32 {
        self.seen += 1;
        self.full += u32::from((self.queue_full)());
        if self.seen >= self.auto.window.max(1) {
            // A replayed level may lie outside this run's range; the first step brings it back in.
            if self.full * 4 >= self.seen * 3 {
                self.level = (self.level + 1).clamp(self.auto.min, self.auto.max);
            } else if self.full * 4 <= self.seen {
                self.level = self.level.saturating_sub(1).clamp(self.auto.min, self.auto.max);
            }
            (self.seen, self.full) = (0, 0);
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
    use std::sync::atomic::{AtomicBool, Ordering};

    use cqube_zip::LevelSource;

    use super::*;

    fn controller(auto: AutoLevel, replay: &[(u32, u64)], full: &Arc<AtomicBool>) -> (Controller, Arc<Mutex<Runs>>) {
        let schedule = Arc::new(Mutex::new(Vec::new()));
        let full = Arc::clone(full);
        let c = Controller::new(
            auto,
            5,
            replay,
            Box::new(move || full.load(Ordering::SeqCst)),
            Arc::clone(&schedule),
            Box::new(|_, _| {}),
        );
        (c, schedule)
    }

    #[test]
    fn a_full_queue_raises_an_idle_uploader_lowers_within_the_range() {
        let full = Arc::new(AtomicBool::new(true));
        let (mut c, schedule) = controller(AutoLevel { min: 2, max: 7, window: 4 }, &[], &full);
        let mut levels: Vec<u32> = (0..12).map(|b| c.level(b)).collect();
        assert_eq!(levels, [5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7, 7], "one step per window, capped at max");
        full.store(false, Ordering::SeqCst);
        levels = (12..40).map(|b| c.level(b)).collect();
        assert_eq!(&levels[..8], [7, 7, 7, 6, 6, 6, 6, 5]);
        assert_eq!(*levels.last().unwrap(), 2, "floored at min");
        assert_eq!(&schedule.lock().unwrap()[..4], [(5, 3), (6, 4), (7, 8), (6, 4)]);
    }

    #[test]
    fn a_queue_full_about_half_the_time_keeps_the_level() {
        let full = Arc::new(AtomicBool::new(false));
        let (mut c, _) = controller(AutoLevel::default(), &[], &full);
        for b in 0..200 {
            full.store(b % 2 == 0, Ordering::SeqCst);
            assert_eq!(c.level(b), 5);
        }
    }

    #[test]
    fn replayed_levels_come_first_and_deciding_goes_on_from_the_last() {
        let full = Arc::new(AtomicBool::new(true));
        let replay = [(3, 2), (1, 3)];
        let (mut c, schedule) = controller(AutoLevel { min: 1, max: 7, window: 1 }, &replay, &full);
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
