//! `/settings/security` (SPEC §11): the signed-in user's email and whether it is verified, and
//! the password change. Every action here acts on the signed-in user only: no route takes a
//! user id.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use fluent_bundle::FluentValue;
use tessera_service::ServiceError;
use tessera_service::session::SignedIn;

use crate::http::forms::{ChangePasswordForm, CodeForm, CurrentPasswordForm, NewPasskeyForm, NoFields, PasskeyForm, SessionForm};

use super::{Done, Gate, nav, notice, signed_in_at, signed_in_form, signed_in_form_at, stepped_up};
use crate::AppState;
use crate::error::{PageResult, sentence};
use crate::http::dates::utc;
use crate::http::i18n;
use crate::http::pages::{Browser, redirect};
use crate::http::views::{Nav, PasskeyRow, PasskeySetupPage, RecoveryCodesPage, SecurityPage, SessionRow, TotpSetupPage, html};

const HERE: &str = "/settings/security";

/// "Firefox on Linux" from a `User-Agent`: enough for a person to tell their browsers apart.
fn describe_browser(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else { return i18n::text("account-unknown", &[]) };
    // Order matters: Edge and Opera say Chrome too, Chrome says Safari too.
    let browser = [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")]
        .iter()
        .find(|(marker, _)| ua.contains(marker))
        .map_or_else(|| i18n::text("account-a-browser", &[]), |(_, name)| (*name).to_owned());
    let system =
        [("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"), ("Mac OS X", "macOS"), ("Linux", "Linux")]
            .iter()
            .find(|(marker, _)| ua.contains(marker))
            .map(|(_, name)| *name);
    match system {
        Some(system) => {
            i18n::text("account-browser-on-system", &[("name", FluentValue::from(browser)), ("system", FluentValue::from(system))])
        }
        None => browser,
    }
}

/// What the page says above its sections, or beside the password form.
#[derive(Default)]
struct Messages {
    notice: Option<String>,
    error: Option<String>,
    password_error: Option<String>,
}

async fn security_page(state: &AppState, session: &SignedIn, messages: Messages) -> PageResult {
    let Messages { notice, error, password_error } = messages;
    // Until a member whose organization requires a second factor has one, the page says why
    // they are here.
    let notice = notice.or_else(|| if session.must_enrol { super::notice(Some("enrol")) } else { None });
    let user = &session.user;
    let sessions = state
        .service
        .browser_sessions(session)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            handle: s.handle,
            created: utc(s.created_at),
            last_seen: utc(s.last_seen_at),
            address: s.ip.unwrap_or_else(|| i18n::text("account-unknown", &[])),
            browser: describe_browser(s.user_agent.as_deref()),
            current: s.current,
        })
        .collect();
    let status = if password_error.is_some() || error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let factors = state.service.second_factors(session).await?;
    let passkeys = state
        .service
        .passkeys(session)
        .await?
        .into_iter()
        .map(|p| PasskeyRow {
            id: p.id,
            name: p.name,
            created: utc(p.created_at),
            last_used: p.last_used_at.map_or_else(|| i18n::text("account-never", &[]), utc),
        })
        .collect();
    let page = SecurityPage {
        nav: Nav { error, ..nav(session, "security", notice) },
        csrf: state.service.session_csrf(session),
        email: user.email.clone(),
        email_verified: user.email_verified_at.is_some(),
        mail_enabled: state.service.mail_enabled(),
        password_error,
        sessions,
        totp: factors.totp,
        recovery_codes_left: factors.recovery_codes_left,
        passkeys,
        passkeys_enabled: state.service.passkeys_enabled(),
    };
    Ok(html(status, &page))
}

/// `GET /settings/security`.
pub async fn security(State(state): State<AppState>, browser: Browser, Query(done): Query<Done>) -> PageResult {
    let session = signed_in_at(&state, &browser, HERE, Gate::WhileEnrolling).await?;
    security_page(&state, &session, Messages { notice: notice(done.done.as_deref()), ..Messages::default() }).await
}

