//! Single sign-on's pages (SPEC §15): "Continue with NAME" on the sign-in page, the start of a
//! sign-in at an organization's identity provider (`POST /login/sso`), and the callback
//! the provider sends the browser back to (`/login/sso/callback`). The service makes and checks
//! the flow (`tessera_service::sso`); here it meets the browser: the sealed cookie that carries
//! the sign-in there and back, the session cookie, and a clear page when it did not go through.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use fluent_bundle::FluentValue;

use crate::AppState;
use crate::error::{PageResult, sentence};
use crate::http::forms::SsoStartForm;
use crate::http::i18n;
use crate::http::pages::{Browser, forbidden, pre_login_form, redirect, safe_return_to, signed_in_redirect, with_cookie};
use crate::http::views::{MessagePage, html};

/// The providers a sign-in page offers, as (text, provider id): those of the organization whose
/// application's authorization request the page came from. A failure to look them up only
/// hides them.
pub(crate) async fn offered(state: &AppState, return_to: &str) -> Vec<(String, String)> {
    let query = return_to.split_once('?').map_or("", |(_, q)| q);
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let Some((_, client_id)) = pairs.iter().find(|(k, _)| k == "client_id") else { return Vec::new() };
    let providers = state.service.sso_providers_for_client(client_id).await.unwrap_or_default();
    providers.into_iter().map(|p| (i18n::text("account-continue-with", &[("name", FluentValue::from(p.name))]), p.id)).collect()
}

/// Whether the sign-in page says that a company email signs in without a password.
pub(crate) async fn by_email(state: &AppState) -> bool {
    state.service.sso_by_email_offered().await.unwrap_or(false)
}

/// On to the provider: the sign-in sealed in a cookie, the browser sent to the provider's
/// authorization endpoint. Only from a form of ours (its pre-login CSRF token checked), so no
/// other site can start a sign-in for a browser (login CSRF through a provider it runs).
pub(crate) async fn go_to_provider(
    state: &AppState,
    browser: &Browser,
    provider: &str,
    return_to: &str,
    login_hint: Option<&str>,
) -> PageResult {
    let started = state.service.sso_start(provider, safe_return_to(Some(return_to)), login_hint).await?;
    let cookie = browser.set_cookie(browser.names.sso, &started.pending, tessera_service::sso::PENDING_SECONDS);
    Ok(with_cookie(redirect(StatusCode::SEE_OTHER, &started.authorize_url), Some(cookie)))
}

/// `POST /login/sso`: "Continue with NAME".
pub async fn start(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let Some(form) = pre_login_form::<SsoStartForm>(&state, &browser, &body) else { return Ok(forbidden()) };
    go_to_provider(&state, &browser, &form.provider, &form.return_to, None).await
}

#[derive(serde::Deserialize, Default)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /login/sso/callback`: the provider's answer. Signed in, on to where the sign-in began;
/// otherwise a page that says why (audited by the service). The cookie is spent either way.
pub async fn callback(State(state): State<AppState>, browser: Browser, Query(query): Query<CallbackQuery>) -> Response {
    let pending = browser.cookies.get(browser.names.sso).map(String::as_str);
    let clear = browser.set_cookie(browser.names.sso, "", 0);
    let finished = state
        .service
        .sso_finish(
            pending,
            query.state.as_deref(),
            query.code.as_deref(),
            query.error.as_deref(),
            browser.session_cookie(),
            &browser.sign_in_from(),
        )
        .await;
    let response = match finished {
        Ok(done) => signed_in_redirect(&browser, &done.session, safe_return_to(Some(&done.return_to))),
        Err(error) => {
            let (status, why) = match &error {
                tessera_service::ServiceError::Forbidden(why) => (StatusCode::FORBIDDEN, i18n::said(why)),
                tessera_service::ServiceError::Invalid(why) => (StatusCode::BAD_REQUEST, i18n::said(&why.message)),
                tessera_service::ServiceError::Off(why) => (StatusCode::SERVICE_UNAVAILABLE, i18n::said(why)),
                _ => return with_cookie(crate::error::page_for(&error), Some(clear)),
            };
            let title = i18n::text("account-sso-failed", &[]);
            let again = i18n::text("account-sso-sign-in-again", &[]);
            let message = sentence(&why);
            html(
                status,
                &MessagePage {
                    title: &title,
                    message: &message,
                    is_error: true,
                    link: Some(("/login", &again)),
                    request_id: MessagePage::request_id_for(status),
                },
            )
        }
    };
    with_cookie(response, Some(clear))
}
