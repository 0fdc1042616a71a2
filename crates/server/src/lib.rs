//! Tessera's HTTP adapter: configuration, start-up, routes, extractors, the error table and
//! middleware. Handlers parse, call `tessera-service`, and render; they decide nothing.

pub mod config;
pub mod error;
pub mod http;
pub mod listener;
pub mod metrics;
pub mod profile;
pub mod startup;
pub mod telemetry;
pub mod tls;

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

/// What every handler shares. Each HTTP worker serves through a router and state of its own
/// ([`AppState::for_worker`]): axum clones the state (and the edge middleware's) for every
/// request, and a copy per worker keeps those reference counts in the worker's own core's
/// cache instead of moving one shared line between cores on every request.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    pub fn new(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }

    /// A state with the same contents for one more worker (each field an `Arc` or a copy).
    #[must_use]
    pub fn for_worker(&self) -> Self {
        Self::new((*self.0).clone())
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// The contents of [`AppState`].
#[derive(Clone)]
pub struct AppParts {
    pub service: Arc<Tessera>,
    pub metrics: Arc<Metrics>,
    pub proxy: Arc<ProxyPolicy>,
    /// A profile's extra paths for the endpoints (SPEC §7).
    pub aliases: Arc<Vec<(Endpoint, String)>>,
    /// How long a request may take, body included (slow clients get 408).
    pub request_timeout: std::time::Duration,
    /// The token endpoint's status for an application its user's organization has not
    /// approved: 400, or what the profile says ([`error::not_approved`]).
    pub unapproved_status: axum::http::StatusCode,
    /// The pages' brand, made once at start (`&'static`: no reference count per request).
    pub brand: &'static http::page::Brand,
    /// `/metrics` is served on a listener of its own (`--metrics-listen`), not by this router.
    pub metrics_apart: bool,
}

/// The router over a ready service; tests drive it with `oneshot` or on a real socket.
pub fn build_app(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/.well-known/openid-configuration", get(http::discovery::metadata))
        .route("/.well-known/oauth-authorization-server", get(http::discovery::metadata))
        .route("/oauth2/jwks", get(http::discovery::jwks))
        .route("/oauth2/token", post(http::oauth::token).options(http::cors::preflight))
        .route("/oauth2/revoke", post(http::oauth::revoke).options(http::cors::preflight))
        .route("/oauth2/introspect", post(http::oauth::introspect))
        .route("/oauth2/par", post(http::oauth::par).options(http::cors::preflight))
        .route("/oauth2/device_authorization", post(http::device::authorization).options(http::cors::preflight))
        .route("/device", get(http::device::form).post(http::device::lookup))
        .route("/device/decision", post(http::device::decision))
        .route("/oauth2/revocations", get(http::feed::revocations))
        .route("/oauth2/authorize", get(http::pages::authorize).post(http::pages::authorize_form))
        .route("/oauth2/authorize/decision", post(http::pages::consent_decision))
        .route("/oauth2/authorize/approve", post(http::pages::approve))
        .route("/oauth2/userinfo", get(http::resource::userinfo).post(http::resource::userinfo).options(http::cors::preflight))
        .route("/session/user", get(http::resource::session_user))
        .route("/oauth2/logout", get(http::pages::logout_form))
        .route("/logout", get(http::pages::logout_form).post(http::pages::logout))
        .route("/login", get(http::pages::login_form).post(http::pages::login))
        // Every path under /setup/ (a token may be cut or padded): its pages, or their 404.
        .route("/setup/{*token}", get(http::pages::setup_form).post(http::pages::setup))
        .route("/settings/connected-apps", get(http::pages::connected_apps))
        .route("/settings/security", get(http::portal::security::security))
        .route("/settings/security/password", post(http::portal::security::change_password))
        .route("/settings/security/verify-email", post(http::portal::security::request_verification))
        .route("/settings/security/totp", get(http::portal::security::totp_setup).post(http::portal::security::begin_totp))
        .route("/settings/security/totp/confirm", post(http::portal::security::confirm_totp))
        .route("/settings/security/totp/remove", post(http::portal::security::remove_totp))
        .route("/login/mfa", get(http::pages::login_mfa_form).post(http::pages::login_mfa))
        .route("/login/passkey", post(http::pages::login_passkey))
        .route("/login/sso", post(http::sso::start))
        .route("/login/sso/callback", get(http::sso::callback))
        .route("/settings/security/passkeys", post(http::portal::security::add_passkey))
        .route("/settings/security/passkeys/new", post(http::portal::security::begin_passkey))
        .route("/settings/security/passkeys/remove", post(http::portal::security::remove_passkey))
        .route("/settings/security/sessions/end", post(http::portal::security::end_session))
        .route("/settings/security/sessions/end-others", post(http::portal::security::end_other_sessions))
        .route("/password/forgot", get(http::account::forgot_form).post(http::account::forgot))
        .route("/password/reset/{token}", get(http::account::reset_form).post(http::account::reset))
        .route("/email/verify/{token}", get(http::account::verify_email))
        .route("/settings/connected-apps/revoke", post(http::pages::revoke_app))
        .route("/assets/tessera.css", get(http::pages::stylesheet))
        .route("/assets/generator.js", get(http::portal::generator::generator_script))
        .route("/assets/webauthn.js", get(http::portal::security::webauthn_script))
        .route("/assets/copy.js", get(http::pages::copy_script))
        .route("/assets/brand.css", get(http::pages::brand_stylesheet))
        .route("/assets/brand-logo", get(http::pages::brand_logo))
        .route("/language", get(http::pages::choose_language))
        .route("/settings/api-clients", get(http::portal::client_pages::clients))
        .route(
            "/settings/api-clients/new",
            get(http::portal::client_pages::new_client_form).post(http::portal::client_pages::create_client),
        )
        .route("/settings/api-clients/{id}", get(http::portal::client_pages::client))
        .route("/settings/api-clients/{id}/secret", post(http::portal::client_pages::reveal_secret))
        .route(
            "/settings/api-clients/{id}/regenerate",
            get(http::portal::client_pages::regenerate_form).post(http::portal::client_pages::regenerate),
        )
        .route("/settings/api-clients/{id}/delete", get(http::portal::client_pages::delete_form).post(http::portal::client_pages::delete))
        .route(
            "/settings/api-clients/{id}/status",
            get(http::portal::client_pages::turn_off_form).post(http::portal::client_pages::set_status),
        )
        .route("/settings/api-clients/{id}/edit", get(http::portal::client_pages::edit_form).post(http::portal::client_pages::edit))
        .route("/tools/access-token", get(http::portal::generator::generator).post(http::portal::generator::generate))
        .route("/tools/access-token/callback-uri", post(http::portal::generator::add_callback))
        .route("/tools/access-token/callback", get(http::portal::generator::callback))
        .route("/admin", get(http::portal::org_admin::admin_home))
        .route("/admin/members", get(http::portal::org_admin::members).post(http::portal::org_admin::add_member))
        .route("/admin/members/invite", post(http::portal::org_admin::invite))
        .route("/admin/members/{id}", post(http::portal::org_admin::update_member))
        .route("/admin/members/{id}/disable", post(http::portal::org_admin::disable_member))
        .route("/admin/members/{id}/enable", post(http::portal::org_admin::enable_member))
        .route("/admin/scopes", get(http::portal::org_admin::scopes).post(http::portal::org_admin::add_scope))
        .route("/admin/scopes/restriction", post(http::portal::org_admin::restrict_scope))
        .route("/admin/organization", get(http::portal::org_admin::organization).post(http::portal::org_admin::update_organization))
        .route("/admin/organization/identity-providers", post(http::portal::org_admin::add_identity_provider))
        .route("/admin/organization/identity-providers/remove", post(http::portal::org_admin::remove_identity_provider))
        .route("/settings/organizations", get(http::portal::memberships::organizations))
        .route("/invite/{token}", get(http::invitations::invitation).post(http::invitations::join_with_password))
        .route("/invite/{token}/accept", post(http::invitations::accept))
        .route("/settings/organizations/switch", post(http::portal::memberships::switch))
        .route("/admin/approvals", get(http::portal::org_admin::approvals).post(http::portal::org_admin::approve))
        .route("/admin/approvals/withdraw", post(http::portal::org_admin::withdraw))
        .route("/admin/approvals/reject", post(http::portal::org_admin::reject))
        .route("/admin/audit", get(http::portal::org_admin::audit))
        .route("/", get(http::pages::home))
        .route("/healthz", get(http::health::healthz))
        .route("/readyz", get(http::health::readyz))
        .merge(http::admin_api::router());
    if !state.metrics_apart {
        router = router.route("/metrics", get(http::health::metrics));
    }
    if state.service.settings().registration_endpoint {
        router = router.route("/oauth2/register", post(http::registration::register)).route(
            "/oauth2/register/{client_id}",
            get(http::registration::read).put(http::registration::update).delete(http::registration::delete),
        );
    }
    if state.service.settings().session_api {
        router = router
            .route("/sessions", post(http::sessions::create).delete(http::sessions::end))
            .route("/sessions/refresh", post(http::sessions::refresh));
    }
    // A profile's aliases answer exactly like the canonical paths (validated not to clash).
    for (endpoint, path) in state.aliases.iter() {
        router = match endpoint {
            Endpoint::Authorize => router.route(path, get(http::pages::authorize).post(http::pages::authorize_form)),
            Endpoint::Token => router.route(path, post(http::oauth::token).options(http::cors::preflight)),
            Endpoint::Revoke => router.route(path, post(http::oauth::revoke).options(http::cors::preflight)),
            Endpoint::Introspect => router.route(path, post(http::oauth::introspect)),
            Endpoint::Userinfo => {
                router.route(path, get(http::resource::userinfo).post(http::resource::userinfo).options(http::cors::preflight))
            }
            Endpoint::Jwks => router.route(path, get(http::discovery::jwks)),
            Endpoint::Logout => router.route(path, get(http::pages::logout_form)),
        };
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), around_every_request))
        .with_state(state)
}

