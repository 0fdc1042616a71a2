//! The developer portal: a user's API clients (`/settings/api-clients/…`): list, create, show,
//! reveal and regenerate the secret, edit, turn off, delete.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use tessera_core::client::AppKind;
use tessera_core::model::{ClientStatus, Pkce};
use tessera_core::scope;
use tessera_proto::ClientView;
use tessera_service::admin::{Actor, ClientEdit, NewClient};
use tessera_service::session::SignedIn;
use tessera_service::{ServiceError, message};

use fluent_bundle::FluentValue;
use serde::Deserialize;

use super::{Done, acting, client_path, nav, notice, signed_in, signed_in_form, stepped_up};
use crate::AppState;
use crate::error::{PageError, PageResult};
use crate::http::forms::{ClientStatusForm, FormBody, NoFields, RollFields, checkbox, grace_choices};
use crate::http::i18n;
use crate::http::pages::{Browser, forbidden, redirect, with_cookie};
use crate::http::views::{
    ClientFormPage, ClientFormValues, ClientKindPage, ClientPage, ClientsPage, ConfirmPage, FieldProblem, KindChoice, ScopeChoice, html,
    message,
};

/// The grants a new client may pick, with a word on each in the reader's language.
fn grant_choices() -> Vec<(&'static str, String)> {
    vec![
        ("client_credentials", i18n::text("portal-grant-client-credentials", &[])),
        ("authorization_code", i18n::text("portal-grant-authorization-code", &[])),
        ("refresh_token", i18n::text("portal-grant-refresh-token", &[])),
        ("implicit", i18n::text("portal-grant-implicit", &[])),
        ("device_code", i18n::text("portal-grant-device-code", &[])),
        ("token_exchange", i18n::text("portal-grant-token-exchange", &[])),
    ]
}

/// How the kinds' page words each answer, in the reader's language.
impl KindChoice {
    pub fn title(&self) -> String {
        match self.kind {
            AppKind::Server => i18n::text("portal-kind-server", &[]),
            AppKind::WebApp => i18n::text("portal-kind-web-app", &[]),
            AppKind::SinglePage => i18n::text("portal-kind-single-page", &[]),
            AppKind::Native => i18n::text("portal-kind-native", &[]),
            AppKind::Device => i18n::text("portal-kind-device", &[]),
            AppKind::Exchanging => i18n::text("portal-kind-exchanging", &[]),
        }
    }

    pub fn text(&self) -> String {
        match self.kind {
            AppKind::Server => i18n::text("portal-kind-server-text", &[]),
            AppKind::WebApp => i18n::text("portal-kind-web-app-text", &[]),
            AppKind::SinglePage => i18n::text("portal-kind-single-page-text", &[]),
            AppKind::Native => i18n::text("portal-kind-native-text", &[]),
            AppKind::Device => i18n::text("portal-kind-device-text", &[]),
            AppKind::Exchanging => i18n::text("portal-kind-exchanging-text", &[]),
        }
    }
}

/// The kind a form or query names (`core::client::AppKind`, its slug); `None` for any other.
fn kind_choice(slug: &str) -> Option<KindChoice> {
    AppKind::parse(slug).map(|kind| KindChoice { kind })
}

/// `GET /settings/api-clients`.
pub async fn clients(State(state): State<AppState>, browser: Browser, Query(done): Query<Done>) -> PageResult {
    let session = signed_in(&state, &browser, "/settings/api-clients").await?;
    let actor = acting(&session, &browser);
    match state.service.list_clients(&actor, None).await {
        Ok(clients) => Ok(html(StatusCode::OK, &ClientsPage { nav: nav(&session, "clients", notice(done.done.as_deref())), clients })),
        Err(e) => Err(e.into()),
    }
}

