//! The developer portal (`/settings/api-clients`), the access-token generator
//! (`/tools/access-token`) and the organization admin pages (`/admin/…`).
//!
//! Every page acts as the signed-in user through `service::admin` with `Actor::user`, so who may
//! see or change what is decided once, in `tessera_core::access`, for the pages and the admin API
//! alike. Forms are the login pages' kind: CSRF token bound to the session cookie, same-origin
//! POSTs only, 303 after a change (post/redirect/get), except where the answer shows a secret,
//! which never goes into a URL.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_core::client::Problem;
use tessera_core::model::{ClientStatus, GrantType, Pkce, Role};
use tessera_core::scope;
use tessera_proto::{ClientView, TokenResponse};
use tessera_service::ServiceError;
use tessera_service::admin::{Actor, AuditFilter, ClientEdit, NewClient, NewUser};
use tessera_service::session::SignedIn;

use crate::AppState;
use crate::error::{page_for, sentence};
use crate::http::dates;
use crate::http::pages::{Browser, forbidden, login_redirect, redirect, session_of, with_cookie};
use crate::http::views::{
    ApprovalRow, ApprovalsPage, AuditFilterForm, AuditPage, AuditRow, ClientFormPage, ClientFormValues, ClientPage, ClientsPage,
    ConfirmPage, GeneratorClient, GeneratorPage, GeneratorResult, MembersPage, Nav, ScopeChoice, ScopesPage, html, message,
};

/// The grants a new client may pick, with a word on each.
const GRANT_CHOICES: [(&str, &str); 6] = [
    ("client_credentials", "a server calling the API as itself"),
    ("authorization_code", "an app acting for its users, through sign-in and consent"),
    ("refresh_token", "keeps users signed in (with authorization_code)"),
    ("implicit", "legacy browser apps: the token comes back in the URL fragment"),
    ("device_code", "TVs, consoles and command-line tools: the user approves a code on another device"),
    ("token_exchange", "a service exchanging a user's token for a narrower one for a downstream API (RFC 8693)"),
];

/// The notices a redirect may ask a page to show (a fixed table: no user text in URLs).
fn notice(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "on" => "The client is on: it can get tokens again.",
        "off" => "The client is off: it cannot authenticate, and its live tokens stopped working.",
        "saved" => "Saved.",
        "deleted" => "The client is deleted.",
        "added" => "Added.",
        "approved" => "The application is approved for your organization.",
        "withdrawn" => "The approval is withdrawn; this organization's users' refresh tokens for it stopped working.",
        "disabled" => "The member is disabled: their sessions ended and their tokens and clients stopped working.",
        "enabled" => "The member is enabled again.",
        "callback" => "The callback is registered. Get a token now.",
        _ => return None,
    };
    Some(text.to_owned())
}

#[derive(serde::Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

/// A portal form: repeated names allowed (checkbox groups), bounded by the body limit.
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).filter(|v| !v.is_empty()).collect()
    }

    /// A checkbox group whose form carries an empty hidden field of the same name (so that a
    /// group with nothing checked is still sent): the checked values, `None` when the group was
    /// not on the form at all.
    fn group(&self, name: &str) -> Option<Vec<String>> {
        self.0.iter().any(|(k, _)| k == name).then(|| self.all(name))
    }

    fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), "true" | "on" | "1")
    }

    /// A textarea: one entry per line, blank lines ignored.
    fn lines(&self, name: &str) -> Vec<String> {
        self.get(name).lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
    }
}

/// The signed-in user of a page, or the login page (which comes back to `here`).
async fn signed_in(state: &AppState, browser: &Browser, here: &str) -> Result<SignedIn, Response> {
    match session_of(state, browser).await? {
        Some(session) => Ok(session),
        None => Err(login_redirect(here)),
    }
}

/// A POST from one of our portal forms: same origin, signed in, CSRF token of this session.
async fn signed_in_form(state: &AppState, browser: &Browser, body: &Bytes) -> Result<(SignedIn, Form), Response> {
    if !browser.same_origin {
        return Err(forbidden());
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| forbidden())?;
    if pairs.len() > 200 {
        return Err(message(StatusCode::PAYLOAD_TOO_LARGE, "This form is too large", "Go back and try again with fewer entries."));
    }
    let form = Form(pairs);
    let session = session_of(state, browser).await?.ok_or_else(forbidden)?;
    if !state.service.session_csrf_matches(&session, form.get("csrf_token")) {
        return Err(forbidden());
    }
    Ok((session, form))
}

fn nav(user: &tessera_core::model::User, active: &'static str, notice: Option<String>) -> Nav {
    Nav { email: user.email.clone(), admin: tessera_core::access::runs_org(user.role), active, notice, error: None }
}

fn client_path(id: &str) -> String {
    format!("/settings/api-clients/{id}")
}

// ---------------------------------------------------------------------------------------------
// The developer portal

/// `GET /settings/api-clients`.
pub async fn clients(State(state): State<AppState>, browser: Browser, Query(done): Query<Done>) -> Response {
    let session = match signed_in(&state, &browser, "/settings/api-clients").await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let actor = Actor::user(session.user.clone());
    match state.service.list_clients(&actor, None).await {
        Ok(clients) => html(StatusCode::OK, &ClientsPage { nav: nav(&session.user, "clients", notice(done.done.as_deref())), clients }),
        Err(e) => page_for(&e),
    }
}

