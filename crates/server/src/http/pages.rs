//! The browser-facing endpoints: `/oauth2/authorize` and its consent and approval forms,
//! `/login`, `/logout` (also RP-initiated at `/oauth2/logout`), the one-time `/setup/…` link,
//! the signed-in home page and the connected-applications page.
//!
//! CSRF: every form carries a token that is an HMAC of the browser's cookie (the session
//! cookie once signed in, a pre-login cookie before), and every POST must come from our own
//! origin when the browser says where it comes from (`Origin`, `Sec-Fetch-Site`). Redirects
//! after a POST are 303, so a password is never re-posted (R13).

use std::collections::HashMap;
use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use fluent_bundle::FluentValue;
use serde::de::DeserializeOwned;
use tessera_core::model::User;
use tessera_core::params::Params;
use tessera_service::ServiceError;
use tessera_service::authorization::{AuthorizeOutcome, ConsentDecision};
use tessera_service::passkeys::Purpose;
use tessera_service::second_factor::{Proof, SignIn};
use tessera_service::secrets::plausible_token;
use tessera_service::session::{NewSession, SignInFrom, SignedIn};

use crate::AppState;
use crate::error::{PageResult, no_store, page_for};
use crate::http::extract::client_ip;
use crate::http::forms::{ClientIdForm, DecisionForm, FormBody, LoginForm, LoginMfaForm, LogoutRequest, PasskeySignInForm, SetupForm};
use crate::http::i18n;
use crate::http::sso;
use crate::http::views::{
    ApprovalPage, ConnectedApp, ConnectedAppsPage, ConsentPage, LoginMfaPage, LoginPage, LogoutPage, PasskeySignInPage, SetupPage, html,
    message,
};

/// What a page handler knows about the browser: its address, its cookies, and whether the
/// request came from one of our own pages.
pub struct Browser {
    pub(crate) peer: IpAddr,
    pub(crate) cookies: HashMap<String, String>,
    pub(crate) same_origin: bool,
    pub(crate) names: CookieNames,
    /// The `User-Agent`, kept with a session it signs in (the user's list of browsers).
    pub(crate) user_agent: Option<String>,
}

/// Cookie names and flags: over HTTPS the `__Host-` prefix and `Secure` (B09).
#[derive(Clone, Copy)]
pub(crate) struct CookieNames {
    session: &'static str,
    pre_login: &'static str,
    /// A sign-in waiting for its second factor.
    second_factor: &'static str,
    /// A secret the next page shows once (`Tessera::fresh_secret_mark`).
    pub(crate) fresh_secret: &'static str,
    /// A sign-in gone to an organization's identity provider (sealed; `Tessera::sso_start`).
    pub(crate) sso: &'static str,
    pub(crate) secure: bool,
}

impl CookieNames {
    fn for_issuer(issuer: &str) -> Self {
        if issuer.starts_with("https://") {
            CookieNames {
                session: "__Host-tessera_session",
                pre_login: "__Host-tessera_csrf",
                second_factor: "__Host-tessera_mfa",
                fresh_secret: "__Host-tessera_fresh",
                sso: "__Host-tessera_sso",
                secure: true,
            }
        } else {
            CookieNames {
                session: "tessera_session",
                pre_login: "tessera_csrf",
                second_factor: "tessera_mfa",
                fresh_secret: "tessera_fresh",
                sso: "tessera_sso",
                secure: false,
            }
        }
    }
}

impl Browser {
    /// Where a sign-in from this browser comes from.
    pub(crate) fn sign_in_from(&self) -> SignInFrom {
        SignInFrom { peer: self.peer, user_agent: self.user_agent.clone() }
    }

    pub(crate) fn session_cookie(&self) -> Option<&str> {
        self.cookies.get(self.names.session).map(String::as_str)
    }

    fn pre_login_cookie(&self) -> Option<&str> {
        self.cookies.get(self.names.pre_login).map(String::as_str).filter(|v| plausible_token(v))
    }

    pub(crate) fn set_cookie(&self, name: &str, value: &str, max_age: i64) -> HeaderValue {
        let secure = if self.names.secure { "; Secure" } else { "" };
        let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("tessera_invalid=; Max-Age=0"))
    }
}

impl FromRequestParts<AppState> for Browser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let issuer = state.service.issuer();
        let mut cookies = HashMap::new();
        for value in parts.headers.get_all(header::COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            for pair in text.split(';') {
                if let Some((name, value)) = pair.trim().split_once('=') {
                    // The first cookie of a name wins: it is the most specific path.
                    cookies.entry(name.to_owned()).or_insert_with(|| value.to_owned());
                }
            }
        }
        let header_text = |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
        // Browsers that send Fetch metadata say where a request comes from; only our own pages
        // (or the user typing the address) may post our forms. Such a browser sends `Origin: null`
        // from a page under `Referrer-Policy: no-referrer` (the token generator's), which its
        // `Sec-Fetch-Site: same-origin` vouches for; without Fetch metadata the origin must be ours.
        let fetch_site = parts.headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let origin = header_text(header::ORIGIN);
        let same_origin = match fetch_site {
            Some(site) => matches!(site, "same-origin" | "none") && origin.is_none_or(|o| o == origin_of(issuer) || o == "null"),
            None => origin.is_none_or(|o| o == origin_of(issuer)),
        };
        let user_agent = header_text(header::USER_AGENT).map(str::to_owned);
        Ok(Browser { peer: client_ip(parts, state), cookies, same_origin, names: CookieNames::for_issuer(issuer), user_agent })
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

