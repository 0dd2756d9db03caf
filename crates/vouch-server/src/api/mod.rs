//! The REST API, `/api/v1`: JSON in and out, errors as
//! `{"error": {"code", "message", "field"?}}`. Every handler is described
//! with `#[utoipa::path]` and registered through `OpenApiRouter`, so a route
//! cannot be served without being in `/api/v1/openapi.json`.

mod audit;
mod customers;
mod events;
pub(crate) mod export;
mod goals;
mod maturity;
mod metrics;
mod outreach;
mod playbooks;
mod program;
pub(crate) mod records;
mod schemas;
mod surveys;
mod templates;
pub(crate) mod webhooks;

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use vouch_store::ResponseFilter;

pub use crate::error::ApiError;

use crate::AppState;

/// The error body, for the OpenAPI document.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
struct ErrorDetail {
    /// `invalid`, `not_found`, `unauthorized`, `forbidden`, `csrf`, `conflict`, `bad_request`, `internal`.
    code: String,
    message: String,
    /// The request field at fault, when there is one.
    field: Option<String>,
}

/// A JSON request body whose errors are API errors. No string in it may
/// hold a control character (PostgreSQL refuses NUL; none has a use in
/// Vouch's data) or be longer than `MAX_TEXT_CHARS`: both are refused
/// with the field's path, the same on both backends.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let value = match Json::<Value>::from_request(req, state).await {
            Ok(Json(value)) => value,
            Err(rejection) => return Err(bad_request(rejection.status(), rejection.body_text())),
        };
        // Every body is an object: serde would also read a struct whose
        // fields are all optional from an array (`[null, null]`).
        if !value.is_object() {
            return Err(ApiError::invalid("body", "the body is a JSON object"));
        }
        check_strings(&value, &mut String::new())?;
        serde_json::from_value(value)
            .map(Body)
            .map_err(|e| ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "invalid",
                message: format!("the body does not fit this route: {e}"),
                field: None,
            })
    }
}

/// Refuses strings (keys and values) with control characters or over
/// the length limit; `path` is where `value` stands, as `items[0].text`.
fn check_strings(value: &Value, path: &mut String) -> Result<(), ApiError> {
    use vouch_domain::text::{MAX_TEXT_CHARS, check_length, is_forbidden_control};
    let check = |text: &str, path: &str| -> Result<(), ApiError> {
        let field = if path.is_empty() { "body" } else { path };
        if text.chars().any(is_forbidden_control) {
            return Err(ApiError::invalid(
                field,
                "control characters (such as NUL) are not accepted in text",
            ));
        }
        check_length("the text", text, MAX_TEXT_CHARS)
            .map_err(|e| ApiError::invalid(field, e.to_string()))
    };
    match value {
        Value::String(text) => check(text, path),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let checked = check_strings(item, path);
            path.truncate(len);
            checked
        }),
        Value::Object(fields) => fields.iter().try_for_each(|(key, item)| {
            check(key, path)?;
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
            let checked = check_strings(item, path);
            path.truncate(len);
            checked
        }),
        _ => Ok(()),
    }
}

/// Query parameters whose errors are API errors. A parameter given empty
/// (`?after=`) counts as absent, as generated clients and forms send them.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| bad_request(StatusCode::BAD_REQUEST, format!("bad query: {e}")))?;
        let mut given = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            if value.is_empty() {
                continue;
            }
            if value.chars().any(vouch_domain::text::is_forbidden_control) {
                return Err(ApiError::invalid(
                    key,
                    "control characters (such as NUL) are not accepted",
                ));
            }
            if let Err(e) = vouch_domain::text::check_length(
                "the value",
                &value,
                vouch_domain::text::MAX_TEXT_CHARS,
            ) {
                return Err(ApiError::invalid(key, e.to_string()));
            }
            given.push((key, value));
        }
        let query = serde_urlencoded::to_string(&given)
            .map_err(|e| bad_request(StatusCode::BAD_REQUEST, format!("bad query: {e}")))?;
        serde_urlencoded::from_str(&query).map(Params).map_err(|e| {
            bad_request(
                StatusCode::BAD_REQUEST,
                format!("Failed to deserialize query string: {e}"),
            )
        })
    }
}

