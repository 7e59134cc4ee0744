//! Bar charts drawn as SVG on the server: one bar per value, its number in a `<title>` that browsers show on
//! hover, and a caption. The page puts the same numbers in a table beside it.

use maud::{Markup, html};

/// One bar: its value, a short label for the axis (first and last bars only) and the hover text.
#[derive(Debug, Clone)]
pub(super) struct Bar {
    pub value: u64,
    pub label: String,
    pub title: String,
}

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
/// Room for the axis labels under the bars and the maximum above them.
const TOP: f64 = 18.0;
const BOTTOM: f64 = 18.0;

/// An SVG bar chart of `bars` with an accessible name `caption`; `max_label` writes the largest value.
pub(super) fn bars(caption: &str, bars: &[Bar], max_label: impl Fn(u64) -> String) -> Markup {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0);
    let plot = HEIGHT - TOP - BOTTOM;
    let slot = WIDTH / bars.len().max(1) as f64;
    let gap = (slot * 0.15).min(4.0);
    html! {
        svg.chart viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label=(caption)
            xmlns="http://www.w3.org/2000/svg" {
            title { (caption) }
            line.axis x1="0" y1=(HEIGHT - BOTTOM) x2=(WIDTH) y2=(HEIGHT - BOTTOM) {}
            text x="2" y="12" { "max " (max_label(max)) }
            @for (i, bar) in bars.iter().enumerate() {
                @let h = if max == 0 { 0.0 } else { plot * bar.value as f64 / max as f64 };
                rect.bar x=(fmt(i as f64 * slot + gap / 2.0)) y=(fmt(HEIGHT - BOTTOM - h))
                    width=(fmt(slot - gap)) height=(fmt(h)) {
                    title { (bar.title) }
                }
            }
            @if let (Some(first), Some(last)) = (bars.first(), bars.last()) {
                text x="2" y=(HEIGHT - 4.0) { (first.label) }
                text x=(WIDTH - 2.0) y=(HEIGHT - 4.0) text-anchor="end" { (last.label) }
            }
        }
    }
}

/// Coordinates with two decimals: enough for a 600-unit drawing, short in the page.
fn fmt(v: f64) -> String {
    format!("{v:.2}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(value: u64) -> Bar {
        Bar { value, label: format!("d{value}"), title: format!("<{value} rows>") }
    }

    #[test]
    fn one_bar_per_value_scaled_to_the_largest() {
        let svg = bars("Rows per day", &[bar(0), bar(50), bar(100)], |v| v.to_string()).into_string();
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 3);
        // the largest fills the plot (160 - 18 - 18 = 124), half the largest half of it, zero nothing
        assert!(svg.contains("height=\"124.00\""), "{svg}");
        assert!(svg.contains("height=\"62.00\""), "{svg}");
        assert!(svg.contains("height=\"0.00\""), "{svg}");
        assert!(svg.contains("max 100"));
        // hover text is escaped
        assert!(svg.contains("<title>&lt;50 rows&gt;</title>"), "{svg}");
        assert!(svg.contains(">d0</text>") && svg.contains(">d100</text>"));
    }

    #[test]
    fn all_zero_and_empty_charts_draw_without_dividing_by_zero() {
        let svg = bars("Bytes", &[bar(0), bar(0)], |v| v.to_string()).into_string();
        assert_eq!(svg.matches("height=\"0.00\"").count(), 2);
        assert!(!svg.contains("NaN"));
        let empty = bars("Bytes", &[], |v| v.to_string()).into_string();
        assert!(!empty.contains("<rect") && !empty.contains("NaN"));
    }
}