pub(crate) fn redirect(status: StatusCode, location: &str) -> Response {
    let mut response = status.into_response();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
        }
        Err(_) => {
            return message(
                StatusCode::BAD_REQUEST,
                &i18n::text("account-cannot-continue", &[]),
                &i18n::text("account-bad-return-address", &[]),
            );
        }
    }
    no_store(&mut response);
    response
}

pub(crate) fn forbidden() -> Response {
    message(StatusCode::FORBIDDEN, &i18n::text("account-form-expired", &[]), &i18n::text("account-form-expired-text", &[]))
}

/// Only paths on this server: never `//host` or `/\host`, which browsers treat as another host.
pub(crate) fn safe_return_to(value: Option<&str>) -> &str {
    match value {
        Some(v) if v.starts_with('/') && !v.starts_with("//") && !v.starts_with("/\\") && !v.chars().any(char::is_control) => v,
        _ => "/",
    }
}

/// The authorize query to return to after login: without `prompt=login`, which that login has
/// just satisfied (otherwise it would ask again forever).
fn return_after_login(query: &str) -> String {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let kept: Vec<(String, String)> = pairs
        .into_iter()
        .filter_map(|(k, v)| {
            if k != "prompt" {
                return Some((k, v));
            }
            let rest: Vec<&str> = v.split(' ').filter(|p| *p != "login" && !p.is_empty()).collect();
            (!rest.is_empty()).then(|| (k, rest.join(" ")))
        })
        .collect();
    format!("/oauth2/authorize?{}", serde_urlencoded::to_string(kept).unwrap_or_default())
}

pub(crate) fn login_redirect(return_to: &str) -> Response {
    login_redirect_with(StatusCode::FOUND, return_to)
}

fn login_redirect_with(status: StatusCode, return_to: &str) -> Response {
    let query = serde_urlencoded::to_string([("return_to", return_to)]).unwrap_or_default();
    redirect(status, &format!("/login?{query}"))
}

/// The signed-in user of a page. One whose organization requires a second factor they have not
/// set up yet is sent to set one up (SPEC §11): every page but that one and signing out answers
/// with the way there.
pub(crate) async fn session_of(state: &AppState, browser: &Browser) -> Result<Option<SignedIn>, Response> {
    let session = session_while_enrolling(state, browser).await?;
    if session.as_ref().is_some_and(|s| s.must_enrol) {
        return Err(redirect(StatusCode::SEE_OTHER, ENROLMENT_PAGE));
    }
    Ok(session)
}

/// Where a member who must set up a second factor is sent.
pub(crate) const ENROLMENT_PAGE: &str = "/settings/security?done=enrol";

/// The signed-in user, also while they must still set up a second factor: for the security
/// page and signing out.
pub(crate) async fn session_while_enrolling(state: &AppState, browser: &Browser) -> Result<Option<SignedIn>, Response> {
    state.service.current_session(browser.session_cookie()).await.map_err(|e| page_for(&e))
}

/// Turns the service's answer into a page or a redirect. `query` is the authorization request,
/// posted back by the consent and approval forms; `after_post` picks 303 over 302.
fn render_outcome(state: &AppState, session: Option<&SignedIn>, query: &str, outcome: AuthorizeOutcome, after_post: bool) -> Response {
    let found = if after_post { StatusCode::SEE_OTHER } else { StatusCode::FOUND };
    match outcome {
        AuthorizeOutcome::ErrorPage(error) => {
            message(StatusCode::BAD_REQUEST, &i18n::text("account-request-failed", &[]), &error.description)
        }
        AuthorizeOutcome::Redirect(url) => redirect(found, &url),
        AuthorizeOutcome::Login => login_redirect_with(found, &return_after_login(query)),
        AuthorizeOutcome::Consent(prompt) => {
            let Some(session) = session else { return login_redirect_with(found, &return_after_login(query)) };
            let csrf = state.service.session_csrf(session);
            html(
                StatusCode::OK,
                &ConsentPage {
                    csrf: &csrf,
                    request: query,
                    client_name: &prompt.client_name,
                    owner: &prompt.owner,
                    user_email: &prompt.user_email,
                    scopes: &prompt.scopes,
                    organizations: &prompt.organizations,
                },
            )
        }
        AuthorizeOutcome::Approval(prompt) => {
            let Some(session) = session else { return login_redirect_with(found, &return_after_login(query)) };
            let csrf = state.service.session_csrf(session);
            html(
                StatusCode::OK,
                &ApprovalPage {
                    csrf: &csrf,
                    request: query,
                    client_name: &prompt.client_name,
                    owner: &prompt.owner,
                    org_name: &prompt.org_name,
                    user_email: &session.user.email,
                    already_approved: prompt.already_approved,
                    scopes: &prompt.scopes,
                },
            )
        }
    }
}