/// The create and edit form, with the catalogue and run-as users the user may pick.
async fn client_form(
    state: &AppState,
    session: &SignedIn,
    editing: Option<String>,
    form: ClientFormValues,
    problems: Vec<Problem>,
) -> Response {
    let user = &session.user;
    let actor = Actor::user(user.clone());
    let catalogue = match state.service.scopes(&actor, user.org_id.as_str()).await {
        Ok(c) => c,
        Err(e) => return page_for(&e),
    };
    let run_as_choices = match state.service.run_as_candidates(&actor).await {
        Ok(c) => c,
        Err(e) => return page_for(&e),
    };
    let mut scope_choices: Vec<ScopeChoice> = catalogue
        .iter()
        .map(|s| ScopeChoice {
            name: s.name.clone(),
            restricted: s.restricted,
            allowed: scope::role_allows(user.role, &s.name, &catalogue),
            checked: form.scopes.contains(&s.name),
        })
        .collect();
    // A client's built-in scopes (openid, tessera:clients, …) are not in the catalogue: offered
    // too when editing, so saving the form keeps them.
    let built_in = form.scopes.iter().filter(|name| scope::is_built_in(name) && !catalogue.iter().any(|s| &s.name == *name));
    scope_choices.extend(built_in.map(|name| ScopeChoice {
        name: name.clone(),
        restricted: false,
        allowed: scope::role_allows(user.role, name, &catalogue),
        checked: true,
    }));
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let mut page = ClientFormPage {
        nav: nav(user, "clients", None),
        csrf: state.service.session_csrf(session),
        editing,
        form,
        grant_choices: GRANT_CHOICES.to_vec(),
        scope_choices,
        run_as_choices,
        problems,
    };
    page.nav.error = (!page.problems.is_empty()).then(|| "Please correct the fields marked below.".to_owned());
    html(status, &page)
}

/// `GET /settings/api-clients/new`.
pub async fn new_client_form(State(state): State<AppState>, browser: Browser) -> Response {
    let session = match signed_in(&state, &browser, "/settings/api-clients/new").await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let form = ClientFormValues {
        grants: vec!["client_credentials".into()],
        run_as: session.user.email.clone(),
        pkce: state.service.settings().default_pkce.as_str().to_owned(),
        ..ClientFormValues::default()
    };
    client_form(&state, &session, None, form, Vec::new()).await
}

fn parse_ttl(text: &str) -> Result<Option<u32>, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<u32>()
        .map(Some)
        .map_err(|_| Problem { field: "access_token_ttl", message: "the access-token lifetime must be a whole number of seconds".into() })
}

/// The PKCE choice of the form; empty (a form without the field): the server's default.
fn parse_pkce(text: &str) -> Result<Option<Pkce>, Problem> {
    match text.trim() {
        "" => Ok(None),
        value => Pkce::parse(value)
            .map(Some)
            .ok_or_else(|| Problem { field: "pkce", message: "choose whether PKCE is required or optional".into() }),
    }
}

/// `POST /settings/api-clients/new`.
pub async fn create_client(State(state): State<AppState>, browser: Browser, body: Bytes) -> Response {
    let (session, form) = match signed_in_form(&state, &browser, &body).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let user = &session.user;
    let actor = Actor::user(user.clone());
    let values = ClientFormValues {
        name: form.get("name").to_owned(),
        grants: form.all("grants"),
        scopes: form.all("scopes"),
        public: form.flag("public"),
        redirect_uris: form.get("redirect_uris").to_owned(),
        allowed_origins: form.get("allowed_origins").to_owned(),
        allowed_ips: form.get("allowed_ips").to_owned(),
        run_as: form.get("run_as").trim().to_owned(),
        access_token_ttl: form.get("access_token_ttl").to_owned(),
        requires_org_approval: form.flag("requires_org_approval"),
        require_pushed_authorization_requests: form.flag("require_pushed_authorization_requests"),
        dpop_bound_access_tokens: form.flag("dpop_bound_access_tokens"),
        pkce: form.get("pkce").to_owned(),
        resources: form.get("resources").to_owned(),
        public_key: form.get("public_key").to_owned(),
    };
    let mut problems = Vec::new();
    let ttl = parse_ttl(&values.access_token_ttl).unwrap_or_else(|p| {
        problems.push(p);
        None
    });
    let pkce = parse_pkce(&values.pkce).unwrap_or_else(|p| {
        problems.push(p);
        None
    });
    let new = NewClient {
        org: user.org_id.to_string(),
        owner_email: user.email.clone(),
        name: values.name.clone(),
        grants: values.grants.clone(),
        scopes: values.scopes.clone(),
        redirect_uris: form.lines("redirect_uris"),
        allowed_origins: form.lines("allowed_origins"),
        allowed_ips: form.lines("allowed_ips"),
        run_as_email: (!values.run_as.is_empty() && values.run_as != user.email).then(|| values.run_as.clone()),
        public: values.public,
        access_token_ttl: ttl,
        requires_org_approval: values.requires_org_approval,
        require_pushed_authorization_requests: values.require_pushed_authorization_requests,
        dpop_bound_access_tokens: values.dpop_bound_access_tokens,
        pkce,
        resources: form.lines("resources"),
        token_endpoint_auth_method: None,
        jwks: Some(values.public_key.clone()).filter(|k| !k.trim().is_empty()),
        jwks_uri: None,
    };
    if new.grants.is_empty() {
        problems.push(Problem { field: "grants", message: "pick at least one grant".into() });
    }
    match state.service.client_problems(&actor, &new).await {
        Ok(found) => problems.extend(found.into_iter().map(|p| shown(Some(p.field), p.message))),
        Err(e) => return page_for(&e),
    }
    if !problems.is_empty() {
        return client_form(&state, &session, None, values, problems).await;
    }
    match state.service.create_client(&actor, new).await {
        Ok(view) => {
            let secret = view.client_secret.clone();
            let mut page_nav = nav(user, "clients", None);
            page_nav.notice = Some(if secret.is_some() {
                "The client is created. Its secret is shown below; you can show it again later on this page.".into()
            } else {
                "The client is created.".into()
            });
            let csrf = state.service.session_csrf(&session);
            html(StatusCode::CREATED, &ClientPage { nav: page_nav, csrf, client: view, secret, can_reveal: true })
        }
        Err(ServiceError::Invalid(why)) => client_form(&state, &session, None, values, vec![shown(why.field, why.message)]).await,
        Err(e) => page_for(&e),
    }
}

