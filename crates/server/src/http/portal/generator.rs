//! The access-token generator (`/tools/access-token`): a token at once by client credentials, or
//! the authorization-code walk-through with its callback.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fluent_bundle::FluentValue;
use tessera_core::model::GrantType;
use tessera_proto::{ClientView, TokenResponse};
use tessera_service::ServiceError;
use tessera_service::admin::{Actor, ClientEdit};
use tessera_service::session::SignedIn;

use crate::http::forms::{ClientIdForm, GeneratorForm};

use super::{acting, nav, notice, signed_in, signed_in_form};
use crate::AppState;
use crate::error::PageResult;
use crate::http::pages::{Browser, redirect, with_cookie};
use crate::http::views::{GeneratorClient, GeneratorPage, GeneratorResult, html};
use crate::http::{dates, i18n};

const GENERATOR_COOKIE: &str = "tessera_generator";

/// The cookie that carries a token just got across the redirect to the generator's page
/// (post/redirect/get: a reload shows the page, it does not ask for another token). Sealed for
/// the session, read once, and short-lived.
const GENERATED_COOKIE: &str = "tessera_generated";
const GENERATED_PURPOSE: &str = "generated-token";
const GENERATED_SECONDS: i64 = 120;

/// What the generator got, on its way to the page.
#[derive(serde::Serialize, serde::Deserialize)]
struct Generated {
    client_id: String,
    /// Got by client credentials: the page shows how to get the next one with curl.
    by_client_credentials: bool,
    issued_at: i64,
    token: TokenResponse,
}

/// The generator's page for `generated`, by a redirect carrying it in the sealed cookie.
fn show_generated(state: &AppState, browser: &Browser, session: &SignedIn, generated: &Generated) -> Response {
    let sealed = serde_json::to_vec(generated)
        .map_err(|e| ServiceError::Internal(e.to_string()))
        .and_then(|json| state.service.seal_for_session(session, GENERATED_PURPOSE, &json));
    let sealed = match sealed {
        Ok(sealed) => sealed,
        Err(e) => return crate::error::page_for(&e),
    };
    let cookie = browser.set_cookie(GENERATED_COOKIE, &sealed, GENERATED_SECONDS);
    let query = serde_urlencoded::to_string([("client_id", generated.client_id.as_str())]).unwrap_or_default();
    with_cookie(redirect(StatusCode::SEE_OTHER, &format!("/tools/access-token?{query}")), Some(cookie))
}

/// How the generator gets a client a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ClientCredentials,
    CodeFlow,
    Implicit,
    NoTokenGrant,
}

impl Kind {
    fn of(view: &ClientView) -> Kind {
        let has = |g: GrantType| view.grants.iter().any(|name| name == g.as_str());
        if has(GrantType::ClientCredentials) {
            Kind::ClientCredentials
        } else if has(GrantType::AuthorizationCode) {
            Kind::CodeFlow
        } else if has(GrantType::Implicit) {
            Kind::Implicit
        } else {
            Kind::NoTokenGrant
        }
    }

    /// The kind in words, after the client's name in the page's list.
    fn words(self) -> String {
        match self {
            Kind::ClientCredentials => i18n::text("portal-generator-kind-client-credentials", &[]),
            Kind::CodeFlow => i18n::text("portal-generator-kind-code", &[]),
            Kind::Implicit => i18n::text("portal-generator-kind-implicit", &[]),
            Kind::NoTokenGrant => i18n::text("portal-generator-kind-none", &[]),
        }
    }
}

struct GeneratorInput<'a> {
    selected: String,
    scope: String,
    needs_callback: Option<String>,
    result: Option<GeneratorResult>,
    implicit_state: Option<String>,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
    session: &'a SignedIn,
}

impl<'a> GeneratorInput<'a> {
    fn new(session: &'a SignedIn, selected: &str) -> Self {
        GeneratorInput {
            selected: selected.to_owned(),
            scope: String::new(),
            needs_callback: None,
            result: None,
            implicit_state: None,
            error: None,
            notice: None,
            status: StatusCode::OK,
            session,
        }
    }

    /// The page says why no token came, with a 400.
    fn fail(&mut self, text: String) {
        self.error = Some(text);
        self.status = StatusCode::BAD_REQUEST;
    }
}

async fn generator_page(state: &AppState, input: GeneratorInput<'_>) -> PageResult {
    let user = &input.session.user;
    let owned = match state.service.list_clients(&Actor::user(user.clone()), None).await {
        Ok(all) => all.into_iter().filter(|c| c.owner_id == user.id.as_str()).collect::<Vec<_>>(),
        Err(e) => return Err(e.into()),
    };
    let clients =
        owned.iter().map(|c| GeneratorClient { id: c.client_id.clone(), name: c.name.clone(), kind: Kind::of(c).words() }).collect();
    let mut page_nav = nav(input.session, "generator", input.notice);
    page_nav.error = input.error;
    let page = GeneratorPage {
        nav: page_nav,
        csrf: state.service.session_csrf(input.session),
        clients,
        selected: input.selected,
        scope: input.scope,
        callback: state.service.generator_redirect_uri(),
        needs_callback: input.needs_callback,
        result: input.result,
        implicit: input.implicit_state.is_some(),
        expected_state: input.implicit_state.unwrap_or_default(),
    };
    // The page shows a token (L02): no Referer leaves it, whatever link is followed from it.
    let mut response = html(input.status, &page);
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(response)
}

