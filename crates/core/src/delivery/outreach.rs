//! The anti-spam rules every outreach message obeys (Decree 91/2020/NĐ-CP, Art. 13, as reported in
//! messaging.md): sent only between 07:00 and 22:00 Vietnam time, at most three to one number in
//! 24 hours, labelled `[QC]`, only to people who agreed and never after they opted out. A
//! transactional message (a code, a dossier's notice) is never held by them. The values are the
//! decree's; an installation may tighten them.

use crate::calendar::deadline::VIETNAM;
use time::{Duration, OffsetDateTime, Time};

/// The rules in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutreachRules {
    /// First moment of the day a message may go (Vietnam time).
    pub opens: Time,
    /// The moment after which none may go (Vietnam time).
    pub closes: Time,
    /// Messages to one number in 24 hours.
    pub daily_cap: u32,
    /// The label an advertising message starts with.
    pub label: &'static str,
}

impl Default for OutreachRules {
    fn default() -> Self {
        OutreachRules {
            opens: Time::from_hms(7, 0, 0).unwrap_or(Time::MIDNIGHT),
            closes: Time::from_hms(22, 0, 0).unwrap_or(Time::MIDNIGHT),
            daily_cap: 3,
            label: "[QC]",
        }
    }
}

impl OutreachRules {
    /// `None` when a message may go at `now`; else the next moment it may.
    pub fn held_until(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let local = now.to_offset(VIETNAM);
        let t = local.time();
        if t >= self.opens && t < self.closes {
            return None;
        }
        let day = if t >= self.closes {
            local.date() + Duration::days(1)
        } else {
            local.date()
        };
        Some(day.with_time(self.opens).assume_offset(VIETNAM))
    }

    /// `text` with the label in front, unless it already starts with `[QC]` or `[AD]`.
    pub fn labelled(&self, text: &str) -> String {
        let t = text.trim_start();
        if t.starts_with("[QC]") || t.starts_with("[AD]") {
            t.to_owned()
        } else {
            format!("{} {t}", self.label)
        }
    }
}

/// Whether an inbound SMS asks to stop outreach: `TC` (từ chối), `HUY`, `STOP` or `DUNG`, in any
/// case, with or without diacritics, alone or followed by anything.
pub fn is_opt_out(text: &str) -> bool {
    let folded = crate::text::fold_marks(text.trim());
    let first = folded.split_whitespace().next().unwrap_or_default();
    matches!(first, "tc" | "huy" | "stop" | "dung")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    #[test]
    fn messages_wait_for_seven_in_the_morning_vietnam_time() {
        let r = OutreachRules::default();
        // 08:00 in Vietnam is 01:00 UTC.
        assert_eq!(r.held_until(datetime!(2026-12-07 01:00 UTC)), None);
        // 22:30 in Vietnam: held until 07:00 the next day.
        assert_eq!(
            r.held_until(datetime!(2026-12-07 15:30 UTC)),
            Some(datetime!(2026-12-08 07:00 +7))
        );
        // 05:00 in Vietnam: held until 07:00 the same day.
        assert_eq!(
            r.held_until(datetime!(2026-12-06 22:00 UTC)),
            Some(datetime!(2026-12-07 07:00 +7))
        );
        assert_eq!(
            r.held_until(datetime!(2026-12-07 00:00 UTC)),
            None,
            "07:00 sharp opens"
        );
        assert!(
            r.held_until(datetime!(2026-12-07 15:00 UTC)).is_some(),
            "22:00 sharp is closed"
        );
    }

    #[test]
    fn a_label_is_added_once() {
        let r = OutreachRules::default();
        assert_eq!(
            r.labelled("Nop ho so truc tuyen"),
            "[QC] Nop ho so truc tuyen"
        );
        assert_eq!(r.labelled("[QC] Nop ho so"), "[QC] Nop ho so");
        assert_eq!(r.labelled("[AD] x"), "[AD] x");
    }

    #[test]
    fn opt_out_keywords_are_read_as_people_type_them() {
        for t in ["TC", "tc", " Huỷ ", "HUY DK", "stop", "Dừng"] {
            assert!(is_opt_out(t), "{t}");
        }
        for t in ["", "OK", "Tôi muốn hỏi", "TCX"] {
            assert!(!is_opt_out(t), "{t}");
        }
    }

    proptest! {
        #[test]
        fn a_held_message_goes_at_the_next_opening_within_ten_hours(secs in 0i64..(400 * 86_400)) {
            let r = OutreachRules::default();
            let now = datetime!(2026-01-01 00:00 UTC) + Duration::seconds(secs);
            match r.held_until(now) {
                None => {
                    let t = now.to_offset(VIETNAM).time();
                    prop_assert!(t >= r.opens && t < r.closes);
                }
                Some(at) => {
                    prop_assert!(at > now);
                    prop_assert!(at - now <= Duration::hours(9));
                    prop_assert_eq!(at.to_offset(VIETNAM).time(), r.opens);
                    prop_assert_eq!(r.held_until(at), None);
                }
            }
        }
    }
}
