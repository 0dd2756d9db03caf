//! Referral conversions from a shop's CSV export: one order per row, with
//! the referral code or click id the link passed on. Columns by header,
//! in any order: `code` or `click` (one of them), `external_order_id`
//! (also `order_id`), `value`, `currency`, and optionally `email` and
//! `customer`. A bad row is a rejection naming its line and field; the
//! rows around it still count.

use std::io::Read;

use crate::source::Rejection;

/// One order as the file gives it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionRow {
    pub line: u64,
    pub code: Option<String>,
    pub click: Option<String>,
    pub external_order_id: String,
    /// In hundredths of the currency.
    pub value_cents: i64,
    pub currency: String,
    pub email: Option<String>,
    pub customer: Option<String>,
}

/// Reads a conversions CSV: the rows, and a rejection for each bad one
/// (an error for the whole file when its header lacks a column).
pub fn read_conversions(input: impl Read) -> Result<Vec<Result<ConversionRow, Rejection>>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| format!("line 1: {e}"))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect::<Vec<_>>();
    let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let order = column(&["external_order_id", "order_id"])
        .ok_or("the header has no external_order_id (or order_id) column")?;
    let value =
        column(&["value", "order_value", "amount"]).ok_or("the header has no value column")?;
    let currency = column(&["currency"]).ok_or("the header has no currency column")?;
    let (code, click) = (
        column(&["code", "referral_code"]),
        column(&["click", "click_id"]),
    );
    if code.is_none() && click.is_none() {
        return Err("the header has neither a code nor a click column".into());
    }
    let (email, customer) = (
        column(&["email", "friend_email"]),
        column(&["customer", "customer_id"]),
    );
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                rows.push(Err(Rejection {
                    line,
                    reason: format!("not a CSV row: {e}"),
                    raw: String::new(),
                }));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let raw = record.iter().collect::<Vec<_>>().join(",");
        let get = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(str::to_owned)
                .filter(|v| !v.is_empty())
        };
        let reject = |field: &str, why: String| Rejection {
            line,
            reason: format!("{field}: {why}"),
            raw: raw.clone(),
        };
        let Some(order_id) = get(Some(order)).filter(|o| o.chars().count() <= 200) else {
            rows.push(Err(reject(
                "external_order_id",
                "an order id of 1 to 200 characters is needed".into(),
            )));
            continue;
        };
        let value_cents = match get(Some(value))
            .map(|v| v.replace(',', "."))
            .and_then(|v| v.parse::<f64>().ok())
        {
            Some(v) if v.is_finite() && (0.0..=100_000_000.0).contains(&v) => {
                (v * 100.0).round() as i64
            }
            _ => {
                rows.push(Err(reject(
                    "value",
                    "a number from 0 to 100000000 is needed".into(),
                )));
                continue;
            }
        };
        let Some(currency) = get(Some(currency))
            .filter(|c| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()))
        else {
            rows.push(Err(reject(
                "currency",
                "a three-letter ISO 4217 code is needed".into(),
            )));
            continue;
        };
        let (code, click) = (get(code), get(click));
        if code.is_none() && click.is_none() {
            rows.push(Err(reject("code", "a code or a click id is needed".into())));
            continue;
        }
        rows.push(Ok(ConversionRow {
            line,
            code,
            click,
            external_order_id: order_id,
            value_cents,
            currency: currency.to_ascii_uppercase(),
            email: get(email),
            customer: get(customer),
        }));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_by_header_and_bad_ones_name_their_line_and_field() {
        let csv = "\u{feff}Order_ID,code,value,currency,email\n\
                   A-1,ANA2345,49.90,eur,mihai@example.org\n\
                   A-2,,10,EUR,x@example.org\n\
                   A-3,ANA2345,ten,EUR,\n\
                   A-4,ANA2345,\"12,5\",RON,\n";
        let rows = read_conversions(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 4);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(
            (first.value_cents, first.currency.as_str(), first.line),
            (4990, "EUR", 2)
        );
        let bad = rows[1].as_ref().unwrap_err();
        assert_eq!(bad.line, 3);
        assert!(bad.reason.starts_with("code:"), "{}", bad.reason);
        assert!(rows[2].as_ref().unwrap_err().reason.starts_with("value:"));
        assert_eq!(
            rows[3].as_ref().unwrap().value_cents,
            1250,
            "a decimal comma reads too"
        );
        assert!(read_conversions("order_id,value,currency\n".as_bytes()).is_err());
    }
}
