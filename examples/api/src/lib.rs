//! An example API protected by `tessera-guard`: a company's projects and the checks on its
//! deployments (the Blue Canvas seed's `deployments.putCheck`). Each organization (tenant)
//! sees only its own data; every route needs a bearer token with its scope.
//!
//! | route | scope |
//! |---|---|
//! | `GET /projects?limit=&cursor=` (paginated: `next_cursor` and a `Link: rel="next"` header) | `projects:read` |
//! | `POST /projects {name}` | `projects:write` |
//! | `GET /deployments/{n}/checks?limit=&cursor=` (paginated: `next_cursor` only) | `deployments:read` |
//! | `PUT /deployments/{n}/checks/{name} {state, result, description}` | `deployments:write` |
//! | `GET /openapi.json` (this table as an OpenAPI document: `examples/api/openapi.json`) | none |
//! | `GET /metrics`, `GET /healthz` | none |
//!
//! An optional per-client quota answers 429 with `Retry-After`, and counts requests that came
//! back before that wait was over (a client that does not honour `Retry-After`).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_guard::{Claims, Guard};

/// The API's OpenAPI document, which the SDKs in `examples/` are generated from. The generated
/// clients' end-to-end tests are what keep it true to the routes below.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// A project of an organization.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    /// The user the creating token acted for.
    pub created_by: String,
}

/// The state of one named check on a deployment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub deployment_number: u64,
    pub name: String,
    pub state: CheckState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<CheckResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The client that last wrote the check.
    pub updated_by: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CheckState {
    Pending,
    InProgress,
    Done,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CheckResult {
    Success,
    Failure,
    Error,
    Neutral,
}

/// The body of `PUT /deployments/{n}/checks/{name}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckInput {
    pub state: CheckState,
    #[serde(default)]
    pub result: Option<CheckResult>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    pub name: String,
}

#[derive(Debug, Default)]
struct OrgData {
    projects: Vec<Project>,
    checks: BTreeMap<(u64, String), Check>,
}

/// A fixed-window quota per client.
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    pub requests: u32,
    pub window: Duration,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    used: u32,
    /// Set by a 429: when the client may come back.
    not_before: Option<Instant>,
}

/// The API's state.
#[derive(Clone)]
pub struct Api {
    guard: Guard,
    data: Arc<Mutex<HashMap<String, OrgData>>>,
    quota: Option<Quota>,
    windows: Arc<Mutex<HashMap<String, Window>>>,
    throttled: Arc<AtomicU64>,
    early_retries: Arc<AtomicU64>,
}

impl FromRef<Api> for Guard {
    fn from_ref(api: &Api) -> Guard {
        api.guard.clone()
    }
}

impl Api {
    pub fn new(guard: Guard, quota: Option<Quota>) -> Self {
        Self { guard, data: Arc::default(), quota, windows: Arc::default(), throttled: Arc::default(), early_retries: Arc::default() }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The router: every API route behind the guard with its scope.
pub fn app(api: Api) -> Router {
    let guard = api.guard.clone();
    Router::new()
        .route(
            "/projects",
            get(list_projects.layer(guard.require(["projects:read"]))).post(create_project.layer(guard.require(["projects:write"]))),
        )
        .route("/deployments/{number}/checks", get(list_checks.layer(guard.require(["deployments:read"]))))
        .route("/deployments/{number}/checks/{name}", put(put_check.layer(guard.require(["deployments:write"]))))
        .route("/openapi.json", get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such resource") })
        .with_state(api)
}

use axum::handler::Handler as _;

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (status, Json(serde_json::json!({ "error": code, "error_description": description }))).into_response()
}

/// Admits a request within its client's quota; else 429 with `Retry-After`.
pub struct Admitted;

impl FromRequestParts<Api> for Admitted {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, api: &Api) -> Result<Self, Response> {
        let Some(quota) = api.quota else { return Ok(Admitted) };
        let Some(claims) = parts.extensions.get::<Claims>() else {
            return Err(error(StatusCode::UNAUTHORIZED, "invalid_token", "no token"));
        };
        let now = Instant::now();
        let mut windows = lock(&api.windows);
        let window = windows.entry(claims.client_id.clone()).or_insert(Window { started: now, used: 0, not_before: None });
        if window.not_before.is_some_and(|at| now < at) {
            api.early_retries.fetch_add(1, Ordering::Relaxed);
        }
        if now.duration_since(window.started) >= quota.window {
            *window = Window { started: now, used: 0, not_before: None };
        }
        if window.used < quota.requests {
            window.used += 1;
            return Ok(Admitted);
        }
        let reopens = window.started + quota.window;
        let wait = reopens.duration_since(now).as_secs_f64().ceil().max(1.0);
        window.not_before = Some(now + Duration::from_secs_f64(wait));
        api.throttled.fetch_add(1, Ordering::Relaxed);
        let mut response = error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests; retry after the time given");
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait as u64));
        Err(response)
    }
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    limit: Option<usize>,
    cursor: Option<String>,
}

