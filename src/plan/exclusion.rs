//! Why a customer, or one channel of a customer, is left out.
//!
//! A closed set: the plan and the run choose a variant, and its word — `hold:hardship`,
//! `no_consent:sms` — is written only where it leaves the program (exclusions.csv,
//! summary.json, the terminal). Each word is documented in docs/plan.md; a test keeps
//! the two in step.

use crate::dataset::{Channel, Hold, vocabulary};

vocabulary!(
    /// Why one channel of a planned customer cannot be used.
    Block {
        NoConsent = "no_consent",
        OptedOut = "opted_out",
        Bounced = "bounced",
        InvalidContact = "invalid_contact",
        MissingContact = "missing_contact",
        FrequencyCap = "frequency_cap",
    }
);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExclusionReason {
    /// The customer has a hold: not dunned at all.
    Hold(Hold),
    /// A promise to pay pauses contact until this day (the promised date + grace).
    PromisedUntil(chrono::NaiveDate),
    NothingOpen,
    AllDisputed,
    /// Days past due fall in no stage.
    NoStage,
    /// A reminder before the due date (`pre_due`) could go out only on the due date or
    /// later: the customer waits for the first level.
    PreDueTooLate,
    /// With a history store: no invoice is due its next reminder level before this day
    /// (it had its level fewer than `level_interval_days` ago, or is not old enough for
    /// the next rung of the ladder).
    NextLevelFrom(chrono::NaiveDate),
    BelowMinimum,
    NoChannelInMatrix,
    /// One channel dropped by the contact policy.
    Blocked(Block, Channel),
    /// Every channel of a planned customer was dropped or failed.
    NoChannelLeft,
    /// The message could not be made (a missing glyph, a render over its budget).
    RenderFailed(Channel),
    /// An SMS longer than `sms.max_segments`.
    TooManySegments(Channel),
    /// An e-mail, with its attachments, larger than `limits.email_bytes`.
    TooLarge(Channel),
}

impl ExclusionReason {
    /// The word as written in exclusions.csv and summary.json.
    pub fn code(&self) -> String {
        self.to_string()
    }

    /// The word's shape as docs/plan.md lists it: `hold:KIND`, `no_consent:CHANNEL`.
    pub fn documented_as(&self) -> String {
        use ExclusionReason::*;
        match self {
            Hold(_) => "hold:KIND".into(),
            PromisedUntil(_) => "promised_until:DATE".into(),
            NextLevelFrom(_) => "next_level_from:DATE".into(),
            Blocked(b, _) => format!("{b}:CHANNEL"),
            RenderFailed(_) => "render_failed:CHANNEL".into(),
            TooManySegments(ch) => format!("too_many_segments:{ch}"),
            TooLarge(ch) => format!("too_large:{ch}"),
            other => other.to_string(),
        }
    }

    /// Every reason the code can give, for the documentation test and for readers.
    pub fn every() -> Vec<ExclusionReason> {
        use ExclusionReason::*;
        let mut all: Vec<ExclusionReason> =
            crate::dataset::Hold::ALL.iter().map(|h| Hold(*h)).collect();
        // One date stands for all: the word's shape is what is documented.
        all.push(PromisedUntil(
            chrono::NaiveDate::from_ymd_opt(2026, 12, 4).expect("a date"),
        ));
        all.extend([
            NothingOpen,
            AllDisputed,
            NoStage,
            PreDueTooLate,
            NextLevelFrom(chrono::NaiveDate::from_ymd_opt(2026, 12, 9).expect("a date")),
            BelowMinimum,
            NoChannelInMatrix,
        ]);
        for b in Block::ALL {
            all.extend(Channel::ALL.iter().map(|ch| Blocked(*b, *ch)));
        }
        all.push(NoChannelLeft);
        all.extend(Channel::ALL.iter().map(|ch| RenderFailed(*ch)));
        all.push(TooManySegments(Channel::Sms));
        all.push(TooLarge(Channel::Email));
        all
    }

    /// The reason as the credit team reads it in the report (`No SMS consent`, not
    /// `no_consent:sms`); exclusions.csv and summary.json keep the code.
    pub fn label(&self) -> String {
        use ExclusionReason::*;
        match self {
            Hold(h) => format!("On hold: {}", h.label()),
            PromisedUntil(d) => format!("Promised to pay (paused until {})", d.format("%Y-%m-%d")),
            NothingOpen => "Nothing open".into(),
            AllDisputed => "Every open invoice disputed".into(),
            NoStage => "Overdue days in no stage".into(),
            PreDueTooLate => "Too late for a pre-due reminder".into(),
            NextLevelFrom(d) => format!("Next reminder level not before {}", d.format("%Y-%m-%d")),
            BelowMinimum => "Below the minimum amount".into(),
            NoChannelInMatrix => "No channel in the matrix for the cell".into(),
            Blocked(b, ch) => match b {
                Block::NoConsent => format!("No {} consent", ch.noun()),
                Block::OptedOut => format!("Opted out of {}", ch.noun()),
                Block::Bounced => format!("{} bounced", crate::dataset::humanize(ch.contact())),
                Block::InvalidContact => format!("Invalid {}", ch.contact()),
                Block::MissingContact => format!("No {}", ch.contact()),
                Block::FrequencyCap => format!("Frequency cap reached ({})", ch.noun()),
            },
            NoChannelLeft => "No channel left".into(),
            RenderFailed(ch) => format!("{} could not be made", ch.label()),
            TooManySegments(ch) => format!("{} over the segment cap", ch.label()),
            TooLarge(ch) => format!("{} too large", ch.label()),
        }
    }