/// A GET page about one client: the signed-in user and the client, if they may see it.
async fn visible_client(state: &AppState, browser: &Browser, here: &str, id: &str) -> Result<(SignedIn, ClientView), Response> {
    let session = signed_in(state, browser, here).await?;
    match state.service.show_client(&Actor::user(session.user.clone()), id).await {
        Ok(view) => Ok((session, view)),
        Err(e) => Err(page_for(&e)),
    }
}

async fn client_page(state: &AppState, session: &SignedIn, view: ClientView, secret: Option<String>, note: Option<String>) -> Response {
    let can_reveal = view.owner_id == session.user.id.as_str();
    let csrf = state.service.session_csrf(session);
    html(StatusCode::OK, &ClientPage { nav: nav(&session.user, "clients", note), csrf, client: view, secret, can_reveal })
}

/// `GET /settings/api-clients/{id}`.
pub async fn client(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, Query(done): Query<Done>) -> Response {
    match visible_client(&state, &browser, &client_path(&id), &id).await {
        Ok((session, view)) => client_page(&state, &session, view, None, notice(done.done.as_deref())).await,
        Err(page) => page,
    }
}

/// `POST /settings/api-clients/{id}/secret`: the owner's Show button (audited).
pub async fn reveal_secret(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, body: Bytes) -> Response {
    let (session, _) = match signed_in_form(&state, &browser, &body).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let actor = Actor::user(session.user.clone());
    let secret = match state.service.reveal_secret(&actor, &id).await {
        Ok(secret) => secret,
        Err(e) => return page_for(&e),
    };
    match state.service.show_client(&actor, &id).await {
        Ok(view) => client_page(&state, &session, view, Some(secret), None).await,
        Err(e) => page_for(&e),
    }
}

/// A confirmation page for a destructive action on a client.
async fn confirm(state: &AppState, browser: &Browser, id: &str, what: &'static str) -> Response {
    let here = format!("{}/{what}", client_path(id));
    let (session, view) = match visible_client(state, browser, &here, id).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let (title, text, button) = if what == "delete" {
        (
            format!("Delete {}?", view.name),
            "The client and its secret are removed for good; every token it holds stops working.".to_owned(),
            "Delete client",
        )
    } else {
        (
            format!("Regenerate the secret of {}?", view.name),
            "The current secret stops working at once; anything still using it will be refused. The new secret is shown next.".to_owned(),
            "Regenerate secret",
        )
    };
    let csrf = state.service.session_csrf(&session);
    html(
        StatusCode::OK,
        &ConfirmPage {
            nav: nav(&session.user, "clients", None),
            csrf,
            title,
            text,
            action: here,
            back: client_path(id),
            button,
            danger: true,
        },
    )
}

/// `GET /settings/api-clients/{id}/regenerate`.
pub async fn regenerate_form(State(state): State<AppState>, browser: Browser, Path(id): Path<String>) -> Response {
    confirm(&state, &browser, &id, "regenerate").await
}

/// `POST /settings/api-clients/{id}/regenerate`.
pub async fn regenerate(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, body: Bytes) -> Response {
    let (session, _) = match signed_in_form(&state, &browser, &body).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let actor = Actor::user(session.user.clone());
    let secret = match state.service.regenerate_secret(&actor, &id).await {
        Ok((_, secret)) => secret,
        Err(e) => return page_for(&e),
    };
    let view = match state.service.show_client(&actor, &id).await {
        Ok(view) => view,
        Err(e) => return page_for(&e),
    };
    // Only the owner sees the new secret here; an admin who regenerated it tells the owner.
    let shown = (view.owner_id == session.user.id.as_str()).then_some(secret);
    let note = Some("A new secret is made; the old one no longer works.".to_owned());
    client_page(&state, &session, view, shown, note).await
}

/// `GET /settings/api-clients/{id}/delete`.
pub async fn delete_form(State(state): State<AppState>, browser: Browser, Path(id): Path<String>) -> Response {
    confirm(&state, &browser, &id, "delete").await
}

