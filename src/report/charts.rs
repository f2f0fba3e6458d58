//! Bar charts as inline SVG, drawn with plotters' SVG backend (no font files: the
//! browser draws the text, so the layout reserves room for it from a conservative
//! estimate of its width — a label is never cut off at the chart's edge).
//!
//! The chart is laid out here, in pixels, rather than by plotters' chart builder: its
//! segmented axis drew a tick above the first bar and sized the label column from a
//! guess that long labels outgrew.

use crate::send::journal::State;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One bar: its label, its length and the number printed at its end.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub text: String,
    pub color: RGBColor,
}

const WIDTH: u32 = 640;
const ROW: u32 = 30;
/// Above the first row and below the last.
const PAD: u32 = 8;
/// Between a label and the axis, a bar and its number.
const GAP: f64 = 8.0;
const FONT: f64 = 14.0;
/// The least a bar may have when the labels and numbers are long.
const MIN_BAR: f64 = 48.0;
const INK: RGBColor = RGBColor(0x33, 0x3a, 0x45);

/// Horizontal bars, one per row, top to bottom in the given order.
pub fn hbars(bars: &[Bar]) -> String {
    hbars_wide(bars, WIDTH)
}

/// A narrower chart for small multiples (one per currency), so that its text stays
/// legible at half the page's width.
pub fn small(bars: &[Bar]) -> String {
    hbars_wide(bars, 460)
}

/// How wide `text` is at `size` px, at least: DejaVu Sans's advance widths (the widest
/// of the faces a browser takes for `sans-serif`), East Asian characters a full em, and
/// a margin on top.
pub fn text_width(text: &str, size: f64) -> f64 {
    let em: f64 = text
        .chars()
        .map(|c| match c {
            ' ' | '.' | ',' | '·' | '\'' | '!' | '|' => 0.32,
            'i' | 'j' | 'l' | 'I' | 'J' => 0.3,
            ':' | ';' => 0.34,
            '-' | '(' | ')' | '/' | '[' | ']' => 0.4,
            'f' | 't' | 'r' => 0.42,
            '0'..='9' => 0.64,
            'm' | 'M' | 'W' | '%' => 1.0,
            'w' => 0.82,
            'a'..='z' => 0.64,
            'A'..='Z' => 0.79,
            '…' | '—' | '–' => 1.0,
            c if c.is_ascii() => 0.84,
            // Hangul, kana, CJK ideographs and full-width forms.
            '\u{1100}'..='\u{115f}'
            | '\u{2e80}'..='\u{a4cf}'
            | '\u{ac00}'..='\u{d7a3}'
            | '\u{f900}'..='\u{faff}'
            | '\u{fe30}'..='\u{fe4f}'
            | '\u{ff00}'..='\u{ff60}'
            | '\u{ffe0}'..='\u{ffe6}' => 1.0,
            c if c.is_uppercase() => 0.8,
            _ => 0.68,
        })
        .sum();
    em * size * 1.05
}

/// A label's lines: broken between words to fit `width` px, at most [`MAX_LINES`]; the
/// last shortened with an ellipsis only when even those are not enough.
fn wrap(text: &str, width: f64) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let words: Vec<&str> = text.split(' ').collect();
    for (k, word) in words.iter().enumerate() {
        if let Some(line) = lines.last_mut()
            && text_width(&format!("{line} {word}"), FONT) <= width
        {
            line.push(' ');
            line.push_str(word);
        } else if lines.len() == MAX_LINES {
            // No room for another line: the rest goes on the last, shortened.
            let last = lines.last_mut().expect("MAX_LINES > 0");
            *last = fit(&format!("{last} {}", words[k..].join(" ")), width);
            break;
        } else {
            lines.push(fit(word, width));
        }
    }
    lines
}

/// The most lines a label takes before it is shortened.
const MAX_LINES: usize = 3;
/// Between the baselines of a label's lines.
const LEADING: f64 = 16.0;

/// `text` cut to `width` px with an ellipsis (a word longer than the chart allows).
fn fit(text: &str, width: f64) -> String {
    if text_width(text, FONT) <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().collect();
    while !out.is_empty() && text_width(&format!("{out}…"), FONT) > width {
        out.pop();
    }
    format!("{}…", out.trim_end())
}

/// Where everything goes, in px: the label column, the axis, the scale of the bars, the
/// rows (taller when a label takes more than one line) and each label's lines.
struct Layout {
    label_right: f64,
    axis: f64,
    per_unit: f64,
    row: u32,
    labels: Vec<Vec<String>>,
}