/// The create and edit form, with the catalogue and run-as users the user may pick.
async fn client_form(
    state: &AppState,
    session: &SignedIn,
    editing: Option<String>,
    kind: Option<KindChoice>,
    mut form: ClientFormValues,
    problems: Vec<FieldProblem>,
) -> PageResult {
    // A private key pasted by mistake (refused: only the public key is registered) is not sent
    // back into the page, where it would sit in the browser's history and any page cache.
    if matches!(tessera_jose::assertion::jwks_from_pasted(form.public_key.trim()), Err(tessera_jose::assertion::KeySetError::PrivateKey)) {
        form.public_key.clear();
    }
    let user = &session.user;
    let actor = Actor::user(user.clone());
    let catalogue = state.service.scopes(&actor, user.org_id.as_str()).await?;
    let run_as_choices = state.service.run_as_candidates(&actor).await?;
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
    // Asked up front when the kind needs them, or when the client (being edited) has some.
    let redirect_grants = form.grants.iter().any(|g| g == "authorization_code" || g == "implicit");
    let redirects_up_front = kind.map_or(redirect_grants, |k| k.kind.needs_redirect_uris()) || !form.redirect_uris.trim().is_empty();
    let origins_up_front = kind.is_some_and(|k| k.kind.calls_from_browser()) || !form.allowed_origins.trim().is_empty();
    let mut page = ClientFormPage {
        nav: nav(session, "clients", None),
        csrf: state.service.session_csrf(session),
        editing,
        kind,
        redirects_up_front,
        origins_up_front,
        form,
        grant_choices: grant_choices(),
        scope_choices,
        run_as_choices,
        problems,
    };
    page.nav.error = (!page.problems.is_empty()).then(|| i18n::text("portal-form-correct", &[]));
    Ok(html(status, &page))
}

#[derive(Deserialize, Default)]
pub struct NewClientQuery {
    #[serde(default)]
    kind: String,
}

/// `GET /settings/api-clients/new`: first what will use the client, then (`?kind=…`) the form
/// with the grants that kind starts with.
pub async fn new_client_form(State(state): State<AppState>, browser: Browser, Query(query): Query<NewClientQuery>) -> PageResult {
    let kind = kind_choice(&query.kind);
    let here = kind.map_or_else(|| "/settings/api-clients/new".to_owned(), |k| format!("/settings/api-clients/new?kind={}", k.slug()));
    let session = signed_in(&state, &browser, &here).await?;
    let Some(kind) = kind else {
        return Ok(html(
            StatusCode::OK,
            &ClientKindPage { nav: nav(&session, "clients", None), kinds: AppKind::ALL.map(|kind| KindChoice { kind }).to_vec() },
        ));
    };
    let form = ClientFormValues {
        grants: kind.kind.grants().iter().map(|g| g.as_str().to_owned()).collect(),
        public: kind.kind.public(),
        run_as: session.user.email.clone(),
        pkce: state.service.settings().default_pkce.as_str().to_owned(),
        ..ClientFormValues::default()
    };
    client_form(&state, &session, None, Some(kind), form, Vec::new()).await
}

fn parse_ttl(text: &str) -> Result<Option<u32>, FieldProblem> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<u32>().map(Some).map_err(|_| FieldProblem { field: "access_token_ttl", message: i18n::text("portal-problem-ttl", &[]) })
}

/// The PKCE choice of the form; empty (a form without the field): the server's default.
fn parse_pkce(text: &str) -> Result<Option<Pkce>, FieldProblem> {
    match text.trim() {
        "" => Ok(None),
        value => {
            Pkce::parse(value).map(Some).ok_or_else(|| FieldProblem { field: "pkce", message: i18n::text("portal-problem-pkce", &[]) })
        }
    }
}

/// The client form as a browser sent it, read in one place for creating and editing: the
/// values to show again if something is wrong, and the typed ones.
struct SentClientForm {
    values: ClientFormValues,
    /// A new client's kind, carried by the form so a page with problems keeps its wording.
    kind: Option<KindChoice>,
    /// Whether the checkbox groups were on the form (an edit form without them leaves them).
    grants_on_form: bool,
    scopes_on_form: bool,
    ttl: Result<Option<u32>, FieldProblem>,
    /// Empty (a form without the field): `None`, the server's default or the current setting.
    pkce: Result<Option<Pkce>, FieldProblem>,
}