/// `POST /settings/api-clients/{id}/delete`.
pub async fn delete(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, body: Bytes) -> Response {
    let (session, _) = match signed_in_form(&state, &browser, &body).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    match state.service.delete_client(&Actor::user(session.user.clone()), &id).await {
        Ok(()) => redirect(StatusCode::SEE_OTHER, "/settings/api-clients?done=deleted"),
        Err(e) => page_for(&e),
    }
}

/// `POST /settings/api-clients/{id}/status`: Turn on / Turn off.
pub async fn set_status(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, body: Bytes) -> Response {
    let (session, form) = match signed_in_form(&state, &browser, &body).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let Some(status) = ClientStatus::parse(form.get("status")) else {
        return message(StatusCode::BAD_REQUEST, "This cannot be done", "The status must be on or off.");
    };
    match state.service.set_client_status(&Actor::user(session.user.clone()), &id, status).await {
        Ok(_) => redirect(StatusCode::SEE_OTHER, &format!("{}?done={}", client_path(&id), status.as_str())),
        Err(e) => page_for(&e),
    }
}

fn edit_values(view: &ClientView) -> ClientFormValues {
    ClientFormValues {
        name: view.name.clone(),
        grants: view.grants.clone(),
        scopes: view.scopes.clone(),
        public: view.public,
        redirect_uris: view.redirect_uris.join("\n"),
        allowed_origins: view.allowed_origins.join("\n"),
        allowed_ips: view.allowed_ips.join("\n"),
        run_as: view.run_as.clone(),
        access_token_ttl: view.access_token_ttl.map(|t| t.to_string()).unwrap_or_default(),
        requires_org_approval: view.requires_org_approval,
        require_pushed_authorization_requests: view.require_pushed_authorization_requests,
        dpop_bound_access_tokens: view.dpop_bound_access_tokens,
        pkce: view.pkce.as_str().to_owned(),
        resources: view.resources.join("\n"),
        public_key: String::new(),
    }
}

/// `GET /settings/api-clients/{id}/edit`.
pub async fn edit_form(State(state): State<AppState>, browser: Browser, Path(id): Path<String>) -> Response {
    match visible_client(&state, &browser, &format!("{}/edit", client_path(&id)), &id).await {
        Ok((session, view)) => client_form(&state, &session, Some(id), edit_values(&view), Vec::new()).await,
        Err(page) => page,
    }
}

/// `POST /settings/api-clients/{id}/edit`.
pub async fn edit(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, body: Bytes) -> Response {
    let (session, form) = match signed_in_form(&state, &browser, &body).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let actor = Actor::user(session.user.clone());
    let current = match state.service.show_client(&actor, &id).await {
        Ok(view) => view,
        Err(e) => return page_for(&e),
    };
    let mut values = edit_values(&current);
    values.name = form.get("name").to_owned();
    let grants = form.group("grants");
    let scopes = form.group("scopes");
    values.grants = grants.clone().unwrap_or(values.grants);
    values.scopes = scopes.clone().unwrap_or(values.scopes);
    values.redirect_uris = form.get("redirect_uris").to_owned();
    values.allowed_origins = form.get("allowed_origins").to_owned();
    values.allowed_ips = form.get("allowed_ips").to_owned();
    values.run_as = form.get("run_as").trim().to_owned();
    values.access_token_ttl = form.get("access_token_ttl").to_owned();
    values.requires_org_approval = form.flag("requires_org_approval");
    values.require_pushed_authorization_requests = form.flag("require_pushed_authorization_requests");
    values.dpop_bound_access_tokens = form.flag("dpop_bound_access_tokens");
    // A form without the field (an older page, a script) leaves the setting as it is.
    let pkce_sent = form.get("pkce").trim().to_owned();
    if !pkce_sent.is_empty() {
        values.pkce = pkce_sent.clone();
    }
    values.resources = form.get("resources").to_owned();
    let ttl = match parse_ttl(&values.access_token_ttl) {
        Ok(ttl) => ttl,
        Err(problem) => return client_form(&state, &session, Some(id), values, vec![problem]).await,
    };
    let pkce = match parse_pkce(&pkce_sent) {
        Ok(pkce) => pkce,
        Err(problem) => return client_form(&state, &session, Some(id), values, vec![problem]).await,
    };
    let edit = ClientEdit {
        name: Some(values.name.clone()),
        grants,
        scopes,
        redirect_uris: Some(form.lines("redirect_uris")),
        allowed_origins: Some(form.lines("allowed_origins")),
        allowed_ips: Some(form.lines("allowed_ips")),
        run_as: (!values.run_as.is_empty()).then(|| values.run_as.clone()),
        access_token_ttl: Some(ttl),
        requires_org_approval: Some(values.requires_org_approval),
        require_pushed_authorization_requests: Some(values.require_pushed_authorization_requests),
        dpop_bound_access_tokens: Some(values.dpop_bound_access_tokens),
        pkce,
        resources: Some(form.lines("resources")),
        jwks: None,
        jwks_uri: None,
    };
    match state.service.update_client(&actor, &id, edit).await {
        Ok(_) => redirect(StatusCode::SEE_OTHER, &format!("{}?done=saved", client_path(&id))),
        Err(ServiceError::Invalid(why)) => client_form(&state, &session, Some(id), values, vec![shown(why.field, why.message)]).await,
        Err(e) => page_for(&e),
    }
}