fn layout(bars: &[Bar], width: u32) -> Layout {
    let width = f64::from(width);
    let widest_label = bars
        .iter()
        .map(|b| text_width(&b.label, FONT))
        .fold(0.0, f64::max);
    let widest_number = bars
        .iter()
        .map(|b| text_width(&b.text, FONT))
        .fold(0.0, f64::max);
    // The labels get what they need, up to 45 % of the width and as much as leaves
    // every number room after a short bar.
    let labels = widest_label
        .min(width * 0.45)
        .min(width - 2.0 * f64::from(PAD) - 2.0 * GAP - widest_number - MIN_BAR)
        .max(40.0);
    let label_right = f64::from(PAD) + labels;
    let axis = label_right + GAP;
    let room = width - f64::from(PAD) - axis;
    // Each bar's number ends inside the chart: the scale is the largest at which the
    // tightest bar still has room for its number.
    let per_unit = bars
        .iter()
        .filter(|b| b.value > 0.0)
        .map(|b| (room - GAP - text_width(&b.text, FONT)).max(MIN_BAR) / b.value)
        .fold(f64::INFINITY, f64::min);
    let lines: Vec<Vec<String>> = bars.iter().map(|b| wrap(&b.label, labels)).collect();
    let most = lines.iter().map(Vec::len).max().unwrap_or(1);
    Layout {
        label_right,
        axis,
        per_unit: if per_unit.is_finite() { per_unit } else { 0.0 },
        row: ROW.max((LEADING * most as f64) as u32 + 14),
        labels: lines,
    }
}

fn hbars_wide(bars: &[Bar], width: u32) -> String {
    let mut svg = String::new();
    if bars.is_empty() {
        return svg;
    }
    let l = layout(bars, width);
    let height = 2 * PAD + l.row * bars.len() as u32;
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        // Drawing into a String cannot fail; an error here is a bug in the chart.
        draw(&root, bars, &l, height).expect("chart drawn into memory");
    }
    // plotters writes a fixed size; the page scales the chart to its column.
    svg.replacen(
        &format!("width=\"{width}\" height=\"{height}\""),
        "width=\"100%\" role=\"img\" class=\"chart\"",
        1,
    )
}

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn draw(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    bars: &[Bar],
    l: &Layout,
    height: u32,
) -> DrawResult {
    root.fill(&WHITE)?;
    let px = |v: f64| v.round() as i32;
    let font = ("sans-serif", FONT).into_font().color(&INK);
    let label_style = font.pos(Pos::new(HPos::Right, VPos::Center));
    let number_style = font.pos(Pos::new(HPos::Left, VPos::Center));
    let row = f64::from(l.row);
    for (i, b) in bars.iter().enumerate() {
        let top = f64::from(PAD) + row * i as f64;
        let center = top + row / 2.0;
        let middle = px(center);
        let end = l.axis + b.value.max(0.0) * l.per_unit;
        let lines = &l.labels[i];
        for (k, line) in lines.iter().enumerate() {
            let dy = (k as f64 - (lines.len() - 1) as f64 / 2.0) * LEADING;
            root.draw(&Text::new(
                line.clone(),
                (px(l.label_right), px(center + dy)),
                label_style.clone(),
            ))?;
        }
        // Bars 18 px thick, in the middle of their row.
        root.draw(&Rectangle::new(
            [(px(l.axis), px(center - 9.0)), (px(end), px(center + 9.0))],
            b.color.filled(),
        ))?;
        root.draw(&Text::new(
            b.text.clone(),
            (px(end + GAP), middle),
            number_style.clone(),
        ))?;
    }
    // The axis: from just above the first bar to just below the last, nothing beyond.
    let first = f64::from(PAD) + row / 2.0 - 9.0;
    let last = f64::from(height - PAD) - row / 2.0 + 9.0;
    root.draw(&PathElement::new(
        vec![(px(l.axis), px(first - 4.0)), (px(l.axis), px(last + 4.0))],
        INK.mix(0.4),
    ))?;
    root.present()?;
    Ok(())
}