/// What a step-up page (`step_up.html`) says the confirmation is for, after "To", in the reader's
/// language. The handlers name the action by its English phrase; one this table lacks is shown
/// as it is.
pub(crate) fn step_up_purpose(what: &str) -> String {
    match what {
        "add a second factor" => i18n::text("account-step-up-to-add-second-factor", &[]),
        "add a passkey" => i18n::text("account-step-up-to-add-passkey", &[]),
        "remove a passkey" => i18n::text("account-step-up-to-remove-passkey", &[]),
        "show the secret" => i18n::text("account-step-up-to-show-secret", &[]),
        "make a new secret" => i18n::text("account-step-up-to-make-secret", &[]),
        "change a member's role" => i18n::text("account-step-up-to-change-role", &[]),
        "change the organization's settings" => i18n::text("account-step-up-to-change-settings", &[]),
        other => other.to_owned(),
    }
}

/// `GET /oauth2/authorize`.
pub async fn authorize(State(state): State<AppState>, browser: Browser, uri: Uri) -> PageResult {
    authorization_request(&state, &browser, uri.query().unwrap_or("").as_bytes(), false).await
}

/// `POST /oauth2/authorize`: the same request as a form body (OIDC Core §3.1.2.1), answered
/// exactly as the `GET`, except that redirects are 303 (RFC 9700 §4.12: a 307 would re-post the
/// body to the client). The body alone is the request; a query string beside it is not read.
pub async fn authorize_form(State(state): State<AppState>, browser: Browser, uri: Uri, headers: HeaderMap, body: Bytes) -> PageResult {
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = media.split(';').next().unwrap_or("").trim();
    if !body.is_empty() && !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Ok(message(
            StatusCode::BAD_REQUEST,
            &i18n::text("account-request-failed", &[]),
            &i18n::text("account-authorize-form-only", &[]),
        ));
    }
    // The session cookie is SameSite=Lax, so a browser leaves it out of the cross-site POST a
    // client's page makes, and every user would look signed out (`prompt=none` could never
    // succeed). Without the cookie, the request goes on as the same GET, which the browser
    // sends with it.
    if browser.session_cookie().is_none() {
        return match Params::from_form(&body) {
            // `Params::from_form` accepts only UTF-8, so the body is the query as it is.
            Ok(_) => Ok(redirect(StatusCode::SEE_OTHER, &format!("{}?{}", uri.path(), String::from_utf8_lossy(&body)))),
            Err(e) => Ok(message(StatusCode::BAD_REQUEST, &i18n::text("account-request-failed", &[]), &e.description)),
        };
    }
    authorization_request(&state, &browser, &body, true).await
}

/// An authorization request, form-encoded (a query or a form body). One that cannot be read
/// (not UTF-8, a parameter repeated) is an error page: its redirect URI cannot be trusted.
async fn authorization_request(state: &AppState, browser: &Browser, request: &[u8], after_post: bool) -> PageResult {
    let params = match Params::from_form(request) {
        Ok(params) => params,
        Err(e) => return Ok(message(StatusCode::BAD_REQUEST, &i18n::text("account-request-failed", &[]), &e.description)),
    };
    // `Params::from_form` accepts only UTF-8, so this is the whole request.
    let query = std::str::from_utf8(request).unwrap_or_default();
    let session = session_of(state, browser).await?;
    match state.service.authorize(&params, session.as_ref()).await {
        Ok(outcome) => Ok(render_outcome(state, session.as_ref(), query, outcome, after_post)),
        Err(e) => Err(e.into()),
    }
}

/// A POST from one of our forms by a signed-in browser: the session and the form's fields,
/// after the origin and CSRF checks.
pub(crate) async fn signed_in_post<T: DeserializeOwned>(
    state: &AppState,
    browser: &Browser,
    body: &Bytes,
) -> Result<(SignedIn, T), Response> {
    posted_by(state, browser, session_of(state, browser).await?, body)
}

/// The fields of a form `session` (the browser's, if signed in) posted: refused unless it came
/// from our origin with this session's CSRF token, and its fields read (`http::forms`). Every
/// signed-in form goes through here, the portal's too.
// The refusal is the page answered, as in every async handler helper here; its size does not
// matter once per form post.
#[allow(clippy::result_large_err)]
pub(crate) fn posted_by<T: DeserializeOwned>(
    state: &AppState,
    browser: &Browser,
    session: Option<SignedIn>,
    body: &Bytes,
) -> Result<(SignedIn, T), Response> {
    let session = session.filter(|_| browser.same_origin).ok_or_else(forbidden)?;
    let Some(form) = FormBody::parse(body) else {
        return Err(message(
            StatusCode::BAD_REQUEST,
            &i18n::text("account-form-unreadable", &[]),
            &i18n::text("account-form-unreadable-text", &[]),
        ));
    };
    if !state.service.session_csrf_matches(&session, form.csrf_token()) {
        return Err(forbidden());
    }
    Ok((session, form.read().ok_or_else(forbidden)?))
}

