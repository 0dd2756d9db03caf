//! HubSpot contacts: customers in, and each contact's loyalty category and
//! latest NPS score written back as the contact properties
//! `vouch_nps_category` and `vouch_nps_score`. A contact's HubSpot id is
//! the customer's CRM id, as in a HubSpot contacts export ("Record ID"),
//! so a file import and the connector meet. Only values that differ from
//! what HubSpot holds are written, so a re-sync writes nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use vouch_domain::{Email, Locale};
use vouch_ingest::ImportedCustomer;
use vouch_store::{CustomerKey, Store};

use crate::Result;
use crate::import::ImportSummary;

/// The contact properties a sync reads.
pub const PROPERTIES: &str =
    "email,firstname,lastname,hs_language,vouch_nps_category,vouch_nps_score";

/// The properties written back (custom contact properties, created once
/// in HubSpot under Settings › Properties).
const CATEGORY: &str = "vouch_nps_category";
const SCORE: &str = "vouch_nps_score";

/// A page of contacts, upserted as customers; then the write-back of what
/// changed. The inner error is the vendor's refusal, kept on the source.
pub(super) async fn write_page(
    store: &Store,
    client: &reqwest::Client,
    base: &str,
    token: &str,
    page: &Value,
) -> Result<std::result::Result<(ImportSummary, u64), String>> {
    let contacts = page
        .get("results")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut rows = Vec::with_capacity(contacts.len());
    let mut rejected = 0;
    // HubSpot id → what HubSpot holds now for the two properties.
    let mut held: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (i, contact) in contacts.iter().enumerate() {
        match customer(i as u64 + 1, contact) {
            Some(row) => {
                let property = |name: &str| {
                    contact
                        .pointer(&format!("/properties/{name}"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                if let Some(id) = &row.external_id {
                    held.insert(id.clone(), (property(CATEGORY), property(SCORE)));
                }
                rows.push(row);
            }
            None => rejected += 1,
        }
    }
    let customers = crate::import::upsert_customers(store, rows).await?;
    let summary = ImportSummary {
        imported: customers.created,
        updated: customers.updated,
        unchanged: customers.unchanged,
        rejected: customers.rejected + rejected,
        ..ImportSummary::default()
    };
    let ids: Vec<&str> = held.keys().map(String::as_str).collect();
    let by_contact = store.customer_ids_by(CustomerKey::ExternalId, &ids).await?;
    let known: BTreeSet<_> = by_contact.values().copied().collect();
    let loyalty = store.loyalty_of(&known).await?;
    let mut inputs = Vec::new();
    for (contact, (category_held, score_held)) in &held {
        let Some(customer) = by_contact.get(contact) else {
            continue;
        };
        let Some((Some(assignment), score)) = loyalty.get(customer) else {
            continue;
        };
        let category = assignment.category.as_str().to_owned();
        let score = score.map(|s| s.to_string()).unwrap_or_default();
        if category != *category_held || score != *score_held {
            let mut properties = serde_json::Map::new();
            properties.insert(CATEGORY.to_owned(), Value::from(category));
            if !score.is_empty() {
                properties.insert(SCORE.to_owned(), Value::from(score));
            }
            inputs.push(serde_json::json!({"id": contact, "properties": properties}));
        }
    }
    if inputs.is_empty() {
        return Ok(Ok((summary, 0)));
    }
    let written = inputs.len() as u64;
    let response = client
        .post(format!("{base}/crm/v3/objects/contacts/batch/update"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "inputs": inputs }))
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => return Ok(Err(format!("hubspot cannot be reached to write back: {e}"))),
    };
    let status = response.status().as_u16();
    Ok(match status {
        200..=299 => Ok((summary, written)),
        401 | 403 => Err(format!(
            "hubspot refused the write-back (HTTP {status}): the private app needs the \
             crm.objects.contacts.write scope"
        )),
        400 => Err(format!(
            "hubspot refused the write-back (HTTP 400): create the contact properties \
             {CATEGORY} (text) and {SCORE} (number) in HubSpot"
        )),
        429 => Err("hubspot rate-limited the write-back; the next sync writes it".to_owned()),
        _ => Err(format!(
            "hubspot answered HTTP {status} to the write-back; the next sync writes it"
        )),
    })
}

/// A HubSpot contact as a customer row; `None` when its email is not one.
fn customer(line: u64, contact: &Value) -> Option<ImportedCustomer> {
    let id = match contact.get("id")? {
        Value::String(id) => id.clone(),
        Value::Number(id) => id.to_string(),
        _ => return None,
    };
    let property = |name: &str| {
        contact
            .pointer(&format!("/properties/{name}"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let email = match property("email") {
        Some(email) => Some(Email::parse(&email).ok()?),
        None => None,
    };
    let name: Vec<String> = [property("firstname"), property("lastname")]
        .into_iter()
        .flatten()
        .collect();
    Some(ImportedCustomer {
        line,
        email,
        external_id: Some(id),
        name: (!name.is_empty()).then(|| name.join(" ")),
        locale: property("hs_language").and_then(|l| Locale::parse(&l).ok()),
        other: BTreeMap::new(),
    })
}
