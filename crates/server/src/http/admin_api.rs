//! The admin REST API under `/admin/v1`: what the portal and the organization admin pages do,
//! for scripts. Authenticated by Tessera's own bearer access tokens carrying `tessera:clients`
//! or `tessera:admin` (checked like userinfo: revoked tokens, disabled users and clients turned
//! OFF are refused at once). Handlers parse, call `tessera_service::admin` with the token's user
//! as the [`Actor`](tessera_service::admin::Actor), and render; who may do what is decided there
//! (`tessera_core::access`). Every error is RFC 7807 `application/problem+json` from the one
//! table in `error.rs`; every list is cursor-paginated with an RFC 8288 `Link: rel="next"`.
//!
//! Each route is named once, by its handler's `#[utoipa::path]` attribute: [`api`] lists the
//! handlers, and the router and the OpenAPI 3.1 document at `/admin/v1/openapi.json` are both
//! made from that list (`utoipa-axum`), with the wire types' schemas.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tessera_core::model::{ClientStatus, Role};
use tessera_core::scope::{ADMIN_CLIENTS, ADMIN_ORG};
use tessera_proto::{
    ApprovalRequestView, ApprovalView, AuditView, CallerView, ClientPatch, ClientSecretView, ClientView, IdentityProviderPatch,
    IdentityProviderView, InvitationView, MemberPatch, NewClientRequest, NewIdentityProviderRequest, NewInvitationRequest,
    NewMemberRequest, NewScopeRequest, OrganizationPatch, OrganizationSettings, Problem, RevokeTokenRequest, ScopePatch, ScopeView,
    SecretRoll, UserView,
};
use tessera_service::admin::{AuditFilter, ClientEdit, IdentityProviderEdit, NewClient, NewIdentityProvider, NewUser, OrgChange};
use tessera_service::{AdminCaller, Message, ServiceError, message};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ProblemError, no_store, problem};
use crate::http::extract::MAX_BODY;
use crate::http::resource::presented;

/// Where the admin API lives.
pub const PREFIX: &str = "/admin/v1";

type Answer = Result<Response, ProblemError>;

// ---------------------------------------------------------------------------------------------
// Authentication and input

/// The caller of a route that needs `tessera:clients` (or `tessera:admin`, which includes it).
pub struct ClientsCaller(AdminCaller);

/// The caller of a route that needs `tessera:admin`.
pub struct OrgCaller(AdminCaller);

async fn authenticate(parts: &Parts, state: &AppState, needs: &'static str) -> Result<AdminCaller, Response> {
    let presented =
        presented(&parts.headers, &parts.method, &parts.uri, &[]).map_err(|e| ProblemError(ServiceError::Bearer(e)).into_response())?;
    let mut caller = state.service.admin_api_caller(&presented, needs).await.map_err(|e| ProblemError(e).into_response())?;
    caller.actor = caller.actor.from(crate::http::extract::client_ip(parts, state));
    Ok(caller)
}

impl FromRequestParts<AppState> for ClientsCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        authenticate(parts, state, ADMIN_CLIENTS).await.map(ClientsCaller)
    }
}

impl FromRequestParts<AppState> for OrgCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        authenticate(parts, state, ADMIN_ORG).await.map(OrgCaller)
    }
}

/// A JSON request body: `application/json`, at most 64 KiB, exactly the documented members
/// with the documented types; anything else is a 4xx problem.
pub struct Body<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let media = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let media = media.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if media != "application/json" {
            return Err(problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "the body must be application/json"));
        }
        let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
            return Err(problem(StatusCode::PAYLOAD_TOO_LARGE, "the request body is larger than 64 KiB"));
        };
        serde_json::from_slice(&bytes).map(Body).map_err(|e| problem(StatusCode::BAD_REQUEST, &format!("the JSON body is not valid: {e}")))
    }
}

/// [`Body`], or no body at all (`None`): a request without `Content-Type` and with nothing in it.
pub struct OptionalBody<T>(Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if req.headers().contains_key(header::CONTENT_TYPE) {
            return Body::from_request(req, state).await.map(|Body(value)| OptionalBody(Some(value)));
        }
        match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
            Ok(bytes) if bytes.is_empty() => Ok(OptionalBody(None)),
            _ => Err(problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "the body must be application/json")),
        }
    }
}

/// The query string, strictly typed: unknown or mistyped parameters are a 400 problem.
pub struct Query<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map(Query)
            .map_err(|e| problem(StatusCode::BAD_REQUEST, &format!("the query is not valid: {e}")))
    }
}

// ---------------------------------------------------------------------------------------------
// Pagination

/// The largest page.
const MAX_LIMIT: u32 = 200;
const DEFAULT_LIMIT: u32 = 50;

/// Which page of a list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Where the page starts: the `cursor` of the previous page's next link. Opaque.
    cursor: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

