//! Bar charts as inline SVG, drawn with plotters' SVG backend (no font files: plotters
//! estimates text widths, the browser draws the text).

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

fn hbars_wide(bars: &[Bar], width: u32) -> String {
    let mut svg = String::new();
    if bars.is_empty() {
        return svg;
    }
    let height = 16 + ROW * bars.len() as u32;
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        // Drawing into a String cannot fail; an error here is a bug in the chart.
        draw(&root, bars).expect("chart drawn into memory");
    }
    // plotters writes a fixed size; the page scales the chart to its column.
    svg.replacen(
        &format!("width=\"{width}\" height=\"{height}\""),
        "width=\"100%\" role=\"img\" class=\"chart\"",
        1,
    )
}

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn draw(root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>, bars: &[Bar]) -> DrawResult {
    root.fill(&WHITE)?;
    let n = bars.len() as u32;
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let label_width = bars
        .iter()
        .map(|b| b.label.chars().count() as u32 * 8 + 16)
        .max()
        .unwrap_or(80)
        .min(260);
    let mut chart = ChartBuilder::on(root)
        .margin(8)
        .y_label_area_size(label_width)
        .x_label_area_size(0)
        // Room after the longest bar for its number.
        .build_cartesian_2d(0f64..max * 1.45, (0u32..n).into_segmented())?;
    // Row 0 at the top: the segmented axis counts upwards, so rows are flipped.
    let row = |i: usize| n - 1 - i as u32;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .disable_x_axis()
        .y_labels(bars.len())
        .y_label_style(("sans-serif", 14).into_font().color(&INK))
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(k) if *k < n => bars[(n - 1 - k) as usize].label.clone(),
            _ => String::new(),
        })
        .axis_style(INK.mix(0.4))
        .draw()?;
    // Rectangles in row order (plotters' Histogram groups bars in a hash map, so its
    // SVG would differ from run to run; the report is part of a deterministic outbox).
    chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
        let mut r = Rectangle::new(
            [
                (0.0, SegmentValue::Exact(row(i))),
                (b.value, SegmentValue::Exact(row(i) + 1)),
            ],
            b.color.filled(),
        );
        r.set_margin(6, 6, 0, 0);
        r
    }))?;
    let style = ("sans-serif", 14)
        .into_font()
        .color(&INK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
        Text::new(
            b.text.clone(),
            (b.value + max * 0.02, SegmentValue::CenterOf(row(i))),
            style.clone(),
        )
    }))?;
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
