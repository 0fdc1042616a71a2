//! The developer portal (`/settings/api-clients`), the access-token generator
//! (`/tools/access-token`) and the organization admin pages (`/admin/…`).
//!
//! Every page acts as the signed-in user through `service::admin` with `Actor::user`, so who may
//! see or change what is decided once, in `tessera_core::access`, for the pages and the admin API
//! alike. Forms are the login pages' kind: CSRF token bound to the session cookie, same-origin
//! POSTs only, 303 after a change (post/redirect/get), except where the answer shows a secret,
//! which never goes into a URL.
//!
//! One module per group of routes: `client_pages`, `generator`, `org_admin`; what they share
//! (the signed-in checks, the form reader, the navigation bar) is here.

pub mod client_pages;
pub mod generator;
pub mod memberships;
pub mod org_admin;
pub mod security;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use serde::de::DeserializeOwned;
use tessera_service::passkeys::Purpose;
use tessera_service::second_factor::StepUp;
use tessera_service::session::SignedIn;

use crate::AppState;
use crate::error::{page_for, sentence};
use crate::http::forms::{FormBody, StepUpFields};
use crate::http::pages::{Browser, forbidden, login_redirect, posted_by, session_of, session_while_enrolling};
use crate::http::views::{Nav, StepUpPage, html};

/// The notices a redirect may ask a page to show: a fixed set (no user text in URLs), each the
/// message `notice-DONE` of the catalogues.
pub(crate) const NOTICES: &[&str] = &[
    "on",
    "off",
    "saved",
    "switched",
    "joined",
    "invited",
    "deleted",
    "created",
    "rolled",
    "rolled-grace",
    "added",
    "approved",
    "rejected",
    "withdrawn",
    "disabled",
    "enabled",
    "callback",
    "password",
    "verification-sent",
    "enrol",
    "totp-removed",
    "passkey-added",
    "passkey-removed",
    "session-ended",
    "sessions-ended",
    "verification-not-sent",
    "removed",
    "joined-sso",
];

fn notice(done: Option<&str>) -> Option<String> {
    let done = done?;
    NOTICES.contains(&done).then(|| crate::http::i18n::text(&format!("notice-{done}"), &[]))
}

#[derive(serde::Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

/// Whether a page is open to a member who must still set up a second factor (SPEC §11): only the
/// security page and the steps of setting one up are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    Enrolled,
    WhileEnrolling,
}

async fn current_session(state: &AppState, browser: &Browser, gate: Gate) -> Result<Option<SignedIn>, Response> {
    match gate {
        Gate::Enrolled => session_of(state, browser).await,
        Gate::WhileEnrolling => session_while_enrolling(state, browser).await,
    }
}

/// The signed-in user of a page, or the login page (which comes back to `here`).
async fn signed_in(state: &AppState, browser: &Browser, here: &str) -> Result<SignedIn, Response> {
    signed_in_at(state, browser, here, Gate::Enrolled).await
}

async fn signed_in_at(state: &AppState, browser: &Browser, here: &str, gate: Gate) -> Result<SignedIn, Response> {
    match current_session(state, browser, gate).await? {
        Some(session) => Ok(session),
        None => Err(login_redirect(here)),
    }
}

/// A POST from one of our portal forms: same origin, signed in, CSRF token of this session;
/// then the form's fields (`http::forms`).
async fn signed_in_form<T: DeserializeOwned>(state: &AppState, browser: &Browser, body: &Bytes) -> Result<(SignedIn, T), Response> {
    signed_in_form_at(state, browser, body, Gate::Enrolled).await
}

async fn signed_in_form_at<T: DeserializeOwned>(
    state: &AppState,
    browser: &Browser,
    body: &Bytes,
    gate: Gate,
) -> Result<(SignedIn, T), Response> {
    posted_by(state, browser, current_session(state, browser, gate).await?, body)
}

/// Step-up (SPEC §11) before showing or renewing a secret, adding a second factor or changing a
/// role: a session that signed in more than 5 minutes ago, or without the user's second factor,
/// confirms who it is first. The confirmation page posts to the same action with the same fields
/// and the password (and code), so the action carries on as soon as they are right.
async fn stepped_up(
    state: &AppState,
    browser: &Browser,
    session: SignedIn,
    body: &Bytes,
    action: &str,
    what: &'static str,
    back: &str,
) -> Result<SignedIn, Response> {
    if !state.service.needs_step_up(&session).await.map_err(|e| page_for(&e))? {
        return Ok(session);
    }
    let form = FormBody::parse(body).unwrap_or_default();
    let confirmation: StepUpFields = form.read().ok_or_else(forbidden)?;
    let offered = if !confirmation.step_up_credential.is_empty() {
        Some(StepUp::Passkey { ceremony: &confirmation.step_up_ceremony, credential: &confirmation.step_up_credential })
    } else if !confirmation.step_up_password.is_empty() {
        Some(StepUp::Password { password: &confirmation.step_up_password, code: &confirmation.step_up_code })
    } else {
        None
    };
    let error = match offered {
        None => None,
        Some(offered) => match state.service.step_up(&session, offered, browser.peer).await {
            Ok(()) => return Ok(session),
            Err(tessera_service::ServiceError::Invalid(why)) => Some(sentence(&crate::http::i18n::said(&why.message))),
            Err(e) => return Err(page_for(&e)),
        },
    };
    let code = state.service.has_second_factor(&session.user.id).await.map_err(|e| page_for(&e))?;
    let passkey = state.service.begin_passkey_check(&session.user, Purpose::StepUp).await.map_err(|e| page_for(&e))?.map(Into::into);
    let fields = form.pairs_except(&["csrf_token", "step_up_password", "step_up_code", "step_up_ceremony", "step_up_credential"]);
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let page = StepUpPage {
        nav: nav(&session, "security", None),
        csrf: state.service.session_csrf(&session),
        email: session.user.email.clone(),
        what,
        action: action.to_owned(),
        fields,
        back: back.to_owned(),
        code,
        passkey,
        error,
    };
    Err(html(status, &page))
}

/// The signed-in user acting through a page, from the browser's address (kept in the audit log).
fn acting(session: &SignedIn, browser: &Browser) -> tessera_service::admin::Actor {
    tessera_service::admin::Actor::user(session.user.clone()).from(browser.peer).speaking(crate::http::page::lang())
}

pub(crate) fn nav(session: &SignedIn, active: &'static str, notice: Option<String>) -> Nav {
    let user = &session.user;
    Nav {
        email: user.email.clone(),
        org_name: session.org_name.clone(),
        admin: tessera_core::access::runs_org(user.role),
        active,
        notice,
        error: None,
    }
}

fn client_path(id: &str) -> String {
    format!("/settings/api-clients/{id}")
}