impl SentClientForm {
    fn read(form: &FormBody) -> Option<Self> {
        let fields: ClientFields = form.read()?;
        let values = ClientFormValues {
            name: fields.name,
            grants: form.all("grants"),
            scopes: form.all("scopes"),
            public: fields.public,
            redirect_uris: fields.redirect_uris,
            allowed_origins: fields.allowed_origins,
            allowed_ips: fields.allowed_ips,
            run_as: fields.run_as.trim().to_owned(),
            access_token_ttl: fields.access_token_ttl,
            requires_org_approval: fields.requires_org_approval,
            require_pushed_authorization_requests: fields.require_pushed_authorization_requests,
            dpop_bound_access_tokens: fields.dpop_bound_access_tokens,
            pkce: fields.pkce.trim().to_owned(),
            resources: fields.resources,
            public_key: fields.public_key,
        };
        Some(Self {
            kind: kind_choice(&fields.kind),
            grants_on_form: form.has("grants"),
            scopes_on_form: form.has("scopes"),
            ttl: parse_ttl(&values.access_token_ttl),
            pkce: parse_pkce(&values.pkce),
            values,
        })
    }
}

/// The client form's single-valued fields; its checkbox groups (`grants`, `scopes`) repeat
/// their name and are read from the whole form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ClientFields {
    kind: String,
    name: String,
    #[serde(deserialize_with = "checkbox")]
    public: bool,
    redirect_uris: String,
    allowed_origins: String,
    allowed_ips: String,
    run_as: String,
    access_token_ttl: String,
    #[serde(deserialize_with = "checkbox")]
    requires_org_approval: bool,
    #[serde(deserialize_with = "checkbox")]
    require_pushed_authorization_requests: bool,
    #[serde(deserialize_with = "checkbox")]
    dpop_bound_access_tokens: bool,
    pkce: String,
    resources: String,
    public_key: String,
}

/// A textarea: one entry per line, blank lines ignored.
fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect()
}

/// `POST /settings/api-clients/new`.
pub async fn create_client(State(state): State<AppState>, browser: Browser, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<FormBody>(&state, &browser, &body).await?;
    let user = &session.user;
    let actor = Actor::user(user.clone());
    let SentClientForm { values, kind, ttl, pkce, .. } = SentClientForm::read(&form).ok_or_else(forbidden)?;
    let mut problems = Vec::new();
    let ttl = ttl.unwrap_or_else(|p| {
        problems.push(p);
        None
    });
    let pkce = pkce.unwrap_or_else(|p| {
        problems.push(p);
        None
    });
    let new = NewClient {
        org: user.org_id.to_string(),
        owner_email: user.email.clone(),
        name: values.name.clone(),
        grants: values.grants.clone(),
        scopes: values.scopes.clone(),
        redirect_uris: lines(&values.redirect_uris),
        allowed_origins: lines(&values.allowed_origins),
        allowed_ips: lines(&values.allowed_ips),
        run_as_email: (!values.run_as.is_empty() && values.run_as != user.email).then(|| values.run_as.clone()),
        public: values.public,
        access_token_ttl: ttl,
        requires_org_approval: values.requires_org_approval,
        require_pushed_authorization_requests: values.require_pushed_authorization_requests,
        dpop_bound_access_tokens: values.dpop_bound_access_tokens,
        pkce,
        resources: lines(&values.resources),
        token_endpoint_auth_method: None,
        jwks: Some(values.public_key.clone()).filter(|k| !k.trim().is_empty()),
        jwks_uri: None,
    };
    if new.grants.is_empty() {
        problems.push(FieldProblem { field: "grants", message: i18n::text("portal-problem-no-grant", &[]) });
    }
    if new.scopes.is_empty() {
        problems.push(no_scope());
    }
    match state.service.client_problems(&actor, &new).await {
        Ok(found) => problems.extend(found.into_iter().map(|p| shown(Some(p.field), &p.message))),
        Err(e) => return Err(e.into()),
    }
    if !problems.is_empty() {
        return client_form(&state, &session, None, kind, values, problems).await;
    }
    match state.service.create_client(&actor, new).await {
        Ok(view) => {
            // Post/redirect/get: a reload shows the client, it does not make another. The secret
            // is shown once by the page redirected to, never carried in its URL.
            let to = redirect(StatusCode::SEE_OTHER, &format!("{}?done=created", client_path(&view.client_id)));
            Ok(match view.client_secret {
                Some(_) => with_fresh_secret(&state, &browser, &session, &view.client_id, to),
                None => to,
            })
        }
        Err(ServiceError::Invalid(why)) => client_form(&state, &session, None, kind, values, vec![shown(why.field, &why.message)]).await,
        Err(e) => Err(e.into()),
    }
}