/// The answer to a consent form without Allow or Deny.
pub(crate) fn no_choice() -> Response {
    message(StatusCode::BAD_REQUEST, &i18n::text("account-request-failed", &[]), &i18n::text("account-choose-allow-deny", &[]))
}

/// `POST /oauth2/authorize/decision`: Allow or Deny on the consent page.
pub async fn consent_decision(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_post::<DecisionForm>(&state, &browser, &body).await?;
    let query = form.request.as_str();
    let Some(allow) = form.allowed() else { return Ok(no_choice()) };
    let decision = if allow { ConsentDecision::Allow } else { ConsentDecision::Deny };
    let Ok(params) = Params::from_form(query.as_bytes()) else { return Err(forbidden().into()) };
    let chose = Some(form.membership.as_str()).filter(|m| !m.is_empty());
    match state.service.decide_consent(&params, &session, decision, chose).await {
        Ok(outcome) => Ok(render_outcome(&state, Some(&session), query, outcome, true)),
        Err(e) => Err(e.into()),
    }
}

/// `POST /oauth2/authorize/approve`: an org admin's Approve.
pub async fn approve(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_post::<DecisionForm>(&state, &browser, &body).await?;
    let query = form.request.as_str();
    let Ok(params) = Params::from_form(query.as_bytes()) else { return Err(forbidden().into()) };
    match state.service.approve_from_browser(&params, &session).await {
        Ok(outcome) => Ok(render_outcome(&state, Some(&session), query, outcome, true)),
        Err(e) => Err(e.into()),
    }
}

/// The pre-login cookie (made when missing) and the CSRF token bound to it.
pub(crate) fn pre_login_csrf(state: &AppState, browser: &Browser) -> Result<(String, Option<HeaderValue>), ServiceError> {
    match browser.pre_login_cookie() {
        Some(value) => Ok((state.service.csrf_token(&format!("pre:{value}")), None)),
        None => {
            let value = state.service.new_cookie_value()?;
            let cookie = browser.set_cookie(browser.names.pre_login, &value, 3600);
            Ok((state.service.csrf_token(&format!("pre:{value}")), Some(cookie)))
        }
    }
}

fn pre_login_csrf_ok(state: &AppState, browser: &Browser, form: &FormBody) -> bool {
    browser.same_origin && browser.pre_login_cookie().is_some_and(|v| state.service.csrf_matches(&format!("pre:{v}"), form.csrf_token()))
}

/// A POST from one of our signed-out forms (sign-in, setup, password reset): the form's
/// fields, after the origin and CSRF checks.
pub(crate) fn pre_login_form<T: DeserializeOwned>(state: &AppState, browser: &Browser, body: &Bytes) -> Option<T> {
    FormBody::parse(body).filter(|form| pre_login_csrf_ok(state, browser, form)).and_then(|form| form.read())
}

pub(crate) fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The email a login form starts with: the authorize request's `login_hint`, if any.
fn login_hint(return_to: &str) -> String {
    let query = return_to.split_once('?').map_or("", |(_, q)| q);
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    pairs.into_iter().find(|(k, _)| k == "login_hint").map(|(_, v)| v).unwrap_or_default()
}

async fn login_page(state: &AppState, status: StatusCode, csrf: &str, return_to: &str, email: &str, error: Option<&str>) -> Response {
    let (providers, by_email) = (sso::offered(state, return_to).await, sso::by_email(state).await);
    html(
        status,
        &LoginPage { csrf, return_to, email, notice: None, error, passkeys: state.service.passkeys_enabled(), providers, by_email },
    )
}

/// "Too many failed attempts" with the `Retry-After` it goes with.
fn locked_out(retry_after: u64, page: impl FnOnce(&str) -> Response) -> Response {
    with_retry_after(page(&locked_out_text(retry_after)), retry_after)
}

fn locked_out_text(retry_after: u64) -> String {
    i18n::text("account-locked-out", &[("count", FluentValue::from(retry_after.div_ceil(60)))])
}

