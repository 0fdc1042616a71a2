//! The HTML pages (askama templates under `crates/server/templates/`), and how a page becomes
//! a response: `text/html`, never cached, with the framing and content-security headers that
//! the middleware adds to every response.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_service::authorization::ScopeLine;

use crate::error::no_store;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub csrf: &'a str,
    pub return_to: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub csrf: &'a str,
    /// The authorization request's query string, posted back with the decision.
    pub request: &'a str,
    pub client_name: &'a str,
    pub owner: &'a str,
    pub user_email: &'a str,
    pub scopes: &'a [ScopeLine],
}

#[derive(Template)]
#[template(path = "approval.html")]
pub struct ApprovalPage<'a> {
    pub csrf: &'a str,
    pub request: &'a str,
    pub client_name: &'a str,
    pub owner: &'a str,
    pub org_name: &'a str,
    pub user_email: &'a str,
    pub already_approved: bool,
    pub scopes: &'a [ScopeLine],
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub is_error: bool,
    pub link: Option<(&'a str, &'a str)>,
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    pub csrf: &'a str,
    pub user_email: Option<&'a str>,
    /// RP-initiated logout parameters carried through the confirmation.
    pub carry: Vec<(&'a str, &'a str)>,
}

#[derive(Template)]
#[template(path = "setup.html")]
pub struct SetupPage<'a> {
    pub csrf: &'a str,
    pub token: &'a str,
    pub org_name: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage<'a> {
    pub user_email: &'a str,
    pub role: &'a str,
}

/// One row of the connected-applications page.
pub struct ConnectedApp {
    pub client_id: String,
    pub name: String,
    pub scope: String,
}

#[derive(Template)]
#[template(path = "connected_apps.html")]
pub struct ConnectedAppsPage<'a> {
    pub csrf: &'a str,
    pub user_email: &'a str,
    pub apps: &'a [ConnectedApp],
}

/// The stylesheet every page links (a file, so the CSP needs no inline styles).
pub const STYLESHEET: &str = include_str!("../../assets/tessera.css");

/// Renders `page` with `status`; pages are never cached (they carry CSRF tokens).
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            no_store(&mut response);
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A page that only says something.
pub fn message(status: StatusCode, title: &str, message: &str) -> Response {
    html(status, &MessagePage { title, message, is_error: status.is_client_error() || status.is_server_error(), link: None })
}
