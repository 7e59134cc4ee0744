//! Progress bars on stderr, only for a person watching a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::global::GlobalArgs;

/// A bar over `total` input bytes (a spinner when the size is unknown), or `None` when nobody would see it.
pub fn bar(global: &GlobalArgs, total: Option<u64>) -> Option<ProgressBar> {
    let wanted = !global.no_progress && !global.quiet && std::env::var_os("NO_COLOR").is_none();
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match total {
        Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}")
                .expect("the template is valid"),
        ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {bytes} {bytes_per_sec} {msg}").expect("the template is valid"),
        ),
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// Moves the bar to the engine's latest figures.
pub fn update(bar: Option<&ProgressBar>, p: &cqube_convert::Progress) {
    if let Some(bar) = bar {
        bar.set_position(p.bytes_in);
        let rate = p.rows_in as f64 / bar.elapsed().as_secs_f64().max(0.001);
        bar.set_message(format!("{} rows ({:.0}/s), {} rejected", p.rows_in, rate, p.rows_rejected));
    }
}

/// Clears the bar before the summary is printed.
pub fn finish(bar: Option<ProgressBar>) {
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}
