//! `/api/v1/customers`: list, get, create, update; export and erase (GDPR).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;

use super::Path;
use axum::http::StatusCode;
use serde::Deserialize;

use utoipa::{IntoParams, ToSchema};
use vouch_domain::{Customer, CustomerId, CustomerProfile, Email, Locale};
use vouch_store::CustomerFilter;

use super::{ApiError, ApiResult, Body, Params, attributes, next_cursor, page_size, time};
use crate::AppState;
use crate::auth::{Api, need};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The `next` cursor of the previous page.
    after: Option<i64>,
    /// Customers per page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    #[param(value_type = Option<super::schemas::Email>, inline)]
    email: Option<String>,
    /// The customer's id in your CRM.
    external_id: Option<String>,
    /// An attribute that must match, `NAME=VALUE` (e.g. `plan=pro`).
    #[serde(rename = "where")]
    #[param(rename = "where", value_type = Option<super::schemas::Attribute>, inline)]
    attribute: Option<String>,
    /// Created at or after (date or RFC 3339).
    #[param(value_type = Option<super::schemas::Time>, inline)]
    created_from: Option<String>,
    /// Created before.
    #[param(value_type = Option<super::schemas::Time>, inline)]
    created_to: Option<String>,
    /// Words in the name, email or external id (any case).
    #[param(max_length = 200)]
    q: Option<String>,
}

super::page!(
    /// Customers, by id.
    CustomerPage { customers: Customer }
);

/// The customer, or 404.
async fn customer(state: &AppState, id: CustomerId) -> Result<Customer, ApiError> {
    state
        .store
        .customer(id)
        .await?
        .ok_or_else(|| ApiError::not_found("customer", id.0))
}

/// Customers by id, `limit` at a time.
#[utoipa::path(get, path = "/api/v1/customers", operation_id = "list_customers", tag = "customers", params(ListQuery),
    responses((status = 200, description = "A page of customers", body = CustomerPage),
              (status = 422, description = "A bad filter", body = super::ErrorBody)))]
pub async fn list(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Params(q): Params<ListQuery>,
) -> ApiResult<CustomerPage> {
    let limit = page_size(q.limit)?;
    let filter = CustomerFilter {
        email: q
            .email
            .as_deref()
            .map(|e| Email::parse(e).map(|e| e.as_str().to_owned()))
            .transpose()
            .map_err(|e| ApiError::invalid("email", e.to_string()))?,
        external_id: q.external_id,
        attributes: attributes(q.attribute.as_deref())?,
        created_from: time("created_from", q.created_from.as_deref())?,
        created_to: time("created_to", q.created_to.as_deref())?,
        search: match q.q {
            Some(q) if q.chars().count() > 200 => {
                return Err(ApiError::invalid("q", "at most 200 characters"));
            }
            q => q.filter(|s| !s.trim().is_empty()),
        },
        ids: None,
    };
    let customers = state
        .store
        .customers(&filter, q.after.map(CustomerId), limit)
        .await?;
    let next = next_cursor(&customers, limit, |c| c.id.0);
    Ok(Json(CustomerPage { customers, next }))
}

/// A customer with their advocate propensity.
#[derive(serde::Serialize, ToSchema)]
pub struct CustomerWithPropensity {
    #[serde(flatten)]
    customer: Customer,
    /// How likely they are to become an active advocate (0–100), with the
    /// features that raised the score most.
    propensity: vouch_domain::propensity::Propensity,
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", operation_id = "get_customer", tag = "customers",
    params(("id" = i64, Path, description = "Vouch's id of the customer")),
    responses((status = 200, description = "The customer, with their advocate propensity", body = CustomerWithPropensity),
              (status = 404, description = "No such customer", body = super::ErrorBody)))]