/// The router of `--metrics-listen`: `/metrics` only, no access log (a scrape every few seconds
/// would fill it).
pub fn metrics_app(state: AppState) -> Router {
    Router::new().route("/metrics", get(http::health::metrics)).fallback(not_found).with_state(state)
}

async fn not_found() -> Response {
    error::json_error(StatusCode::NOT_FOUND, ErrorCode::InvalidRequest, "no such endpoint")
}

async fn method_not_allowed() -> Response {
    error::json_error(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::InvalidRequest, "method not allowed on this endpoint")
}

/// Scripts and styles from our own origin only (the stylesheet and the token generator's one script),
/// nothing inline, never framed (B07).
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/// HSTS for a year, on every response that went over HTTPS (B13).
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000; includeSubDomains";

/// The one middleware (each layer costs a boxed future per request): gives the request its id
/// and its span (every log line of the request carries them; with traces on, the root span),
/// refuses bodies that are neither a form nor JSON, bounds the time a request may take (a
/// client trickling its body gets 408), records the metrics, writes the access log line, and
/// adds the headers every response carries: the request id, no sniffing, no framing, HSTS over
/// HTTPS, no banner, and a referrer policy. The policy is `no-referrer` on redirects (an
/// authorization response carries a code or token in its `Location`) and on API answers (L02);
/// pages keep `same-origin` for their own forms (with `no-referrer` Chrome posts `Origin: null`,
/// which the CSRF origin check must refuse), unless a page sets its own.
async fn around_every_request(State(edge): State<AppState>, request: Request, next: Next) -> Response {
    // MatchedPath is an Arc inside: cloning it allocates nothing.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let route_name = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let https = request.extensions().get::<listener::Tls>().is_some_and(|tls| tls.0) || forwarded_https(&edge.proxy, &request);
    let socket_peer = request.extensions().get::<axum::extract::ConnectInfo<listener::PeerAddr>>().map(|c| c.0.0.ip());
    let socket_peer = socket_peer.unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let request_id = http::request_id::of(request.headers(), socket_peer, &edge.proxy);
    let client_ip = edge.proxy.client_ip(socket_peer, http::extract::forwarded_for(request.headers()).as_deref());
    let span = request_span(&request, route_name, &request_id, client_ip);
    let started = std::time::Instant::now();
    let mut response = if let Some(refusal) = refuse_content_type(&request) {
        refusal
    } else {
        let page = http::page::PageContext::of(edge.brand, request.uri(), request.headers(), request_id.clone());
        let run = tracing::Instrument::instrument(http::page::with_context(page, next.run(request)), span.clone());
        match tokio::time::timeout(edge.request_timeout, run).await {
            Ok(response) => response,
            Err(_) => {
                let mut response = error::json_error(StatusCode::REQUEST_TIMEOUT, ErrorCode::InvalidRequest, "the request took too long");
                response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                response
            }
        }
    };
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    edge.metrics.observe(route_name, status, elapsed);
    access_log(&span, &response, elapsed);
    let referrer = if response.status().is_redirection() || !is_html(&response) { "no-referrer" } else { "same-origin" };
    let headers = response.headers_mut();
    headers.reserve(6);
    headers.insert(http::request_id::HEADER, request_id);
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // A handler may set a stricter policy of its own (the brand logo: a sandboxed image).
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    }
    if !headers.contains_key(header::REFERRER_POLICY) {
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static(referrer));
    }
    if https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(STRICT_TRANSPORT_SECURITY));
    }
    response
}