/// Path parameters whose errors are API errors (`/customers/abc` is a 400
/// with the JSON error shape, not axum's plain text).
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(ApiError {
                status: StatusCode::BAD_REQUEST,
                code: "bad_request",
                message: format!("a path parameter is not valid: {}", rejection.body_text()),
                field: Some("id".to_owned()),
            }),
        }
    }
}

pub(crate) fn bad_request(status: StatusCode, message: String) -> ApiError {
    ApiError {
        status,
        code: "bad_request",
        message,
        field: None,
    }
}

pub type ApiResult<T = Value> = Result<Json<T>, ApiError>;

/// A page of a list, newest or lowest id first, with the cursor of the
/// next page: one shape for every paged list, so clients page them alike.
macro_rules! page {
    ($(#[$meta:meta])* $name:ident { $field:ident: $item:ty }) => {
        $(#[$meta])*
        #[derive(serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub $field: Vec<$item>,
            /// Pass as `after` for the next page; `null` on the last page.
            pub next: Option<i64>,
        }
    };
}
pub(crate) use page;

/// An optional time parameter.
pub fn time(field: &str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.map(|raw| vouch_app::parse_time(raw).map_err(|e| ApiError::invalid(field, e)))
        .transpose()
}

/// A value of `field` as its type reads it; the type's message otherwise.
pub fn parse_field<T: std::str::FromStr>(field: &str, raw: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    raw.parse()
        .map_err(|e: T::Err| ApiError::invalid(field, e.to_string()))
}

/// A body field that was sent, even as `null` (`Some(None)`), told from
/// one that was not (`None`, with `#[serde(default)]`).
pub fn given<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A JSON number with no fraction, as an integer: JSON does not tell
/// `3` from `3.0`, so neither does the API.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(d)?;
    as_whole_number(&number)
        .ok_or_else(|| serde::de::Error::custom(format!("{number} is not a whole number")))
}

/// `whole_number` for each number of a list.
pub fn whole_numbers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    Vec::<serde_json::Number>::deserialize(d)?
        .iter()
        .map(|n| {
            as_whole_number(n)
                .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number")))
        })
        .collect()
}

/// `whole_number` for an optional field (absent or null: none).
pub fn optional_whole_number<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<i64>, D::Error> {
    let number = Option::<serde_json::Number>::deserialize(d)?;
    number
        .map(|n| {
            as_whole_number(&n)
                .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number")))
        })
        .transpose()
}

/// `number` as an `i64`, from an integer in range or a whole float.
pub fn as_whole_number(number: &serde_json::Number) -> Option<i64> {
    if let Some(n) = number.as_i64() {
        return Some(n);
    }
    number
        .as_f64()
        // Up to 2^53 every whole number is exact in a double.
        .filter(|f| f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0)
        .map(|f| f as i64)
}

/// An optional value of `field`.
pub fn parse_optional<T: std::str::FromStr>(
    field: &str,
    raw: Option<&str>,
) -> Result<Option<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    raw.map(|raw| parse_field(field, raw)).transpose()
}

/// A comma-separated list parameter, each value parsed; a blank value
/// (`a,,b`) is refused, as the document's pattern says.
pub fn comma_list<T: std::str::FromStr>(field: &str, raw: Option<&str>) -> Result<Vec<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .map(|v| {
            if v.is_empty() {
                Err(ApiError::invalid(field, "a blank value in the list"))
            } else {
                parse_field(field, v)
            }
        })
        .collect()
}

/// A comma-separated list of two-letter language codes (`en,ro`), lower-cased.
pub fn languages(field: &str, raw: Option<&str>) -> Result<Vec<String>, ApiError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(|code| {
            if code.len() == 2 && code.chars().all(|c| c.is_ascii_alphabetic()) {
                Ok(code.to_ascii_lowercase())
            } else {
                Err(ApiError::invalid(
                    field,
                    format!("{code:?} is not a two-letter language code such as en or ro"),
                ))
            }
        })
        .collect()
}