fn result_of(state: &AppState, generated: Generated) -> GeneratorResult {
    let Generated { client_id, by_client_credentials, issued_at, token } = generated;
    let client = by_client_credentials.then_some(client_id);
    let issuer = state.service.issuer().trim_end_matches('/').to_owned();
    let api = state.service.settings().api_base_url.clone().unwrap_or_else(|| "$API_URL".to_owned());
    GeneratorResult {
        claims: decoded(&token.access_token),
        curl_api: format!("curl -H \"Authorization: Bearer {}\" {api}/", token.access_token),
        api_named: state.service.settings().api_base_url.is_some(),
        curl_token: client.map(|id| format!("curl -u \"{id}:$CLIENT_SECRET\" -d grant_type=client_credentials {issuer}/oauth2/token")),
        expires_at: dates::utc(issued_at + token.expires_in as i64),
        expires_in: token.expires_in,
        scope: token.scope.unwrap_or_default(),
        access_token: token.access_token,
    }
}

#[derive(serde::Deserialize, Default)]
pub struct GeneratorQuery {
    client_id: Option<String>,
    done: Option<String>,
}

/// `GET /tools/access-token`: the page, with the token just got when the redirect after getting
/// it brought one (shown once: the cookie is cleared).
pub async fn generator(State(state): State<AppState>, browser: Browser, Query(query): Query<GeneratorQuery>) -> PageResult {
    let session = signed_in(&state, &browser, "/tools/access-token").await?;
    let mut input = GeneratorInput::new(&session, query.client_id.as_deref().unwrap_or_default());
    input.notice = notice(query.done.as_deref());
    let Some(sealed) = browser.cookies.get(GENERATED_COOKIE) else { return generator_page(&state, input).await };
    let generated = state
        .service
        .open_for_session(&session, GENERATED_PURPOSE, sealed)
        .and_then(|json| serde_json::from_slice::<Generated>(&json).ok());
    if let Some(generated) = generated {
        input.selected = generated.client_id.clone();
        input.scope = generated.token.scope.clone().unwrap_or_default();
        input.result = Some(result_of(&state, generated));
    }
    let page = generator_page(&state, input).await?;
    Ok(with_cookie(page, Some(browser.set_cookie(GENERATED_COOKIE, "", 0))))
}

/// The generator's answer when the token endpoint refused: its words, never a secret.
fn token_failure(error: &ServiceError) -> Option<String> {
    match error {
        // The generator sends no DPoP proof: a client that requires DPoP is told so here.
        ServiceError::OAuth { error, .. } | ServiceError::Dpop { error, .. } => {
            let answer = format!("{}: {}", error.code.as_str(), error.description);
            Some(i18n::text("portal-generator-token-endpoint-answered", &[("answer", FluentValue::from(answer))]))
        }
        ServiceError::NotApproved => Some(i18n::text("portal-generator-not-approved", &[])),
        ServiceError::TooManyAttempts { .. } => Some(i18n::text("portal-generator-too-many-attempts", &[])),
        _ => None,
    }
}

/// `POST /tools/access-token`: a token at once (client credentials), or the walk-through.
pub async fn generate(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<GeneratorForm>(&state, &browser, &body).await?;
    let actor = acting(&session, &browser);
    let client_id = form.client_id;
    let scope = form.scope.trim().to_owned();
    let view = match state.service.show_client(&actor, &client_id).await {
        Ok(view) if view.owner_id == session.user.id.as_str() => view,
        Ok(_) => return Err(ServiceError::NotFound("client").into()),
        Err(e) => return Err(e.into()),
    };
    let mut input = GeneratorInput::new(&session, &client_id);
    input.scope = scope.clone();
    match Kind::of(&view) {
        Kind::ClientCredentials => match state.service.generator_client_credentials(&actor, &client_id, &scope, browser.peer).await {
            Ok(token) => {
                let generated = Generated { client_id, by_client_credentials: true, issued_at: state.service.now(), token };
                Ok(show_generated(&state, &browser, &session, &generated))
            }
            Err(e) => match token_failure(&e) {
                Some(text) => {
                    input.fail(text);
                    generator_page(&state, input).await
                }
                None => Err(e.into()),
            },
        },
        Kind::NoTokenGrant => {
            input.fail(i18n::text("portal-generator-no-grant", &[]));
            generator_page(&state, input).await
        }
        browser_kind => {
            if !view.redirect_uris.contains(&state.service.generator_redirect_uri()) {
                input.needs_callback = Some(client_id);
                return generator_page(&state, input).await;
            }
            let implicit = browser_kind == Kind::Implicit;
            let start = state.service.generator_start(&actor, &client_id, implicit, &scope, browser.peer).await?;
            let value = format!("{client_id}.{}.{}.{}", start.state, start.code_verifier, u8::from(implicit));
            let cookie = browser.set_cookie(GENERATOR_COOKIE, &value, 600);
            Ok(with_cookie(redirect(StatusCode::SEE_OTHER, &start.authorize_url), Some(cookie)))
        }
    }
}

