//! `/api/v1/program/…` and `/api/v1/referrals/…`: the advocate program's
//! members, points, rewards and redemptions, and referral links and
//! conversions. The rules live in vouch-domain and vouch-app.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vouch_app::program::{self, Award, Conversion, ConversionRefusal, MemberView, Place};
use vouch_domain::program::referrals::ReferralStatus;
use vouch_domain::program::{
    Fulfilment, JoinedBy, MemberStatus, Period, RedemptionRefusal, RedemptionState, RewardKind,
};
use vouch_store::{LedgerEntry, LedgerRefusal, Redemption, Referral, ReferralFilter, Reward};

use super::{ApiError, ApiResult, Body, Params, Path, page, page_size, parse_field};
use crate::AppState;
use crate::auth::{Api, need};

fn program_error(status: StatusCode, code: &'static str, message: String) -> ApiError {
    ApiError {
        status,
        code,
        message,
        field: None,
    }
}

/// A member to add: a customer's id, email or external id.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    #[schema(value_type = String, example = "ana@example.com")]
    customer: serde_json::Value,
    /// How they joined: `staff` (the default) or `invitation` (trusted),
    /// `join_code` or `open_sign_up` (untrusted).
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^(invitation|staff|join_code|open_sign_up)$")]
    joined_by: Option<String>,
    /// They accepted the program's current terms now.
    #[serde(default)]
    accepted_terms: bool,
}

/// Adds a customer to the program: 201 with the member, or 200 with the
/// member they already are.
#[utoipa::path(post, path = "/api/v1/program/members", operation_id = "add_member", tag = "program",
    request_body = NewMember,
    responses((status = 201, description = "The new member", body = MemberView),
              (status = 200, description = "The customer was a member already", body = MemberView),
              (status = 404, description = "No such customer", body = super::ErrorBody),
              (status = 422, description = "A bad field", body = super::ErrorBody)))]
pub async fn add_member(
    _: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Body(body): Body<NewMember>,
) -> Result<Response, ApiError> {
    let key = match &body.customer {
        serde_json::Value::String(s) if !s.trim().is_empty() => s.clone(),
        serde_json::Value::Number(n) if n.is_i64() => n.to_string(),
        _ => {
            return Err(ApiError::invalid(
                "customer",
                "a customer's id, email or external id",
            ));
        }
    };
    let by = match body.joined_by.as_deref() {
        None => JoinedBy::Staff,
        Some(s) => parse_field("joined_by", s)?,
    };
    let (member, joined) = program::join(&state.store, &key, by, body.accepted_terms).await?;
    let settings = program::settings(&state.store).await?;
    let status = if joined {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(program::view(&settings, member))).into_response())
}

page!(
    /// A page of members, newest first.
    MemberPage { members: MemberView }
);

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    /// `active`, `paused`, `left` or `banned`.
    #[param(value_type = Option<String>, pattern = "^(active|paused|left|banned)$")]
    status: Option<String>,
    after: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/program/members", operation_id = "list_members", tag = "program", params(MembersQuery),
    responses((status = 200, description = "A page of members", body = MemberPage),
              (status = 422, description = "A bad filter", body = super::ErrorBody)))]
pub async fn members(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Params(q): Params<MembersQuery>,
) -> ApiResult<MemberPage> {
    let limit = page_size(q.limit)?;
    let status = q
        .status
        .as_deref()
        .map(|s| parse_field::<MemberStatus>("status", s))
        .transpose()?;
    let settings = program::settings(&state.store).await?;
    let (members, next) = super::fetched_page(
        state.store.members(status, q.after, limit + 1).await?,
        limit,
        |m| m.id,
    );
    let members: Vec<MemberView> = members
        .into_iter()
        .map(|m| program::view(&settings, m))
        .collect();
    Ok(Json(MemberPage { members, next }))
}

#[utoipa::path(get, path = "/api/v1/program/members/{id}", operation_id = "get_member", tag = "program",
    params(("id" = i64, Path, description = "The member's id")),
    responses((status = 200, description = "The member", body = MemberView),
              (status = 404, description = "No such member", body = super::ErrorBody)))]
pub async fn member(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<MemberView> {
    let member = state
        .store
        .member(id)
        .await?
        .ok_or_else(|| ApiError::not_found("member", id))?;
    let settings = program::settings(&state.store).await?;
    Ok(Json(program::view(&settings, member)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberChange {
    /// `active`, `paused`, `left` or `banned` (which voids pending rewards).
    #[schema(value_type = String, pattern = "^(active|paused|left|banned)$")]
    status: String,
}

#[utoipa::path(patch, path = "/api/v1/program/members/{id}", operation_id = "change_member", tag = "program",
    params(("id" = i64, Path, description = "The member's id")), request_body = MemberChange,
    responses((status = 200, description = "The member", body = MemberView),
              (status = 404, description = "No such member", body = super::ErrorBody),
              (status = 422, description = "A bad status", body = super::ErrorBody)))]
pub async fn change_member(
    who: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Body(body): Body<MemberChange>,
) -> ApiResult<MemberView> {
    let status: MemberStatus = parse_field("status", &body.status)?;
    let member = program::set_status(&state.store, id, status, &who.0.name)
        .await?
        .ok_or_else(|| ApiError::not_found("member", id))?;
    let settings = program::settings(&state.store).await?;
    Ok(Json(program::view(&settings, member)))
}

page!(
    /// A page of a member's ledger, newest first.
    LedgerPage { entries: LedgerEntry }
);

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    after: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/program/members/{id}/ledger", operation_id = "member_ledger", tag = "program",
    params(("id" = i64, Path, description = "The member's id"), PageQuery),
    responses((status = 200, description = "The member's ledger entries", body = LedgerPage),
              (status = 404, description = "No such member", body = super::ErrorBody)))]
pub async fn ledger(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Params(q): Params<PageQuery>,
) -> ApiResult<LedgerPage> {
    let limit = page_size(q.limit)?;
    if state.store.member(id).await?.is_none() {
        return Err(ApiError::not_found("member", id));
    }
    let (entries, next) = super::fetched_page(
        state.store.ledger(id, q.after, limit + 1).await?,
        limit,
        |e: &LedgerEntry| e.id,
    );
    Ok(Json(LedgerPage { entries, next }))
}

