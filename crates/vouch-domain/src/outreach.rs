//! The rules every message to a customer passes, whichever feature sends
//! it: what it is for (its purpose), whether the customer agreed to that
//! purpose, and whether one contact budget, shared by all outreach, has
//! room for it now. Pure: the store records, the mail layer asks.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::DomainError;
use crate::names::named_enum;

named_enum! {
    /// What a message is for. Every message has one.
    pub enum Purpose as "purpose" {
        /// Transactional: answers to the customer's own request. Needs no
        /// consent and spends no budget (a bounce still stops it).
        Service = "service",
        /// Surveys and their reminders.
        Feedback = "feedback",
        /// Newsletters, offers, incentives.
        Marketing = "marketing",
        /// Asking a customer to refer others.
        Referral = "referral",
        /// Invitations into the advocate program, review requests.
        Advocacy = "advocacy",
    }
}

named_enum! {
    /// The lawful basis a consent record rests on (GDPR art. 6(1); ePrivacy
    /// art. 13(2) for the soft opt-in).
    pub enum ConsentBasis as "consent basis" {
        /// The customer said yes (art. 6(1)(a)).
        Consent = "consent",
        /// An existing customer, similar products, opt-out offered at
        /// collection and in every message (ePrivacy art. 13(2)).
        SoftOptIn = "soft_opt_in",
        /// The company's legitimate interest, weighed (art. 6(1)(f)).
        LegitimateInterest = "legitimate_interest",
    }
}

/// What is on record about one customer and one purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConsentRecord {
    pub purpose: Purpose,
    /// True: agreed (or may be contacted on `basis`); false: withdrawn.
    pub granted: bool,
    pub basis: ConsentBasis,
    /// Where it was recorded: `api`, `cli`, `import:FILE`, `unsubscribe link`…
    pub source: String,
    /// What proves it: a form's URL and version, a ticket, a checkbox text.
    pub evidence: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

impl ConsentRecord {
    /// The longest `source`, in characters.
    pub const MAX_SOURCE_CHARS: usize = 200;
    /// The longest `evidence`, in characters.
    pub const MAX_EVIDENCE_CHARS: usize = 2_000;

    /// The field that is too long, and why; a record is kept whole or not at all.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for (field, text, limit) in [
            ("source", Some(self.source.as_str()), Self::MAX_SOURCE_CHARS),
            (
                "evidence",
                self.evidence.as_deref(),
                Self::MAX_EVIDENCE_CHARS,
            ),
        ] {
            if let Some(text) = text
                && text.chars().count() > limit
            {
                return Err((field, format!("at most {limit} characters")));
            }
        }
        Ok(())
    }
}

/// Why a message may not go out on consent grounds, or `Ok`.
/// Feedback surveys of one's own customers rest on legitimate interest
/// until withdrawn; marketing, referral and advocacy need a record that
/// grants them; service messages need nothing.
pub fn consent_allows(purpose: Purpose, record: Option<&ConsentRecord>) -> Result<(), String> {
    match (purpose, record) {
        (Purpose::Service, _) => Ok(()),
        (_, Some(r)) if !r.granted => Err(format!(
            "the customer withdrew consent to {purpose} messages ({}, {})",
            r.source,
            r.recorded_at.format("%Y-%m-%d")
        )),
        (Purpose::Feedback, _) => Ok(()),
        (_, Some(_)) => Ok(()),
        (_, None) => Err(format!("no consent to {purpose} messages on record")),
    }
}

/// Why a message may not go out for want of the sender's identity, or
/// `Ok`: a marketing message must carry the sender's postal address
/// (CAN-SPAM, 15 U.S.C. §7704(a)(5)(A)(iii); EU Directive 2000/31/EC art. 5).
pub fn sender_identity_allows(
    purpose: Purpose,
    postal_address: Option<&str>,
) -> Result<(), String> {
    match (purpose, postal_address.map(str::trim)) {
        (Purpose::Marketing, None | Some("")) => Err(
            "marketing messages need the company's postal address (branding settings)".to_owned(),
        ),
        _ => Ok(()),
    }
}

/// `N per Dd`: at most N messages in any D days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rate {
    pub count: u32,
    pub days: u32,
}

impl std::str::FromStr for Rate {
    type Err = DomainError;
    fn from_str(text: &str) -> Result<Rate, DomainError> {
        let bad = || DomainError::Invalid {
            what: "contact rate",
            reason: format!("{text:?} is not like \"2 per 30d\""),
        };
        let (count, days) = text.trim().split_once(" per ").ok_or_else(bad)?;
        let days = days.trim().strip_suffix('d').ok_or_else(bad)?;
        let (count, days): (u32, u32) = (
            count.trim().parse().map_err(|_| bad())?,
            days.trim().parse().map_err(|_| bad())?,
        );
        if days == 0 {
            return Err(bad());
        }
        Ok(Rate { count, days })
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} per {}d", self.count, self.days)
    }
}