fn limit_of(limit: Option<u32>) -> Result<u32, ProblemError> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n),
        _ => Err(invalid(message!("api-limit-out-of-range", "limit must be between 1 and {most}", most = MAX_LIMIT))),
    }
}

/// A cursor is the hex of the last key of the previous page; its meaning is ours alone.
fn encode_cursor(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(cursor: &str) -> Result<String, ProblemError> {
    let bad = || invalid(message!("api-cursor-unknown", "cursor is not one this server handed out"));
    if !cursor.len().is_multiple_of(2) || cursor.len() > 1024 {
        return Err(bad());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| cursor.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)?;
    String::from_utf8(bytes).map_err(|_| bad())
}

macro_rules! page_type {
    ($(#[$doc:meta])* $name:ident, $item:ty) => {
        $(#[$doc])*
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// The next page's cursor (also in the `Link: rel="next"` header); absent on the last page.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub next_cursor: Option<String>,
        }
    };
}

page_type!(/// A page of clients.
    ClientPage, ClientView);
page_type!(/// A page of members.
    MemberPage, UserView);
page_type!(/// A page of scopes.
    ScopePage, ScopeView);
page_type!(/// A page of approvals.
    ApprovalPage, ApprovalView);
page_type!(/// A page of requests awaiting approval, the most recently asked first.
    ApprovalRequestPage, ApprovalRequestView);
page_type!(/// A page of audit entries, newest first.
    AuditPage, AuditView);
page_type!(/// A page of identity providers, by name.
    IdentityProviderPage, IdentityProviderView);

/// Renders a page with its `Link: <…>; rel="next"` header, which repeats the request's other
/// query parameters.
fn page_response<P: Serialize>(uri: &Uri, body: &P, next_cursor: Option<&str>) -> Response {
    let mut response = axum::Json(body).into_response();
    no_store(&mut response);
    if let Some(cursor) = next_cursor {
        let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str::<Vec<(String, String)>>(uri.query().unwrap_or(""))
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k != "cursor")
            .collect();
        pairs.push(("cursor".into(), cursor.to_owned()));
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if let Ok(value) = HeaderValue::from_str(&format!("<{}?{query}>; rel=\"next\"", uri.path())) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    response
}

/// One page of an in-memory list, ordered by a unique `key`: the items after the cursor's key.
fn paginate<T>(mut items: Vec<T>, query: &PageQuery, key: impl Fn(&T) -> String) -> Result<(Vec<T>, Option<String>), ProblemError> {
    let limit = limit_of(query.limit)? as usize;
    items.sort_by_key(|item| key(item));
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut rest: Vec<T> = items.into_iter().filter(|item| after.as_ref().is_none_or(|after| key(item) > *after)).collect();
    let next = (rest.len() > limit).then(|| encode_cursor(&key(&rest[limit - 1])));
    rest.truncate(limit);
    Ok((rest, next))
}

fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    no_store(&mut response);
    response
}

fn no_content() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    no_store(&mut response);
    response
}

fn invalid(message: Message) -> ProblemError {
    ProblemError(ServiceError::invalid(message))
}

fn role(value: &str) -> Result<Role, ProblemError> {
    Role::parse(value)
        .ok_or_else(|| invalid(message!("api-role-unknown", "role must be owner, admin or member, not {value:?}", value = value)))
}

// ---------------------------------------------------------------------------------------------
// The caller