/// The `where=NAME=VALUE` parameter: attributes a customer must have.
pub fn attributes(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    raw.map(vouch_app::params::parse_attribute)
        .transpose()
        .map_err(|e| ApiError::invalid("where", e))
        .map(|a| a.into_iter().collect())
}

/// Which survey answers a list or report covers: the filter options of
/// `vouch nps`, read by the answers list and the NPS report alike.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnswerFilter {
    /// Answered at or after (date or RFC 3339).
    #[param(value_type = Option<schemas::Time>, inline)]
    from: Option<String>,
    /// Answered before.
    #[param(value_type = Option<schemas::Time>, inline)]
    to: Option<String>,
    /// Survey names, comma-separated.
    #[param(value_type = Option<schemas::SurveyNames>, inline)]
    survey: Option<String>,
    /// Channels, comma-separated: `email,link,widget,in_app,api,import`.
    #[param(value_type = Option<schemas::Channels>, inline)]
    channel: Option<String>,
    /// Languages, comma-separated two-letter codes: `en,ro`.
    #[param(value_type = Option<schemas::Languages>, inline)]
    lang: Option<String>,
    /// A customer attribute that must match, `NAME=VALUE`.
    #[serde(rename = "where")]
    #[param(rename = "where", value_type = Option<schemas::Attribute>, inline)]
    attribute: Option<String>,
}

impl AnswerFilter {
    pub fn filter(self) -> Result<ResponseFilter, ApiError> {
        Ok(ResponseFilter {
            from: time("from", self.from.as_deref())?,
            to: time("to", self.to.as_deref())?,
            surveys: comma_list("survey", self.survey.as_deref())?,
            channels: comma_list("channel", self.channel.as_deref())?,
            languages: languages("lang", self.lang.as_deref())?,
            attributes: attributes(self.attribute.as_deref())?,
            skip_rollup: false,
        })
    }
}

/// How many items a page holds: `limit`, 50 by default, 1 to 500.
pub fn page_size(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit.unwrap_or(50) {
        n @ 1..=500 => Ok(n),
        n => Err(ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: format!("limit {n}: a page holds 1 to 500 items"),
            field: Some("limit".to_owned()),
        }),
    }
}

/// A page from `fetched`, read with `limit + 1` rows: the first `limit`,
/// and the `next` cursor (the last one's id) only when a further row
/// showed there is more.
pub fn fetched_page<T>(
    mut fetched: Vec<T>,
    limit: u32,
    id: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<i64>) {
    let more = fetched.len() > limit as usize;
    fetched.truncate(limit as usize);
    let next = more.then(|| fetched.last().map(id)).flatten();
    (fetched, next)
}

/// `next`: the cursor for the following page, null on the last.
pub fn next_cursor<T>(items: &[T], limit: u32, id: impl Fn(&T) -> i64) -> Option<i64> {
    (items.len() == limit as usize)
        .then(|| items.last().map(id))
        .flatten()
}