/// A GET page about one client: the signed-in user and the client, if they may see it.
async fn visible_client(state: &AppState, browser: &Browser, here: &str, id: &str) -> Result<(SignedIn, ClientView), PageError> {
    let session = signed_in(state, browser, here).await?;
    let view = state.service.show_client(&acting(&session, browser), id).await?;
    Ok((session, view))
}

async fn client_page(state: &AppState, session: &SignedIn, view: ClientView, secret: Option<String>, note: Option<String>) -> PageResult {
    let can_reveal = view.owner_id == session.user.id.as_str();
    let csrf = state.service.session_csrf(session);
    let previous_secret_until = view.previous_secret_expires_at.map(crate::http::dates::utc);
    let created = crate::http::dates::utc(view.created_at);
    let last_used = view.last_used_at.map(crate::http::dates::utc);
    let page = ClientPage {
        nav: nav(session, "clients", note),
        csrf,
        client: view,
        secret,
        can_reveal,
        previous_secret_until,
        created,
        last_used,
    };
    Ok(html(StatusCode::OK, &page))
}

/// A redirect that lets the page it goes to show `client_id`'s secret once, in this browser
/// only: a mark bound to the session in a short-lived cookie, never the secret itself.
fn with_fresh_secret(state: &AppState, browser: &Browser, session: &SignedIn, client_id: &str, to: Response) -> Response {
    let mark = state.service.fresh_secret_mark(session, client_id);
    with_cookie(to, Some(browser.set_cookie(browser.names.fresh_secret, &mark, 300)))
}

/// `GET /settings/api-clients/{id}`: after a create, a roll or a confirmed Show, the secret
/// once (the mark cookie is spent by this answer, so a reload shows it masked).
pub async fn client(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, Query(done): Query<Done>) -> PageResult {
    let (session, view) = visible_client(&state, &browser, &client_path(&id), &id).await?;
    let fresh = browser.cookies.get(browser.names.fresh_secret);
    let marked = fresh.is_some_and(|mark| state.service.fresh_secret_mark_matches(&session, &id, mark));
    // A client without a secret (public, or with a key) has nothing to show: masked as ever.
    let secret =
        match marked && view.owner_id == session.user.id.as_str() && view.token_endpoint_auth_method != "private_key_jwt" && !view.public {
            true => Some(state.service.reveal_secret(&acting(&session, &browser), &id).await?),
            false => None,
        };
    let page = client_page(&state, &session, view, secret, notice(done.done.as_deref())).await?;
    Ok(match fresh {
        Some(_) => with_cookie(page, Some(browser.set_cookie(browser.names.fresh_secret, "", 0))),
        None => page,
    })
}

/// `POST /settings/api-clients/{id}/secret`: the owner's Show button, after step-up; the
/// client's page then shows the secret once (and audits it).
pub async fn reveal_secret(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, body: Bytes) -> PageResult {
    let (session, NoFields {}) = signed_in_form(&state, &browser, &body).await?;
    let here = format!("{}/secret", client_path(&id));
    let session = stepped_up(&state, &browser, session, &body, &here, "show the secret", &client_path(&id)).await?;
    state.service.may_reveal_secret(&acting(&session, &browser), &id).await?;
    Ok(with_fresh_secret(&state, &browser, &session, &id, redirect(StatusCode::SEE_OTHER, &client_path(&id))))
}

