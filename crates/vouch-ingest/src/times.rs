//! Times as export files write them.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Parses a time in any of the forms exports use, or in `custom` (a chrono
/// `strftime` pattern, `--date-format`) first when given: RFC 3339 / ISO
/// 8601 with or without a zone (no zone means UTC), a bare date, Unix
/// seconds or milliseconds, and the US `M/D/YYYY H:MM:SS` of Google Forms
/// and spreadsheets.
pub fn parse_time(raw: &str, custom: Option<&str>) -> Result<DateTime<Utc>, String> {
    read_time(raw, custom).map(|t| match t {
        Read::Zoned(t) => t,
        Read::Naive(t) => t.and_utc(),
    })
}

/// `parse_time` for a time that may be written without a zone: such a
/// time is in `zone`, and the second value is true.
pub fn parse_time_in(
    raw: &str,
    custom: Option<&str>,
    zone: chrono_tz::Tz,
) -> Result<(DateTime<Utc>, bool), String> {
    match read_time(raw, custom)? {
        Read::Zoned(t) => Ok((t, false)),
        Read::Naive(t) => {
            // A time in a daylight-saving gap does not exist there: an hour on.
            let local = zone
                .from_local_datetime(&t)
                .earliest()
                .or_else(|| {
                    zone.from_local_datetime(&(t + chrono::Duration::hours(1)))
                        .earliest()
                })
                .ok_or_else(|| format!("{raw:?} does not exist in {zone}"))?;
            Ok((local.with_timezone(&Utc), true))
        }
    }
}

/// A time read with its zone (or as Unix time), or without one.
enum Read {
    Zoned(DateTime<Utc>),
    Naive(NaiveDateTime),
}

fn read_time(raw: &str, custom: Option<&str>) -> Result<Read, String> {
    let raw = raw.trim();
    if let Some(pattern) = custom {
        if let Ok(t) = DateTime::parse_from_str(raw, pattern) {
            return Ok(Read::Zoned(t.with_timezone(&Utc)));
        }
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, pattern) {
            return Ok(Read::Naive(t));
        }
        if let Ok(d) = NaiveDate::parse_from_str(raw, pattern) {
            return Ok(Read::Naive(d.and_hms_opt(0, 0, 0).unwrap_or_default()));
        }
        return Err(format!("{raw:?} does not match --date-format {pattern:?}"));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Read::Zoned(t.with_timezone(&Utc)));
    }
    if let Some(t) = with_zone_name(raw) {
        return Ok(Read::Zoned(t));
    }
    for pattern in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f %z", X_TIME] {
        if let Ok(t) = DateTime::parse_from_str(raw, pattern) {
            return Ok(Read::Zoned(t.with_timezone(&Utc)));
        }
    }
    for pattern in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
        // Spreadsheets' and survey tools' 12-hour clocks.
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %I:%M %p",
        "%Y/%m/%d %I:%M:%S %p",
        "%Y/%m/%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, pattern) {
            return Ok(Read::Naive(t));
        }
    }
    for pattern in ["%Y-%m-%d", "%m/%d/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(raw, pattern) {
            return Ok(Read::Naive(d.and_hms_opt(0, 0, 0).unwrap_or_default()));
        }
    }
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = raw
            .parse()
            .map_err(|_| format!("{raw:?} is out of range"))?;
        // Thirteen digits and more are milliseconds (from 1973 on).
        let (seconds, millis) = if raw.len() >= 13 {
            (n / 1000, n % 1000)
        } else {
            (n, 0)
        };
        return Utc
            .timestamp_opt(seconds, (millis * 1_000_000) as u32)
            .single()
            .map(Read::Zoned)
            .ok_or_else(|| format!("{raw:?} is out of range"));
    }
    Err(format!(
        "{raw:?} is not a time Vouch recognises (RFC 3339, YYYY-MM-DD[ HH:MM:SS], Unix seconds, M/D/YYYY H:MM:SS [AM|PM], YYYY/MM/DD H:MM:SS AM ZONE); give --date-format"
    ))
}

/// X's and the X archive's `Sat Mar 02 10:00:00 +0000 2024`.
pub(crate) const X_TIME: &str = "%a %b %d %H:%M:%S %z %Y";