/// Points to award (positive) or take away (negative, never below zero).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointsAward {
    #[serde(deserialize_with = "super::whole_number")]
    member: i64,
    /// Not 0.
    #[serde(deserialize_with = "super::whole_number")]
    #[schema(minimum = -1000000, maximum = 1000000)]
    amount: i64,
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
    /// Unique per award: a retry with the same key is answered with the
    /// first entry (200) and writes nothing.
    #[schema(min_length = 1, max_length = 200)]
    idempotency_key: String,
}

#[utoipa::path(post, path = "/api/v1/program/points", operation_id = "award_points", tag = "program",
    request_body = PointsAward,
    responses((status = 201, description = "The new ledger entry", body = LedgerEntry),
              (status = 200, description = "The entry this idempotency key wrote before", body = LedgerEntry),
              (status = 404, description = "No such member", body = super::ErrorBody),
              (status = 409, description = "`insufficient_points`: taking these away would overdraw", body = super::ErrorBody),
              (status = 422, description = "A bad field, or a member who cannot earn now", body = super::ErrorBody)))]
pub async fn award_points(
    who: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Body(body): Body<PointsAward>,
) -> Result<Response, ApiError> {
    if body.amount == 0 || body.amount.abs() > 1_000_000 {
        return Err(ApiError::invalid(
            "amount",
            "1 to 1000000 points, or as many taken away",
        ));
    }
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::invalid(
            "reason",
            "a reason of 1 to 500 characters",
        ));
    }
    let key = body.idempotency_key.trim();
    if key.is_empty() || key.chars().count() > 200 {
        return Err(ApiError::invalid(
            "idempotency_key",
            "a key of 1 to 200 characters",
        ));
    }
    let award = Award {
        member: body.member,
        amount: body.amount,
        reason: reason.to_owned(),
        idempotency_key: format!("api:{key}"),
        source: "api".into(),
        actor: who.0.name,
    };
    match program::award(&state.store, &award).await? {
        Ok((entry, true)) => Ok((StatusCode::CREATED, Json(entry)).into_response()),
        Ok((entry, false)) => Ok((StatusCode::OK, Json(entry)).into_response()),
        Err(LedgerRefusal::NoMember(id)) => Err(ApiError::not_found("member", id)),
        Err(e @ LedgerRefusal::InsufficientPoints { .. }) => Err(program_error(
            StatusCode::CONFLICT,
            "insufficient_points",
            e.to_string(),
        )),
        Err(e @ LedgerRefusal::WrongSign { .. }) => Err(ApiError::invalid("amount", e.to_string())),
    }
}

#[derive(Serialize, ToSchema)]
pub struct RewardList {
    rewards: Vec<Reward>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RewardsQuery {
    /// Withdrawn rewards too.
    all: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/program/rewards", operation_id = "list_rewards", tag = "program", params(RewardsQuery),
    responses((status = 200, description = "The catalogue, cheapest first", body = RewardList)))]
pub async fn rewards(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Params(q): Params<RewardsQuery>,
) -> ApiResult<RewardList> {
    Ok(Json(RewardList {
        rewards: state.store.rewards(!q.all.unwrap_or(false)).await?,
    }))
}

/// A reward for the catalogue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardSpec {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// Its cost in points.
    #[serde(deserialize_with = "super::whole_number")]
    #[schema(minimum = 1, maximum = 10000000)]
    points: i64,
    /// Units in stock; absent: unlimited.
    #[serde(default, deserialize_with = "super::optional_whole_number")]
    #[schema(minimum = 0, maximum = 1000000000)]
    stock: Option<i64>,
    /// `auto` or `manual`: only automatic rewards for trusted members are
    /// fulfilled without a person approving.
    #[schema(value_type = String, pattern = "^(auto|manual)$")]
    fulfilment: String,
    /// `gift_code`, `swag` (the default), `donation`, `experience` or `account_credit`.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^(gift_code|swag|donation|experience|account_credit)$")]
    kind: Option<String>,
    /// The lowest tier that may have it, by name.
    #[serde(default)]
    #[schema(max_length = 100)]
    min_tier: Option<String>,
    /// How many times one member may have it.
    #[serde(default, deserialize_with = "super::optional_whole_number")]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 1000)]
    per_member_limit: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/program/rewards", operation_id = "add_reward", tag = "program",
    request_body = RewardSpec,
    responses((status = 201, description = "The new reward", body = Reward),
              (status = 422, description = "A bad field", body = super::ErrorBody)))]
pub async fn add_reward(
    _: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Body(body): Body<RewardSpec>,
) -> Result<Response, ApiError> {
    let draft = program::RewardDraft {
        name: body.name,
        kind: match body.kind.as_deref() {
            None => RewardKind::Swag,
            Some(k) => parse_field("kind", k)?,
        },
        points: body.points,
        stock: body.stock,
        min_tier: body.min_tier,
        per_member_limit: body.per_member_limit,
        fulfilment: parse_field::<Fulfilment>("fulfilment", &body.fulfilment)?,
    };
    let reward = program::add_reward(&state.store, draft)
        .await?
        .map_err(refused)?;
    Ok((StatusCode::CREATED, Json(reward)).into_response())
}

/// A use case's refusal of a field, as the API's 422.
fn refused(r: program::FieldRefusal) -> ApiError {
    ApiError::invalid(r.field, r.message)
}

/// A change to a reward.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardChange {
    /// False withdraws it from the catalogue; true offers it again.
    #[serde(default)]
    active: Option<bool>,
    /// Units to add to its stock (not for gift codes: add codes).
    #[serde(default, deserialize_with = "super::optional_whole_number")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1000000000)]
    add_stock: Option<i64>,
}

#[utoipa::path(patch, path = "/api/v1/program/rewards/{id}", operation_id = "change_reward", tag = "program",
    params(("id" = i64, Path, description = "The reward's id")), request_body = RewardChange,
    responses((status = 200, description = "The reward", body = Reward),
              (status = 404, description = "No such reward", body = super::ErrorBody),
              (status = 422, description = "A bad field", body = super::ErrorBody)))]
pub async fn change_reward(
    _: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Body(body): Body<RewardChange>,
) -> ApiResult<Reward> {
    program::change_reward(&state.store, id, body.active, body.add_stock)
        .await?
        .map_err(refused)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("reward", id))
}