/// A colour per cluster, the same in every chart; others cycle through a palette.
pub fn color(key: &str, k: usize) -> RGBColor {
    if let Some(state) = State::ALL.iter().find(|s| s.as_str() == key) {
        return match state {
            State::Delivered => RGBColor(0x2e, 0x9e, 0x5b),
            State::Rejected | State::Unknown => RGBColor(0xc8, 0x3e, 0x3e),
            State::Deferred | State::Sending => RGBColor(0xe0, 0x9b, 0x23),
            State::Pending => RGBColor(0x8a, 0x93, 0x9e),
            // Paid since the export: good news, not a failure.
            State::CancelledPaid => RGBColor(0x3b, 0x82, 0xc4),
            State::CancelledPartPaid => RGBColor(0x7f, 0xa8, 0xd8),
        };
    }
    match key {
        "forgetful" => RGBColor(0x3b, 0x82, 0xc4),
        "chronic_late" => RGBColor(0xe0, 0x9b, 0x23),
        "unable" => RGBColor(0x2a, 0x9d, 0x8f),
        "unwilling" => RGBColor(0xc8, 0x3e, 0x3e),
        "no_history" => RGBColor(0x8a, 0x93, 0x9e),
        _ => PALETTE[k % PALETTE.len()],
    }
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(0x3b, 0x82, 0xc4),
    RGBColor(0x2a, 0x9d, 0x8f),
    RGBColor(0xe0, 0x9b, 0x23),
    RGBColor(0x7b, 0x5e, 0xa7),
    RGBColor(0xc8, 0x3e, 0x3e),
    RGBColor(0x5f, 0x8d, 0x4e),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_drawn_in_proportion_with_their_numbers() {
        let svg = hbars(&[
            Bar {
                label: "forgetful".into(),
                value: 100.0,
                text: "100".into(),
                color: color("forgetful", 0),
            },
            Bar {
                label: "unable".into(),
                value: 50.0,
                text: "50".into(),
                color: color("unable", 1),
            },
        ]);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("viewBox=\"0 0 640 76\""));
        // Labels right-aligned at the axis, numbers after their bars.
        assert!(svg.contains("text-anchor=\"end\""), "{svg}");
        for t in ["forgetful", "unable", ">\n100\n<", ">\n50\n<"] {
            assert!(svg.contains(t), "{t} missing");
        }
        // Two filled bars in the cluster colours, the first twice as long.
        let widths: Vec<f64> = svg
            .split("<rect")
            .skip(1)
            .filter(|r| r.contains("#3B82C4") || r.contains("#2A9D8F"))
            .map(|r| {
                let w = r.split("width=\"").nth(1).unwrap();
                w[..w.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        assert_eq!(widths.len(), 2, "{svg}");
        assert!((widths[0] / widths[1] - 2.0).abs() < 0.1, "{widths:?}");
    }
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    fn bar(label: &str, value: f64, text: &str) -> Bar {
        Bar {
            label: label.into(),
            value,
            text: text.into(),
            color: color("", 0),
        }
    }

    /// Issue 16: long labels and long numbers both fit — every bar's end plus its number
    /// stays inside the chart, the label column holds the widest label.
    #[test]
    fn labels_and_numbers_get_the_room_they_need() {
        let bars = [
            bar("Frequency cap reached (letter)", 13.0, "13"),
            bar("1-30", 217_413.84, "CNY 217,413.84 · 22 inv."),
            bar("No SMS consent", 44.0, "44"),
        ];
        for width in [460, 640] {
            let l = layout(&bars, width);
            for b in &bars {
                let end = l.axis + b.value * l.per_unit + GAP + text_width(&b.text, FONT);
                assert!(
                    end <= f64::from(width - PAD) + 0.01,
                    "{} at {width}",
                    b.text
                );
            }
            // The column holds every label, shortened only where the chart is too narrow
            // for it beside the longest number.
            let column = l.label_right - f64::from(PAD);
            for (b, lines) in bars.iter().zip(&l.labels) {
                assert_eq!(lines.join(" "), b.label, "at {width}");
                for line in lines {
                    assert!(text_width(line, FONT) <= column, "{line} at {width}");
                }
            }
        }
        // A long label takes more lines, each inside the column, and a taller row; one
        // too long even for three lines is shortened, never cut off.
        let long = "Second reminder by registered post with receipt";
        let l = layout(&[bar(long, 1.0, "CNY 175,655.36")], 460);
        let column = l.label_right - f64::from(PAD);
        assert_eq!(l.labels[0].join(" "), long);
        assert!(l.labels[0].len() > 1 && l.row > ROW, "{:?}", l.labels);
        let endless = "A stage name a campaign made up that is far too long for any chart there is, however wide";
        let lines = wrap(endless, column);
        assert_eq!(lines.len(), MAX_LINES);
        assert!(lines[MAX_LINES - 1].ends_with('…'), "{lines:?}");
        for line in l.labels[0].iter().chain(&lines) {
            assert!(text_width(line, FONT) <= column, "{line}");
        }
    }
}
