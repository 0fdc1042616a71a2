//! Tessera's HTTP adapter: configuration, start-up, routes, extractors, the error table and
//! middleware. Handlers parse, call `tessera-service`, and render; they decide nothing.

pub mod config;
pub mod error;
pub mod http;
pub mod listener;
pub mod metrics;
pub mod profile;
pub mod startup;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use tessera_core::ErrorCode;
use tessera_service::Tessera;

use crate::http::extract::{MAX_BODY, ProxyPolicy};
use crate::metrics::Metrics;
use crate::profile::Endpoint;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Tessera>,
    pub metrics: Arc<Metrics>,
    pub proxy: Arc<ProxyPolicy>,
    /// A profile's extra paths for the endpoints (SPEC §7).
    pub aliases: Arc<Vec<(Endpoint, String)>>,
}

/// The router over a ready service; tests drive it with `oneshot` or on a real socket.
pub fn build_app(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    let mut router = Router::new()
        .route("/.well-known/openid-configuration", get(http::discovery::metadata))
        .route("/.well-known/oauth-authorization-server", get(http::discovery::metadata))
        .route("/oauth2/jwks", get(http::discovery::jwks))
        .route("/oauth2/token", post(http::oauth::token).options(http::cors::preflight))
        .route("/oauth2/revoke", post(http::oauth::revoke).options(http::cors::preflight))
        .route("/oauth2/introspect", post(http::oauth::introspect))
        .route("/oauth2/revocations", get(http::feed::revocations))
        .route("/oauth2/authorize", get(http::pages::authorize))
        .route("/oauth2/authorize/decision", post(http::pages::consent_decision))
        .route("/oauth2/authorize/approve", post(http::pages::approve))
        .route("/oauth2/userinfo", get(http::resource::userinfo).post(http::resource::userinfo))
        .route("/session/user", get(http::resource::session_user))
        .route("/oauth2/logout", get(http::pages::logout_form))
        .route("/logout", get(http::pages::logout_form).post(http::pages::logout))
        .route("/login", get(http::pages::login_form).post(http::pages::login))
        .route("/setup/{token}", get(http::pages::setup_form).post(http::pages::setup))
        .route("/settings/connected-apps", get(http::pages::connected_apps))
        .route("/settings/connected-apps/revoke", post(http::pages::revoke_app))
        .route("/assets/tessera.css", get(http::pages::stylesheet))
        .route("/", get(http::pages::home))
        .route("/healthz", get(http::health::healthz))
        .route("/readyz", get(http::health::readyz))
        .route("/metrics", get(http::health::metrics));
    if state.service.settings().session_api {
        router = router
            .route("/sessions", post(http::sessions::create).delete(http::sessions::end))
            .route("/sessions/refresh", post(http::sessions::refresh));
    }
    // A profile's aliases answer exactly like the canonical paths (validated not to clash).
    for (endpoint, path) in state.aliases.iter() {
        router = match endpoint {
            Endpoint::Authorize => router.route(path, get(http::pages::authorize)),
            Endpoint::Token => router.route(path, post(http::oauth::token).options(http::cors::preflight)),
            Endpoint::Revoke => router.route(path, post(http::oauth::revoke).options(http::cors::preflight)),
            Endpoint::Introspect => router.route(path, post(http::oauth::introspect)),
            Endpoint::Userinfo => router.route(path, get(http::resource::userinfo).post(http::resource::userinfo)),
            Endpoint::Jwks => router.route(path, get(http::discovery::jwks)),
            Endpoint::Logout => router.route(path, get(http::pages::logout_form)),
        };
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(metrics, around_every_request))
        .with_state(state)
}

async fn not_found() -> Response {
    error::json_error(StatusCode::NOT_FOUND, ErrorCode::InvalidRequest, "no such endpoint")
}

async fn method_not_allowed() -> Response {
    error::json_error(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::InvalidRequest, "method not allowed on this endpoint")
}

/// No scripts, no inline styles, our own stylesheet only, never framed (B07).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The one middleware (each layer costs a boxed future per request): records the metrics and
/// adds the headers every response carries: no sniffing, no framing, no referrer to other
/// origins (a page's own forms keep theirs: with `no-referrer` Chrome posts `Origin: null`,
/// which the CSRF origin check must refuse), no banner.
async fn around_every_request(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    // MatchedPath is an Arc inside: cloning it allocates nothing.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let started = std::time::Instant::now();
    let mut response = next.run(request).await;
    metrics.observe(route.as_ref().map_or("unmatched", MatchedPath::as_str), response.status().as_u16(), started.elapsed());
    let headers = response.headers_mut();
    headers.reserve(4);
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}