/// `POST /tools/access-token/callback-uri`: registers the generator's callback on a client.
pub async fn add_callback(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<ClientIdForm>(&state, &browser, &body).await?;
    let actor = acting(&session, &browser);
    let client_id = form.client_id.as_str();
    let view = state.service.show_client(&actor, client_id).await?;
    let mut uris = view.redirect_uris.clone();
    let callback = state.service.generator_redirect_uri();
    if !uris.contains(&callback) {
        uris.push(callback);
    }
    let edit = ClientEdit { redirect_uris: Some(uris), ..ClientEdit::default() };
    match state.service.update_client(&actor, client_id, edit).await {
        Ok(_) => {
            let query = serde_urlencoded::to_string([("client_id", client_id), ("done", "callback")]).unwrap_or_default();
            Ok(redirect(StatusCode::SEE_OTHER, &format!("/tools/access-token?{query}")))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /tools/access-token/callback`: where the walk-through comes back. A code is redeemed
/// here, as the client would; an implicit token is in the fragment, which the page's script reads.
pub async fn callback(State(state): State<AppState>, browser: Browser, Query(query): Query<CallbackQuery>) -> PageResult {
    let session = signed_in(&state, &browser, "/tools/access-token").await?;
    let clear = browser.set_cookie(GENERATOR_COOKIE, "", 0);
    let started = browser.cookies.get(GENERATOR_COOKIE).cloned().unwrap_or_default();
    let mut parts = started.splitn(4, '.');
    let (client_id, expected_state, verifier, implicit) =
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next() == Some("1"));
    let mut input = GeneratorInput::new(&session, client_id);
    if expected_state.is_empty() {
        input.fail(i18n::text("portal-generator-expired", &[]));
        return Ok(with_cookie(generator_page(&state, input).await.unwrap_or_else(IntoResponse::into_response), Some(clear)));
    }
    if let Some(error) = query.error {
        let answer = format!("{error}: {}", query.error_description.unwrap_or_default());
        input.fail(i18n::text("portal-generator-server-answered", &[("answer", FluentValue::from(answer))]));
        return Ok(with_cookie(generator_page(&state, input).await.unwrap_or_else(IntoResponse::into_response), Some(clear)));
    }
    if implicit && query.code.is_none() {
        // The page's script compares the fragment's state with this one.
        input.implicit_state = Some(expected_state.to_owned());
        return Ok(with_cookie(generator_page(&state, input).await.unwrap_or_else(IntoResponse::into_response), Some(clear)));
    }
    if query.state.as_deref() != Some(expected_state) || query.code.is_none() {
        input.fail(i18n::text("portal-generator-not-yours", &[]));
        return Ok(with_cookie(generator_page(&state, input).await.unwrap_or_else(IntoResponse::into_response), Some(clear)));
    }
    let actor = acting(&session, &browser);
    let code = query.code.unwrap_or_default();
    match state.service.generator_exchange(&actor, client_id, &code, verifier, browser.peer).await {
        // The code is spent: its page is the generator's own, by a redirect, so a reload asks
        // for nothing again and the code leaves the address bar.
        Ok(token) => {
            let generated =
                Generated { client_id: client_id.to_owned(), by_client_credentials: false, issued_at: state.service.now(), token };
            return Ok(with_cookie(show_generated(&state, &browser, &session, &generated), Some(clear)));
        }
        Err(e) => match token_failure(&e) {
            Some(text) => {
                input.fail(text);
            }
            None => return Err(e.into()),
        },
    }
    Ok(with_cookie(generator_page(&state, input).await.unwrap_or_else(IntoResponse::into_response), Some(clear)))
}

/// `GET /assets/generator.js`: the implicit callback's script (a file, so the CSP stays `'self'`).
pub async fn generator_script() -> Response {
    crate::http::pages::asset("text/javascript; charset=utf-8", include_str!("../../../assets/generator.js"))
}

/// An access token's header and claims as indented JSON, for reading (not verified here: the
/// generator just got it from this server).
fn decoded(token: &str) -> Option<(String, String)> {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let mut part = || -> Option<String> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        serde_json::to_string_pretty(&value).ok()
    };
    Some((part()?, part()?))
}