/// Gift codes for a gift-code reward.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GiftCodes {
    /// The codes, as the supplier gave them; ones the reward holds already are skipped.
    #[schema(min_items = 1, max_items = 100000, value_type = Vec<String>)]
    codes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct GiftCodesAdded {
    /// Codes new to the reward (its stock grew by as many).
    added: usize,
    reward: Reward,
}

/// Loads gift codes; each is sealed at rest and handed out once, when a
/// redemption of the reward is fulfilled (or to a referred friend, for
/// the program's friend reward).
#[utoipa::path(post, path = "/api/v1/program/rewards/{id}/codes", operation_id = "add_gift_codes", tag = "program",
    params(("id" = i64, Path, description = "The reward's id")), request_body = GiftCodes,
    responses((status = 200, description = "How many were new, and the reward with its stock", body = GiftCodesAdded),
              (status = 404, description = "No such reward", body = super::ErrorBody),
              (status = 422, description = "Not a gift-code reward, or a bad code", body = super::ErrorBody)))]
pub async fn add_gift_codes(
    _: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Body(body): Body<GiftCodes>,
) -> ApiResult<GiftCodesAdded> {
    let added = program::add_gift_codes(&state.store, id, &body.codes)
        .await?
        .map_err(refused)?;
    let reward = state
        .store
        .reward(id)
        .await?
        .ok_or_else(|| ApiError::not_found("reward", id))?;
    Ok(Json(GiftCodesAdded { added, reward }))
}

#[derive(Serialize, ToSchema)]
pub struct JoinCodeList {
    join_codes: Vec<vouch_store::JoinCode>,
}

#[utoipa::path(get, path = "/api/v1/program/join-codes", operation_id = "list_join_codes", tag = "program",
    responses((status = 200, description = "Every join code, newest first", body = JoinCodeList)))]
pub async fn join_codes(
    _: Api<need::ManageProgram>,
    State(state): State<AppState>,
) -> ApiResult<JoinCodeList> {
    Ok(Json(JoinCodeList {
        join_codes: state.store.join_codes().await?,
    }))
}

/// A new join code.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinCodeSpec {
    /// The code people type (4 to 40 letters, digits or dashes; kept in
    /// capitals); none: one is drawn.
    #[serde(default)]
    #[schema(max_length = 40, pattern = "^[A-Za-z0-9-]{4,40}$")]
    code: Option<String>,
    /// How many people may join with it; none: any number.
    #[serde(default, deserialize_with = "super::optional_whole_number")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 10000000)]
    max_uses: Option<i64>,
    /// When it stops working.
    #[serde(default)]
    #[schema(value_type = Option<super::schemas::Time>)]
    expires_at: Option<String>,
}

/// Adds a join code: whoever holds it joins on `/portal/join?code=…`
/// (untrusted, as an open sign-up), even when open sign-ups are off.
#[utoipa::path(post, path = "/api/v1/program/join-codes", operation_id = "add_join_code", tag = "program",
    request_body = JoinCodeSpec,
    responses((status = 201, description = "The join code", body = vouch_store::JoinCode),
              (status = 422, description = "A bad or taken code, or a bad field", body = super::ErrorBody)))]
pub async fn add_join_code(
    _: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Body(body): Body<JoinCodeSpec>,
) -> Result<Response, ApiError> {
    let expires_at = super::time("expires_at", body.expires_at.as_deref())?;
    let code = program::add_join_code(
        &state.store,
        body.code.as_deref(),
        body.max_uses,
        expires_at,
    )
    .await?
    .map_err(refused)?;
    Ok((StatusCode::CREATED, Json(code)).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    active: bool,
}

#[utoipa::path(patch, path = "/api/v1/program/join-codes/{code}", operation_id = "change_join_code", tag = "program",
    params(("code" = String, Path, description = "The join code")), request_body = Switch,
    responses((status = 200, description = "The join code", body = vouch_store::JoinCode),
              (status = 404, description = "No such code", body = super::ErrorBody)))]
pub async fn change_join_code(
    _: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Path(code): Path<String>,
    Body(body): Body<Switch>,
) -> ApiResult<vouch_store::JoinCode> {
    let code = vouch_app::portal::normalise_join_code(&code);
    state
        .store
        .set_join_code_active(&code, body.active)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("join code", code))
}

#[utoipa::path(patch, path = "/api/v1/program/challenges/{id}", operation_id = "change_challenge", tag = "program",
    params(("id" = i64, Path, description = "The challenge's id")), request_body = Switch,
    responses((status = 200, description = "The challenge", body = vouch_store::Challenge),
              (status = 404, description = "No such challenge", body = super::ErrorBody)))]
pub async fn change_challenge(
    _: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Body(body): Body<Switch>,
) -> ApiResult<vouch_store::Challenge> {
    if !program::set_challenge_active(&state.store, id, body.active).await? {
        return Err(ApiError::not_found("challenge", id));
    }
    state
        .store
        .challenge(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("challenge", id))
}

page!(
    /// A page of redemptions, newest first.
    RedemptionPage { redemptions: Redemption }
);

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RedemptionsQuery {
    member: Option<i64>,
    /// `requested`, `pending_approval`, `backordered`, `approved`,
    /// `fulfilled`, `refused` or `cancelled`.
    #[param(value_type = Option<String>, pattern = "^(requested|pending_approval|backordered|approved|fulfilled|refused|cancelled)$")]
    state: Option<String>,
    after: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/program/redemptions", operation_id = "list_redemptions", tag = "program", params(RedemptionsQuery),
    responses((status = 200, description = "A page of redemptions", body = RedemptionPage),
              (status = 422, description = "A bad filter", body = super::ErrorBody)))]