/// A confirmation page for a destructive action on a client.
async fn confirm(state: &AppState, browser: &Browser, id: &str, what: &'static str) -> PageResult {
    let here = format!("{}/{what}", client_path(id));
    let (session, view) = visible_client(state, browser, &here, id).await?;
    let mut fields = Vec::new();
    let name = [("name", FluentValue::from(view.name.as_str()))];
    let (title, text, button, grace_choices) = match what {
        "delete" => (
            i18n::text("portal-confirm-delete", &name),
            i18n::text("portal-confirm-delete-text", &[]),
            i18n::text("portal-confirm-delete-button", &[]),
            Vec::new(),
        ),
        "status" => {
            fields.push(("status", "off"));
            (
                i18n::text("portal-confirm-off", &name),
                i18n::text("portal-confirm-off-text", &[]),
                i18n::text("portal-client-turn-off", &[]),
                Vec::new(),
            )
        }
        _ => (
            i18n::text("portal-confirm-roll", &name),
            i18n::text("portal-confirm-roll-text", &[]),
            i18n::text("portal-client-roll", &[]),
            grace_choices(),
        ),
    };
    let csrf = state.service.session_csrf(&session);
    let back = client_path(id);
    let page = ConfirmPage {
        nav: nav(&session, "clients", None),
        csrf,
        title,
        text,
        action: here,
        back,
        button,
        danger: true,
        grace_choices,
        fields,
    };
    Ok(html(StatusCode::OK, &page))
}

/// `GET /settings/api-clients/{id}/regenerate`.
pub async fn regenerate_form(State(state): State<AppState>, browser: Browser, Path(id): Path<String>) -> PageResult {
    confirm(&state, &browser, &id, "regenerate").await
}

/// `POST /settings/api-clients/{id}/regenerate`.
pub async fn regenerate(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, body: Bytes) -> PageResult {
    let (session, fields): (_, RollFields) = signed_in_form(&state, &browser, &body).await?;
    let grace = fields
        .grace()
        .ok_or_else(|| ServiceError::invalid_field("grace", message!("page-grace-choice", "choose one of the times offered")))?;
    let here = format!("{}/regenerate", client_path(&id));
    let session = stepped_up(&state, &browser, session, &body, &here, "make a new secret", &client_path(&id)).await?;
    let actor = acting(&session, &browser);
    let rolled = state.service.regenerate_secret(&actor, &id, Some(grace)).await?;
    let view = state.service.show_client(&actor, &id).await?;
    let done = if rolled.previous_secret_expires_at.is_some() { "rolled-grace" } else { "rolled" };
    let to = redirect(StatusCode::SEE_OTHER, &format!("{}?done={done}", client_path(&id)));
    // Only the owner sees the new secret; an admin who rolled it tells the owner.
    Ok(match view.owner_id == session.user.id.as_str() {
        true => with_fresh_secret(&state, &browser, &session, &id, to),
        false => to,
    })
}

/// `GET /settings/api-clients/{id}/delete`.
pub async fn delete_form(State(state): State<AppState>, browser: Browser, Path(id): Path<String>) -> PageResult {
    confirm(&state, &browser, &id, "delete").await
}

/// `POST /settings/api-clients/{id}/delete`.
pub async fn delete(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, body: Bytes) -> PageResult {
    let (session, NoFields {}) = signed_in_form(&state, &browser, &body).await?;
    match state.service.delete_client(&acting(&session, &browser), &id).await {
        Ok(()) => Ok(redirect(StatusCode::SEE_OTHER, "/settings/api-clients?done=deleted")),
        Err(e) => Err(e.into()),
    }
}

/// `POST /settings/api-clients/{id}/status`: Turn on / Turn off.
pub async fn set_status(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<ClientStatusForm>(&state, &browser, &body).await?;
    let Some(status) = ClientStatus::parse(&form.status) else {
        let (title, text) = (i18n::text("portal-status-refused", &[]), i18n::text("portal-status-invalid", &[]));
        return Ok(message(StatusCode::BAD_REQUEST, &title, &text));
    };
    match state.service.set_client_status(&acting(&session, &browser), &id, status).await {
        Ok(_) => Ok(redirect(StatusCode::SEE_OTHER, &format!("{}?done={}", client_path(&id), status.as_str()))),
        Err(e) => Err(e.into()),
    }
}

