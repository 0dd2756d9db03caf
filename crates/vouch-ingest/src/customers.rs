//! Customer and CRM files: one customer a row, matched by email or the
//! CRM's id. A HubSpot or Salesforce contacts export is recognised by its
//! headers; any CSV with an email or id column reads the same way.

use std::collections::BTreeMap;
use std::io::BufRead;

use vouch_domain::{Email, Locale};

use crate::source::{RecordReader, csv_record};
use crate::{FieldMap, Rejection};

/// The fields of a customer file; `--map` names their columns.
pub const CUSTOMER_FIELDS: &[&str] = &[
    "email",
    "customer",
    "name",
    "first_name",
    "last_name",
    "locale",
];

/// One customer as a file describes them.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedCustomer {
    pub line: u64,
    pub email: Option<Email>,
    /// The company's id for them (the CRM's record id).
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub locale: Option<Locale>,
    /// Every other non-empty column: attributes, `consent_PURPOSE` and
    /// `insider` (yes/no) among them.
    pub other: BTreeMap<String, String>,
}

/// The usual columns of each field, in the order looked for; HubSpot's
/// and Salesforce's names among them.
const USUAL: &[(&str, &[&str])] = &[
    ("email", &["email", "email address", "e-mail"]),
    (
        "customer",
        &[
            "external_id",
            "customer_id",
            "record id",
            "contact id",
            "id",
        ],
    ),
    ("name", &["name", "full name"]),
    ("first_name", &["first name", "firstname"]),
    ("last_name", &["last name", "lastname"]),
    ("locale", &["locale", "language", "preferred language"]),
];

/// Customers from a CSV file, line-numbered, bad rows as rejections.
pub struct CustomerSource<R: BufRead> {
    records: RecordReader<R>,
    headers: Vec<String>,
    columns: BTreeMap<&'static str, usize>,
    vendor: Option<&'static str>,
}

impl<R: BufRead> CustomerSource<R> {
    pub fn new(reader: R, mapping: &FieldMap) -> Result<Self, Rejection> {
        let mut records = RecordReader::open_csv(reader)?;
        let header = records
            .next()
            .transpose()?
            .map(|r| r.text)
            .unwrap_or_default();
        let refuse = |reason: String| Rejection {
            line: 1,
            reason,
            raw: header.clone(),
        };
        mapping
            .check(CUSTOMER_FIELDS, "customers")
            .map_err(refuse)?;
        let headers: Vec<String> = csv_record(&header)
            .unwrap_or_default()
            .into_iter()
            .map(|h| h.trim().to_owned())
            .collect();
        let lower: Vec<String> = headers.iter().map(|h| h.to_lowercase()).collect();
        let position = |name: &str| lower.iter().position(|h| *h == name.to_lowercase());
        let mut columns = BTreeMap::new();
        for (field, usual) in USUAL {
            let found = match mapping.get(field) {
                Some(column) => Some(position(column).ok_or_else(|| {
                    refuse(format!(
                        "--map {field}={column}: the header has no column {column:?} (it has {})",
                        headers.join(", ")
                    ))
                })?),
                None => usual.iter().find_map(|c| position(c)),
            };
            if let Some(i) = found {
                columns.insert(*field, i);
            }
        }
        if !columns.contains_key("email") && !columns.contains_key("customer") {
            return Err(refuse(format!(
                "no email or id column to match customers by: name one with --map email=COLUMN or --map customer=COLUMN (the header has {})",
                headers.join(", ")
            )));
        }
        let has = |name: &str| position(name).is_some();
        let vendor = if has("record id") && (has("lifecycle stage") || has("contact owner")) {
            Some("HubSpot")
        } else if has("contact id") || (has("id") && has("firstname") && has("lastname")) {
            Some("Salesforce")
        } else {
            None
        };
        Ok(CustomerSource {
            records,
            headers,
            columns,
            vendor,
        })
    }