pub async fn get(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<CustomerWithPropensity> {
    let customer = customer(&state, CustomerId(id)).await?;
    let propensity =
        vouch_app::propensity::of_customer(&state.store, customer.id, chrono::Utc::now())
            .await?
            .ok_or_else(|| ApiError::not_found("customer", id))?;
    Ok(Json(CustomerWithPropensity {
        customer,
        propensity,
    }))
}

#[derive(serde::Serialize, ToSchema)]
pub struct LikelyAdvocates {
    likely_advocates: Vec<vouch_app::propensity::LikelyAdvocate>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LikelyQuery {
    /// How many, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// The likely next advocates: passives and promoters not yet in the
/// program, ranked by advocate propensity, each with its top reasons.
#[utoipa::path(get, path = "/api/v1/customers/likely-advocates", operation_id = "likely_advocates", tag = "customers",
    params(LikelyQuery),
    responses((status = 200, description = "The likeliest first", body = LikelyAdvocates)))]
pub async fn likely(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Params(q): Params<LikelyQuery>,
) -> ApiResult<LikelyAdvocates> {
    let limit = page_size(q.limit)? as usize;
    Ok(Json(LikelyAdvocates {
        likely_advocates: vouch_app::propensity::likely_advocates(
            &state.store,
            state.playbooks.lookback,
            chrono::Utc::now(),
            limit,
        )
        .await?,
    }))
}

/// A customer's fields as the API takes them. On update, only the fields
/// sent change; `attributes` and `handles` are merged, a `null` value
/// removing the entry.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    external_id: Option<String>,
    /// The address; empty removes it.
    #[schema(value_type = Option<super::schemas::EmailOrEmpty>, inline)]
    email: Option<String>,
    name: Option<String>,
    /// `en`, `ro`, `en-GB`… (default `en`).
    #[schema(value_type = Option<super::schemas::Locale>, inline)]
    locale: Option<String>,
    attributes: Option<BTreeMap<String, Option<String>>>,
    /// Handles on review and social platforms: `{"twitter": "ana_p"}`.
    handles: Option<BTreeMap<String, Option<String>>>,
    /// When they became a customer (default: now).
    #[schema(value_type = Option<super::schemas::Time>, inline)]
    created_at: Option<String>,
    /// When they left, if they did.
    #[schema(value_type = Option<super::schemas::Time>, inline)]
    churned_at: Option<String>,
}

impl CustomerInput {
    /// Applies the fields sent to `profile`.
    fn apply(self, profile: &mut CustomerProfile) -> Result<(), ApiError> {
        let text = |v: String| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        if let Some(id) = self.external_id {
            profile.external_id = text(id);
        }
        if let Some(email) = self.email {
            profile.email = text(email)
                .map(|e| Email::parse(&e))
                .transpose()
                .map_err(|e| ApiError::invalid("email", e.to_string()))?;
        }
        if let Some(name) = self.name {
            profile.name = text(name);
        }
        if let Some(locale) = self.locale {
            profile.locale =
                Locale::parse(&locale).map_err(|e| ApiError::invalid("locale", e.to_string()))?;
        }
        for (map, changes) in [
            (&mut profile.attributes, self.attributes),
            (&mut profile.handles, self.handles),
        ] {
            for (key, value) in changes.unwrap_or_default() {
                match value {
                    Some(value) => map.insert(key, value),
                    None => map.remove(&key),
                };
            }
        }
        if let Some(at) = time("created_at", self.created_at.as_deref())? {
            profile.created_at = at;
        }
        if self.churned_at.is_some() {
            profile.churned_at = time("churned_at", self.churned_at.as_deref())?;
        }
        Ok(())
    }
}

#[utoipa::path(post, path = "/api/v1/customers", operation_id = "create_customer", tag = "customers", request_body = CustomerInput,
    responses((status = 201, description = "The new customer", body = Customer),
              (status = 409, description = "The email or external id is taken", body = super::ErrorBody),
              (status = 422, description = "A bad field", body = super::ErrorBody)))]
pub async fn create(
    _: Api<need::WriteCustomers>,
    State(state): State<AppState>,
    Body(input): Body<CustomerInput>,
) -> Result<(StatusCode, Json<Customer>), ApiError> {
    let mut profile = CustomerProfile::new(Locale::english(), chrono::Utc::now());
    input.apply(&mut profile)?;
    let id = state.store.insert_customers(&[profile]).await?[0];
    Ok((StatusCode::CREATED, Json(customer(&state, id).await?)))
}

#[utoipa::path(patch, path = "/api/v1/customers/{id}", operation_id = "update_customer", tag = "customers", request_body = CustomerInput,
    params(("id" = i64, Path, description = "Vouch's id of the customer")),
    responses((status = 200, description = "The customer as updated", body = Customer),
              (status = 404, description = "No such customer", body = super::ErrorBody),
              (status = 409, description = "The email or external id is taken", body = super::ErrorBody),
              (status = 422, description = "A bad field", body = super::ErrorBody)))]