/// Hours of the customer's day in which nothing is sent, `start` to `end`
/// (`21` to `8`: from 21:00 to 08:00 the next morning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QuietHours {
    pub start: u32,
    pub end: u32,
}

impl std::str::FromStr for QuietHours {
    type Err = DomainError;
    fn from_str(text: &str) -> Result<QuietHours, DomainError> {
        let bad = || DomainError::Invalid {
            what: "quiet hours",
            reason: format!("{text:?} is not like \"21-8\" (hours 0-23)"),
        };
        let (start, end) = text.trim().split_once('-').ok_or_else(bad)?;
        let (start, end): (u32, u32) = (
            start.trim().parse().map_err(|_| bad())?,
            end.trim().parse().map_err(|_| bad())?,
        );
        if start > 23 || end > 23 || start == end {
            return Err(bad());
        }
        Ok(QuietHours { start, end })
    }
}

/// Caps of their own for some purposes, inside the total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PurposeCaps {
    pub feedback: Option<Rate>,
    pub marketing: Option<Rate>,
    pub referral: Option<Rate>,
    pub advocacy: Option<Rate>,
}

impl PurposeCaps {
    pub fn of(&self, purpose: Purpose) -> Option<Rate> {
        match purpose {
            Purpose::Service => None,
            Purpose::Feedback => self.feedback,
            Purpose::Marketing => self.marketing,
            Purpose::Referral => self.referral,
            Purpose::Advocacy => self.advocacy,
        }
    }

    pub fn set(&mut self, purpose: Purpose, rate: Rate) {
        match purpose {
            Purpose::Service => {}
            Purpose::Feedback => self.feedback = Some(rate),
            Purpose::Marketing => self.marketing = Some(rate),
            Purpose::Referral => self.referral = Some(rate),
            Purpose::Advocacy => self.advocacy = Some(rate),
        }
    }
}

/// One budget of contacts shared by every feature that writes to a
/// customer (`contact_budget`, `contact_min_gap_days`, `contact_caps`,
/// `quiet_hours`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ContactBudget {
    /// At most this many non-service messages in any window.
    pub total: Option<Rate>,
    /// At least this long between two messages.
    pub min_gap: Option<Duration>,
    pub caps: PurposeCaps,
    pub quiet_hours: Option<QuietHours>,
    /// Where quiet hours are counted for a customer with no zone of their own.
    #[serde(skip)]
    pub default_zone: Tz,
}

impl Default for ContactBudget {
    /// No limit at all; `vouch serve`'s settings give the real defaults
    /// (two messages a month, two days apart, none from 21:00 to 08:00).
    fn default() -> Self {
        ContactBudget {
            total: None,
            min_gap: None,
            caps: PurposeCaps::default(),
            quiet_hours: None,
            default_zone: Tz::UTC,
        }
    }
}

impl ContactBudget {
    /// Reads the settings: `total` and `caps` like `2 per 30d` (caps as
    /// `marketing: 1 per 30d, referral: 1 per 90d`), `quiet` like `21-8`;
    /// empty texts and a zero gap switch that part off.
    pub fn from_settings(
        total: &str,
        min_gap_days: u32,
        caps: &str,
        quiet: &str,
        zone: &str,
    ) -> Result<ContactBudget, DomainError> {
        let mut parsed = PurposeCaps::default();
        for cap in caps.split(',').filter(|c| !c.trim().is_empty()) {
            let (purpose, rate) = cap.split_once(':').ok_or_else(|| DomainError::Invalid {
                what: "contact cap",
                reason: format!("{cap:?} is not like \"marketing: 1 per 30d\""),
            })?;
            parsed.set(purpose.parse()?, rate.parse()?);
        }
        Ok(ContactBudget {
            total: Some(total)
                .filter(|t| !t.trim().is_empty())
                .map(str::parse)
                .transpose()?,
            min_gap: (min_gap_days > 0).then(|| Duration::days(i64::from(min_gap_days))),
            caps: parsed,
            quiet_hours: Some(quiet)
                .filter(|q| !q.trim().is_empty())
                .map(str::parse)
                .transpose()?,
            default_zone: zone.parse().map_err(|_| DomainError::Invalid {
                what: "time zone",
                reason: format!("{zone:?} is not an IANA time zone such as Europe/Bucharest"),
            })?,
        })
    }
}

/// A message already sent to the customer (or reserved for sending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastContact {
    pub at: DateTime<Utc>,
    pub purpose: Purpose,
}

/// Whether a message may go out now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum BudgetDecision {
    Send,
    /// Not now: try again at `until`, for `reason`.
    Defer {
        until: DateTime<Utc>,
        reason: String,
    },
}

