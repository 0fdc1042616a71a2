//! The device authorization grant (RFC 8628): `POST /oauth2/device_authorization`, and the
//! verification page `/device` where a signed-in user enters the code their device shows and
//! approves or denies it. Wrong codes are counted per user and per address (429 past the limit).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use fluent_bundle::FluentValue;
use tessera_service::device::{DevicePrompt, UserCodeRefusal, VERIFICATION_PATH};
use tessera_service::session::SignedIn;

use crate::AppState;
use crate::error::{ApiError, PageResult, no_store};
use crate::http::cors;
use crate::http::extract::OAuthRequest;
use crate::http::forms::DecisionForm;
use crate::http::i18n;
use crate::http::pages::{Browser, login_redirect, session_of, signed_in_post};
use crate::http::views::{DevicePage, html, message};

/// `POST /oauth2/device_authorization` (RFC 8628 §3.1, §3.2).
pub async fn authorization(State(state): State<AppState>, OAuthRequest(request, origin): OAuthRequest) -> Response {
    let mut response = match state.service.device_authorization(&request).await {
        Ok(answer) => {
            let mut response = axum::Json(answer).into_response();
            no_store(&mut response);
            response
        }
        Err(e) => ApiError(e).into_response(),
    };
    cors::apply(&state, origin.as_ref(), &request, &mut response).await;
    response
}

fn page(
    state: &AppState,
    session: &SignedIn,
    status: StatusCode,
    typed: &str,
    error: Option<&str>,
    prompt: Option<&DevicePrompt>,
) -> Response {
    let csrf = state.service.session_csrf(session);
    html(status, &DevicePage { csrf: &csrf, user_email: &session.user.email, typed, error, prompt })
}

/// The page for a refused code: the same words for unknown, expired and decided codes.
fn refused(state: &AppState, session: &SignedIn, typed: &str, refusal: &UserCodeRefusal) -> Response {
    match refusal {
        UserCodeRefusal::NotValid => {
            page(state, session, StatusCode::BAD_REQUEST, typed, Some(&i18n::text("account-device-not-valid", &[])), None)
        }
        UserCodeRefusal::TooManyAttempts { retry_after } => {
            let minutes = retry_after.div_ceil(60);
            let text = i18n::text("account-device-too-many", &[("count", FluentValue::from(minutes))]);
            let mut response = page(state, session, StatusCode::TOO_MANY_REQUESTS, typed, Some(&text), None);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            response
        }
    }
}

/// `GET /device` (`?user_code=` from `verification_uri_complete` fills the field in).
pub async fn form(State(state): State<AppState>, browser: Browser, uri: Uri) -> Response {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
    let typed = pairs.into_iter().find(|(k, _)| k == "user_code").map(|(_, v)| v).unwrap_or_default();
    let typed: String = typed.chars().take(16).collect();
    let session = match session_of(&state, &browser).await {
        Ok(Some(session)) => session,
        Ok(None) => {
            let back = if typed.is_empty() {
                VERIFICATION_PATH.to_owned()
            } else {
                format!("{VERIFICATION_PATH}?{}", serde_urlencoded::to_string([("user_code", &typed)]).unwrap_or_default())
            };
            return login_redirect(&back);
        }
        Err(page) => return page,
    };
    page(&state, &session, StatusCode::OK, &typed, None, None)
}

/// `POST /device`: the code entered; shows what it asks for, with Allow and Deny.
pub async fn lookup(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_post::<DecisionForm>(&state, &browser, &body).await?;
    let typed = form.user_code.as_str();
    Ok(match state.service.device_prompt(&session, typed, browser.peer).await? {
        Ok(prompt) => page(&state, &session, StatusCode::OK, typed, None, Some(&prompt)),
        Err(refusal) => refused(&state, &session, typed, &refusal),
    })
}

/// `POST /device/decision`: Allow or Deny.
pub async fn decision(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_post::<DecisionForm>(&state, &browser, &body).await?;
    let Some(approve) = form.allowed() else { return Ok(super::pages::no_choice()) };
    let typed = form.user_code.as_str();
    Ok(match state.service.device_decide(&session, typed, approve, browser.peer).await? {
        Ok(true) if approve => {
            message(StatusCode::OK, &i18n::text("account-device-connected", &[]), &i18n::text("account-device-connected-text", &[]))
        }
        Ok(true) => message(StatusCode::OK, &i18n::text("account-device-denied", &[]), &i18n::text("account-device-denied-text", &[])),
        Ok(false) => message(
            StatusCode::BAD_REQUEST,
            &i18n::text("account-device-code-used", &[]),
            &i18n::text("account-device-code-used-text", &[]),
        ),
        Err(refusal) => refused(&state, &session, typed, &refusal),
    })
}