/// Who the token speaks for, their organization, and the token's scopes.
#[utoipa::path(get, path = "/admin/v1/me", tag = "caller",
    security(("bearer" = ["tessera:clients"])),
    responses((status = 200, body = CallerView), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn me(State(state): State<AppState>, ClientsCaller(caller): ClientsCaller) -> Answer {
    Ok(json(StatusCode::OK, &state.service.caller_view(&caller).await?))
}

// ---------------------------------------------------------------------------------------------
// Clients

/// The clients the caller may see: their own, or for owners and admins every client of the organization.
#[utoipa::path(get, path = "/admin/v1/clients", tag = "clients", params(PageQuery),
    security(("bearer" = ["tessera:clients"])),
    responses((status = 200, body = ClientPage, headers(("link" = String, description = "RFC 8288 `<…>; rel=\"next\"` while more pages follow"))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_clients(
    State(state): State<AppState>,
    uri: Uri,
    ClientsCaller(caller): ClientsCaller,
    Query(query): Query<PageQuery>,
) -> Answer {
    let views = state.service.list_clients(&caller.actor, None).await?;
    let (items, next_cursor) = paginate(views, &query, |c| format!("{:020}:{}", c.created_at.max(0), c.client_id))?;
    let next = next_cursor.clone();
    Ok(page_response(&uri, &ClientPage { items, next_cursor }, next.as_deref()))
}

/// Registers a client owned by the caller; the answer carries its secret, shown this once.
#[utoipa::path(post, path = "/admin/v1/clients", tag = "clients", request_body = NewClientRequest,
    security(("bearer" = ["tessera:clients"])),
    responses((status = 201, body = ClientView, headers(("location" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem)))]
async fn create_client(State(state): State<AppState>, ClientsCaller(caller): ClientsCaller, Body(body): Body<NewClientRequest>) -> Answer {
    let me = caller.actor.as_user().ok_or(ServiceError::NotFound("user"))?;
    let new = NewClient {
        org: me.org_id.to_string(),
        owner_email: me.email.clone(),
        name: body.name,
        grants: body.grants,
        scopes: body.scopes,
        redirect_uris: body.redirect_uris,
        allowed_origins: body.allowed_origins,
        allowed_ips: body.allowed_ips,
        run_as_email: body.run_as,
        public: body.public,
        access_token_ttl: body.access_token_ttl,
        requires_org_approval: body.requires_org_approval,
        require_pushed_authorization_requests: body.require_pushed_authorization_requests,
        dpop_bound_access_tokens: body.dpop_bound_access_tokens,
        pkce: body.pkce,
        resources: body.resources,
        token_endpoint_auth_method: body.token_endpoint_auth_method,
        jwks: body.jwks.map(key_text),
        jwks_uri: body.jwks_uri,
    };
    let view = state.service.create_client(&caller.actor, new).await?;
    let mut response = json(StatusCode::CREATED, &view);
    if let Ok(location) = HeaderValue::from_str(&format!("{PREFIX}/clients/{}", view.client_id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Public keys as sent: a JWKS or JWK object, or a PEM text in a string.
fn key_text(value: serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    }
}

/// One client (never with its secret).
#[utoipa::path(get, path = "/admin/v1/clients/{client_id}", tag = "clients", params(("client_id" = String, Path)),
    security(("bearer" = ["tessera:clients"])),
    responses((status = 200, body = ClientView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn show_client(State(state): State<AppState>, ClientsCaller(caller): ClientsCaller, Path(id): Path<String>) -> Answer {
    Ok(json(StatusCode::OK, &state.service.show_client(&caller.actor, &id).await?))
}

/// Changes a client's settings; members left out stay as they are.
#[utoipa::path(patch, path = "/admin/v1/clients/{client_id}", tag = "clients", params(("client_id" = String, Path)),
    request_body = ClientPatch, security(("bearer" = ["tessera:clients"])),
    responses((status = 200, body = ClientView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem)))]
async fn update_client(
    State(state): State<AppState>,
    ClientsCaller(caller): ClientsCaller,
    Path(id): Path<String>,
    Body(patch): Body<ClientPatch>,
) -> Answer {
    let edit = ClientEdit {
        name: patch.name,
        grants: patch.grants,
        scopes: patch.scopes,
        redirect_uris: patch.redirect_uris,
        allowed_origins: patch.allowed_origins,
        allowed_ips: patch.allowed_ips,
        run_as: patch.run_as,
        access_token_ttl: patch.access_token_ttl,
        requires_org_approval: patch.requires_org_approval,
        require_pushed_authorization_requests: patch.require_pushed_authorization_requests,
        dpop_bound_access_tokens: patch.dpop_bound_access_tokens,
        pkce: patch.pkce,
        resources: patch.resources,
        jwks: patch.jwks.map(key_text),
        jwks_uri: patch.jwks_uri,
    };
    Ok(json(StatusCode::OK, &state.service.update_client(&caller.actor, &id, edit).await?))
}

/// Deletes a client; its tokens stop working at once.
#[utoipa::path(delete, path = "/admin/v1/clients/{client_id}", tag = "clients", params(("client_id" = String, Path)),
    security(("bearer" = ["tessera:clients"])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_client(State(state): State<AppState>, ClientsCaller(caller): ClientsCaller, Path(id): Path<String>) -> Answer {
    state.service.delete_client(&caller.actor, &id).await?;
    Ok(no_content())
}

/// Turns a client ON.
#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/enable", tag = "clients", params(("client_id" = String, Path)),
    security(("bearer" = ["tessera:clients"])),
    responses((status = 200, body = ClientView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn enable_client(State(state): State<AppState>, ClientsCaller(caller): ClientsCaller, Path(id): Path<String>) -> Answer {
    Ok(json(StatusCode::OK, &state.service.set_client_status(&caller.actor, &id, ClientStatus::On).await?))
}

/// Turns a client OFF: its authentication fails and its live tokens stop working at once.
#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/disable", tag = "clients", params(("client_id" = String, Path)),
    security(("bearer" = ["tessera:clients"])),
    responses((status = 200, body = ClientView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn disable_client(State(state): State<AppState>, ClientsCaller(caller): ClientsCaller, Path(id): Path<String>) -> Answer {
    Ok(json(StatusCode::OK, &state.service.set_client_status(&caller.actor, &id, ClientStatus::Off).await?))
}

/// Replaces a client's secret. Without a body (or without `grace_seconds`) the old one stops
/// working on the very next request; with `grace_seconds` it keeps working beside the new one
/// until `previous_secret_expires_at`.
#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/secret", tag = "clients", params(("client_id" = String, Path)),
    request_body(content = Option<SecretRoll>, description = "optional"),
    security(("bearer" = ["tessera:clients"])),
    responses((status = 200, body = ClientSecretView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 415, body = Problem)))]
async fn regenerate_secret(
    State(state): State<AppState>,
    ClientsCaller(caller): ClientsCaller,
    Path(id): Path<String>,
    OptionalBody(roll): OptionalBody<SecretRoll>,
) -> Answer {
    let grace = roll.and_then(|roll| roll.grace_seconds);
    let rolled = state.service.regenerate_secret(&caller.actor, &id, grace).await?;
    let view = ClientSecretView {
        client_id: rolled.client_id,
        client_secret: rolled.client_secret,
        previous_secret_expires_at: rolled.previous_secret_expires_at,
    };
    Ok(json(StatusCode::OK, &view))
}

/// Shows a client's current secret: to its owner only, not even to an org admin (audited).
#[utoipa::path(get, path = "/admin/v1/clients/{client_id}/secret", tag = "clients", params(("client_id" = String, Path)),
    security(("bearer" = ["tessera:clients"])),
    responses((status = 200, body = ClientSecretView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn reveal_secret(State(state): State<AppState>, ClientsCaller(caller): ClientsCaller, Path(id): Path<String>) -> Answer {
    let client_secret = state.service.reveal_secret(&caller.actor, &id).await?;
    Ok(json(StatusCode::OK, &ClientSecretView { client_id: id, client_secret, previous_secret_expires_at: None }))
}

// ---------------------------------------------------------------------------------------------
// Members

/// The organization's users, service users included.
#[utoipa::path(get, path = "/admin/v1/members", tag = "members", params(PageQuery),
    security(("bearer" = ["tessera:admin"])),
    responses((status = 200, body = MemberPage, headers(("link" = String))), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_members(State(state): State<AppState>, uri: Uri, OrgCaller(caller): OrgCaller, Query(query): Query<PageQuery>) -> Answer {
    let views = state.service.members(&caller.actor, &caller.org_id()).await?;
    let (items, next_cursor) = paginate(views, &query, |u| u.email.clone())?;
    let next = next_cursor.clone();
    Ok(page_response(&uri, &MemberPage { items, next_cursor }, next.as_deref()))
}

/// Adds a member (with a password to sign in with) or a service user (none).
#[utoipa::path(post, path = "/admin/v1/members", tag = "members", request_body = NewMemberRequest,
    security(("bearer" = ["tessera:admin"])),
    responses((status = 201, body = UserView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem)))]
async fn add_member(State(state): State<AppState>, OrgCaller(caller): OrgCaller, Body(body): Body<NewMemberRequest>) -> Answer {
    let new = NewUser {
        password_hash: None,
        org: caller.org_id(),
        email: body.email,
        role: role(&body.role)?,
        service: body.service,
        authorize_applications: body.authorize_applications,
        password: body.password,
    };
    let view = state.service.create_user(&caller.actor, new).await?;
    let mut response = json(StatusCode::CREATED, &view);
    if let Ok(location) = HeaderValue::from_str(&format!("{PREFIX}/members/{}", view.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// One member, by id or email.
#[utoipa::path(get, path = "/admin/v1/members/{user}", tag = "members", params(("user" = String, Path, description = "a user id or email")),
    security(("bearer" = ["tessera:admin"])),
    responses((status = 200, body = UserView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn show_member(State(state): State<AppState>, OrgCaller(caller): OrgCaller, Path(user): Path<String>) -> Answer {
    let found = state.service.member(&caller.actor, &user).await?;
    Ok(json(StatusCode::OK, &tessera_service::admin::user_view(&found)))
}

/// Changes a member's role or `authorize_applications` permission. A lower role takes effect at
/// once: their tokens with now-forbidden scopes stop working.
#[utoipa::path(patch, path = "/admin/v1/members/{user}", tag = "members", params(("user" = String, Path, description = "a user id or email")),
    request_body = MemberPatch, security(("bearer" = ["tessera:admin"])),
    responses((status = 200, body = UserView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn update_member(
    State(state): State<AppState>,
    OrgCaller(caller): OrgCaller,
    Path(user): Path<String>,
    Body(patch): Body<MemberPatch>,
) -> Answer {
    let new_role = patch.role.as_deref().map(role).transpose()?;
    Ok(json(StatusCode::OK, &state.service.update_member(&caller.actor, &user, new_role, patch.authorize_applications).await?))
}

/// Disables a member: their tokens, and those of the clients they own, stop working at once.
#[utoipa::path(post, path = "/admin/v1/members/{user}/disable", tag = "members", params(("user" = String, Path, description = "a user id or email")),
    security(("bearer" = ["tessera:admin"])),
    responses((status = 200, body = UserView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn disable_member(State(state): State<AppState>, OrgCaller(caller): OrgCaller, Path(user): Path<String>) -> Answer {
    Ok(json(StatusCode::OK, &state.service.set_user_disabled(&caller.actor, &user, true).await?))
}

/// Enables a member again.
#[utoipa::path(post, path = "/admin/v1/members/{user}/enable", tag = "members", params(("user" = String, Path, description = "a user id or email")),
    security(("bearer" = ["tessera:admin"])),
    responses((status = 200, body = UserView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn enable_member(State(state): State<AppState>, OrgCaller(caller): OrgCaller, Path(user): Path<String>) -> Answer {
    Ok(json(StatusCode::OK, &state.service.set_user_disabled(&caller.actor, &user, false).await?))
}

// ---------------------------------------------------------------------------------------------
// Scopes

/// The organization's scopes: the built-in ones, then its catalogue. Every member may read them.
#[utoipa::path(get, path = "/admin/v1/scopes", tag = "scopes", params(PageQuery),
    security(("bearer" = ["tessera:clients"])),
    responses((status = 200, body = ScopePage, headers(("link" = String))), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_scopes(
    State(state): State<AppState>,
    uri: Uri,
    ClientsCaller(caller): ClientsCaller,
    Query(query): Query<PageQuery>,
) -> Answer {
    let views = state.service.scope_views(&caller.actor, &caller.org_id()).await?;
    let (items, next_cursor) = paginate(views, &query, |s| s.name.clone())?;
    let next = next_cursor.clone();
    Ok(page_response(&uri, &ScopePage { items, next_cursor }, next.as_deref()))
}

/// Adds a scope to the catalogue; 409 if it exists already or is built in.
#[utoipa::path(post, path = "/admin/v1/scopes", tag = "scopes", request_body = NewScopeRequest,
    security(("bearer" = ["tessera:admin"])),
    responses((status = 201, body = ScopeView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn add_scope(State(state): State<AppState>, OrgCaller(caller): OrgCaller, Body(body): Body<NewScopeRequest>) -> Answer {
    if !state.service.create_scope(&caller.actor, &caller.org_id(), &body.name, body.restricted).await?.created {
        return Err(ProblemError(ServiceError::conflict(message!(
            "api-scope-exists",
            "the scope {name:?} exists already or is built in",
            name = &body.name
        ))));
    }
    Ok(json(StatusCode::CREATED, &ScopeView { name: body.name, restricted: body.restricted, built_in: false }))
}

/// Marks a catalogue scope restricted (only owners and admins may be granted it) or not.
#[utoipa::path(patch, path = "/admin/v1/scopes/{name}", tag = "scopes", params(("name" = String, Path)),
    request_body = ScopePatch, security(("bearer" = ["tessera:admin"])),
    responses((status = 200, body = ScopeView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn update_scope(
    State(state): State<AppState>,
    OrgCaller(caller): OrgCaller,
    Path(name): Path<String>,
    Body(patch): Body<ScopePatch>,
) -> Answer {
    let def = state.service.set_scope_restricted(&caller.actor, &caller.org_id(), &name, patch.restricted).await?;
    Ok(json(StatusCode::OK, &ScopeView { name: def.name, restricted: def.restricted, built_in: false }))
}

/// Invites an email to the caller's organization with a role: the link, valid 7 days, goes
/// by mail to the invitee only (`503` when this server sends no mail). An email that is a
/// member already is refused; one with an account elsewhere accepts after signing in.
#[utoipa::path(post, path = "/admin/v1/invitations", tag = "members", request_body = NewInvitationRequest,
    security(("bearer" = ["tessera:admin"])),
    responses((status = 201, body = InvitationView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 503, body = Problem)))]
async fn invite(State(state): State<AppState>, OrgCaller(caller): OrgCaller, Body(body): Body<NewInvitationRequest>) -> Answer {
    let role = role(&body.role)?;
    let invited = state.service.invite_by_mail(&caller.actor, &caller.org_id(), &body.email, role).await?;
    let view =
        InvitationView { id: invited.id, email: invited.email, role: invited.role.as_str().to_owned(), expires_at: invited.expires_at };
    Ok(json(StatusCode::CREATED, &view))
}

// ---------------------------------------------------------------------------------------------
// The organization

/// The caller's organization and its settings.
#[utoipa::path(get, path = "/admin/v1/organization", tag = "organization",
    security(("bearer" = ["tessera:admin"])),
    responses((status = 200, body = OrganizationSettings), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn show_organization(State(state): State<AppState>, OrgCaller(caller): OrgCaller) -> Answer {
    let org = state.service.show_org(&caller.actor, &caller.org_id()).await?;
    Ok(json(StatusCode::OK, &OrganizationSettings::from(org)))
}

/// Changes the organization's settings: whether its members must sign in with a second factor.
/// Its owners only.
#[utoipa::path(patch, path = "/admin/v1/organization", tag = "organization",
    request_body = OrganizationPatch, security(("bearer" = ["tessera:admin"])),
    responses((status = 200, body = OrganizationSettings), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
async fn update_organization(State(state): State<AppState>, OrgCaller(caller): OrgCaller, Body(patch): Body<OrganizationPatch>) -> Answer {
    let change = OrgChange { require_mfa: patch.require_mfa, require_sso: patch.require_sso };
    let org = state.service.update_org(&caller.actor, &caller.org_id(), change).await?;
    Ok(json(StatusCode::OK, &OrganizationSettings::from(org)))
}

// ---------------------------------------------------------------------------------------------
// Identity providers (single sign-on, SPEC §15)

/// The organization's upstream OpenID Providers (their secrets are never shown).
#[utoipa::path(get, path = "/admin/v1/identity-providers", tag = "identity providers", params(PageQuery),
    security(("bearer" = ["tessera:admin"])),
    responses((status = 200, body = IdentityProviderPage, headers(("link" = String))), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_identity_providers(
    State(state): State<AppState>,
    uri: Uri,
    OrgCaller(caller): OrgCaller,
    Query(query): Query<PageQuery>,
) -> Answer {
    let views = state.service.identity_providers(&caller.actor, Some(&caller.org_id())).await?;
    let (items, next_cursor) = paginate(views, &query, |p| p.id.clone())?;
    let next = next_cursor.clone();
    Ok(page_response(&uri, &IdentityProviderPage { items, next_cursor }, next.as_deref()))
}

/// Connects an upstream OpenID Provider: register the answer's `redirect_uri` with it. The
/// organization's owners; email domains are claimed by the operator only (`tessera idp add`).
#[utoipa::path(post, path = "/admin/v1/identity-providers", tag = "identity providers",
    request_body = NewIdentityProviderRequest, security(("bearer" = ["tessera:admin"])),
    responses((status = 201, body = IdentityProviderView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn add_identity_provider(
    State(state): State<AppState>,
    OrgCaller(caller): OrgCaller,
    Body(body): Body<NewIdentityProviderRequest>,
) -> Answer {
    let new = NewIdentityProvider {
        org: caller.org_id(),
        name: body.name,
        issuer: body.issuer,
        client_id: body.client_id,
        client_secret: body.client_secret,
        email_domains: body.email_domains,
        default_role: role(body.default_role.as_deref().unwrap_or("member"))?,
    };
    let view = state.service.add_identity_provider(&caller.actor, new).await?;
    Ok(json(StatusCode::CREATED, &view))
}

/// One identity provider of the organization.
#[utoipa::path(get, path = "/admin/v1/identity-providers/{id}", tag = "identity providers", params(("id" = String, Path)),
    security(("bearer" = ["tessera:admin"])),
    responses((status = 200, body = IdentityProviderView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn show_identity_provider(State(state): State<AppState>, OrgCaller(caller): OrgCaller, Path(id): Path<String>) -> Answer {
    Ok(json(StatusCode::OK, &state.service.show_identity_provider(&caller.actor, &id).await?))
}

/// Changes an identity provider (a new secret is sealed again). The organization's owners.
#[utoipa::path(patch, path = "/admin/v1/identity-providers/{id}", tag = "identity providers", params(("id" = String, Path)),
    request_body = IdentityProviderPatch, security(("bearer" = ["tessera:admin"])),
    responses((status = 200, body = IdentityProviderView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn update_identity_provider(
    State(state): State<AppState>,
    OrgCaller(caller): OrgCaller,
    Path(id): Path<String>,
    Body(patch): Body<IdentityProviderPatch>,
) -> Answer {
    let edit = IdentityProviderEdit {
        name: patch.name,
        issuer: patch.issuer,
        client_id: patch.client_id,
        client_secret: patch.client_secret,
        email_domains: patch.email_domains,
        default_role: patch.default_role.as_deref().map(role).transpose()?,
    };
    Ok(json(StatusCode::OK, &state.service.update_identity_provider(&caller.actor, &id, edit).await?))
}

/// Disconnects an identity provider (people keep their accounts). The organization's owners;
/// not the last one of an organization that requires single sign-on.
#[utoipa::path(delete, path = "/admin/v1/identity-providers/{id}", tag = "identity providers", params(("id" = String, Path)),
    security(("bearer" = ["tessera:admin"])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn remove_identity_provider(State(state): State<AppState>, OrgCaller(caller): OrgCaller, Path(id): Path<String>) -> Answer {
    state.service.remove_identity_provider(&caller.actor, &id).await?;
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// Approvals

/// The applications approved for the organization's users.
#[utoipa::path(get, path = "/admin/v1/approvals", tag = "approvals", params(PageQuery),
    security(("bearer" = ["tessera:admin"])),
    responses((status = 200, body = ApprovalPage, headers(("link" = String))), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_approvals(State(state): State<AppState>, uri: Uri, OrgCaller(caller): OrgCaller, Query(query): Query<PageQuery>) -> Answer {
    let views = state.service.org_approvals(&caller.actor, &caller.org_id()).await?;
    let (items, next_cursor) = paginate(views, &query, |a| a.client_id.clone())?;
    let next = next_cursor.clone();
    Ok(page_response(&uri, &ApprovalPage { items, next_cursor }, next.as_deref()))
}

/// Approves an application (of any organization) for this organization's users.
#[utoipa::path(put, path = "/admin/v1/approvals/{client_id}", tag = "approvals", params(("client_id" = String, Path)),
    security(("bearer" = ["tessera:admin"])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn approve(State(state): State<AppState>, OrgCaller(caller): OrgCaller, Path(client_id): Path<String>) -> Answer {
    state.service.set_org_approval(&caller.actor, &client_id, &caller.org_id(), true).await?;
    Ok(no_content())
}

/// Withdraws an approval: the refresh tokens of this organization's users for it stop working.
#[utoipa::path(delete, path = "/admin/v1/approvals/{client_id}", tag = "approvals", params(("client_id" = String, Path)),
    security(("bearer" = ["tessera:admin"])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn withdraw_approval(State(state): State<AppState>, OrgCaller(caller): OrgCaller, Path(client_id): Path<String>) -> Answer {
    state.service.set_org_approval(&caller.actor, &client_id, &caller.org_id(), false).await?;
    Ok(no_content())
}

/// The applications that members of the organization tried to authorize and that await its
/// approval: approve one with `PUT /admin/v1/approvals/{client_id}`, or reject its request.
#[utoipa::path(get, path = "/admin/v1/approval-requests", tag = "approvals", params(PageQuery),
    security(("bearer" = ["tessera:admin"])),
    responses((status = 200, body = ApprovalRequestPage, headers(("link" = String))), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_approval_requests(
    State(state): State<AppState>,
    uri: Uri,
    OrgCaller(caller): OrgCaller,
    Query(query): Query<PageQuery>,
) -> Answer {
    let views = state.service.approval_requests(&caller.actor, &caller.org_id()).await?;
    let (items, next_cursor) = paginate(views, &query, |a| a.client_id.clone())?;
    let next = next_cursor.clone();
    Ok(page_response(&uri, &ApprovalRequestPage { items, next_cursor }, next.as_deref()))
}

/// Rejects a request for approval: it leaves the list until a member asks again.
#[utoipa::path(delete, path = "/admin/v1/approval-requests/{client_id}", tag = "approvals", params(("client_id" = String, Path)),
    security(("bearer" = ["tessera:admin"])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn reject_approval_request(State(state): State<AppState>, OrgCaller(caller): OrgCaller, Path(client_id): Path<String>) -> Answer {
    state.service.reject_approval_request(&caller.actor, &client_id, &caller.org_id()).await?;
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// Audit log

/// Which audit entries, newest first. Dates are Unix seconds, `YYYY-MM-DD` or
/// `YYYY-MM-DDTHH:MM:SSZ` (UTC).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Who acted: a user id or email, or an operator label such as `cli`.
    actor: Option<String>,
    /// What happened, e.g. `client.created`.
    action: Option<String>,
    /// What it happened to: a client id, user id or scope name.
    target: Option<String>,
    /// The same as `target`, for a client id.
    client: Option<String>,
    /// Entries at or after this time.
    since: Option<String>,
    /// Entries before this time; a bare date includes that whole day.
    until: Option<String>,
    cursor: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// The organization's audit log, newest first, filtered.
#[utoipa::path(get, path = "/admin/v1/audit", tag = "audit", params(AuditQuery),
    security(("bearer" = ["tessera:admin"])),
    responses((status = 200, body = AuditPage, headers(("link" = String))), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn audit_log(State(state): State<AppState>, uri: Uri, OrgCaller(caller): OrgCaller, Query(query): Query<AuditQuery>) -> Answer {
    let limit = limit_of(query.limit)?;
    let target = match (query.target, query.client) {
        (Some(target), Some(client)) if target != client => {
            return Err(invalid(message!("api-audit-target-and-client", "give target or client, not both")));
        }
        (target, client) => target.or(client),
    };
    let before = match query.cursor.as_deref() {
        Some(cursor) => Some(
            decode_cursor(cursor)?
                .parse::<i64>()
                .map_err(|_| invalid(message!("api-cursor-unknown", "cursor is not one this server handed out")))?,
        ),
        None => None,
    };
    let filter = AuditFilter {
        org: Some(caller.org_id()),
        actor: query.actor,
        action: query.action,
        target,
        since: query.since.as_deref().map(|v| instant("since", v, false)).transpose()?,
        until: query.until.as_deref().map(|v| instant("until", v, true)).transpose()?,
        before,
        limit: limit + 1,
    };
    let mut items = state.service.audit_log(&caller.actor, filter).await?;
    let next_cursor = (items.len() > limit as usize).then(|| encode_cursor(&items[limit as usize - 1].id.to_string()));
    items.truncate(limit as usize);
    let next = next_cursor.clone();
    Ok(page_response(&uri, &AuditPage { items, next_cursor }, next.as_deref()))
}

/// A point in time of the audit filter (`http::dates::instant`), or a 400 that says what is accepted.
fn instant(name: &str, value: &str, end_of_day: bool) -> Result<i64, ProblemError> {
    crate::http::dates::instant(value, end_of_day).ok_or_else(|| {
        invalid(message!("api-audit-instant-bad", "{name} must be Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", name = name))
    })
}

// ---------------------------------------------------------------------------------------------
// Tokens

/// Revokes an access token of a client the caller may see; it stops working at once.
#[utoipa::path(post, path = "/admin/v1/tokens/revoke", tag = "tokens", request_body = RevokeTokenRequest,
    security(("bearer" = ["tessera:clients"])),
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn revoke_token(State(state): State<AppState>, ClientsCaller(caller): ClientsCaller, Body(body): Body<RevokeTokenRequest>) -> Answer {
    state.service.revoke_as_operator(&caller.actor, &body.token).await?;
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// The document and the routes

/// This document: the admin API in OpenAPI 3.1, generated from the code.
#[utoipa::path(get, path = "/admin/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "the OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_document() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document().to_owned()).into_response()
}

/// The document's frame: what no route says. The paths come from the routes ([`api`]).
#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera admin API", version = "1", description = "Manage an organization's clients, members, scopes, approvals and audit log. \
        Authenticate with an access token from this server holding `tessera:clients` or `tessera:admin`. \
        Organizations and signing keys are the operator's, with the `tessera` command, and not part of this API."),
    components(schemas(Problem)),
    modifiers(&BearerScheme),
)]
struct AdminApiDoc;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// Every route of the admin API, once: each handler's `#[utoipa::path]` says its method and
/// path, and both the router and the OpenAPI document are made from this list.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(AdminApiDoc::openapi())
        .routes(routes!(me))
        .routes(routes!(list_clients, create_client))
        .routes(routes!(show_client, update_client, delete_client))
        .routes(routes!(enable_client))
        .routes(routes!(disable_client))
        .routes(routes!(regenerate_secret, reveal_secret))
        .routes(routes!(list_members, add_member))
        .routes(routes!(show_member, update_member))
        .routes(routes!(disable_member))
        .routes(routes!(enable_member))
        .routes(routes!(list_scopes, add_scope))
        .routes(routes!(update_scope))
        .routes(routes!(invite))
        .routes(routes!(show_organization, update_organization))
        .routes(routes!(list_identity_providers, add_identity_provider))
        .routes(routes!(show_identity_provider, update_identity_provider, remove_identity_provider))
        .routes(routes!(list_approvals))
        .routes(routes!(approve, withdraw_approval))
        .routes(routes!(list_approval_requests))
        .routes(routes!(reject_approval_request))
        .routes(routes!(audit_log))
        .routes(routes!(revoke_token))
        .routes(routes!(openapi_document))
}

/// The OpenAPI document as JSON, built once.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| api().into_openapi().to_json().unwrap_or_default())
}

/// The admin API's routes, from [`api`]: a wrong method on a known path is a 405 problem, an
/// unknown path under `/admin/v1` a 404 problem.
pub fn router() -> Router<AppState> {
    let (router, _) = api().split_for_parts();
    router.method_not_allowed_fallback(method_not_allowed).route("/admin/v1", any(not_found)).route("/admin/v1/{*rest}", any(not_found))
}

async fn not_found() -> Response {
    problem(StatusCode::NOT_FOUND, "no such endpoint in the admin API")
}

async fn method_not_allowed(method: Method) -> Response {
    problem(StatusCode::METHOD_NOT_ALLOWED, &format!("{method} is not allowed on this endpoint"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        for key in ["", "abc", "00000000000000000012:client id/é"] {
            assert_eq!(decode_cursor(&encode_cursor(key)).ok().as_deref(), Some(key));
        }
        for bad in ["abc", "zz", "ff"] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn audit_dates() {
        let check = |value: &str, end: bool, expected: Option<i64>| {
            assert_eq!(instant("since", value, end).ok(), expected, "{value}");
        };
        check("1700000000", false, Some(1_700_000_000));
        check("1970-01-01", false, Some(0));
        check("1970-01-01", true, Some(86_400));
        check("2024-02-29", false, Some(1_709_164_800));
        check("2024-02-29T12:30:05Z", false, Some(1_709_164_800 + 45_005));
        check("2000-03-01", false, Some(951_868_800));
        check("2023-02-29", false, None);
        check("2024-13-01", false, None);
        check("2024-01-01T10:00:00", false, None);
        check("2024-1", false, None);
        check("yesterday", false, None);
    }
}
