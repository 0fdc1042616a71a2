//! The account pages a person uses without being signed in (SPEC §11): "Forgot your password?"
//! (`/password/forgot`), the link it mails (`/password/reset/{token}`) and the email
//! verification link (`/email/verify/{token}`). The forms are the login page's kind: a CSRF
//! token bound to the pre-login cookie, same-origin POSTs, 303 after a change.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use fluent_bundle::FluentValue;
use tessera_service::ServiceError;

use crate::AppState;
use crate::error::{PageResult, sentence};
use crate::http::forms::{ForgotPasswordForm, NewPasswordForm};
use crate::http::i18n;
use crate::http::pages::{Browser, forbidden, pre_login_csrf, pre_login_form, redirect, with_cookie};
use crate::http::views::{PasswordForgotPage, PasswordResetPage, html, message};

/// `GET /password/forgot`.
pub async fn forgot_form(State(state): State<AppState>, browser: Browser) -> PageResult {
    let (csrf, cookie) = pre_login_csrf(&state, &browser)?;
    Ok(with_cookie(html(StatusCode::OK, &PasswordForgotPage { csrf: &csrf, mail_enabled: state.service.mail_enabled() }), cookie))
}

/// `POST /password/forgot`: the same answer, as fast, whether or not the email has an account
/// (the lookup and the mail happen in the background).
pub async fn forgot(State(state): State<AppState>, browser: Browser, body: Bytes) -> Response {
    let Some(form) = pre_login_form::<ForgotPasswordForm>(&state, &browser, &body) else { return forbidden() };
    if !state.service.mail_enabled() {
        return message(StatusCode::SERVICE_UNAVAILABLE, &i18n::text("account-mail-off", &[]), &i18n::text("account-mail-off-text", &[]));
    }
    state.service.request_password_reset(&form.email, browser.peer, crate::http::page::lang());
    let mut page = message(StatusCode::OK, &i18n::text("account-check-mail", &[]), &i18n::text("account-check-mail-text", &[]));
    // The page names no email, but is not worth keeping in a shared browser's history either.
    crate::error::no_store(&mut page);
    page
}

/// A link that does not work (any more); `text` says where to get a new one.
fn link_not_valid(text: &str) -> Response {
    message(StatusCode::NOT_FOUND, &i18n::text("account-link-not-valid", &[]), text)
}

fn reset_link_not_valid() -> Response {
    link_not_valid(&i18n::text("account-reset-link-not-valid-text", &[]))
}

/// `GET /password/reset/{token}`.
pub async fn reset_form(State(state): State<AppState>, browser: Browser, Path(token): Path<String>) -> PageResult {
    let Some(user) = state.service.password_reset_user(&token).await? else { return Ok(reset_link_not_valid()) };
    let (csrf, cookie) = pre_login_csrf(&state, &browser)?;
    let page = PasswordResetPage { csrf: &csrf, token: &token, email: &user.email, error: None };
    Ok(with_cookie(html(StatusCode::OK, &page), cookie))
}

/// `POST /password/reset/{token}`: sets the password, then the sign-in page.
pub async fn reset(State(state): State<AppState>, browser: Browser, Path(token): Path<String>, body: Bytes) -> PageResult {
    let Some(form) = pre_login_form::<NewPasswordForm>(&state, &browser, &body) else { return Ok(forbidden()) };
    let new_password = form.new_password.as_str();
    let again = |problem: String, email: &str| {
        let page = PasswordResetPage { csrf: &form.csrf_token, token: &token, email, error: Some(&problem) };
        html(StatusCode::BAD_REQUEST, &page)
    };
    if new_password != form.confirm_password {
        let Some(user) = state.service.password_reset_user(&token).await? else { return Ok(reset_link_not_valid()) };
        return Ok(again(i18n::text("account-passwords-differ", &[]), &user.email));
    }
    match state.service.reset_password(&token, new_password, browser.peer).await {
        Ok(_) => Ok(redirect(StatusCode::SEE_OTHER, "/login?done=password")),
        Err(ServiceError::NotFound(_)) => Ok(reset_link_not_valid()),
        Err(ServiceError::Invalid(why)) => {
            let Some(user) = state.service.password_reset_user(&token).await? else { return Ok(reset_link_not_valid()) };
            Ok(again(sentence(&i18n::said(&why.message)), &user.email))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /email/verify/{token}`: the link of the verification mail.
pub async fn verify_email(State(state): State<AppState>, browser: Browser, Path(token): Path<String>) -> PageResult {
    match state.service.verify_email(&token, browser.peer).await {
        Ok(user) => Ok(message(
            StatusCode::OK,
            &i18n::text("account-email-verified", &[]),
            &i18n::text("account-email-verified-text", &[("email", FluentValue::from(user.email.as_str()))]),
        )),
        Err(ServiceError::NotFound(_)) => Ok(link_not_valid(&i18n::text("account-verify-link-not-valid-text", &[]))),
        Err(e) => Err(e.into()),
    }
}
