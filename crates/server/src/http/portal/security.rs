//! `/settings/security` (SPEC §11): the signed-in user's email and whether it is verified, and
//! the password change. Every action here acts on the signed-in user only: no route takes a
//! user id.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use tessera_service::ServiceError;
use tessera_service::session::SignedIn;

use super::{Done, nav, notice, signed_in, signed_in_form};
use crate::AppState;
use crate::error::{PageResult, sentence};
use crate::http::pages::{Browser, redirect};
use crate::http::views::{SecurityPage, html};

const HERE: &str = "/settings/security";

fn security_page(state: &AppState, session: &SignedIn, notice: Option<String>, password_error: Option<String>) -> axum::response::Response {
    let user = &session.user;
    let status = if password_error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let page = SecurityPage {
        nav: nav(user, "security", notice),
        csrf: state.service.session_csrf(session),
        email: user.email.clone(),
        email_verified: user.email_verified_at.is_some(),
        mail_enabled: state.service.mail_enabled(),
        password_error,
    };
    html(status, &page)
}

/// `GET /settings/security`.
pub async fn security(State(state): State<AppState>, browser: Browser, Query(done): Query<Done>) -> PageResult {
    let session = signed_in(&state, &browser, HERE).await?;
    Ok(security_page(&state, &session, notice(done.done.as_deref()), None))
}

/// `POST /settings/security/password`: the current password, the new one twice.
pub async fn change_password(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form(&state, &browser, &body).await?;
    let new_password = form.get("new_password");
    if new_password != form.get("confirm_password") {
        return Ok(security_page(&state, &session, None, Some("The two new passwords are not the same.".into())));
    }
    match state.service.change_password(&session, form.get("current_password"), new_password, browser.peer).await {
        Ok(()) => Ok(redirect(StatusCode::SEE_OTHER, &format!("{HERE}?done=password"))),
        Err(ServiceError::Invalid(why)) => Ok(security_page(&state, &session, None, Some(sentence(&why.message)))),
        Err(e) => Err(e.into()),
    }
}

/// `POST /settings/security/verify-email`: mails a verification link.
pub async fn request_verification(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, _) = signed_in_form(&state, &browser, &body).await?;
    let done =
        if state.service.request_email_verification(&session, browser.peer).await? { "verification-sent" } else { "verification-not-sent" };
    Ok(redirect(StatusCode::SEE_OTHER, &format!("{HERE}?done={done}")))
}