impl ContactBudget {
    /// The decision for a `purpose` message at `now`, given the customer's
    /// past contacts and their time zone.
    pub fn decide(
        &self,
        past: &[PastContact],
        purpose: Purpose,
        now: DateTime<Utc>,
        zone: Option<Tz>,
    ) -> BudgetDecision {
        if purpose == Purpose::Service {
            return BudgetDecision::Send;
        }
        let counted: Vec<&PastContact> = past
            .iter()
            .filter(|c| c.purpose != Purpose::Service)
            .collect();
        let mut until: Option<(DateTime<Utc>, String)> = None;
        let mut later = |at: DateTime<Utc>, reason: String| {
            if until.as_ref().is_none_or(|(u, _)| at > *u) {
                until = Some((at, reason));
            }
        };
        if let Some(gap) = self.min_gap
            && let Some(last) = counted.iter().map(|c| c.at).max()
            && now < last + gap
        {
            later(
                last + gap,
                format!("less than {} days since the last message", gap.num_days()),
            );
        }
        let mut check = |rate: Rate, of: &[&PastContact], what: &str| {
            let window = Duration::days(i64::from(rate.days));
            let mut inside: Vec<DateTime<Utc>> = of
                .iter()
                .map(|c| c.at)
                .filter(|at| *at > now - window)
                .collect();
            if inside.len() >= rate.count as usize {
                inside.sort();
                // Room comes back when enough of them have aged out.
                let freed = inside[inside.len() - rate.count as usize] + window;
                later(freed, format!("{what} budget of {rate} is used up"));
            }
        };
        if let Some(total) = self.total {
            check(total, &counted, "the contact");
        }
        if let Some(cap) = self.caps.of(purpose) {
            let same: Vec<&PastContact> = counted
                .iter()
                .copied()
                .filter(|c| c.purpose == purpose)
                .collect();
            check(cap, &same, &format!("the {purpose}"));
        }
        let mut at = until.as_ref().map_or(now, |(u, _)| *u);
        if let Some(quiet) = self.quiet_hours {
            let zone = zone.unwrap_or(self.default_zone);
            if let Some(end) = quiet_end(quiet, zone, at) {
                let reason = format!(
                    "quiet hours ({:02}:00-{:02}:00 in {zone})",
                    quiet.start, quiet.end
                );
                at = end;
                match &mut until {
                    Some((u, r)) => {
                        *u = end;
                        r.push_str(", then ");
                        r.push_str(&reason);
                    }
                    None => until = Some((end, reason)),
                }
            }
        }
        match until {
            None => BudgetDecision::Send,
            Some((_, reason)) => BudgetDecision::Defer { until: at, reason },
        }
    }
}