    /// The CRM whose export this is, when the headers say.
    pub fn vendor(&self) -> Option<&'static str> {
        self.vendor
    }

    /// Why reading stopped before the end of the file, if it did.
    pub fn broken(&self) -> Option<&Rejection> {
        self.records.broken()
    }

    fn parse(&self, line: u64, text: &str) -> Result<ImportedCustomer, String> {
        let text = vouch_domain::text::without_controls(text);
        let fields = csv_record(&text).ok_or("not a CSV record")?;
        let get = |field: &str| {
            let i = *self.columns.get(field)?;
            fields
                .get(i)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let named = |field: &str| {
            self.columns
                .get(field)
                .map_or(field, |i| self.headers[*i].as_str())
                .to_owned()
        };
        let email = get("email")
            .map(|e| Email::parse(&e).map_err(|err| format!("field `{}`: {err}", named("email"))))
            .transpose()?;
        let external_id = get("customer");
        if email.is_none() && external_id.is_none() {
            return Err("no email and no id: nothing to match the customer by".to_owned());
        }
        let name = get("name").or_else(|| {
            let parts: Vec<String> = [get("first_name"), get("last_name")]
                .into_iter()
                .flatten()
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        });
        let locale = get("locale").and_then(|l| Locale::parse(&l).ok());
        let used: Vec<usize> = self.columns.values().copied().collect();
        let other = self
            .headers
            .iter()
            .enumerate()
            .filter(|(i, h)| !used.contains(i) && !h.is_empty())
            .filter_map(|(i, h)| {
                let value = fields.get(i)?.trim();
                (!value.is_empty()).then(|| (h.clone(), value.to_owned()))
            })
            .collect();
        Ok(ImportedCustomer {
            line,
            email,
            external_id,
            name,
            locale,
            other,
        })
    }
}

impl<R: BufRead> Iterator for CustomerSource<R> {
    type Item = Result<ImportedCustomer, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        let record = match self.records.next()? {
            Ok(record) => record,
            Err(rejection) => return Some(Err(rejection)),
        };
        Some(crate::source::parsed(record, |line, text| {
            self.parse(line, text)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Option<&'static str>, Vec<Result<ImportedCustomer, String>>) {
        let source = CustomerSource::new(text.as_bytes(), &FieldMap::default()).unwrap();
        let vendor = source.vendor();
        (vendor, source.map(|r| r.map_err(|e| e.reason)).collect())
    }

    #[test]
    fn hubspot_and_salesforce_exports_are_recognised() {
        let hubspot = "Record ID,First Name,Last Name,Email,Phone Number,Lifecycle Stage,Contact owner,Create Date,Plan,consent_marketing,insider\n\
            51,Ana,Popescu,Ana@Example.com,+40 700 000 000,customer,Dan,2024-03-01 10:00,pro,yes,no\n\
            52,,,,,lead,,2024-03-02 10:00,,,\n";
        let (vendor, rows) = read(hubspot);
        assert_eq!(vendor, Some("HubSpot"));
        let ana = rows[0].as_ref().unwrap();
        assert_eq!(
            ana.email.as_ref().map(|e| e.as_str()),
            Some("Ana@example.com")
        );
        assert_eq!(ana.external_id.as_deref(), Some("51"));
        assert_eq!(ana.name.as_deref(), Some("Ana Popescu"));
        assert_eq!(ana.other.get("Plan").map(String::as_str), Some("pro"));
        assert_eq!(
            ana.other.get("consent_marketing").map(String::as_str),
            Some("yes")
        );
        assert_eq!(ana.other.get("insider").map(String::as_str), Some("no"));
        assert!(
            !ana.other.contains_key("Phone Number") || ana.other["Phone Number"].starts_with('+')
        );
        // Only an id: still a customer to match.
        assert_eq!(rows[1].as_ref().unwrap().external_id.as_deref(), Some("52"));

        let salesforce = "Contact ID,FirstName,LastName,Email,Account Name,MailingCountry\n\
            0035g00000XyZabAAB,Mihai,Ionescu,mihai@example.com,Acme SRL,RO\n\
            ,,,not-an-email,Acme,RO\n";
        let (vendor, rows) = read(salesforce);
        assert_eq!(vendor, Some("Salesforce"));
        assert_eq!(
            rows[0].as_ref().unwrap().name.as_deref(),
            Some("Mihai Ionescu")
        );
        assert!(
            rows[1].as_ref().unwrap_err().contains("field `Email`"),
            "{:?}",
            rows[1]
        );
    }

    #[test]
    fn a_file_with_nothing_to_match_by_is_refused() {
        let refused = CustomerSource::new("name,plan\nAna,pro\n".as_bytes(), &FieldMap::default())
            .err()
            .unwrap();
        assert!(
            refused.reason.contains("no email or id column"),
            "{}",
            refused.reason
        );
    }
}