pub async fn redemptions(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Params(q): Params<RedemptionsQuery>,
) -> ApiResult<RedemptionPage> {
    let limit = page_size(q.limit)?;
    let wanted = q
        .state
        .as_deref()
        .map(|s| parse_field::<RedemptionState>("state", s))
        .transpose()?;
    let found = state
        .store
        .redemptions(q.member, wanted, q.after, limit + 1)
        .await?;
    let (redemptions, next) = super::fetched_page(found, limit, |r: &Redemption| r.id);
    Ok(Json(RedemptionPage { redemptions, next }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedemptionRequest {
    #[serde(deserialize_with = "super::whole_number")]
    member: i64,
    #[serde(deserialize_with = "super::whole_number")]
    reward: i64,
}

#[utoipa::path(post, path = "/api/v1/program/redemptions", operation_id = "redeem", tag = "program",
    request_body = RedemptionRequest,
    responses((status = 201, description = "The redemption: its points are held (or spent, for an automatic reward to a trusted member)", body = Redemption),
              (status = 404, description = "No such member or reward", body = super::ErrorBody),
              (status = 409, description = "`insufficient_points`, `not_active`, `tier_too_low`, `limit_reached` or `withdrawn`", body = super::ErrorBody)))]
pub async fn redeem(
    _: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Body(body): Body<RedemptionRequest>,
) -> Result<Response, ApiError> {
    match program::redeem(&state.store, body.member, body.reward).await? {
        None => Err(ApiError::not_found(
            "member or reward",
            format!("{}/{}", body.member, body.reward),
        )),
        Some(Ok(r)) => Ok((StatusCode::CREATED, Json(r)).into_response()),
        Some(Err(refusal)) => {
            let code = match refusal {
                RedemptionRefusal::InsufficientPoints { .. } => "insufficient_points",
                RedemptionRefusal::NotActive(_) => "not_active",
                RedemptionRefusal::TierTooLow(_) => "tier_too_low",
                RedemptionRefusal::LimitReached(_) => "limit_reached",
                RedemptionRefusal::Withdrawn => "withdrawn",
            };
            Err(program_error(
                StatusCode::CONFLICT,
                code,
                refusal.to_string(),
            ))
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedemptionMove {
    /// The next state: `pending_approval`, `backordered`, `approved`,
    /// `fulfilled`, `refused` or `cancelled`.
    #[schema(value_type = String, pattern = "^(pending_approval|backordered|approved|fulfilled|refused|cancelled)$")]
    state: String,
    /// Why (shown to the member for a refusal or cancellation).
    #[serde(default)]
    #[schema(max_length = 500)]
    reason: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/program/redemptions/{id}", operation_id = "move_redemption", tag = "program",
    params(("id" = i64, Path, description = "The redemption's id")), request_body = RedemptionMove,
    responses((status = 200, description = "The redemption", body = Redemption),
              (status = 404, description = "No such redemption", body = super::ErrorBody),
              (status = 409, description = "The redemption cannot move there from its state", body = super::ErrorBody),
              (status = 422, description = "A bad state", body = super::ErrorBody)))]
pub async fn move_redemption(
    who: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Body(body): Body<RedemptionMove>,
) -> ApiResult<Redemption> {
    let next: RedemptionState = parse_field("state", &body.state)?;
    if next == RedemptionState::Requested {
        return Err(ApiError::invalid(
            "state",
            "a redemption never goes back to requested",
        ));
    }
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 500)
    {
        return Err(ApiError::invalid("reason", "at most 500 characters"));
    }
    if matches!(next, RedemptionState::Refused | RedemptionState::Cancelled) && reason.is_none() {
        return Err(ApiError::invalid(
            "reason",
            "a refusal or cancellation says why",
        ));
    }
    match state
        .store
        .move_redemption(id, next, reason, &who.0.name, chrono::Utc::now())
        .await?
    {
        None => Err(ApiError::not_found("redemption", id)),
        Some(Ok(r)) => Ok(Json(r)),
        Some(Err(from)) => Err(ApiError::conflict(
            "state",
            format!("a {from} redemption cannot become {next}"),
        )),
    }
}

#[derive(Serialize, ToSchema)]
pub struct Leaderboard {
    period: String,
    places: Vec<Place>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeaderboardQuery {
    /// `week`, `month` (the default), `quarter` or `all_time`.
    #[param(value_type = Option<String>, pattern = "^(week|month|quarter|all_time)$")]
    period: Option<String>,
    /// Only members whose customer has this attribute, `plan=pro`.
    #[param(pattern = "^[^=]+=.+$")]
    only: Option<String>,
    /// Leave out members whose customer has this attribute, `staff=yes`.
    #[param(pattern = "^[^=]+=.+$")]
    exclude: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

fn pair<'a>(field: &str, raw: Option<&'a str>) -> Result<Option<(&'a str, &'a str)>, ApiError> {
    raw.map(|r| {
        r.split_once('=')
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
            .ok_or_else(|| ApiError::invalid(field, "an attribute as name=value"))
    })
    .transpose()
}

#[utoipa::path(get, path = "/api/v1/program/leaderboard", operation_id = "leaderboard", tag = "program", params(LeaderboardQuery),
    responses((status = 200, description = "Members by points earned in the period; ties go to who got there first", body = Leaderboard),
              (status = 422, description = "A bad period or attribute", body = super::ErrorBody)))]
pub async fn leaderboard(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Params(q): Params<LeaderboardQuery>,
) -> ApiResult<Leaderboard> {
    let period = match q.period.as_deref() {
        None => Period::Month,
        Some(p) => parse_field("period", p)?,
    };
    let limit = page_size(q.limit)?;
    let places = program::leaderboard(
        &state.store,
        period,
        pair("only", q.only.as_deref())?,
        pair("exclude", q.exclude.as_deref())?,
        limit as usize,
        chrono::Utc::now(),
    )
    .await?;
    Ok(Json(Leaderboard {
        period: period.as_str().to_owned(),
        places,
    }))
}

/// A link to make: the member's generated link, or a vanity code.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    #[serde(deserialize_with = "super::whole_number")]
    member: i64,
    /// A vanity code (4–32 letters, digits or dashes) instead of the generated one.
    #[serde(default)]
    #[schema(min_length = 4, max_length = 32)]
    code: Option<String>,
    /// The most clicks the link records.
    #[serde(default, deserialize_with = "super::optional_whole_number")]
    #[schema(minimum = 1, maximum = 100000000)]
    click_cap: Option<i64>,
}

/// A referral link with its public address.
#[derive(Serialize, ToSchema)]
pub struct LinkView {
    id: i64,
    member_id: i64,
    code: String,
    url: String,
    vanity: bool,
    click_cap: Option<i64>,
    disabled: bool,
}