/// The fields of the client form that show a message of their own (`client_form.html`).
const FORM_FIELDS: &[&str] = &[
    "name",
    "redirect_uris",
    "allowed_origins",
    "allowed_ips",
    "resources",
    "scopes",
    "grants",
    "run_as",
    "access_token_ttl",
    "pkce",
    "jwks",
];

/// A problem placed on the client form: at the field the rule names, or in the form's general
/// place for a field it does not show (the owner, the authentication method, a `jwks_uri`).
fn shown(field: Option<&'static str>, message: String) -> Problem {
    Problem { field: field.filter(|f| FORM_FIELDS.contains(f)).unwrap_or("other"), message }
}

// ---------------------------------------------------------------------------------------------
// The access-token generator

const GENERATOR_COOKIE: &str = "tessera_generator";

fn kind(view: &ClientView) -> &'static str {
    let has = |g: GrantType| view.grants.iter().any(|name| name == g.as_str());
    if has(GrantType::ClientCredentials) {
        "client credentials"
    } else if has(GrantType::AuthorizationCode) {
        "browser, code flow"
    } else if has(GrantType::Implicit) {
        "browser, implicit"
    } else {
        "no token grant"
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

async fn generator_page(state: &AppState, input: GeneratorInput<'_>) -> Response {
    let user = &input.session.user;
    let owned = match state.service.list_clients(&Actor::user(user.clone()), None).await {
        Ok(all) => all.into_iter().filter(|c| c.owner_id == user.id.as_str()).collect::<Vec<_>>(),
        Err(e) => return page_for(&e),
    };
    let clients = owned.iter().map(|c| GeneratorClient { id: c.client_id.clone(), name: c.name.clone(), kind: kind(c) }).collect();
    let mut page_nav = nav(user, "generator", input.notice);
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
    response
}

fn result_of(state: &AppState, token: TokenResponse, client: Option<&str>) -> GeneratorResult {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let audience = state.service.settings().policy.audience.clone();
    let issuer = state.service.issuer().trim_end_matches('/').to_owned();
    GeneratorResult {
        curl_api: format!("curl -H \"Authorization: Bearer {}\" {audience}", token.access_token),
        curl_token: client.map(|id| format!("curl -u \"{id}:$CLIENT_SECRET\" -d grant_type=client_credentials {issuer}/oauth2/token")),
        expires_at: dates::utc(now + token.expires_in as i64),
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

/// `GET /tools/access-token`.
pub async fn generator(State(state): State<AppState>, browser: Browser, Query(query): Query<GeneratorQuery>) -> Response {
    let session = match signed_in(&state, &browser, "/tools/access-token").await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let mut input = GeneratorInput::new(&session, query.client_id.as_deref().unwrap_or_default());
    input.notice = notice(query.done.as_deref());
    generator_page(&state, input).await
}

/// The generator's answer when the token endpoint refused: its words, never a secret.
fn token_failure(error: &ServiceError) -> Option<String> {
    match error {
        // The generator sends no DPoP proof: a client that requires DPoP is told so here.
        ServiceError::OAuth { error, .. } | ServiceError::Dpop { error, .. } => {
            Some(format!("The token endpoint answered {}: {}", error.code.as_str(), error.description))
        }
        ServiceError::NotApproved => Some("This application is not approved for your organization yet.".into()),
        ServiceError::TooManyAttempts { .. } => Some("Too many failed attempts for this client; try again later.".into()),
        _ => None,
    }
}

/// `POST /tools/access-token`: a token at once (client credentials), or the walk-through.
pub async fn generate(State(state): State<AppState>, browser: Browser, body: Bytes) -> Response {
    let (session, form) = match signed_in_form(&state, &browser, &body).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let actor = Actor::user(session.user.clone());
    let client_id = form.get("client_id").to_owned();
    let scope = form.get("scope").trim().to_owned();
    let view = match state.service.show_client(&actor, &client_id).await {
        Ok(view) if view.owner_id == session.user.id.as_str() => view,
        Ok(_) => return page_for(&ServiceError::NotFound("client")),
        Err(e) => return page_for(&e),
    };
    let mut input = GeneratorInput::new(&session, &client_id);
    input.scope = scope.clone();
    match kind(&view) {
        "client credentials" => {
            match state.service.generator_client_credentials(&actor, &client_id, &scope, browser.peer).await {
                Ok(token) => input.result = Some(result_of(&state, token, Some(&client_id))),
                Err(e) => match token_failure(&e) {
                    Some(text) => {
                        input.fail(text);
                    }
                    None => return page_for(&e),
                },
            }
            generator_page(&state, input).await
        }
        "no token grant" => {
            input.fail("This client has no grant that gives access tokens.".into());
            generator_page(&state, input).await
        }
        browser_kind => {
            if !view.redirect_uris.contains(&state.service.generator_redirect_uri()) {
                input.needs_callback = Some(client_id);
                return generator_page(&state, input).await;
            }
            let implicit = browser_kind == "browser, implicit";
            let start = match state.service.generator_start(&actor, &client_id, implicit, &scope, browser.peer).await {
                Ok(start) => start,
                Err(e) => return page_for(&e),
            };
            let value = format!("{client_id}.{}.{}.{}", start.state, start.code_verifier, u8::from(implicit));
            let cookie = browser.set_cookie(GENERATOR_COOKIE, &value, 600);
            with_cookie(redirect(StatusCode::SEE_OTHER, &start.authorize_url), Some(cookie))
        }
    }
}

/// `POST /tools/access-token/callback-uri`: registers the generator's callback on a client.
pub async fn add_callback(State(state): State<AppState>, browser: Browser, body: Bytes) -> Response {
    let (session, form) = match signed_in_form(&state, &browser, &body).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let actor = Actor::user(session.user.clone());
    let client_id = form.get("client_id");
    let view = match state.service.show_client(&actor, client_id).await {
        Ok(view) => view,
        Err(e) => return page_for(&e),
    };
    let mut uris = view.redirect_uris.clone();
    let callback = state.service.generator_redirect_uri();
    if !uris.contains(&callback) {
        uris.push(callback);
    }
    let edit = ClientEdit { redirect_uris: Some(uris), ..ClientEdit::default() };
    match state.service.update_client(&actor, client_id, edit).await {
        Ok(_) => {
            let query = serde_urlencoded::to_string([("client_id", client_id), ("done", "callback")]).unwrap_or_default();
            redirect(StatusCode::SEE_OTHER, &format!("/tools/access-token?{query}"))
        }
        Err(e) => page_for(&e),
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
pub async fn callback(State(state): State<AppState>, browser: Browser, Query(query): Query<CallbackQuery>) -> Response {
    let session = match signed_in(&state, &browser, "/tools/access-token").await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let clear = browser.set_cookie(GENERATOR_COOKIE, "", 0);
    let started = browser.cookies.get(GENERATOR_COOKIE).cloned().unwrap_or_default();
    let mut parts = started.splitn(4, '.');
    let (client_id, expected_state, verifier, implicit) =
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next() == Some("1"));
    let mut input = GeneratorInput::new(&session, client_id);
    if expected_state.is_empty() {
        input.fail("This walk-through has expired. Start again.".into());
        return with_cookie(generator_page(&state, input).await, Some(clear));
    }
    if let Some(error) = query.error {
        input.fail(format!("The authorization server answered {error}: {}", query.error_description.unwrap_or_default()));
        return with_cookie(generator_page(&state, input).await, Some(clear));
    }
    if implicit && query.code.is_none() {
        // The page's script compares the fragment's state with this one.
        input.implicit_state = Some(expected_state.to_owned());
        return with_cookie(generator_page(&state, input).await, Some(clear));
    }
    if query.state.as_deref() != Some(expected_state) || query.code.is_none() {
        input.fail("This answer does not belong to the walk-through you started. Start again.".into());
        return with_cookie(generator_page(&state, input).await, Some(clear));
    }
    let actor = Actor::user(session.user.clone());
    let code = query.code.unwrap_or_default();
    match state.service.generator_exchange(&actor, client_id, &code, verifier, browser.peer).await {
        Ok(token) => input.result = Some(result_of(&state, token, None)),
        Err(e) => match token_failure(&e) {
            Some(text) => {
                input.fail(text);
            }
            None => return page_for(&e),
        },
    }
    with_cookie(generator_page(&state, input).await, Some(clear))
}

/// `GET /assets/generator.js`: the implicit callback's script (a file, so the CSP stays `'self'`).
pub async fn generator_script() -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    (headers, include_str!("../../assets/generator.js")).into_response()
}

// ---------------------------------------------------------------------------------------------
// Organization admin

/// `GET /admin`.
pub async fn admin_home() -> Response {
    redirect(StatusCode::FOUND, "/admin/members")
}

/// `GET /admin/members`.
pub async fn members(State(state): State<AppState>, browser: Browser, Query(done): Query<Done>) -> Response {
    let session = match signed_in(&state, &browser, "/admin/members").await {
        Ok(s) => s,
        Err(page) => return page,
    };
    members_page(&state, &session, notice(done.done.as_deref()), None).await
}

async fn members_page(state: &AppState, session: &SignedIn, notice: Option<String>, error: Option<String>) -> Response {
    members_page_with(state, session, notice, error, StatusCode::BAD_REQUEST).await
}

/// The members page after a refused change: the reason on the page, with 403.
async fn members_refused(state: &AppState, session: &SignedIn, why: &str) -> Response {
    members_page_with(state, session, None, Some(sentence(why)), StatusCode::FORBIDDEN).await
}

/// The members page; `error_status` is the status when it shows an error.
async fn members_page_with(
    state: &AppState,
    session: &SignedIn,
    notice: Option<String>,
    error: Option<String>,
    error_status: StatusCode,
) -> Response {
    let user = &session.user;
    let members = match state.service.members(&Actor::user(user.clone()), user.org_id.as_str()).await {
        Ok(m) => m,
        Err(e) => return page_for(&e),
    };
    let mut page_nav = nav(user, "admin", notice);
    let status = if error.is_some() { error_status } else { StatusCode::OK };
    page_nav.error = error;
    let page = MembersPage {
        nav: page_nav,
        csrf: state.service.session_csrf(session),
        tab: "members",
        members,
        me: user.id.to_string(),
        is_owner: user.role == Role::Owner,
    };
    html(status, &page)
}

/// `POST /admin/members`: adds a member.
pub async fn add_member(State(state): State<AppState>, browser: Browser, body: Bytes) -> Response {
    let (session, form) = match signed_in_form(&state, &browser, &body).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let Some(role) = Role::parse(form.get("role")) else {
        return members_page(&state, &session, None, Some("Pick a role: member, admin or owner.".into())).await;
    };
    let service = form.flag("service");
    let password = form.get("password");
    if !service && password.chars().count() < 8 {
        return members_page(&state, &session, None, Some("Give the new member an initial password of at least 8 characters.".into()))
            .await;
    }
    let new = NewUser {
        org: session.user.org_id.to_string(),
        email: form.get("email").to_owned(),
        role,
        service,
        authorize_applications: form.flag("authorize_applications"),
        password: (!service).then(|| password.to_owned()),
    };
    match state.service.create_user(&Actor::user(session.user.clone()), new).await {
        Ok(_) => redirect(StatusCode::SEE_OTHER, "/admin/members?done=added"),
        Err(ServiceError::Invalid(why)) => members_page(&state, &session, None, Some(sentence(&why.message))).await,
        Err(ServiceError::Forbidden(why)) => members_refused(&state, &session, &why).await,
        Err(e) => page_for(&e),
    }
}

/// `POST /admin/members/{id}`: role and permission.
pub async fn update_member(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, body: Bytes) -> Response {
    let (session, form) = match signed_in_form(&state, &browser, &body).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let Some(role) = Role::parse(form.get("role")) else {
        return members_page(&state, &session, None, Some("Pick a role: member, admin or owner.".into())).await;
    };
    let actor = Actor::user(session.user.clone());
    match state.service.update_member(&actor, &id, Some(role), Some(form.flag("authorize_applications"))).await {
        Ok(_) => redirect(StatusCode::SEE_OTHER, "/admin/members?done=saved"),
        Err(ServiceError::Forbidden(why)) => members_refused(&state, &session, &why).await,
        Err(e) => page_for(&e),
    }
}

async fn set_member_disabled(state: &AppState, browser: &Browser, id: &str, body: &Bytes, disabled: bool) -> Response {
    let (session, _) = match signed_in_form(state, browser, body).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    match state.service.set_user_disabled(&Actor::user(session.user.clone()), id, disabled).await {
        Ok(_) => redirect(StatusCode::SEE_OTHER, if disabled { "/admin/members?done=disabled" } else { "/admin/members?done=enabled" }),
        Err(ServiceError::Forbidden(why)) => members_refused(state, &session, &why).await,
        Err(e) => page_for(&e),
    }
}

/// `POST /admin/members/{id}/disable`.
pub async fn disable_member(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, body: Bytes) -> Response {
    set_member_disabled(&state, &browser, &id, &body, true).await
}

/// `POST /admin/members/{id}/enable`.
pub async fn enable_member(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, body: Bytes) -> Response {
    set_member_disabled(&state, &browser, &id, &body, false).await
}

async fn scopes_page(state: &AppState, session: &SignedIn, notice: Option<String>, error: Option<String>) -> Response {
    let user = &session.user;
    let actor = Actor::user(user.clone());
    // Reading the catalogue is open to members (for the client form); this page is not.
    if let Err(e) = state.service.require_runs_org(&actor, &user.org_id) {
        return page_for(&e);
    }
    let scopes = match state.service.scopes(&actor, user.org_id.as_str()).await {
        Ok(s) => s,
        Err(e) => return page_for(&e),
    };
    let mut page_nav = nav(user, "admin", notice);
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    page_nav.error = error;
    html(status, &ScopesPage { nav: page_nav, csrf: state.service.session_csrf(session), tab: "scopes", scopes })
}

/// `GET /admin/scopes`.
pub async fn scopes(State(state): State<AppState>, browser: Browser, Query(done): Query<Done>) -> Response {
    let session = match signed_in(&state, &browser, "/admin/scopes").await {
        Ok(s) => s,
        Err(page) => return page,
    };
    scopes_page(&state, &session, notice(done.done.as_deref()), None).await
}

/// `POST /admin/scopes`: adds a scope to the catalogue.
pub async fn add_scope(State(state): State<AppState>, browser: Browser, body: Bytes) -> Response {
    let (session, form) = match signed_in_form(&state, &browser, &body).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let actor = Actor::user(session.user.clone());
    match state.service.create_scope(&actor, session.user.org_id.as_str(), form.get("name").trim(), form.flag("restricted")).await {
        Ok(_) => redirect(StatusCode::SEE_OTHER, "/admin/scopes?done=added"),
        Err(ServiceError::Invalid(why)) => scopes_page(&state, &session, None, Some(sentence(&why.message))).await,
        Err(e) => page_for(&e),
    }
}

/// `POST /admin/scopes/restriction`.
pub async fn restrict_scope(State(state): State<AppState>, browser: Browser, body: Bytes) -> Response {
    let (session, form) = match signed_in_form(&state, &browser, &body).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let actor = Actor::user(session.user.clone());
    match state.service.set_scope_restricted(&actor, session.user.org_id.as_str(), form.get("name"), form.flag("restricted")).await {
        Ok(_) => redirect(StatusCode::SEE_OTHER, "/admin/scopes?done=saved"),
        Err(e) => page_for(&e),
    }
}

async fn approvals_page(state: &AppState, session: &SignedIn, notice: Option<String>, error: Option<String>) -> Response {
    let user = &session.user;
    let approvals = match state.service.org_approvals(&Actor::user(user.clone()), user.org_id.as_str()).await {
        Ok(a) => a,
        Err(e) => return page_for(&e),
    };
    let mut rows = Vec::new();
    for a in approvals {
        let by = match state.service.member(&Actor::user(user.clone()), &a.approved_by).await {
            Ok(u) => u.email,
            Err(_) => a.approved_by.clone(),
        };
        rows.push(ApprovalRow {
            client_id: a.client_id,
            client_name: a.client_name,
            approved_by: by,
            approved_at_text: dates::utc(a.approved_at),
        });
    }
    let mut page_nav = nav(user, "admin", notice);
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    page_nav.error = error;
    html(status, &ApprovalsPage { nav: page_nav, csrf: state.service.session_csrf(session), tab: "approvals", approvals: rows })
}

/// `GET /admin/approvals`.
pub async fn approvals(State(state): State<AppState>, browser: Browser, Query(done): Query<Done>) -> Response {
    let session = match signed_in(&state, &browser, "/admin/approvals").await {
        Ok(s) => s,
        Err(page) => return page,
    };
    approvals_page(&state, &session, notice(done.done.as_deref()), None).await
}

async fn set_approval(state: &AppState, browser: &Browser, body: &Bytes, approve: bool) -> Response {
    let (session, form) = match signed_in_form(state, browser, body).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let actor = Actor::user(session.user.clone());
    match state.service.set_org_approval(&actor, form.get("client_id").trim(), session.user.org_id.as_str(), approve).await {
        Ok(()) => {
            redirect(StatusCode::SEE_OTHER, if approve { "/admin/approvals?done=approved" } else { "/admin/approvals?done=withdrawn" })
        }
        Err(ServiceError::NotFound("client")) => {
            approvals_page(state, &session, None, Some("There is no client with this id.".into())).await
        }
        Err(e) => page_for(&e),
    }
}

/// `POST /admin/approvals`.
pub async fn approve(State(state): State<AppState>, browser: Browser, body: Bytes) -> Response {
    set_approval(&state, &browser, &body, true).await
}

/// `POST /admin/approvals/withdraw`.
pub async fn withdraw(State(state): State<AppState>, browser: Browser, body: Bytes) -> Response {
    set_approval(&state, &browser, &body, false).await
}

/// The actions the audit filter suggests.
const AUDIT_ACTIONS: [&str; 22] = [
    "client_created",
    "client_updated",
    "client_deleted",
    "client_enabled",
    "client_disabled",
    "client_secret_regenerated",
    "client_secret_revealed",
    "client_auth_failed",
    "user_created",
    "user_updated",
    "user_disabled",
    "user_enabled",
    "scope_created",
    "scope_updated",
    "registration_token_created",
    "login_failed",
    "token_revoked",
    "token_exchanged",
    "grant_revoked",
    "org_approved",
    "org_approval_withdrawn",
    "consent_granted",
];

const AUDIT_PAGE: u32 = 50;

/// `GET /admin/audit`: the organization's audit log, filtered, newest first, 50 a page.
pub async fn audit(State(state): State<AppState>, browser: Browser, Query(filter): Query<AuditFilterForm>) -> Response {
    let session = match signed_in(&state, &browser, "/admin/audit").await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let user = &session.user;
    let actor = Actor::user(user.clone());
    let query = AuditFilter {
        org: None,
        actor: Some(filter.actor.clone()),
        action: Some(filter.action.clone()),
        target: Some(filter.client.clone()),
        since: dates::instant(&filter.from, false),
        // "To" includes that whole day.
        until: dates::instant(&filter.to, true),
        before: filter.before,
        limit: AUDIT_PAGE + 1,
    };
    let mut entries = match state.service.audit_log(&actor, query).await {
        Ok(e) => e,
        Err(e) => return page_for(&e),
    };
    let more = entries.len() > AUDIT_PAGE as usize;
    entries.truncate(AUDIT_PAGE as usize);
    let next = more.then(|| {
        let last = entries.last().map_or(0, |e| e.id);
        let pairs = [
            ("actor", filter.actor.as_str()),
            ("action", filter.action.as_str()),
            ("client", filter.client.as_str()),
            ("from", filter.from.as_str()),
            ("to", filter.to.as_str()),
        ];
        let mut query: Vec<(&str, String)> = pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (*k, (*v).to_owned())).collect();
        query.push(("before", last.to_string()));
        format!("/admin/audit?{}", serde_urlencoded::to_string(query).unwrap_or_default())
    });
    let rows = entries
        .into_iter()
        .map(|e| AuditRow {
            at: dates::utc(e.at),
            actor: e.actor,
            action: e.action,
            target: e.target.unwrap_or_default(),
            ip: e.ip.unwrap_or_default(),
            detail: if e.detail.as_object().is_some_and(serde_json::Map::is_empty) { String::new() } else { e.detail.to_string() },
        })
        .collect();
    html(
        StatusCode::OK,
        &AuditPage { nav: nav(user, "admin", None), tab: "audit", filter, actions: AUDIT_ACTIONS.to_vec(), entries: rows, next },
    )
}