/// Ready when the database answers and its schema is the one this binary expects.
pub async fn ready(State(state): State<AppState>) -> Response {
    match state.store.schema_version().await {
        Ok(v) if v == state.store.binary_schema_version() => {
            match state.store.write_refusal().await {
                Ok(None) => (StatusCode::OK, "ready").into_response(),
                Ok(Some(why)) => (StatusCode::SERVICE_UNAVAILABLE, why).into_response(),
                Err(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database cannot be written",
                )
                    .into_response(),
            }
        }
        Ok(v) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "schema version {v}, expected {}",
                state.store.binary_schema_version()
            ),
        )
            .into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response(),
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vouch API",
        description = "Customers, feedback, survey answers, loyalty metrics and webhooks. \
            Authenticate with `Authorization: Bearer TOKEN` (`vouch token create`). \
            Lists are paged with `limit` and the `next` cursor passed back as `after`."
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every API route, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(customers::list, customers::create))
        .routes(routes!(customers::get, customers::update, customers::erase))
        .routes(routes!(customers::export))
        .routes(routes!(customers::likely))
        .routes(
            routes!(customers::import).layer(axum::extract::DefaultBodyLimit::max(
                customers::IMPORT_LIMIT,
            )),
        )
        .routes(routes!(outreach::consents))
        .routes(routes!(outreach::set_consent))
        .routes(routes!(outreach::contacts))
        .routes(routes!(templates::list))
        .routes(routes!(templates::get, templates::save, templates::reset))
        .routes(routes!(templates::preview))
        .routes(routes!(records::list_feedback, records::push_feedback))
        .routes(routes!(records::act_on_feedback))
        .routes(routes!(records::feedback_notes))
        .routes(routes!(export::export_feedback))
        .routes(routes!(records::list_responses, records::create_response))
        .routes(routes!(metrics::nps))
        .routes(routes!(metrics::kpis))
        .routes(routes!(metrics::transitions))
        .routes(routes!(goals::list, goals::create))
        .routes(routes!(goals::get))
        .routes(routes!(maturity::get))
        .routes(routes!(maturity::assess))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::delete))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(surveys::list, surveys::create))
        .routes(routes!(surveys::get, surveys::update))
        .routes(routes!(surveys::invite))
        .routes(routes!(surveys::branding, surveys::set_branding))
        .routes(routes!(audit::list))
        .routes(routes!(events::list))
        .routes(routes!(playbooks::list, playbooks::create))
        .routes(routes!(playbooks::check))
        .routes(routes!(
            playbooks::get,
            playbooks::update,
            playbooks::delete
        ))
        .routes(routes!(playbooks::runs))
        .routes(routes!(playbooks::report))
        .routes(routes!(playbooks::customer_runs))
        .routes(routes!(playbooks::tasks))
        .routes(routes!(playbooks::task, playbooks::update_task))
        .routes(routes!(playbooks::reply))
        .routes(routes!(playbooks::routing, playbooks::set_routing))
        .routes(routes!(playbooks::sla))
        .routes(routes!(program::members, program::add_member))
        .routes(routes!(program::member, program::change_member))
        .routes(routes!(program::ledger))
        .routes(routes!(program::award_points))
        .routes(routes!(program::rewards, program::add_reward))
        .routes(routes!(program::change_reward))
        .routes(routes!(program::add_gift_codes))
        .routes(routes!(program::join_codes, program::add_join_code))
        .routes(routes!(program::change_join_code))
        .routes(routes!(program::redemptions, program::redeem))
        .routes(routes!(program::move_redemption))
        .routes(routes!(program::leaderboard))
        .routes(routes!(program::referral_link))
        .routes(routes!(program::change_link))
        .routes(routes!(program::conversion))
        .routes(routes!(program::refund))
        .routes(routes!(program::referrals))
        .routes(routes!(program::decide))
        .routes(routes!(program::challenges, program::add_challenge))
        .routes(routes!(program::change_challenge))
        .routes(routes!(program::submit))
        .routes(routes!(program::submissions))
        .routes(routes!(program::decide_submission))
        .routes(routes!(program::kpis))
        .routes(routes!(program::get_settings, program::set_settings))
        .routes(routes!(program::badges, program::add_badge))
        .routes(routes!(program::award_badge))
        .routes(routes!(program::recognitions, program::recognize))
}

/// The OpenAPI 3.1 document of the API.
pub fn openapi() -> Value {
    let mut document = routes().into_openapi();
    describe_error_statuses(&mut document);
    describe_text_rules(document)
}