pub async fn update(
    _: Api<need::WriteCustomers>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Body(input): Body<CustomerInput>,
) -> ApiResult<Customer> {
    let mut current = customer(&state, CustomerId(id)).await?;
    input.apply(&mut current.profile)?;
    state
        .store
        .update_customer(current.id, &current.profile)
        .await?;
    Ok(Json(customer(&state, current.id).await?))
}

/// Everything Vouch holds about the person: profile, answers, feedback (GDPR access).
#[utoipa::path(get, path = "/api/v1/customers/{id}/export", operation_id = "export_customer", tag = "customers",
    params(("id" = i64, Path, description = "Vouch's id of the customer")),
    responses((status = 200, description = "The profile, answers and feedback", body = vouch_app::records::CustomerExport),
              (status = 404, description = "No such customer", body = super::ErrorBody)))]
pub async fn export(
    caller: Api<need::EraseCustomers>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<vouch_app::records::CustomerExport> {
    let export = vouch_app::records::export_customer(&state.store, CustomerId(id))
        .await?
        .ok_or_else(|| ApiError::not_found("customer", id))?;
    tracing::info!(customer = id, by = %caller.0.name, "customer data exported");
    Ok(Json(export))
}

/// Erases the person (GDPR): profile, attributes and handles are deleted;
/// their answers and feedback stay in the aggregates, unlinked and without
/// author names or answer metadata.
#[utoipa::path(delete, path = "/api/v1/customers/{id}", operation_id = "erase_customer", tag = "customers",
    params(("id" = i64, Path, description = "Vouch's id of the customer")),
    responses((status = 204, description = "Erased"),
              (status = 404, description = "No such customer", body = super::ErrorBody)))]
pub async fn erase(
    caller: Api<need::EraseCustomers>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if !vouch_app::erasure::erase_customer(&state.store, CustomerId(id)).await? {
        return Err(ApiError::not_found("customer", id));
    }
    tracing::info!(customer = id, by = %caller.0.name, "customer erased");
    Ok(StatusCode::NO_CONTENT)
}

/// What a customer file did: the same counts as `vouch import --customers`.
#[derive(serde::Serialize, ToSchema)]
pub struct CustomerImport {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// The CRM whose export this is, when its headers say (HubSpot, Salesforce).
    pub vendor: Option<&'static str>,
    /// The first 100 rejected rows, each with its line and why.
    pub rejections: Vec<RejectedRow>,
}

#[derive(serde::Serialize, ToSchema)]
pub struct RejectedRow {
    pub line: u64,
    pub reason: String,
}

/// The most rows a response names as rejected.
const REJECTIONS_SHOWN: usize = 100;

/// The largest customer file the API takes; larger ones go through `vouch
/// import --customers`.
pub const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

/// Upserts customers from a CSV file (a CRM's contacts export or any CSV
/// with an email or id column), as `vouch import FILE --customers` does:
/// matched by email, else by the CRM's id; name and locale set when given;
/// other columns become attributes, `consent_PURPOSE` columns consents and
/// `insider` the insider flag. Sending the same file again changes nothing.
#[utoipa::path(post, path = "/api/v1/customers/import", operation_id = "import_customers", tag = "customers",
    request_body(content = String, content_type = "text/csv", description = "The file, with its header row (up to 64 MB)"),
    responses((status = 200, description = "What the file did", body = CustomerImport),
              (status = 400, description = "The body is not UTF-8 text", body = super::ErrorBody),
              (status = 413, description = "Over 64 MB: use vouch import --customers"),
              (status = 422, description = "The header has no email or id column", body = super::ErrorBody)))]
pub async fn import(
    _: Api<need::WriteCustomers>,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> ApiResult<CustomerImport> {
    if std::str::from_utf8(&body).is_err() {
        return Err(super::bad_request(
            StatusCode::BAD_REQUEST,
            "the body is not UTF-8 text".to_owned(),
        ));
    }
    let mut rejections = Vec::new();
    let (summary, vendor) = vouch_app::import::import_customers(
        &state.store,
        std::io::Cursor::new(&body[..]),
        &vouch_app::import::FieldMap::default(),
        |r| {
            if rejections.len() < REJECTIONS_SHOWN {
                rejections.push(RejectedRow {
                    line: r.line,
                    reason: r.reason.clone(),
                });
            }
        },
        |_| {},
    )
    .await?;
    Ok(Json(CustomerImport {
        created: summary.created,
        updated: summary.updated,
        unchanged: summary.unchanged,
        rejected: summary.rejected,
        vendor,
        rejections,
    }))
}