#[utoipa::path(post, path = "/api/v1/referrals/links", operation_id = "referral_link", tag = "referrals",
    request_body = LinkRequest,
    responses((status = 201, description = "The new link", body = LinkView),
              (status = 200, description = "The member's link, made before", body = LinkView),
              (status = 404, description = "No such member", body = super::ErrorBody),
              (status = 409, description = "The vanity code is taken", body = super::ErrorBody),
              (status = 422, description = "A bad code, or a member who is not active", body = super::ErrorBody)))]
pub async fn referral_link(
    _: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Body(body): Body<LinkRequest>,
) -> Result<Response, ApiError> {
    if body
        .click_cap
        .is_some_and(|c| !(1..=100_000_000).contains(&c))
    {
        return Err(ApiError::invalid("click_cap", "1 to 100000000 clicks"));
    }
    let (link, new) = program::referral_link(
        &state.store,
        body.member,
        body.code.as_deref(),
        body.click_cap,
    )
    .await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(LinkView {
            url: program::link_url(&state.web.public_url, &link.code),
            id: link.id,
            member_id: link.member_id,
            code: link.code,
            vanity: link.vanity,
            click_cap: link.click_cap,
            disabled: link.disabled,
        }),
    )
        .into_response())
}

/// A conversion the shop reports: by the code the friend used or the
/// click id the link passed on.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversionReport {
    #[serde(default)]
    #[schema(max_length = 64)]
    code: Option<String>,
    /// The `click` parameter the link added to the landing URL.
    #[serde(default)]
    #[schema(max_length = 64)]
    click: Option<String>,
    /// Unique: a retried report is answered with the first (200).
    #[schema(min_length = 1, max_length = 200)]
    external_order_id: String,
    /// The order's value in its currency, `49.90`.
    #[schema(minimum = 0, maximum = 100000000)]
    value: f64,
    /// ISO 4217, `EUR`.
    #[schema(min_length = 3, max_length = 3, pattern = "^[A-Za-z]{3}$")]
    currency: String,
    /// The friend's email.
    #[serde(default)]
    #[schema(max_length = 254)]
    email: Option<String>,
    /// The friend's customer id, email or external id, when known.
    #[serde(default)]
    #[schema(max_length = 254)]
    customer: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConversionAnswer {
    referral: Referral,
    /// The friend's side of the reward: a gift code from the program's
    /// friend reward (`friend_reward_id`), for a referral neither blocked
    /// nor flagged; the same code when the order is reported again.
    #[serde(skip_serializing_if = "Option::is_none")]
    friend_reward: Option<FriendReward>,
}

#[derive(Serialize, ToSchema)]
pub struct FriendReward {
    code: String,
}

#[utoipa::path(post, path = "/api/v1/referrals/conversions", operation_id = "referral_conversion", tag = "referrals",
    request_body = ConversionReport,
    responses((status = 201, description = "The referral, its status (`blocked`, `flagged`, `pending`, `approved`) and the fraud signals that fired", body = ConversionAnswer),
              (status = 200, description = "This order was reported before", body = ConversionAnswer),
              (status = 422, description = "`unknown_code`, `unknown_click`, `outside_window`, or a bad field", body = super::ErrorBody)))]
pub async fn conversion(
    _: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Body(body): Body<ConversionReport>,
) -> Result<Response, ApiError> {
    let order = body.external_order_id.trim();
    if order.is_empty() || order.chars().count() > 200 {
        return Err(ApiError::invalid(
            "external_order_id",
            "an order id of 1 to 200 characters",
        ));
    }
    for (field, value, most) in [
        ("code", &body.code, 64),
        ("click", &body.click, 64),
        ("customer", &body.customer, 254),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > most) {
            return Err(ApiError::invalid(
                field,
                format!("at most {most} characters"),
            ));
        }
    }
    if !body.value.is_finite() || !(0.0..=100_000_000.0).contains(&body.value) {
        return Err(ApiError::invalid("value", "0 to 100000000"));
    }
    if body.currency.len() != 3 || !body.currency.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(ApiError::invalid(
            "currency",
            "a three-letter ISO 4217 code",
        ));
    }
    if let Some(email) = &body.email
        && vouch_domain::Email::parse(email).is_err()
    {
        return Err(ApiError::invalid("email", "an email address"));
    }
    let conversion = Conversion {
        code: body.code.filter(|c| !c.trim().is_empty()),
        click: body.click.filter(|c| !c.trim().is_empty()),
        external_order_id: order.to_owned(),
        value_cents: (body.value * 100.0).round() as i64,
        currency: body.currency,
        email: body.email,
        customer: body.customer.filter(|c| !c.trim().is_empty()),
    };
    match program::convert(&state.store, &conversion, chrono::Utc::now()).await? {
        Ok(done) => {
            let status = if done.new {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let answer = ConversionAnswer {
                referral: done.referral,
                friend_reward: done.friend_code.map(|code| FriendReward { code }),
            };
            Ok((status, Json(answer)).into_response())
        }
        Err(refusal) => {
            let (code, field) = match refusal {
                ConversionRefusal::UnknownCode(_) => ("unknown_code", "code"),
                ConversionRefusal::UnknownClick(_) => ("unknown_click", "click"),
                ConversionRefusal::OutsideWindow(_) => ("outside_window", "click"),
                ConversionRefusal::NoCodeOrClick => ("invalid", "code"),
            };
            Err(ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code,
                message: refusal.to_string(),
                field: Some(field.into()),
            })
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundReport {
    #[schema(min_length = 1, max_length = 200)]
    external_order_id: String,
}

#[utoipa::path(post, path = "/api/v1/referrals/refunds", operation_id = "referral_refund", tag = "referrals",
    request_body = RefundReport,
    responses((status = 200, description = "The referral, reversed: the points it paid are taken back", body = ConversionAnswer),
              (status = 404, description = "No referral has this order id", body = super::ErrorBody)))]
pub async fn refund(
    who: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Body(body): Body<RefundReport>,
) -> ApiResult<ConversionAnswer> {
    let order = body.external_order_id.trim();
    if !program::refund(&state.store, order, &who.0.name).await? {
        return Err(ApiError::not_found("referral for order", order));
    }
    let referral = state
        .store
        .referral_by_order(order)
        .await?
        .ok_or_else(|| ApiError::not_found("referral for order", order))?;
    Ok(Json(ConversionAnswer {
        referral,
        friend_reward: None,
    }))
}