/// When the quiet hours around `at` end, if `at` falls inside them.
fn quiet_end(quiet: QuietHours, zone: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    use chrono::Timelike;
    let local = at.with_timezone(&zone);
    let hour = local.hour();
    let inside = if quiet.start < quiet.end {
        (quiet.start..quiet.end).contains(&hour)
    } else {
        hour >= quiet.start || hour < quiet.end
    };
    if !inside {
        return None;
    }
    let day = if quiet.start > quiet.end && hour >= quiet.start {
        local.date_naive() + Duration::days(1)
    } else {
        local.date_naive()
    };
    let end = day.and_time(NaiveTime::from_hms_opt(quiet.end, 0, 0)?);
    // A quiet end inside a DST gap is taken an hour later.
    zone.from_local_datetime(&end)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(end + Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).unwrap()
    }

    #[test]
    fn consent_rules_per_purpose() {
        let record = |granted| ConsentRecord {
            purpose: Purpose::Marketing,
            granted,
            basis: ConsentBasis::Consent,
            source: "api".into(),
            evidence: None,
            recorded_at: t(1, 9),
        };
        assert!(consent_allows(Purpose::Service, Some(&record(false))).is_ok());
        assert!(consent_allows(Purpose::Feedback, None).is_ok());
        assert!(consent_allows(Purpose::Feedback, Some(&record(false))).is_err());
        assert!(consent_allows(Purpose::Marketing, None).is_err());
        assert!(consent_allows(Purpose::Marketing, Some(&record(true))).is_ok());
        assert!(consent_allows(Purpose::Advocacy, Some(&record(false))).is_err());
    }

    #[test]
    fn settings_parse_into_a_budget() {
        let budget = ContactBudget::from_settings(
            "2 per 30d",
            2,
            "marketing: 1 per 30d",
            "21-8",
            "Europe/Bucharest",
        )
        .unwrap();
        assert_eq!(budget.total, Some(Rate { count: 2, days: 30 }));
        assert_eq!(budget.caps.marketing, Some(Rate { count: 1, days: 30 }));
        assert_eq!(budget.min_gap, Some(Duration::days(2)));
        assert!(
            ContactBudget::from_settings("", 0, "", "", "UTC").unwrap() == ContactBudget::default()
        );
        assert!(
            ContactBudget::from_settings("2 per 30d", 2, "nagging: 1 per 1d", "", "UTC").is_err()
        );
        assert!(ContactBudget::from_settings("2 per 30d", 2, "", "", "Mars/Olympus").is_err());
    }

    #[test]
    fn marketing_needs_a_postal_address() {
        assert!(sender_identity_allows(Purpose::Marketing, None).is_err());
        assert!(sender_identity_allows(Purpose::Marketing, Some("  ")).is_err());
        assert!(sender_identity_allows(Purpose::Marketing, Some("Str. Lungă 1, Brașov")).is_ok());
        assert!(sender_identity_allows(Purpose::Feedback, None).is_ok());
    }

    #[test]
    fn rates_and_quiet_hours_parse() {
        assert_eq!(
            "2 per 30d".parse::<Rate>().unwrap(),
            Rate { count: 2, days: 30 }
        );
        for bad in ["2/30d", "2 per 30", "x per 3d", "1 per 0d"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
        assert_eq!(
            "21-8".parse::<QuietHours>().unwrap(),
            QuietHours { start: 21, end: 8 }
        );
        assert!("25-8".parse::<QuietHours>().is_err());
    }

    #[test]
    fn the_budget_defers_with_a_reason_and_a_time() {
        let budget = ContactBudget {
            total: Some(Rate { count: 2, days: 30 }),
            min_gap: Some(Duration::days(2)),
            caps: PurposeCaps {
                marketing: Some(Rate { count: 1, days: 30 }),
                ..PurposeCaps::default()
            },
            quiet_hours: None,
            default_zone: Tz::UTC,
        };
        let past = |days: &[(u32, Purpose)]| -> Vec<PastContact> {
            days.iter()
                .map(|(d, p)| PastContact {
                    at: t(*d, 12),
                    purpose: *p,
                })
                .collect()
        };
        assert_eq!(
            budget.decide(&[], Purpose::Feedback, t(10, 12), None),
            BudgetDecision::Send
        );
        // One day after the last: the gap.
        let BudgetDecision::Defer { until, reason } = budget.decide(
            &past(&[(9, Purpose::Feedback)]),
            Purpose::Feedback,
            t(10, 12),
            None,
        ) else {
            panic!("deferred")
        };
        assert_eq!((until, reason.contains("days since")), (t(11, 12), true));
        // Two in the window: room when the older ages out.
        let two = past(&[(1, Purpose::Feedback), (5, Purpose::Feedback)]);
        let BudgetDecision::Defer { until, reason } =
            budget.decide(&two, Purpose::Feedback, t(10, 12), None)
        else {
            panic!("deferred")
        };
        assert_eq!(until, t(1, 12) + Duration::days(30));
        assert!(reason.contains("2 per 30d"), "{reason}");
        // A marketing cap of its own; service messages spend nothing.
        let one = past(&[(1, Purpose::Marketing)]);
        assert!(matches!(
            budget.decide(&one, Purpose::Marketing, t(10, 12), None),
            BudgetDecision::Defer { .. }
        ));
        assert_eq!(
            budget.decide(&one, Purpose::Feedback, t(10, 12), None),
            BudgetDecision::Send
        );
        assert_eq!(
            budget.decide(&two, Purpose::Service, t(10, 12), None),
            BudgetDecision::Send
        );
    }

    #[test]
    fn quiet_hours_are_the_customers_own() {
        let budget = ContactBudget {
            total: None,
            min_gap: None,
            caps: PurposeCaps::default(),
            quiet_hours: Some(QuietHours { start: 21, end: 8 }),
            default_zone: Tz::UTC,
        };
        // 22:00 UTC is midnight in Bucharest (UTC+2 in December): wait to 08:00 there.
        let bucharest: Tz = "Europe/Bucharest".parse().unwrap();
        let BudgetDecision::Defer { until, reason } =
            budget.decide(&[], Purpose::Feedback, t(10, 22), Some(bucharest))
        else {
            panic!("deferred")
        };
        assert_eq!(until, t(11, 6));
        assert!(reason.contains("Europe/Bucharest"), "{reason}");
        // 10:00 UTC is midday there.
        assert_eq!(
            budget.decide(&[], Purpose::Feedback, t(10, 10), Some(bucharest)),
            BudgetDecision::Send
        );
        // 03:00 UTC in UTC: the same night, until 08:00.
        assert!(matches!(
            budget.decide(&[], Purpose::Feedback, t(10, 3), None),
            BudgetDecision::Defer { until, .. } if until == t(10, 8)
        ));
    }
}