fn with_retry_after(mut response: Response, retry_after: u64) -> Response {
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// `GET /login`.
pub async fn login_form(State(state): State<AppState>, browser: Browser, uri: Uri) -> PageResult {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
    let return_to = pairs.iter().find(|(k, _)| k == "return_to").map(|(_, v)| v.as_str());
    let return_to = safe_return_to(return_to);
    // A fixed table: no text from the URL is shown.
    let notice = match pairs.iter().find(|(k, _)| k == "done").map(|(_, v)| v.as_str()) {
        Some("password") => Some(i18n::text("account-login-password-set", &[])),
        Some("joined-sso") => Some(i18n::text("account-login-joined-sso", &[])),
        _ => None,
    };
    let (csrf, cookie) = pre_login_csrf(&state, &browser)?;
    let passkeys = state.service.passkeys_enabled();
    let (providers, by_email) = (sso::offered(&state, return_to).await, sso::by_email(&state).await);
    let email = login_hint(return_to);
    let page = LoginPage { csrf: &csrf, return_to, email: &email, notice: notice.as_deref(), error: None, passkeys, providers, by_email };
    Ok(with_cookie(html(StatusCode::OK, &page), cookie))
}

/// Sets the new session's cookie and sends the browser on with a 303.
pub(crate) fn signed_in_redirect(browser: &Browser, session: &NewSession, location: &str) -> Response {
    let mut response = redirect(StatusCode::SEE_OTHER, location);
    response.headers_mut().append(header::SET_COOKIE, browser.set_cookie(browser.names.session, &session.cookie, session.max_age));
    response
}

/// `POST /login`.
pub async fn login(State(state): State<AppState>, browser: Browser, body: Bytes) -> Response {
    let Some(form) = pre_login_form::<LoginForm>(&state, &browser, &body) else { return forbidden() };
    let return_to = safe_return_to(Some(&form.return_to));
    let (email, csrf) = (form.email.as_str(), form.csrf_token.as_str());
    // An email whose domain a provider claims, and no password: on to that provider.
    if form.password.is_empty()
        && let Ok(Some(provider)) = state.service.sso_provider_for_email(email).await
    {
        return sso::go_to_provider(&state, &browser, &provider.id, return_to, Some(email))
            .await
            .unwrap_or_else(IntoResponse::into_response);
    }
    match state.service.login(email, &form.password, browser.session_cookie(), &browser.sign_in_from(), return_to).await {
        Ok(SignIn::Done(session)) => signed_in_redirect(&browser, &session, return_to),
        Ok(SignIn::SecondFactor(pending)) => {
            let mut response = redirect(StatusCode::SEE_OTHER, "/login/mfa");
            response
                .headers_mut()
                .append(header::SET_COOKIE, browser.set_cookie(browser.names.second_factor, &pending.cookie, pending.max_age));
            response
        }
        Err(ServiceError::BadCredentials) => {
            login_page(&state, StatusCode::UNAUTHORIZED, csrf, return_to, email, Some(&i18n::text("account-login-wrong", &[]))).await
        }
        Err(ServiceError::TooManyAttempts { retry_after }) => {
            let text = locked_out_text(retry_after);
            let page = login_page(&state, StatusCode::TOO_MANY_REQUESTS, csrf, return_to, email, Some(&text)).await;
            with_retry_after(page, retry_after)
        }
        // Single sign-on required: the page says where to sign in instead.
        Err(ServiceError::Forbidden(why)) => {
            login_page(&state, StatusCode::FORBIDDEN, csrf, return_to, email, Some(&crate::error::sentence(&i18n::said(&why)))).await
        }
        Err(e) => page_for(&e),
    }
}

/// The page that asks the browser for a passkey to sign in with: a new ceremony each time.
async fn passkey_sign_in_page(state: &AppState, status: StatusCode, csrf: &str, return_to: &str, error: Option<&str>) -> PageResult {
    let prompt = state.service.begin_passkey_sign_in().await?.into();
    let password_href = format!("/login?{}", serde_urlencoded::to_string([("return_to", return_to)]).unwrap_or_default());
    let mut page = html(status, &PasskeySignInPage { csrf, return_to, prompt, error, password_href });
    no_store(&mut page);
    Ok(page)
}

/// `POST /login/passkey`: without an answer, the page that asks for a passkey (a ceremony is
/// made only on this explicit request, never by a page view); with the browser's answer, the
/// sign-in. A passkey verified the person on the device: no second step follows.
pub async fn login_passkey(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let Some(form) = pre_login_form::<PasskeySignInForm>(&state, &browser, &body) else { return Ok(forbidden()) };
    let return_to = safe_return_to(Some(&form.return_to));
    let csrf = form.csrf_token.as_str();
    if form.credential.is_empty() {
        return passkey_sign_in_page(&state, StatusCode::OK, csrf, return_to, None).await;
    }
    match state.service.sign_in_with_passkey(&form.ceremony, &form.credential, browser.session_cookie(), &browser.sign_in_from()).await {
        Ok(session) => Ok(signed_in_redirect(&browser, &session, return_to)),
        Err(ServiceError::BadCredentials) => {
            let error = i18n::text("account-login-passkey-not-checked", &[]);
            passkey_sign_in_page(&state, StatusCode::UNAUTHORIZED, csrf, return_to, Some(&error)).await
        }
        Err(ServiceError::TooManyAttempts { retry_after }) => {
            let text = locked_out_text(retry_after);
            let page = login_page(&state, StatusCode::TOO_MANY_REQUESTS, csrf, return_to, "", Some(&text)).await;
            Ok(with_retry_after(page, retry_after))
        }
        Err(e) => Err(e.into()),
    }
}

fn sign_in_expired() -> Response {
    let mut page = message(StatusCode::NOT_FOUND, &i18n::text("account-mfa-expired", &[]), &i18n::text("account-mfa-expired-text", &[]));
    no_store(&mut page);
    page
}

/// `GET /login/mfa`: the second step of a sign-in whose password was right.
pub async fn login_mfa_form(State(state): State<AppState>, browser: Browser) -> PageResult {
    let pending = browser.cookies.get(browser.names.second_factor).map(String::as_str);
    let Some(user) = state.service.pending_sign_in(pending).await? else { return Ok(redirect(StatusCode::FOUND, "/login")) };
    let (csrf, cookie) = pre_login_csrf(&state, &browser)?;
    Ok(with_cookie(login_mfa_page(&state, &user, StatusCode::OK, &csrf, None).await?, cookie))
}

/// The second step's page: a code field, and a passkey button (a new ceremony each time it is
/// shown) when the user has a passkey.
async fn login_mfa_page(
    state: &AppState,
    user: &User,
    status: StatusCode,
    csrf: &str,
    error: Option<&str>,
) -> Result<Response, ServiceError> {
    let passkey = state.service.begin_passkey_check(user, Purpose::SecondFactor).await?.map(Into::into);
    let totp = state.service.has_totp(&user.id).await?;
    Ok(html(status, &LoginMfaPage { csrf, email: &user.email, error, passkey, totp }))
}

/// `POST /login/mfa`: a code of the authenticator app, a recovery code, or a passkey's answer.
pub async fn login_mfa(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let Some(form) = pre_login_form::<LoginMfaForm>(&state, &browser, &body) else { return Ok(forbidden()) };
    let Some(pending) = browser.cookies.get(browser.names.second_factor).map(String::as_str) else { return Ok(sign_in_expired()) };
    let csrf = form.csrf_token.as_str();
    let proof = match form.credential.is_empty() {
        true => Proof::Code(&form.code),
        false => Proof::Passkey { ceremony: &form.ceremony, credential: &form.credential },
    };
    match state.service.complete_sign_in(pending, proof, browser.session_cookie(), &browser.sign_in_from()).await {
        Ok((session, return_to)) => {
            let response = signed_in_redirect(&browser, &session, safe_return_to(Some(&return_to)));
            Ok(with_cookie(response, Some(browser.set_cookie(browser.names.second_factor, "", 0))))
        }
        Err(ServiceError::BadCredentials) => {
            let Some(user) = state.service.pending_sign_in(Some(pending)).await? else { return Ok(sign_in_expired()) };
            let error = match proof {
                Proof::Code(_) => i18n::text("account-mfa-wrong-code", &[]),
                Proof::Passkey { .. } => i18n::text("account-mfa-passkey-not-checked", &[]),
            };
            Ok(login_mfa_page(&state, &user, StatusCode::UNAUTHORIZED, csrf, Some(&error)).await?)
        }
        Err(ServiceError::TooManyAttempts { retry_after }) => {
            let Some(user) = state.service.pending_sign_in(Some(pending)).await? else { return Ok(sign_in_expired()) };
            // Locked out: no passkey ceremony is started for a page that cannot be used.
            let totp = state.service.has_totp(&user.id).await?;
            let page = |text: &str| {
                html(StatusCode::TOO_MANY_REQUESTS, &LoginMfaPage { csrf, email: &user.email, error: Some(text), passkey: None, totp })
            };
            Ok(locked_out(retry_after, page))
        }
        Err(ServiceError::NotFound(_)) => Ok(sign_in_expired()),
        Err(e) => Err(e.into()),
    }
}

async fn after_logout(state: &AppState, request: &LogoutRequest) -> Result<Option<String>, ServiceError> {
    fn given(value: &str) -> Option<&str> {
        (!value.is_empty()).then_some(value)
    }
    let (client_id, hint) = (given(&request.client_id), given(&request.id_token_hint));
    state.service.post_logout_redirect(client_id, hint, given(&request.post_logout_redirect_uri), given(&request.state)).await
}

fn signed_out_page() -> Response {
    let brand = crate::http::page::brand_name();
    message(
        StatusCode::OK,
        &i18n::text("account-signed-out", &[]),
        &i18n::text("account-signed-out-text", &[("name", FluentValue::from(brand))]),
    )
}

/// `GET /logout` and `GET /oauth2/logout`: asks for confirmation while signed in.
pub async fn logout_form(State(state): State<AppState>, browser: Browser, uri: Uri) -> PageResult {
    let Some(request) = FormBody::parse(uri.query().unwrap_or("").as_bytes()).and_then(|q| q.read::<LogoutRequest>()) else {
        return Ok(message(
            StatusCode::BAD_REQUEST,
            &i18n::text("account-logout-failed", &[]),
            &i18n::text("account-logout-malformed", &[]),
        ));
    };
    let session = session_while_enrolling(&state, &browser).await?;
    let Some(session) = session else {
        // Nobody to sign out: go on to where the client asked, when that is allowed.
        return match after_logout(&state, &request).await {
            Ok(Some(url)) => Ok(redirect(StatusCode::FOUND, &url)),
            Ok(None) => Ok(signed_out_page()),
            Err(e) => Err(e.into()),
        };
    };
    let csrf = state.service.session_csrf(&session);
    Ok(html(StatusCode::OK, &LogoutPage { csrf: &csrf, user_email: Some(&session.user.email), carry: request.carried() }))
}

/// `POST /logout`.
pub async fn logout(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let Some(form) = FormBody::parse(&body) else { return Err(forbidden().into()) };
    let Some(request) = form.read::<LogoutRequest>() else { return Err(forbidden().into()) };
    if !browser.same_origin {
        return Err(forbidden().into());
    }
    let session = session_while_enrolling(&state, &browser).await?;
    if let Some(session) = &session
        && !state.service.session_csrf_matches(session, form.csrf_token())
    {
        return Err(forbidden().into());
    }
    if let Err(e) = state.service.logout(browser.session_cookie()).await {
        return Err(e.into());
    }
    let clear = browser.set_cookie(browser.names.session, "", 0);
    let response = match after_logout(&state, &request).await {
        Ok(Some(url)) => redirect(StatusCode::SEE_OTHER, &url),
        Ok(None) => signed_out_page(),
        Err(e) => return Err(e.into()),
    };
    Ok(with_cookie(response, Some(clear)))
}

/// `GET /`: the portal for a signed-in user, the login page for anyone else (SPEC §6).
pub async fn home(State(state): State<AppState>, browser: Browser) -> Response {
    match session_of(&state, &browser).await {
        Ok(Some(_)) => redirect(StatusCode::FOUND, "/settings/api-clients"),
        Ok(None) => redirect(StatusCode::FOUND, "/login"),
        Err(page) => page,
    }
}

async fn default_org_name(state: &AppState) -> String {
    state.service.orgs().await.ok().and_then(|orgs| orgs.into_iter().next()).map_or_else(|| "default".into(), |o| o.name)
}

/// The answer to every `/setup/…` request once a user exists, and to a link that is not (or
/// no longer) the live one.
fn setup_not_found() -> Response {
    message(StatusCode::NOT_FOUND, &i18n::text("account-setup-not-valid", &[]), &i18n::text("account-setup-not-valid-text", &[]))
}

/// Whether the setup pages exist (no user yet): once one does, every `/setup/…` is a 404,
/// before any other check.
async fn setup_open(state: &AppState) -> Result<(), Response> {
    match state.service.setup_open().await {
        Ok(true) => Ok(()),
        Ok(false) => Err(setup_not_found()),
        Err(e) => Err(page_for(&e)),
    }
}

/// `GET /setup/{token}`.
pub async fn setup_form(State(state): State<AppState>, browser: Browser, Path(token): Path<String>) -> PageResult {
    setup_open(&state).await?;
    match state.service.setup_token_valid(&token).await {
        Ok(true) => {}
        Ok(false) => return Ok(setup_not_found()),
        Err(e) => return Err(e.into()),
    }
    let (csrf, cookie) = pre_login_csrf(&state, &browser)?;
    let org_name = default_org_name(&state).await;
    Ok(with_cookie(html(StatusCode::OK, &SetupPage { csrf: &csrf, token: &token, org_name: &org_name, email: "", error: None }), cookie))
}

/// `POST /setup/{token}`.
pub async fn setup(State(state): State<AppState>, browser: Browser, Path(token): Path<String>, body: Bytes) -> Response {
    if let Err(page) = setup_open(&state).await {
        return page;
    }
    let Some(form) = pre_login_form::<SetupForm>(&state, &browser, &body) else { return forbidden() };
    let email = form.email.as_str();
    match state.service.complete_setup(&token, email, &form.password, &browser.sign_in_from()).await {
        Ok(session) => signed_in_redirect(&browser, &session, "/"),
        Err(ServiceError::Invalid(reason)) => {
            let org_name = default_org_name(&state).await;
            let csrf = form.csrf_token.as_str();
            html(
                StatusCode::BAD_REQUEST,
                &SetupPage { csrf, token: &token, org_name: &org_name, email, error: Some(&i18n::said(&reason.message)) },
            )
        }
        Err(ServiceError::NotFound(_)) => setup_not_found(),
        Err(e) => page_for(&e),
    }
}

/// `GET /settings/connected-apps`: the applications the user allowed, each revocable.
pub async fn connected_apps(State(state): State<AppState>, browser: Browser) -> PageResult {
    let Some(session) = session_of(&state, &browser).await? else {
        return Err(login_redirect("/settings/connected-apps").into());
    };
    let apps = state.service.consents(&session.user).await?;
    let apps: Vec<ConnectedApp> =
        apps.into_iter().map(|(client_id, name, scope)| ConnectedApp { client_id, name, scope: scope.to_string() }).collect();
    let csrf = state.service.session_csrf(&session);
    let nav = crate::http::portal::nav(&session, "connected", None);
    Ok(html(StatusCode::OK, &ConnectedAppsPage { nav, csrf: &csrf, apps: &apps }))
}

/// `POST /settings/connected-apps/revoke`.
pub async fn revoke_app(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_post::<ClientIdForm>(&state, &browser, &body).await?;
    match state.service.revoke_consent(&session.user, &form.client_id).await {
        Ok(_) => Ok(redirect(StatusCode::SEE_OTHER, "/settings/connected-apps")),
        Err(e) => Err(e.into()),
    }
}

/// `GET /assets/tessera.css`.
pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", crate::http::views::STYLESHEET)
}