/// `POST /settings/security/password`: the current password, the new one twice.
pub async fn change_password(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<ChangePasswordForm>(&state, &browser, &body).await?;
    let new_password = form.new_password.as_str();
    if new_password != form.confirm_password {
        let password_error = Some(i18n::text("account-new-passwords-differ", &[]));
        return security_page(&state, &session, Messages { password_error, ..Messages::default() }).await;
    }
    match state.service.change_password(&session, &form.current_password, new_password, browser.peer).await {
        Ok(()) => Ok(redirect(StatusCode::SEE_OTHER, &format!("{HERE}?done=password"))),
        Err(ServiceError::Invalid(why)) => {
            security_page(&state, &session, Messages { password_error: Some(sentence(&i18n::said(&why.message))), ..Messages::default() })
                .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /settings/security/verify-email`: mails a verification link.
pub async fn request_verification(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, NoFields {}) = signed_in_form(&state, &browser, &body).await?;
    let done = if state.service.request_email_verification(&session, browser.peer, crate::http::page::lang()).await? {
        "verification-sent"
    } else {
        "verification-not-sent"
    };
    Ok(redirect(StatusCode::SEE_OTHER, &format!("{HERE}?done={done}")))
}

/// `POST /settings/security/sessions/end`: signs out one of the user's other browsers.
pub async fn end_session(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<SessionForm>(&state, &browser, &body).await?;
    state.service.end_browser_session(&session, &form.session).await?;
    Ok(redirect(StatusCode::SEE_OTHER, &format!("{HERE}?done=session-ended")))
}

/// `POST /settings/security/sessions/end-others`: signs out every other browser of the user.
pub async fn end_other_sessions(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, NoFields {}) = signed_in_form(&state, &browser, &body).await?;
    state.service.end_other_browser_sessions(&session).await?;
    Ok(redirect(StatusCode::SEE_OTHER, &format!("{HERE}?done=sessions-ended")))
}

/// The set-up page of an authenticator app, answered to the POST that made its secret (a secret
/// never goes into a URL), and again after a wrong first code.
fn totp_setup_page(
    state: &AppState,
    session: &SignedIn,
    enrollment: tessera_service::second_factor::TotpEnrollment,
    error: Option<String>,
) -> axum::response::Response {
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let page = TotpSetupPage {
        nav: nav(session, "security", None),
        csrf: state.service.session_csrf(session),
        secret: enrollment.secret,
        uri: enrollment.uri,
        qr_svg: enrollment.qr_svg,
        error,
    };
    html(status, &page)
}

/// `POST /settings/security/totp`: a new authenticator secret, shown once to scan.
pub async fn begin_totp(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, NoFields {}) = signed_in_form_at(&state, &browser, &body, Gate::WhileEnrolling).await?;
    let session = stepped_up(&state, &browser, session, &body, "/settings/security/totp", "add a second factor", HERE).await?;
    state.service.begin_totp_enrollment(&session).await?;
    // Post/redirect/get: a reload shows the same secret, never a new one the app does not have.
    Ok(redirect(StatusCode::SEE_OTHER, "/settings/security/totp"))
}

/// `GET /settings/security/totp`: the app being set up (its secret and QR code), until the first
/// code confirms it; without one being set up, back to the security page.
pub async fn totp_setup(State(state): State<AppState>, browser: Browser) -> PageResult {
    let session = signed_in_at(&state, &browser, "/settings/security/totp", Gate::WhileEnrolling).await?;
    match state.service.totp_enrollment_in_progress(&session).await? {
        Some(enrollment) => Ok(totp_setup_page(&state, &session, enrollment, None)),
        None => Ok(redirect(StatusCode::SEE_OTHER, HERE)),
    }
}

/// `POST /settings/security/totp/confirm`: the first code turns the app on; the recovery codes
/// are shown once, in the answer.
pub async fn confirm_totp(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form_at::<CodeForm>(&state, &browser, &body, Gate::WhileEnrolling).await?;
    match state.service.confirm_totp_enrollment(&session, &form.code).await {
        Ok(codes) => Ok(html(StatusCode::OK, &RecoveryCodesPage { nav: nav(&session, "security", None), codes })),
        Err(ServiceError::Invalid(why)) => match state.service.totp_enrollment_in_progress(&session).await? {
            Some(enrollment) => Ok(totp_setup_page(&state, &session, enrollment, Some(sentence(&i18n::said(&why.message))))),
            None => Ok(redirect(StatusCode::SEE_OTHER, HERE)),
        },
        Err(e) => Err(e.into()),
    }
}

/// `POST /settings/security/totp/remove`: with the current password.
pub async fn remove_totp(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<CurrentPasswordForm>(&state, &browser, &body).await?;
    match state.service.remove_totp(&session, &form.current_password, browser.peer).await {
        Ok(()) => Ok(redirect(StatusCode::SEE_OTHER, &format!("{HERE}?done=totp-removed"))),
        Err(ServiceError::Invalid(why)) => {
            security_page(&state, &session, Messages { error: Some(sentence(&i18n::said(&why.message))), ..Messages::default() }).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The page that adds a passkey: a new ceremony each time it is shown (after a failure too).
async fn passkey_setup_page(state: &AppState, session: &SignedIn, name: String, error: Option<String>) -> PageResult {
    let prompt = state.service.begin_passkey_registration(session).await?.into();
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let page = PasskeySetupPage { nav: nav(session, "security", None), csrf: state.service.session_csrf(session), prompt, name, error };
    Ok(html(status, &page))
}

/// `POST /settings/security/passkeys/new`: the page that asks the browser for a new passkey.
pub async fn begin_passkey(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, NoFields {}) = signed_in_form_at(&state, &browser, &body, Gate::WhileEnrolling).await?;
    let session = stepped_up(&state, &browser, session, &body, "/settings/security/passkeys/new", "add a passkey", HERE).await?;
    passkey_setup_page(&state, &session, String::new(), None).await
}

/// `POST /settings/security/passkeys`: the browser's new passkey, checked and kept. A person's
/// first second factor comes with recovery codes, shown once in the answer.
pub async fn add_passkey(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form_at::<NewPasskeyForm>(&state, &browser, &body, Gate::WhileEnrolling).await?;
    match state.service.finish_passkey_registration(&session, &form.ceremony, &form.name, &form.credential).await {
        Ok(Some(codes)) => Ok(html(StatusCode::OK, &RecoveryCodesPage { nav: nav(&session, "security", None), codes })),
        Ok(None) => Ok(redirect(StatusCode::SEE_OTHER, &format!("{HERE}?done=passkey-added"))),
        Err(ServiceError::Invalid(why)) => passkey_setup_page(&state, &session, form.name, Some(sentence(&i18n::said(&why.message)))).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST /settings/security/passkeys/remove`: after confirming it's them.
pub async fn remove_passkey(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<PasskeyForm>(&state, &browser, &body).await?;
    let session = stepped_up(&state, &browser, session, &body, "/settings/security/passkeys/remove", "remove a passkey", HERE).await?;
    state.service.remove_passkey(&session, &form.passkey).await?;
    Ok(redirect(StatusCode::SEE_OTHER, &format!("{HERE}?done=passkey-removed")))
}

/// `GET /assets/webauthn.js`: the passkey pages' one WebAuthn call (a file, so the CSP stays
/// `'self'`).
pub async fn webauthn_script() -> axum::response::Response {
    crate::http::pages::asset("text/javascript; charset=utf-8", include_str!("../../../assets/webauthn.js"))
}

#[cfg(test)]
mod tests {
    use super::describe_browser;

    #[test]
    fn browsers_are_named_by_their_user_agent() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", "Firefox on Linux"),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/139.0.0.0 Safari/537.36 Edg/139.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1",
                "Safari on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 15) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/139.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            ("curl/8.5.0", "a browser"),
        ];
        for (ua, expected) in cases {
            assert_eq!(describe_browser(Some(ua)), expected, "{ua}");
        }
        assert_eq!(describe_browser(None), "unknown");
    }
}