page!(
    /// A page of referrals, newest first.
    ReferralPage { referrals: Referral }
);

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReferralsQuery {
    /// `blocked`, `flagged` (the review queue), `pending`, `approved` or `reversed`.
    #[param(value_type = Option<String>, pattern = "^(blocked|flagged|pending|approved|reversed)$")]
    status: Option<String>,
    member: Option<i64>,
    after: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/referrals", operation_id = "list_referrals", tag = "referrals", params(ReferralsQuery),
    responses((status = 200, description = "A page of referrals", body = ReferralPage),
              (status = 422, description = "A bad filter", body = super::ErrorBody)))]
pub async fn referrals(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Params(q): Params<ReferralsQuery>,
) -> ApiResult<ReferralPage> {
    let limit = page_size(q.limit)?;
    let status = q
        .status
        .as_deref()
        .map(|s| parse_field::<ReferralStatus>("status", s))
        .transpose()?;
    let found = state
        .store
        .referrals(&ReferralFilter {
            status,
            member: q.member,
            before: q.after,
            limit: limit + 1,
        })
        .await?;
    let (referrals, next) = super::fetched_page(found, limit, |r: &Referral| r.id);
    Ok(Json(ReferralPage { referrals, next }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralDecision {
    /// `approve` or `block`.
    #[schema(value_type = String, pattern = "^(approve|block)$")]
    decision: String,
}

#[utoipa::path(patch, path = "/api/v1/referrals/{id}", operation_id = "decide_referral", tag = "referrals",
    params(("id" = i64, Path, description = "The referral's id")), request_body = ReferralDecision,
    responses((status = 200, description = "The referral, decided", body = ConversionAnswer),
              (status = 404, description = "No such referral", body = super::ErrorBody),
              (status = 409, description = "The referral is not in the review queue", body = super::ErrorBody),
              (status = 422, description = "A bad decision", body = super::ErrorBody)))]
pub async fn decide(
    who: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Body(body): Body<ReferralDecision>,
) -> ApiResult<ConversionAnswer> {
    let approve = match body.decision.as_str() {
        "approve" => true,
        "block" => false,
        _ => return Err(ApiError::invalid("decision", "approve or block")),
    };
    if state.store.referral(id).await?.is_none() {
        return Err(ApiError::not_found("referral", id));
    }
    if !program::decide(&state.store, id, approve, &who.0.name).await? {
        return Err(ApiError::conflict(
            "decision",
            "only a flagged referral is decided",
        ));
    }
    let referral = state
        .store
        .referral(id)
        .await?
        .ok_or_else(|| ApiError::not_found("referral", id))?;
    Ok(Json(ConversionAnswer {
        referral,
        friend_reward: None,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ChallengeList {
    challenges: Vec<vouch_store::Challenge>,
}

#[utoipa::path(get, path = "/api/v1/program/challenges", operation_id = "list_challenges", tag = "program",
    responses((status = 200, description = "Every challenge", body = ChallengeList)))]
pub async fn challenges(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
) -> ApiResult<ChallengeList> {
    Ok(Json(ChallengeList {
        challenges: state.store.challenges(false).await?,
    }))
}

/// Creates a challenge; a review stage that pays points on a platform
/// that forbids incentives is refused with the rule (R3).
#[utoipa::path(post, path = "/api/v1/program/challenges", operation_id = "add_challenge", tag = "program",
    request_body = vouch_domain::program::challenges::ChallengeSpec,
    responses((status = 201, description = "The new challenge", body = vouch_store::Challenge),
              (status = 422, description = "`invalid` with the field, or `compliance` with the `rule`", body = super::ErrorBody)))]
pub async fn add_challenge(
    _: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Body(spec): Body<vouch_domain::program::challenges::ChallengeSpec>,
) -> Result<Response, ApiError> {
    use vouch_domain::program::challenges::ChallengeRefusal;
    match program::add_challenge(&state.store, &spec).await? {
        Ok(challenge) => Ok((StatusCode::CREATED, Json(challenge)).into_response()),
        Err(ChallengeRefusal::Shape(field, message)) => Err(ApiError::invalid(field, message)),
        Err(ChallengeRefusal::Compliance(rule, message)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({"error": {"code": "compliance", "rule": rule.as_str(), "message": message, "field": "stages"}})),
        )
            .into_response()),
    }
}

/// A file handed in for an upload stage.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadedFile {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// The bytes, base64 (standard alphabet); at most 5 MB decoded. PNG,
    /// JPEG, WebP or PDF, read from the bytes themselves.
    #[schema(max_length = 7000000)]
    data: String,
}

/// A member's submission for the next stage of a challenge.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionRequest {
    #[serde(deserialize_with = "super::whole_number")]
    member: i64,
    #[serde(default)]
    #[schema(max_length = 5000)]
    answer: Option<String>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    url: Option<String>,
    #[serde(default)]
    file: Option<UploadedFile>,
}

#[utoipa::path(post, path = "/api/v1/program/challenges/{id}/submissions", operation_id = "submit_stage", tag = "program",
    params(("id" = i64, Path, description = "The challenge's id")), request_body = SubmissionRequest,
    responses((status = 201, description = "The submission: `approved` (paid) or `submitted` (waiting for a person)", body = vouch_store::Submission),
              (status = 404, description = "No such challenge or member", body = super::ErrorBody),
              (status = 409, description = "`closed`, `not_targeted`, `not_active`, `waiting` or `done`", body = super::ErrorBody),
              (status = 422, description = "The stage's input is missing or wrong", body = super::ErrorBody)))]
pub async fn submit(
    _: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Body(body): Body<SubmissionRequest>,
) -> Result<Response, ApiError> {
    use base64::Engine;
    use vouch_app::program::SubmissionRefusal;
    let file = match body.file {
        Some(f) => Some((
            f.name,
            base64::engine::general_purpose::STANDARD
                .decode(f.data.as_bytes())
                .map_err(|_| ApiError::invalid("file.data", "base64, standard alphabet"))?,
        )),
        None => None,
    };
    let input = vouch_app::program::StageInput {
        answer: body.answer,
        url: body.url,
        file,
    };
    match vouch_app::program::submit(&state.store, body.member, id, input).await? {
        None => Err(ApiError::not_found(
            "challenge or member",
            format!("{id}/{}", body.member),
        )),
        Some(Ok(s)) => Ok((StatusCode::CREATED, Json(s)).into_response()),
        Some(Err(SubmissionRefusal::Invalid(why))) => Err(ApiError::invalid("body", why)),
        Some(Err(refusal)) => {
            let code = match refusal {
                SubmissionRefusal::Closed => "closed",
                SubmissionRefusal::NotTargeted => "not_targeted",
                SubmissionRefusal::NotActive => "not_active",
                SubmissionRefusal::Waiting => "waiting",
                _ => "done",
            };
            Err(program_error(
                StatusCode::CONFLICT,
                code,
                refusal.to_string(),
            ))
        }
    }
}