/// `GET /assets/brand.css`: the operator's colour (`--brand-color`) over the stylesheet's own;
/// a file, so the CSP needs no inline style.
pub async fn brand_stylesheet(State(state): State<AppState>) -> Response {
    // The brand lives as long as the process: its stylesheet is served as it was made at start.
    let brand: &'static crate::http::page::Brand = state.brand;
    match &brand.stylesheet {
        Some(css) => asset("text/css; charset=utf-8", css.as_str()),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /assets/brand-logo`: the operator's logo (`--brand-logo`), read once at start.
pub async fn brand_logo(State(state): State<AppState>) -> Response {
    let brand: &'static crate::http::page::Brand = state.brand;
    let Some(logo) = &brand.logo else { return StatusCode::NOT_FOUND.into_response() };
    let mut response = asset(logo.content_type, logo.bytes.as_slice());
    // An SVG opened on its own must not run script: it is an image, nothing more.
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"));
    response
}

#[derive(serde::Deserialize, Default)]
pub struct LanguageChoice {
    #[serde(default)]
    set: String,
    #[serde(default)]
    return_to: String,
}

/// `GET /language?set=de&return_to=/path`: the footer's switch. A cookie for a year, then back
/// to the page (a path of ours only: anything else goes to `/`).
pub async fn choose_language(browser: Browser, axum::extract::Query(choice): axum::extract::Query<LanguageChoice>) -> Response {
    let back = if choice.return_to.starts_with('/') && !choice.return_to.starts_with("//") && !choice.return_to.contains('\\') {
        choice.return_to.as_str()
    } else {
        "/"
    };
    let mut response = redirect(StatusCode::SEE_OTHER, back);
    if let Some(lang) = crate::http::i18n::Lang::parse(&choice.set) {
        response
            .headers_mut()
            .append(header::SET_COOKIE, browser.set_cookie(crate::http::page::LANGUAGE_COOKIE, lang.as_str(), 31_536_000));
    }
    response
}

/// `GET /assets/copy.js`: the copy buttons of the client page and the token generator.
pub async fn copy_script() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("../../assets/copy.js"))
}

/// One of our own assets (the stylesheet, the scripts), cached for an hour: files of ours, so
/// the CSP stays `'self'`.
pub(crate) fn asset(content_type: &'static str, body: impl IntoResponse) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    (headers, body).into_response()
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    use super::*;

    #[test]
    fn a_lock_out_names_its_minutes() {
        for (seconds, words) in [(60, "Try again in 1 minute."), (61, "Try again in 2 minutes."), (900, "Try again in 15 minutes.")] {
            let mut said = String::new();
            let response = locked_out(seconds, |text| {
                said = text.to_owned();
                StatusCode::TOO_MANY_REQUESTS.into_response()
            });
            assert_eq!(said, format!("Too many failed attempts. {words}"));
            assert_eq!(response.headers()[header::RETRY_AFTER], seconds.to_string().as_str());
        }
    }

    /// Every action a handler asks a step-up for is one the step-up page has words for: its
    /// English phrase is an arm of `step_up_purpose`.
    #[test]
    fn every_step_up_has_its_purpose_in_the_catalogue() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
        let table = std::fs::read_to_string(root.join("pages.rs")).unwrap();
        let mut asked = 0;
        for entry in std::fs::read_dir(root.join("portal")).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for (at, _) in text.match_indices("stepped_up(&") {
                let call = &text[at..];
                let call = &call[..call.find(".await").unwrap_or(call.len())];
                // The phrase: the one literal of the call that is not a path.
                let phrases: Vec<&str> = call.split('"').skip(1).step_by(2).filter(|s| !s.starts_with('/')).collect();
                assert_eq!(phrases.len(), 1, "{call}");
                assert!(table.contains(&format!("\"{}\" => i18n::{}", phrases[0], "text(")), "no words for {:?}", phrases[0]);
                asked += 1;
            }
        }
        assert!(asked >= 7, "the step-ups were found ({asked})");
    }
}