/// The components a request body refers to, directly or through others.
fn request_components(document: &Value) -> std::collections::BTreeSet<String> {
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(fields) => {
                if let Some(Value::String(target)) = fields.get("$ref")
                    && let Some(name) = target.strip_prefix("#/components/schemas/")
                {
                    out.push(name.to_owned());
                }
                fields.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut pending = Vec::new();
    for operation in document["paths"]
        .as_object()
        .into_iter()
        .flat_map(|paths| paths.values())
        .filter_map(Value::as_object)
    {
        for body in operation.values().filter_map(|o| o.get("requestBody")) {
            refs(body, &mut pending);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = pending.pop() {
        if seen.insert(name.clone()) {
            refs(&document["components"]["schemas"][&name], &mut pending);
        }
    }
    seen
}

/// What the edge refuses in any text (`Body`, `Params`, the URL check):
/// control characters, and more than `MAX_TEXT_CHARS`. Written into every
/// string schema that says nothing narrower, so the document promises no
/// more than the server takes.
fn describe_text_rules(document: utoipa::openapi::OpenApi) -> Value {
    fn walk(value: &mut Value, pattern: &str) {
        match value {
            Value::Object(fields) => {
                let is_string = match fields.get("type") {
                    Some(Value::String(t)) => t == "string",
                    Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
                    _ => false,
                };
                let constrained = ["pattern", "format", "enum", "const"]
                    .iter()
                    .any(|k| fields.contains_key(*k));
                if is_string && !constrained {
                    fields.insert("pattern".to_owned(), json!(pattern));
                    fields
                        .entry("maxLength")
                        .or_insert(json!(vouch_domain::text::MAX_TEXT_CHARS));
                }
                fields.values_mut().for_each(|v| walk(v, pattern));
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, pattern)),
            _ => {}
        }
    }
    // The document is plain data: it always serialises.
    let mut json = serde_json::to_value(&document).unwrap_or_default();
    // A URL takes no control character at all; a body keeps tabs and line breaks.
    if let Some(paths) = json.get_mut("paths").and_then(Value::as_object_mut) {
        for operation in paths.values_mut().filter_map(Value::as_object_mut) {
            for parameters in operation
                .values_mut()
                .filter_map(|o| o.get_mut("parameters"))
            {
                walk(parameters, &format!("^[^{}]*$", schemas::CONTROLS));
                if let Value::Array(parameters) = parameters {
                    // utoipa-axum adds a bare copy of each path parameter that
                    // a handler documents through an `IntoParams` struct.
                    let mut seen = std::collections::HashSet::new();
                    parameters.retain(|p| seen.insert(format!("{}/{}", p["in"], p["name"])));
                    parameters.iter_mut().for_each(empty_is_absent);
                }
            }
        }
    }
    // Bodies: what clients send. Responses carry what was stored and are
    // described as they are.
    let body_pattern = format!("^[^{}]*$", schemas::FORBIDDEN);
    if let Some(paths) = json.get_mut("paths").and_then(Value::as_object_mut) {
        for operation in paths.values_mut().filter_map(Value::as_object_mut) {
            for body in operation
                .values_mut()
                .filter_map(|o| o.get_mut("requestBody"))
            {
                walk(body, &body_pattern);
            }
        }
    }
    for name in request_components(&json) {
        if let Some(schema) = json.pointer_mut(&format!("/components/schemas/{name}")) {
            walk(schema, &body_pattern);
        }
    }
    merge_described_refs(&mut json);
    // An invitation names its customers or a `where`, exactly one of them.
    if let Some(invitation) = json.pointer_mut("/components/schemas/InvitationInput") {
        // Either one, and not null: `{"customers": null}` names nobody.
        if let Some(list) = invitation.pointer("/properties/customers/oneOf/0").cloned() {
            invitation["properties"]["customers"] = list;
        }
        invitation["minProperties"] = json!(1);
        invitation["maxProperties"] = json!(1);
        invitation["properties"]["where"]["type"] = json!("object");
        invitation["properties"]["where"]["minProperties"] = json!(1);
    }
    json
}

/// utoipa wraps an inlined field schema that has a description as
/// `allOf: [schema, {description, type: object}]`, which a string schema
/// contradicts; the description goes onto the schema instead.
fn merge_described_refs(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            if let Some(Value::Array(parts)) = fields.get("allOf")
                && parts.len() == 2
                && parts[1]
                    .as_object()
                    .is_some_and(|o| o.keys().all(|k| k == "description" || k == "type"))
                && parts[1].get("description").is_some()
            {
                let mut schema = parts[0].clone();
                schema["description"] = parts[1]["description"].clone();
                fields.remove("allOf");
                if let Value::Object(merged) = schema {
                    fields.extend(merged);
                }
            }
            fields.values_mut().for_each(merge_described_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(merge_described_refs),
        _ => {}
    }
}

/// `Params` reads an optional query parameter given empty (`?after=`) as
/// absent: its schema says so, taking the empty string besides its own.
fn empty_is_absent(parameter: &mut Value) {
    let optional = parameter["in"] == "query" && parameter["required"] != true;
    let Some(schema) = parameter.get_mut("schema").filter(|_| optional) else {
        return;
    };
    if let Some(Value::Array(names)) = schema.get_mut("enum") {
        names.push(json!(""));
    } else if let Some(Value::String(pattern)) = schema.get_mut("pattern") {
        if !pattern.starts_with("^$|") {
            *pattern = format!("^$|{pattern}");
        }
    } else if schema.get("type").is_some_and(|t| t != "string") {
        *schema = json!({ "anyOf": [schema.take(), { "type": "string", "maxLength": 0 }] });
    }
}

/// Every status the shared layers can answer, added to each operation that
/// may meet it (a handler documents its own besides), all with the error
/// body: so the document lists every status a route gives, and generated
/// clients know the shape of each.
fn describe_error_statuses(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for (path, item) in document.paths.paths.iter_mut() {
        let has_id = path.contains('{');
        let operations = [
            (&mut item.get, false),
            (&mut item.put, true),
            (&mut item.post, true),
            (&mut item.delete, false),
            (&mut item.patch, true),
        ];
        for (operation, writes) in operations {
            let Some(operation) = operation else { continue };
            let mut statuses = vec![
                ("400", "A malformed request, query or path parameter"),
                ("401", "No valid credentials"),
                (
                    "403",
                    "The role lacks the permission, or a browser write without its CSRF header",
                ),
                (
                    "429",
                    "Too many requests; retry after the Retry-After header",
                ),
                (
                    "500",
                    "An unexpected failure; the server log has the details",
                ),
                (
                    "503",
                    "The database cannot take writes now (disk full, read-only or busy); retry later",
                ),
            ];
            if has_id || writes {
                statuses.push((
                    "404",
                    "No such record, or a record the body names does not exist",
                ));
            }
            if writes {
                statuses.extend([
                    (
                        "409",
                        "Another record already holds this email, external id or name, or the record's state forbids the change (an archived survey)",
                    ),
                    ("413", "The body is larger than the limit"),
                    ("415", "The body is not application/json"),
                    ("422", "A field is not acceptable; `field` names it"),
                ]);
            } else {
                statuses.push(("422", "A parameter is not acceptable; `field` names it"));
            }
            for (status, description) in statuses {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error(description).into());
            }
            // Answered by the HTTP layer itself, before any handler, with no body.
            operation.responses.responses.insert(
                "414".to_owned(),
                ResponseBuilder::new()
                    .description("The URL is longer than the server reads")
                    .build()
                    .into(),
            );
        }
    }
}

/// The document itself, public like any API description.
pub async fn openapi_json() -> Json<Value> {
    Json(openapi())
}

#[cfg(test)]
mod tests {
    use super::as_whole_number;

    #[test]
    fn whole_numbers_are_read_exactly_even_as_large_floats() {
        let read = |text: &str| as_whole_number(&serde_json::from_str(text).unwrap());
        // 2^51 - 1 written as a float: serde_json's fast float parsing read
        // it as …247.2 until `float_roundtrip`, and the id was refused.
        assert_eq!(read("2251799813685247.0"), Some(2_251_799_813_685_247));
        assert_eq!(read("-20061731.0"), Some(-20_061_731));
        assert_eq!(read("1351"), Some(1351));
        assert_eq!(read("-9007199254740991.0"), Some(-9_007_199_254_740_991));
        assert_eq!(read("9007199254740992.0"), Some(9_007_199_254_740_992));
        assert_eq!(read("1.0e16"), None);
        assert_eq!(read("1.5"), None);
        assert_eq!(read("9223372036854775808"), None);
    }
}