page!(
    /// A page of submissions, newest first.
    SubmissionPage { submissions: vouch_store::Submission }
);

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubmissionsQuery {
    /// `submitted` (the approval queue), `approved`, `resubmit` or `rejected`.
    #[param(value_type = Option<String>, pattern = "^(submitted|approved|resubmit|rejected)$")]
    state: Option<String>,
    after: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/program/submissions", operation_id = "list_submissions", tag = "program", params(SubmissionsQuery),
    responses((status = 200, description = "A page of submissions", body = SubmissionPage),
              (status = 422, description = "A bad filter", body = super::ErrorBody)))]
pub async fn submissions(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Params(q): Params<SubmissionsQuery>,
) -> ApiResult<SubmissionPage> {
    let limit = page_size(q.limit)?;
    let wanted = q
        .state
        .as_deref()
        .map(|s| parse_field("state", s))
        .transpose()?;
    let found = state.store.submissions(wanted, q.after, limit + 1).await?;
    let (submissions, next) = super::fetched_page(found, limit, |s: &vouch_store::Submission| s.id);
    Ok(Json(SubmissionPage { submissions, next }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionDecision {
    /// `approve` (pays the stage's points), `resubmit` or `reject`.
    #[schema(value_type = String, pattern = "^(approve|resubmit|reject)$")]
    decision: String,
    /// Shown to the member.
    #[serde(default)]
    #[schema(max_length = 1000)]
    note: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/program/submissions/{id}", operation_id = "decide_submission", tag = "program",
    params(("id" = i64, Path, description = "The submission's id")), request_body = SubmissionDecision,
    responses((status = 200, description = "The submission, decided", body = vouch_store::Submission),
              (status = 404, description = "No such submission", body = super::ErrorBody),
              (status = 409, description = "The submission is not waiting for a decision", body = super::ErrorBody),
              (status = 422, description = "A bad decision", body = super::ErrorBody)))]
pub async fn decide_submission(
    who: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Body(body): Body<SubmissionDecision>,
) -> ApiResult<vouch_store::Submission> {
    use vouch_domain::program::challenges::SubmissionState;
    let to = match body.decision.as_str() {
        "approve" => SubmissionState::Approved,
        "resubmit" => SubmissionState::Resubmit,
        "reject" => SubmissionState::Rejected,
        _ => return Err(ApiError::invalid("decision", "approve, resubmit or reject")),
    };
    let note = body
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 1000) {
        return Err(ApiError::invalid("note", "at most 1000 characters"));
    }
    if state.store.submission(id).await?.is_none() {
        return Err(ApiError::not_found("submission", id));
    }
    vouch_app::program::decide_submission(&state.store, id, to, note, &who.0.name)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::conflict("decision", "only a submitted stage is decided"))
}

/// The program's KPIs now: active advocates, the share of promoters
/// enrolled, actions per advocate, the referral conversion rate, referral
/// revenue and value per advocacy action.
#[utoipa::path(get, path = "/api/v1/program/kpis", operation_id = "program_kpis", tag = "program",
    responses((status = 200, description = "The program's KPIs", body = vouch_app::program::ProgramKpis)))]
pub async fn kpis(
    _: Api<need::ReadMetrics>,
    State(state): State<AppState>,
) -> ApiResult<vouch_app::program::ProgramKpis> {
    let promoters = vouch_app::program::promoters_now(
        &state.store,
        state.playbooks.lookback,
        chrono::Utc::now(),
    )
    .await?;
    Ok(Json(
        vouch_app::program::kpis(&state.store, &promoters).await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct BadgeList {
    badges: Vec<vouch_store::Badge>,
}

#[utoipa::path(get, path = "/api/v1/program/badges", operation_id = "list_badges", tag = "program",
    responses((status = 200, description = "Every badge", body = BadgeList)))]
pub async fn badges(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
) -> ApiResult<BadgeList> {
    Ok(Json(BadgeList {
        badges: state.store.badges().await?,
    }))
}

/// A badge: awarded by hand, by a number of earning entries from a
/// source, or at a points threshold.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BadgeSpec {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    description: String,
    rule: vouch_domain::program::BadgeRule,
}

#[utoipa::path(post, path = "/api/v1/program/badges", operation_id = "add_badge", tag = "program",
    request_body = BadgeSpec,
    responses((status = 201, description = "The new badge", body = vouch_store::Badge),
              (status = 409, description = "A badge has this name", body = super::ErrorBody),
              (status = 422, description = "A bad field", body = super::ErrorBody)))]
pub async fn add_badge(
    _: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Body(body): Body<BadgeSpec>,
) -> Result<Response, ApiError> {
    use vouch_domain::program::BadgeRule;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid("name", "a name of 1 to 100 characters"));
    }
    if body.description.chars().count() > 500 {
        return Err(ApiError::invalid("description", "at most 500 characters"));
    }
    match &body.rule {
        BadgeRule::Count { source, at_least }
            if source.trim().is_empty()
                || source.len() > 50
                || !(1..=100_000).contains(at_least) =>
        {
            return Err(ApiError::invalid(
                "rule",
                "a source and at_least from 1 to 100000",
            ));
        }
        BadgeRule::Points { at_least } if !(1..=100_000_000).contains(at_least) => {
            return Err(ApiError::invalid(
                "rule",
                "at_least from 1 to 100000000 points",
            ));
        }
        _ => {}
    }
    match state
        .store
        .add_badge(
            name,
            body.description.trim(),
            &body.rule,
            chrono::Utc::now(),
        )
        .await
    {
        Ok(badge) => Ok((StatusCode::CREATED, Json(badge)).into_response()),
        Err(e) if e.is_unique_violation() => {
            Err(ApiError::conflict("name", "a badge has this name"))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BadgeAward {
    #[serde(deserialize_with = "super::whole_number")]
    badge: i64,
}

#[utoipa::path(post, path = "/api/v1/program/members/{id}/badges", operation_id = "award_badge", tag = "program",
    params(("id" = i64, Path, description = "The member's id")), request_body = BadgeAward,
    responses((status = 201, description = "The member holds the badge now", body = MemberView),
              (status = 200, description = "The member held it already", body = MemberView),
              (status = 404, description = "No such member or badge", body = super::ErrorBody)))]