/// `GET /settings/api-clients/{id}/status`: asks before turning a client off.
pub async fn turn_off_form(State(state): State<AppState>, browser: Browser, Path(id): Path<String>) -> PageResult {
    confirm(&state, &browser, &id, "status").await
}

fn no_scope() -> FieldProblem {
    FieldProblem { field: "scopes", message: i18n::text("portal-problem-no-scope", &[]) }
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
pub async fn edit_form(State(state): State<AppState>, browser: Browser, Path(id): Path<String>) -> PageResult {
    let (session, view) = visible_client(&state, &browser, &format!("{}/edit", client_path(&id)), &id).await?;
    client_form(&state, &session, Some(id), None, edit_values(&view), Vec::new()).await
}

/// `POST /settings/api-clients/{id}/edit`.
pub async fn edit(State(state): State<AppState>, browser: Browser, Path(id): Path<String>, body: Bytes) -> PageResult {
    let (session, form) = signed_in_form::<FormBody>(&state, &browser, &body).await?;
    let actor = acting(&session, &browser);
    let current = state.service.show_client(&actor, &id).await?;
    let sent = SentClientForm::read(&form).ok_or_else(forbidden)?;
    // What the edit form does not send stays as it is: a checkbox group not on the form, PKCE
    // when not chosen, and what only creation sets (public, the public key).
    let current = edit_values(&current);
    let values = ClientFormValues {
        grants: if sent.grants_on_form { sent.values.grants.clone() } else { current.grants },
        scopes: if sent.scopes_on_form { sent.values.scopes.clone() } else { current.scopes },
        pkce: if sent.values.pkce.trim().is_empty() { current.pkce } else { sent.values.pkce.clone() },
        public: current.public,
        public_key: current.public_key,
        ..sent.values
    };
    let ttl = match sent.ttl {
        Ok(ttl) => ttl,
        Err(problem) => return client_form(&state, &session, Some(id), None, values, vec![problem]).await,
    };
    let pkce = match sent.pkce {
        Ok(pkce) => pkce,
        Err(problem) => return client_form(&state, &session, Some(id), None, values, vec![problem]).await,
    };
    if sent.scopes_on_form && values.scopes.is_empty() {
        return client_form(&state, &session, Some(id), None, values, vec![no_scope()]).await;
    }
    let edit = ClientEdit {
        name: Some(values.name.clone()),
        grants: sent.grants_on_form.then(|| values.grants.clone()),
        scopes: sent.scopes_on_form.then(|| values.scopes.clone()),
        redirect_uris: Some(lines(&values.redirect_uris)),
        allowed_origins: Some(lines(&values.allowed_origins)),
        allowed_ips: Some(lines(&values.allowed_ips)),
        run_as: (!values.run_as.is_empty()).then(|| values.run_as.clone()),
        access_token_ttl: Some(ttl),
        requires_org_approval: Some(values.requires_org_approval),
        require_pushed_authorization_requests: Some(values.require_pushed_authorization_requests),
        dpop_bound_access_tokens: Some(values.dpop_bound_access_tokens),
        pkce,
        resources: Some(lines(&values.resources)),
        jwks: None,
        jwks_uri: None,
    };
    match state.service.update_client(&actor, &id, edit).await {
        Ok(_) => Ok(redirect(StatusCode::SEE_OTHER, &format!("{}?done=saved", client_path(&id)))),
        Err(ServiceError::Invalid(why)) => {
            client_form(&state, &session, Some(id), None, values, vec![shown(why.field, &why.message)]).await
        }
        Err(e) => Err(e.into()),
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
fn shown(field: Option<&'static str>, message: &tessera_service::Message) -> FieldProblem {
    FieldProblem { field: field.filter(|f| FORM_FIELDS.contains(f)).unwrap_or("other"), message: i18n::said(message) }
}