#[derive(Serialize)]
struct Page<T> {
    items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

async fn list_projects(State(api): State<Api>, claims: Claims, _: Admitted, Query(query): Query<PageQuery>) -> Response {
    let limit = query.limit.unwrap_or(10).clamp(1, 100);
    // The cursor is the position after the last item of the previous page.
    let start = match query.cursor.as_deref().map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "invalid_request", "bad cursor"),
    };
    let data = lock(&api.data);
    let projects = data.get(&claims.org_id).map_or(&[][..], |org| &org.projects[..]);
    let items: Vec<Project> = projects.iter().skip(start).take(limit).cloned().collect();
    let end = start + items.len();
    let next_cursor = (end < projects.len()).then(|| end.to_string());
    let link = next_cursor.as_ref().map(|c| format!("</projects?limit={limit}&cursor={c}>; rel=\"next\""));
    let mut response = Json(Page { items, next_cursor }).into_response();
    if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

async fn create_project(
    State(api): State<Api>,
    claims: Claims,
    _: Admitted,
    body: Result<Json<NewProject>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(new)) = body else { return error(StatusCode::BAD_REQUEST, "invalid_request", "expected {\"name\": …}") };
    let mut data = lock(&api.data);
    let org = data.entry(claims.org_id.clone()).or_default();
    let project = Project { id: format!("prj_{}", org.projects.len() + 1), name: new.name, created_by: claims.sub.clone() };
    org.projects.push(project.clone());
    (StatusCode::CREATED, Json(project)).into_response()
}

async fn put_check(
    State(api): State<Api>,
    claims: Claims,
    _: Admitted,
    Path((number, name)): Path<(u64, String)>,
    body: Result<Json<CheckInput>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(input)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "expected {\"state\": \"PENDING|IN_PROGRESS|DONE\", \"result\"?, \"description\"?}",
        );
    };
    if input.state == CheckState::Done && input.result.is_none() {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "a DONE check needs a result");
    }
    let check = Check {
        deployment_number: number,
        name: name.clone(),
        state: input.state,
        result: input.result,
        description: input.description,
        updated_by: claims.client_id.clone(),
    };
    lock(&api.data).entry(claims.org_id.clone()).or_default().checks.insert((number, name), check.clone());
    Json(check).into_response()
}

/// Paginated by `next_cursor` only (no `Link` header), unlike `/projects`: clients follow both.
async fn list_checks(
    State(api): State<Api>,
    claims: Claims,
    _: Admitted,
    Path(number): Path<u64>,
    Query(query): Query<PageQuery>,
) -> Response {
    let limit = query.limit.unwrap_or(10).clamp(1, 100);
    // The cursor is the name of the last check of the previous page.
    let after = query.cursor.unwrap_or_default();
    let data = lock(&api.data);
    let mut items: Vec<Check> = data
        .get(&claims.org_id)
        .map(|org| {
            org.checks
                .range((number, after.clone())..)
                .take_while(|((n, _), _)| *n == number)
                .filter(|((_, name), _)| after.is_empty() || *name != after)
                .take(limit + 1)
                .map(|(_, c)| c.clone())
                .collect()
        })
        .unwrap_or_default();
    let next_cursor = (items.len() > limit).then(|| {
        items.truncate(limit);
        items.last().map(|c| c.name.clone()).unwrap_or_default()
    });
    Json(Page { items, next_cursor }).into_response()
}

async fn metrics(State(api): State<Api>) -> Response {
    let mut text = api.guard.prometheus();
    text.push_str(&format!(
        "# TYPE example_throttled_total counter\nexample_throttled_total {}\n# TYPE example_early_retries_total counter\nexample_early_retries_total {}\n",
        api.throttled.load(Ordering::Relaxed),
        api.early_retries.load(Ordering::Relaxed)
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