/// Zone abbreviations exports write after a time (Google Forms' direct
/// download: `2024/03/01 10:15:00 AM EET`), with their UTC offsets in
/// hours. Ambiguous ones (IST, CST in Asia) are left out: such a time needs
/// `--date-format` with an offset.
const ZONE_NAMES: &[(&str, i32)] = &[
    ("UTC", 0),
    ("GMT", 0),
    ("WET", 0),
    ("WEST", 1),
    ("BST", 1),
    ("CET", 1),
    ("CEST", 2),
    ("EET", 2),
    ("EEST", 3),
    ("MSK", 3),
    ("EST", -5),
    ("EDT", -4),
    ("CST", -6),
    ("CDT", -5),
    ("MST", -7),
    ("MDT", -6),
    ("PST", -8),
    ("PDT", -7),
];

/// A time ending in a zone abbreviation of `ZONE_NAMES`.
fn with_zone_name(raw: &str) -> Option<DateTime<Utc>> {
    let (time, zone) = raw.rsplit_once(' ')?;
    let hours = ZONE_NAMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(zone))?
        .1;
    let offset = chrono::FixedOffset::east_opt(hours * 3600)?;
    let time = time.trim();
    let naive = [
        "%Y/%m/%d %I:%M:%S %p",
        "%Y/%m/%d %H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M:%S",
    ]
    .iter()
    .find_map(|p| NaiveDateTime::parse_from_str(time, p).ok())?;
    Some(
        naive
            .and_local_timezone(offset)
            .single()?
            .with_timezone(&Utc),
    )
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn times_without_a_zone_take_the_one_given() {
        let bucharest: chrono_tz::Tz = "Europe/Bucharest".parse().unwrap();
        let t = |raw| super::parse_time_in(raw, None, bucharest).map(|(t, z)| (t.to_rfc3339(), z));
        assert_eq!(
            t("2024-03-01 10:15:00"),
            Ok(("2024-03-01T08:15:00+00:00".into(), true))
        );
        // Summer time: UTC+3.
        assert_eq!(
            t("07/01/2024 10:15:00 AM"),
            Ok(("2024-07-01T07:15:00+00:00".into(), true))
        );
        assert_eq!(
            t("2024-03-01T10:15:00Z"),
            Ok(("2024-03-01T10:15:00+00:00".into(), false))
        );
        assert_eq!(
            t("1709288100"),
            Ok(("2024-03-01T10:15:00+00:00".into(), false))
        );
    }

    #[test]
    fn vendor_layouts_without_a_date_format() {
        let t = |raw| parse_time(raw, None).map(|t| t.to_rfc3339());
        assert_eq!(
            t("03/01/2024 08:15:00 AM"),
            Ok("2024-03-01T08:15:00+00:00".into())
        );
        assert_eq!(
            t("03/01/2024 08:15:00 PM"),
            Ok("2024-03-01T20:15:00+00:00".into())
        );
        // Google Forms' direct download keeps the zone: EET is UTC+2.
        assert_eq!(
            t("2024/03/01 10:15:00 AM EET"),
            Ok("2024-03-01T08:15:00+00:00".into())
        );
        assert_eq!(
            t("Sat Mar 02 10:00:00 +0000 2024"),
            Ok("2024-03-02T10:00:00+00:00".into())
        );
        assert_eq!(
            t("Sat Mar 02 12:00:00 +0200 2024"),
            Ok("2024-03-02T10:00:00+00:00".into())
        );
        assert!(t("2024/03/01 10:15:00 AM XYZ").is_err());
    }

    #[test]
    fn the_forms_exports_use() {
        let same = "2026-03-05T14:07:09+00:00";
        for raw in [
            "2026-03-05T14:07:09Z",
            "2026-03-05T16:07:09+02:00",
            "2026-03-05 14:07:09",
            "2026-03-05T14:07:09",
            "2026-03-05 14:07:09.000",
            "3/5/2026 14:07:09",
            "03/05/2026 14:07:09",
            "1772719629",
            "1772719629000",
        ] {
            assert_eq!(parse_time(raw, None).unwrap().to_rfc3339(), same, "{raw}");
        }
        assert_eq!(
            parse_time("2026-03-05", None).unwrap().to_rfc3339(),
            "2026-03-05T00:00:00+00:00"
        );
        assert_eq!(
            parse_time("05.03.2026 14:07", Some("%d.%m.%Y %H:%M"))
                .unwrap()
                .to_rfc3339(),
            "2026-03-05T14:07:00+00:00"
        );
        assert!(parse_time("05.03.2026", Some("%Y")).is_err());
        assert!(
            parse_time("yesterday", None)
                .unwrap_err()
                .contains("--date-format")
        );
    }
}
