//! The invitation link, `/invite/{token}` (SPEC §11): the invitee chooses a password and is
//! signed in, or, when the email has an account, signs in and presses Join. A link that does not
//! work (any more) is one 404 page, whatever the reason.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tessera_service::ServiceError;
use tessera_service::invitations::InvitationPrompt;

use crate::AppState;
use crate::error::{PageResult, sentence};
use crate::http::forms::{NewPasswordForm, NoFields};
use crate::http::i18n;
use crate::http::pages::{
    Browser, forbidden, pre_login_csrf, pre_login_form, redirect, session_while_enrolling, signed_in_post, signed_in_redirect, with_cookie,
};
use crate::http::views::{InvitePage, html, message};

fn not_valid() -> Response {
    message(StatusCode::NOT_FOUND, &i18n::text("account-invite-not-valid", &[]), &i18n::text("account-invite-not-valid-text", &[]))
}

/// The page for `prompt`, with the form the browser may send.
async fn page(
    state: &AppState,
    browser: &Browser,
    token: &str,
    prompt: &InvitationPrompt,
    status: StatusCode,
    error: Option<&str>,
) -> PageResult {
    let session = session_while_enrolling(state, browser).await?;
    let (csrf, cookie) = match &session {
        Some(session) => (state.service.session_csrf(session), None),
        None => pre_login_csrf(state, browser)?,
    };
    let view = InvitePage {
        csrf: &csrf,
        token,
        org_name: &prompt.org_name,
        email: &prompt.email,
        role: prompt.role.as_str(),
        has_account: prompt.has_account,
        signed_in_as: session.as_ref().map(|s| s.user.email.as_str()),
        error,
    };
    Ok(with_cookie(html(status, &view), cookie))
}

/// `GET /invite/{token}`.
pub async fn invitation(State(state): State<AppState>, browser: Browser, Path(token): Path<String>) -> PageResult {
    let Some(prompt) = state.service.invitation_prompt(&token).await? else { return Ok(not_valid()) };
    page(&state, &browser, &token, &prompt, StatusCode::OK, None).await
}

/// `POST /invite/{token}`: a new account with the password chosen; signed in at once.
pub async fn join_with_password(State(state): State<AppState>, browser: Browser, Path(token): Path<String>, body: Bytes) -> PageResult {
    let Some(form) = pre_login_form::<NewPasswordForm>(&state, &browser, &body) else { return Ok(forbidden()) };
    let Some(prompt) = state.service.invitation_prompt(&token).await? else { return Ok(not_valid()) };
    if form.new_password != form.confirm_password {
        let differ = i18n::text("account-passwords-differ", &[]);
        return page(&state, &browser, &token, &prompt, StatusCode::BAD_REQUEST, Some(&differ)).await;
    }
    match state.service.accept_invitation_with_password(&token, &form.new_password, &browser.sign_in_from()).await {
        Ok(Some(session)) => Ok(signed_in_redirect(&browser, &session, "/settings/api-clients?done=joined")),
        // The organization signs its members in through its identity provider: there, then.
        Ok(None) => Ok(redirect(StatusCode::SEE_OTHER, "/login?done=joined-sso")),
        Err(ServiceError::NotFound(_)) => Ok(not_valid()),
        Err(ServiceError::Invalid(why)) => {
            page(&state, &browser, &token, &prompt, StatusCode::BAD_REQUEST, Some(&sentence(&i18n::said(&why.message)))).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /invite/{token}/accept`: the signed-in person joins; the browser then works in the
/// organization they joined.
pub async fn accept(State(state): State<AppState>, browser: Browser, Path(token): Path<String>, body: Bytes) -> PageResult {
    let (session, NoFields {}) = signed_in_post(&state, &browser, &body).await?;
    match state.service.accept_invitation_signed_in(&token, &session).await {
        Ok(true) => Ok(redirect(StatusCode::SEE_OTHER, "/settings/api-clients?done=joined")),
        Ok(false) => Ok(redirect(StatusCode::SEE_OTHER, "/settings/organizations?done=joined-sso")),
        Err(ServiceError::NotFound(_)) => Ok(not_valid()),
        Err(e) => Err(e.into()),
    }
}