pub async fn award_badge(
    who: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Body(body): Body<BadgeAward>,
) -> Result<Response, ApiError> {
    let Some(badge) = state
        .store
        .badges()
        .await?
        .into_iter()
        .find(|b| b.id == body.badge)
    else {
        return Err(ApiError::not_found("badge", body.badge));
    };
    if state.store.member(id).await?.is_none() {
        return Err(ApiError::not_found("member", id));
    }
    let new = state
        .store
        .award_badge(id, &badge, &who.0.name, chrono::Utc::now())
        .await?;
    let member = state
        .store
        .member(id)
        .await?
        .ok_or_else(|| ApiError::not_found("member", id))?;
    let settings = program::settings(&state.store).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(program::view(&settings, member))).into_response())
}

/// Words of thanks from staff, shown in the member's portal.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecognitionSpec {
    #[schema(min_length = 1, max_length = 1000)]
    message: String,
    /// Shown to other members too (a wall of thanks); otherwise only to them.
    #[serde(default)]
    public: bool,
}

#[derive(Serialize, ToSchema)]
pub struct RecognitionList {
    recognitions: Vec<vouch_store::Recognition>,
}

#[utoipa::path(post, path = "/api/v1/program/members/{id}/recognitions", operation_id = "recognize_member", tag = "program",
    params(("id" = i64, Path, description = "The member's id")), request_body = RecognitionSpec,
    responses((status = 201, description = "The recognition", body = vouch_store::Recognition),
              (status = 404, description = "No such member", body = super::ErrorBody),
              (status = 422, description = "A bad field", body = super::ErrorBody)))]
pub async fn recognize(
    who: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Body(body): Body<RecognitionSpec>,
) -> Result<Response, ApiError> {
    let r = program::recognize(&state.store, id, &body.message, body.public, &who.0.name)
        .await?
        .map_err(refused)?
        .ok_or_else(|| ApiError::not_found("member", id))?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

#[utoipa::path(get, path = "/api/v1/program/members/{id}/recognitions", operation_id = "member_recognitions", tag = "program",
    params(("id" = i64, Path, description = "The member's id")),
    responses((status = 200, description = "The member's recognition, newest first", body = RecognitionList),
              (status = 404, description = "No such member", body = super::ErrorBody)))]
pub async fn recognitions(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<RecognitionList> {
    if state.store.member(id).await?.is_none() {
        return Err(ApiError::not_found("member", id));
    }
    Ok(Json(RecognitionList {
        recognitions: state.store.recognitions(id).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkChange {
    /// Turns the link off (clicks are no longer recorded; the friend still lands) or on.
    #[serde(default)]
    disabled: Option<bool>,
    /// The most clicks it records; null: no cap.
    #[serde(default, deserialize_with = "super::given")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 100000000)]
    click_cap: Option<Option<i64>>,
}

#[utoipa::path(patch, path = "/api/v1/referrals/links/{code}", operation_id = "change_referral_link", tag = "referrals",
    params(("code" = String, Path, description = "The link's code")), request_body = LinkChange,
    responses((status = 200, description = "The link", body = LinkView),
              (status = 404, description = "No such link", body = super::ErrorBody),
              (status = 422, description = "A bad cap", body = super::ErrorBody)))]
pub async fn change_link(
    _: Api<need::ManageProgram>,
    State(state): State<AppState>,
    Path(code): Path<String>,
    Body(body): Body<LinkChange>,
) -> ApiResult<LinkView> {
    if body
        .click_cap
        .flatten()
        .is_some_and(|c| !(1..=100_000_000).contains(&c))
    {
        return Err(ApiError::invalid(
            "click_cap",
            "1 to 100000000 clicks, or null",
        ));
    }
    let code = vouch_domain::program::referrals::normalise_code(&code);
    let Some(link) = state.store.referral_link(&code).await? else {
        return Err(ApiError::not_found("referral link", code));
    };
    state
        .store
        .change_referral_link(link.id, body.disabled, body.click_cap)
        .await?;
    let link = state
        .store
        .referral_link(&code)
        .await?
        .ok_or_else(|| ApiError::not_found("referral link", &code))?;
    Ok(Json(LinkView {
        url: program::link_url(&state.web.public_url, &link.code),
        id: link.id,
        member_id: link.member_id,
        code: link.code,
        vanity: link.vanity,
        click_cap: link.click_cap,
        disabled: link.disabled,
    }))
}

#[utoipa::path(get, path = "/api/v1/program/settings", operation_id = "program_settings", tag = "program",
    responses((status = 200, description = "The program's settings: tiers, the referral reward rule, the landing URL and allowed hosts, the review deadline, the terms version, point expiry", body = vouch_app::program::ProgramSettings)))]
pub async fn get_settings(
    _: Api<need::ManageProgram>,
    State(state): State<AppState>,
) -> ApiResult<vouch_app::program::ProgramSettings> {
    Ok(Json(program::settings(&state.store).await?))
}

#[utoipa::path(put, path = "/api/v1/program/settings", operation_id = "set_program_settings", tag = "program",
    request_body = vouch_app::program::ProgramSettings,
    responses((status = 200, description = "The settings, saved", body = vouch_app::program::ProgramSettings),
              (status = 422, description = "Settings that cannot work (no tiers, tiers out of order, a landing URL that is not http(s))", body = super::ErrorBody)))]
pub async fn set_settings(
    _: Api<need::ManageSettings>,
    State(state): State<AppState>,
    Body(body): Body<vouch_app::program::ProgramSettings>,
) -> ApiResult<vouch_app::program::ProgramSettings> {
    program::save_settings(&state.store, &body).await?;
    Ok(Json(program::settings(&state.store).await?))
}