    /// The label of a code as summary.json has it; a code this version does not know
    /// made readable.
    pub fn label_of(code: &str) -> String {
        Self::parse(code).map_or_else(|| crate::dataset::humanize(code), |r| r.label())
    }

    /// Reads a word back (exclusions.csv of an earlier run).
    pub fn parse(text: &str) -> Option<Self> {
        if let Some(day) = text.strip_prefix("promised_until:") {
            return chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .ok()
                .map(ExclusionReason::PromisedUntil);
        }
        if let Some(day) = text.strip_prefix("next_level_from:") {
            return chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .ok()
                .map(ExclusionReason::NextLevelFrom);
        }
        Self::every().into_iter().find(|r| r.code() == text)
    }
}

impl std::fmt::Display for ExclusionReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use ExclusionReason::*;
        match self {
            Hold(h) => write!(f, "hold:{h}"),
            PromisedUntil(d) => write!(f, "promised_until:{}", d.format("%Y-%m-%d")),
            NothingOpen => f.write_str("nothing_open"),
            AllDisputed => f.write_str("all_disputed"),
            NoStage => f.write_str("no_stage"),
            PreDueTooLate => f.write_str("pre_due_too_late"),
            NextLevelFrom(d) => write!(f, "next_level_from:{}", d.format("%Y-%m-%d")),
            BelowMinimum => f.write_str("below_minimum"),
            NoChannelInMatrix => f.write_str("no_channel_in_matrix"),
            Blocked(b, ch) => write!(f, "{b}:{ch}"),
            NoChannelLeft => f.write_str("no_channel_left"),
            RenderFailed(ch) => write!(f, "render_failed:{ch}"),
            TooManySegments(ch) => write!(f, "too_many_segments:{ch}"),
            TooLarge(ch) => write!(f, "too_large:{ch}"),
        }
    }
}

impl serde::Serialize for ExclusionReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_documented_in_docs_plan_md() {
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/plan.md")).unwrap();
        for r in ExclusionReason::every() {
            let row = format!("| `{}` |", r.documented_as());
            assert!(
                doc.contains(&row),
                "docs/plan.md has no row {row} (for {r})"
            );
        }
    }

    /// Issue 16: the report says `No SMS consent`, not `no_consent:sms` — every reason
    /// has a label of its own, in words, without the code's underscores and colons.
    #[test]
    fn every_reason_has_a_distinct_label_in_words() {
        use ExclusionReason::*;
        let all = ExclusionReason::every();
        let labels: std::collections::BTreeSet<String> = all.iter().map(|r| r.label()).collect();
        assert_eq!(labels.len(), all.len(), "two reasons share a label");
        for r in &all {
            let l = r.label();
            assert!(!l.contains('_') && l != r.code(), "{r}: {l}");
            assert!(l.starts_with(|c: char| c.is_uppercase()), "{l}");
        }
        assert_eq!(
            Blocked(Block::NoConsent, Channel::Sms).label(),
            "No SMS consent"
        );
        assert_eq!(
            Blocked(Block::FrequencyCap, Channel::Letter).label(),
            "Frequency cap reached (letter)"
        );
        assert_eq!(
            Hold(crate::dataset::Hold::Bankruptcy).label(),
            "On hold: bankruptcy"
        );
        assert_eq!(
            ExclusionReason::label_of("no_consent:email"),
            "No e-mail consent"
        );
        assert_eq!(
            ExclusionReason::label_of("some_new_reason"),
            "Some new reason"
        );
    }

    #[test]
    fn words_are_unique_and_read_back() {
        let all = ExclusionReason::every();
        let words: std::collections::BTreeSet<String> = all.iter().map(|r| r.code()).collect();
        assert_eq!(words.len(), all.len(), "two reasons share a word");
        for r in all {
            assert_eq!(ExclusionReason::parse(&r.code()), Some(r));
        }
        assert_eq!(ExclusionReason::parse("hold:nonsense"), None);
        assert_eq!(
            ExclusionReason::parse("promised_until:2027-01-31"),
            Some(ExclusionReason::PromisedUntil(
                chrono::NaiveDate::from_ymd_opt(2027, 1, 31).unwrap()
            ))
        );
    }

    #[test]
    fn words_are_the_ones_files_have_always_had() {
        use ExclusionReason::*;
        for (r, word) in [
            (
                Hold(crate::dataset::Hold::DoNotContact),
                "hold:do_not_contact",
            ),
            (
                Blocked(Block::FrequencyCap, Channel::Sms),
                "frequency_cap:sms",
            ),
            (RenderFailed(Channel::Letter), "render_failed:letter"),
            (TooManySegments(Channel::Sms), "too_many_segments:sms"),
            (TooLarge(Channel::Email), "too_large:email"),
            (NoChannelInMatrix, "no_channel_in_matrix"),
        ] {
            assert_eq!(r.to_string(), word);
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{word}\""));
        }
    }
}