/// The span a request runs in: its id, method, path and the client's address; the client id is
/// recorded by the service once a client authenticates. The path never carries a secret: no
/// query string, and a route whose path holds a token (`/password/reset/{token}`, …) is named
/// by its pattern.
fn request_span(request: &Request, route: &str, request_id: &HeaderValue, peer: std::net::IpAddr) -> tracing::Span {
    let path = if route.contains("{token}") || route.contains("{*token}") { route } else { request.uri().path() };
    // An unmatched path is whatever a client sent: cut to a length a log line can carry.
    let path = path.get(..path.len().min(256)).unwrap_or(route);
    let span = tracing::info_span!(
        target: telemetry::REQUEST,
        "request",
        request_id = %request_id.to_str().unwrap_or_default(),
        method = %request.method(),
        path = %path,
        peer = %peer,
        client_id = tracing::field::Empty,
        otel.name = tracing::field::Empty,
        otel.kind = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    if telemetry::traces_on() {
        span.record("otel.name", format!("{} {route}", request.method()));
        span.record("otel.kind", "server");
    }
    span
}

/// The access log line (SPEC §14), in the request's span: status, duration and bytes here,
/// the rest in the span's fields.
fn access_log(span: &tracing::Span, response: &Response, elapsed: std::time::Duration) {
    let status = response.status().as_u16();
    if telemetry::traces_on() {
        // As an integer attribute: tracing-opentelemetry takes unsigned values as text.
        span.record("http.response.status_code", i64::from(status));
    }
    let bytes = axum::body::HttpBody::size_hint(response.body()).exact();
    span.in_scope(|| {
        // Milliseconds to the microsecond: `0.075`, not `0.07512300000000001`.
        let duration_ms = elapsed.as_micros() as f64 / 1000.0;
        tracing::info!(target: telemetry::ACCESS, status, duration_ms, bytes, "request");
    });
}

fn is_html(response: &Response) -> bool {
    response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"))
}

/// A request that came over HTTPS to a trusted proxy (`X-Forwarded-Proto: https` from a
/// `trusted_proxies` address; anyone else's claim is ignored).
fn forwarded_https(proxy: &ProxyPolicy, request: &Request) -> bool {
    let Some(peer) = request.extensions().get::<axum::extract::ConnectInfo<listener::PeerAddr>>() else { return false };
    let proto = request.headers().get("x-forwarded-proto").and_then(|v| v.to_str().ok());
    proxy.forwarded_proto(peer.0.0.ip(), proto) == Some("https")
}

/// Every body Tessera reads is a form or JSON (strict `Content-Type`): anything else is refused
/// before a handler sees it, with the JSON error (400 `invalid_request`).
fn refuse_content_type(request: &Request) -> Option<Response> {
    let headers = request.headers();
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() != "0");
    if !has_body {
        return None;
    }
    // The admin API takes JSON only and answers a wrong media type itself: 415 problem+json.
    if request.uri().path().starts_with(http::admin_api::PREFIX) {
        return None;
    }
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = media.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case("application/x-www-form-urlencoded") || media.eq_ignore_ascii_case("application/json") {
        return None;
    }
    Some(error::json_error(
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidRequest,
        "the body must be application/x-www-form-urlencoded or application/json",
    ))
}
