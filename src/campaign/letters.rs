//! `letters:` in the campaign file, and the page geometry it is checked against when the
//! campaign is read: a window off the page or over the letterhead must fail `check`, not
//! post letters unaddressed. The letter stage lays pages out with the same constants.

use serde::Deserialize;

/// Where the address goes, in millimetres from the sheet's top-left corner. The default
/// is DIN 5008 form B in a DIN 676 window envelope (C4/C5/C6/DL with a left window).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Window {
    pub left_mm: f32,
    pub top_mm: f32,
    pub width_mm: f32,
    pub height_mm: f32,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            left_mm: 20.0,
            top_mm: 45.0,
            width_mm: 85.0,
            height_mm: 45.0,
        }
    }
}

/// `letters:` in the campaign file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LetterConfig {
    pub window: Window,
    /// Fold marks (105 and 210 mm) and the hole-punch mark (148.5 mm) on page 1.
    pub fold_marks: bool,
    /// Where body text starts on page 1 (DIN 5008 form B: about 98 mm).
    pub body_top_mm: f32,
    /// What a letter costs to print and post, for the recovery report:
    /// `{currency: EUR, per_letter: 0.95}`.
    pub cost: Option<LetterPrice>,
}

/// The price of one posted letter.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LetterPrice {
    pub currency: String,
    pub per_letter: crate::plan::Amount,
}

impl Default for LetterConfig {
    fn default() -> Self {
        LetterConfig {
            window: Window::default(),
            fold_marks: true,
            body_top_mm: 98.4,
            cost: None,
        }
    }
}

/// Where the recipient starts inside the window, in mm from its top: DIN 5008's
/// return-address zone (5 mm) and additions-and-remarks zone (12.7 mm).
pub const RETURN_ZONE_MM: f32 = 17.7;
/// The information block (date, customer number, reference) starts here, right of the
/// window, and the letterhead's contact lines above it.
pub const INFO_LEFT_MM: f32 = 125.0;
/// The letterhead (the creditor's name from 14 mm) ends above this.
pub const LETTERHEAD_BOTTOM_MM: f32 = 20.0;
/// The text of the window is set 5 mm in from each side.
pub const WINDOW_PADDING_MM: f32 = 5.0;
/// The smallest window: 35 mm of text (about 20 characters at 10 pt) between the
/// paddings; the return zone and three lines at 10 pt (name, street, town).
pub const MIN_WINDOW_WIDTH_MM: f32 = 45.0;
pub const MIN_WINDOW_HEIGHT_MM: f32 = 30.0;
/// Page 1's body starts at most here: room for a few lines above the footer (24 mm).
pub const MAX_BODY_TOP_MM: f32 = 240.0;

impl LetterConfig {
    /// Every setting that could not make a correctly addressed letter, with its key
    /// (under `letters`) and why. A window off the page, too small for an address or
    /// overlapping the letterhead, the information block or the body would post letters
    /// unaddressed or unreadable; NaN would be written into the PDF as it is.
    pub fn problems(&self) -> Vec<(Vec<&'static str>, String)> {
        let w = &self.window;
        let mut out = Vec::new();
        let mut say = |path: &[&'static str], msg: String| out.push((path.to_vec(), msg));
        let numbers = [
            (&["window", "left_mm"][..], w.left_mm),
            (&["window", "top_mm"][..], w.top_mm),
            (&["window", "width_mm"][..], w.width_mm),
            (&["window", "height_mm"][..], w.height_mm),
            (&["body_top_mm"][..], self.body_top_mm),
        ];
        let mut finite = true;
        for (path, v) in numbers {
            if !v.is_finite() {
                finite = false;
                say(
                    path,
                    format!(
                        "letters.{}: {v} is not a number of millimetres (expected a finite number such as 20)",
                        path.join(".")
                    ),
                );
            }
        }
        if !finite {
            return out;
        }
        let fmt = |v: f32| format!("{}", (v * 100.0).round() / 100.0);
        if w.left_mm < 0.0 || w.left_mm + w.width_mm > INFO_LEFT_MM {
            say(
                &["window", "left_mm"],
                format!(
                    "letters.window: left_mm {} + width_mm {} puts the window from {} to {} mm (expected it within 0 to {INFO_LEFT_MM} mm from the left edge: the date, customer number and reference are printed from {INFO_LEFT_MM} mm; DIN 5008: left_mm 20, width_mm 85)",
                    fmt(w.left_mm),
                    fmt(w.width_mm),
                    fmt(w.left_mm),
                    fmt(w.left_mm + w.width_mm)
                ),
            );
        }
        if w.width_mm < MIN_WINDOW_WIDTH_MM {
            say(
                &["window", "width_mm"],
                format!(
                    "letters.window.width_mm: {} is too narrow for an address (expected at least {MIN_WINDOW_WIDTH_MM} mm: {WINDOW_PADDING_MM} mm in from each side and room for about 20 characters; DIN 676: 85 to 90 mm)",
                    fmt(w.width_mm)
                ),
            );
        }
        if w.height_mm < MIN_WINDOW_HEIGHT_MM {
            say(
                &["window", "height_mm"],
                format!(
                    "letters.window.height_mm: {} is too low for an address (expected at least {MIN_WINDOW_HEIGHT_MM} mm: the {RETURN_ZONE_MM} mm return-address zone and three lines — name, street, town; DIN 5008: 45 mm)",
                    fmt(w.height_mm)
                ),
            );
        }
        if w.top_mm < LETTERHEAD_BOTTOM_MM {
            say(
                &["window", "top_mm"],
                format!(
                    "letters.window.top_mm: {} overlaps the letterhead (expected at least {LETTERHEAD_BOTTOM_MM} mm; DIN 5008 form A: 27 mm, form B: 45 mm)",
                    fmt(w.top_mm)
                ),
            );
        } else if w.top_mm + w.height_mm > self.body_top_mm {
            say(
                &["window", "top_mm"],
                format!(
                    "letters.window: top_mm {} + height_mm {} ends at {} mm, below the start of the body text (letters.body_top_mm {}) (expected the window to end above the body; on A4 the page is 297 mm high; DIN 5008 form B: top_mm 45, height_mm 45, body from 98.4 mm)",
                    fmt(w.top_mm),
                    fmt(w.height_mm),
                    fmt(w.top_mm + w.height_mm),
                    fmt(self.body_top_mm)
                ),
            );
        }
        if self.body_top_mm > MAX_BODY_TOP_MM {
            say(
                &["body_top_mm"],
                format!(
                    "letters.body_top_mm: {} leaves no room for the body on page 1 (expected at most {MAX_BODY_TOP_MM} mm of the 297 mm page; DIN 5008 form B: 98.4)",
                    fmt(self.body_top_mm)
                ),
            );
        }
        out
    }
}
