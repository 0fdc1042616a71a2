//! The authorization endpoint's use cases: validate the request, decide whether the user must
//! log in or consent, and answer the client with a code (authorization-code flow) or tokens in
//! the fragment (implicit flow); and the org admin's approval of a client (`scope=org`).
//!
//! The rules live in `tessera_core::authorize`; this module loads what they need, persists the
//! code and consent, and builds the redirect.

use tessera_core::audit::{AuditAction, AuditEvent};
use tessera_core::authorize::{self, AuthorizationRequest, AuthorizeError, Interaction, ResponseMode, ResponseType, SessionFacts};
use tessera_core::code::IssuedCode;
use tessera_core::issue::{Refusal, UserGrantInput};
use tessera_core::model::{ClientStatus, Role, User};
use tessera_core::par;
use tessera_core::params::Params;
use tessera_core::scope::ScopeSet;
use tessera_core::token::AccessGrant;
use tessera_core::{ErrorCode, OAuthError};
use tessera_store::{CodeRecord, GrantRecord};

use crate::Tessera;
use crate::cache::{CachedClient, ClientRef};
use crate::error::Result;
use crate::grants::IdTokenAbout;
use crate::par::Pushed;
use crate::session::SignedIn;

/// A valid authorization request, its client, and the pushed request it came from, if any.
type Validated = (AuthorizationRequest, ClientRef, Option<Pushed>);

/// What the browser should see next.
#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// An error page, never a redirect: the client or its redirect URI cannot be trusted.
    ErrorPage(OAuthError),
    /// Send the browser to this URL (the client's redirect URI with the response).
    Redirect(String),
    /// The user must sign in (again) first.
    Login,
    /// Ask the user to consent.
    Consent(ConsentPrompt),
    /// Ask an org admin to approve the client for their organization.
    Approval(ApprovalPrompt),
}

/// One requested scope, in words.
#[derive(Debug, Clone)]
pub struct ScopeLine {
    pub name: String,
    pub description: String,
}

/// What the consent page shows.
#[derive(Debug, Clone)]
pub struct ConsentPrompt {
    pub client_id: String,
    pub client_name: String,
    /// The email of the client's owner: who the user is trusting.
    pub owner: String,
    pub user_email: String,
    pub scopes: Vec<ScopeLine>,
    /// For an application of none of the person's organizations, when they belong to several:
    /// which one it may act in (SPEC §11).
    pub organizations: Vec<crate::memberships::OrgChoice>,
}

/// What the approval page shows.
#[derive(Debug, Clone)]
pub struct ApprovalPrompt {
    pub client_id: String,
    pub client_name: String,
    pub owner: String,
    pub org_name: String,
    pub already_approved: bool,
    /// What approving also lets the application do as the admin (its registered scopes the
    /// admin may grant): the approval answers with a code, like a consent.
    pub scopes: Vec<ScopeLine>,
}

/// The user's answer on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentDecision {
    Allow,
    Deny,
}

/// How the consent page describes a scope.
fn describe(name: &str) -> String {
    match name {
        "openid" => "Know who you are (your user id)".into(),
        "profile" => "See your basic profile".into(),
        "email" => "See your email address".into(),
        "offline_access" => "Keep this access when you are not using the application".into(),
        "org" => "Approve the application for your organization".into(),
        other => format!("Use the API with the “{other}” permission"),
    }
}

pub(crate) fn scope_lines(scope: &ScopeSet) -> Vec<ScopeLine> {
    scope.iter().map(|name| ScopeLine { name: name.to_owned(), description: describe(name) }).collect()
}

/// What an org admin's approval also authorizes for the admin: the client's registered scopes
/// their role may grant (empty when none).
fn approval_scope(request: &AuthorizationRequest, client: &CachedClient, admin: &User) -> ScopeSet {
    let authorization = AuthorizationRequest { scope: client.client.scopes.clone(), org_approval: None, ..request.clone() };
    authorize::scope_for_user(&authorization, client.holder(admin), &client.catalogue).unwrap_or_default()
}

impl Tessera {
    /// `GET /oauth2/authorize`.
    pub async fn authorize(&self, params: &Params, session: Option<&SignedIn>) -> Result<AuthorizeOutcome> {
        let (mut request, client, pushed) = match self.validate_authorization(params).await? {
            Ok(valid) => valid,
            Err(outcome) => return Ok(outcome),
        };
        let pushed = pushed.as_ref();
        let Some(session) = session else {
            return self.finish_pushed(pushed, self.when_signed_out(&request)).await;
        };
        if request.org_approval.is_some() {
            let outcome = self.approval_prompt(&request, &client, session).await?;
            return self.finish_pushed(pushed, outcome).await;
        }
        let session = &self.acting_session(session, &client.client.org_id, &client.client.id, None).await?;
        // The login page cannot strip `prompt=login` from a pushed request: a login after the
        // request was first used satisfies it.
        if pushed.is_some_and(|p| par::login_satisfied(p.opened_at, p.opened_now, session.auth_time)) {
            request.prompt.login = false;
        }
        let now = self.clock.now();
        let consented = self.store.consent(&session.user.id, &client.client.id).await?;
        let facts = SessionFacts {
            auth_time: session.auth_time,
            multi_factor: session.amr.iter().any(|m| m == crate::session::MULTIPLE_FACTORS),
            has_second_factor: request.wants_multi_factor && self.has_second_factor(&session.user.id).await?,
        };
        match authorize::interaction(&request, Some(facts), consented.as_ref(), now) {
            Err(error) => self.finish_pushed(pushed, self.error_redirect(&request, &error)).await,
            Ok(Interaction::Login) => Ok(AuthorizeOutcome::Login),
            Ok(Interaction::Consent) => {
                let outcome = self.consent_prompt(&request, &client, session).await?;
                self.finish_pushed(pushed, outcome).await
            }
            Ok(Interaction::Proceed) => {
                if let Some(used) = self.consume_pushed(pushed).await? {
                    return Ok(used);
                }
                self.respond(&request, &client, session).await
            }
        }
    }

    /// The consent form's Allow or Deny. The HTTP layer has checked the CSRF token and origin.
    /// `chose`: the membership picked on the page for an application of none of the person's
    /// organizations (a user id of theirs; anything else is "not found").
    pub async fn decide_consent(
        &self,
        params: &Params,
        session: &SignedIn,
        decision: ConsentDecision,
        chose: Option<&str>,
    ) -> Result<AuthorizeOutcome> {
        let (request, client, pushed) = match self.validate_authorization(params).await? {
            Ok(valid) => valid,
            Err(outcome) => return Ok(outcome),
        };
        let pushed = pushed.as_ref();
        if decision == ConsentDecision::Deny {
            let error = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
            return self.finish_pushed(pushed, self.error_redirect(&request, &error)).await;
        }
        let session = &self.acting_session(session, &client.client.org_id, &client.client.id, chose).await?;
        let catalogue = client.catalogue.clone();
        let scope = match authorize::scope_for_user(&request, client.holder(&session.user), &catalogue) {
            Ok(scope) => scope,
            Err(error) => return self.finish_pushed(pushed, self.error_redirect(&request, &error)).await,
        };
        if let Some(used) = self.consume_pushed(pushed).await? {
            return Ok(used);
        }
        self.save_consent_audited(&session.user, &client.client.id, &scope).await?;
        self.respond(&request, &client, session).await
    }

    /// The approval form's Approve: an admin or owner approves the client for their org.
    pub async fn approve_from_browser(&self, params: &Params, session: &SignedIn) -> Result<AuthorizeOutcome> {
        let (request, client, pushed) = match self.validate_authorization(params).await? {
            Ok(valid) => valid,
            Err(outcome) => return Ok(outcome),
        };
        let pushed = pushed.as_ref();
        let org = match self.org_to_approve(&request, &session.user).await? {
            Ok(org) => org,
            Err(refused) => return self.finish_pushed(pushed, refused).await,
        };
        if let Some(used) = self.consume_pushed(pushed).await? {
            return Ok(used);
        }
        self.set_org_approval(&crate::admin::Actor::user(session.user.clone()), client.client.id.as_str(), org.id.as_str(), true).await?;
        // The admin also authorized the application for themselves (the Bluescape seed: "you
        // will get back an Access Code"): the answer is the usual one for the client's
        // registered scopes the admin may grant, which the approval page listed.
        let scope = approval_scope(&request, &client, &session.user);
        let authorization = AuthorizationRequest { scope: scope.clone(), org_approval: None, ..request };
        if scope.is_empty() {
            return Ok(self.answer(&authorization, ResponseMode::Query, &[("approved", "true")]));
        }
        self.save_consent_audited(&session.user, &client.client.id, &scope).await?;
        self.respond(&authorization, &client, session).await
    }

    /// Records the user's consent to `scope` for `client`, with its audit entry.
    pub(crate) async fn save_consent_audited(&self, user: &User, client: &tessera_core::model::ClientId, scope: &ScopeSet) -> Result<()> {
        let now = self.clock.now();
        self.store.save_consent(&user.id, client, scope, now).await?;
        let audit = AuditEvent {
            at: now,
            org_id: Some(user.org_id.to_string()),
            actor: user.id.to_string(),
            action: AuditAction::ConsentGranted,
            target: Some(client.to_string()),
            ip: None,
            detail: serde_json::json!({ "scope": scope.to_string() }),
        };
        self.store.append_audit(&audit).await?;
        Ok(())
    }

    /// Sends the browser back to the client with `response` (plus `state` and `iss`).
    fn answer(&self, request: &AuthorizationRequest, mode: ResponseMode, response: &[(&str, &str)]) -> AuthorizeOutcome {
        AuthorizeOutcome::Redirect(authorize::answer_url(&request.redirect_uri, mode, response, request.state.as_deref(), self.issuer()))
    }

    /// Validates the request against the client; the outer error is the store's, the inner one
    /// the answer to show when the request is bad. A request with `request_uri` stands for the
    /// pushed request it names (RFC 9126 §4), which is returned to be consumed by the answer.
    async fn validate_authorization(&self, params: &Params) -> Result<std::result::Result<Validated, AuthorizeOutcome>> {
        self.sync().await?;
        let (pushed_params, pushed) = match self.resolve_pushed(params).await? {
            Ok(Some((pushed_params, pushed))) => (Some(pushed_params), Some(pushed)),
            Ok(None) => (None, None),
            Err(error) => return Ok(Err(AuthorizeOutcome::ErrorPage(error))),
        };
        let params = pushed_params.as_ref().unwrap_or(params);
        let client = match params.get("client_id") {
            Some(id) if tessera_core::model::ClientId::is_well_formed(id) => {
                self.cache.client(&*self.store, &tessera_core::model::ClientId::new(id)).await?
            }
            _ => None,
        };
        let request = match authorize::validate(params, client.as_ref().map(|c| &c.client), self.settings.default_response_type) {
            Ok(request) => request,
            Err(AuthorizeError::Page(error)) => return Ok(Err(AuthorizeOutcome::ErrorPage(error))),
            Err(AuthorizeError::Redirect { redirect_uri, mode, error, state }) => {
                return Ok(Err(AuthorizeOutcome::Redirect(authorize::error_url(
                    &redirect_uri,
                    mode,
                    &error,
                    state.as_deref(),
                    self.issuer(),
                ))));
            }
        };
        let Some(client) = client else {
            return Ok(Err(AuthorizeOutcome::ErrorPage(OAuthError::invalid_request("unknown client_id"))));
        };
        if client.client.status == ClientStatus::Off {
            return Ok(Err(AuthorizeOutcome::ErrorPage(OAuthError::invalid_request("this application is turned off"))));
        }
        if pushed.is_none() && par::required(&client.client, self.settings.require_pushed_authorization_requests) {
            return Ok(Err(self.error_redirect(&request, &par::not_pushed())));
        }
        Ok(Ok((request, client, pushed)))
    }

    fn when_signed_out(&self, request: &AuthorizationRequest) -> AuthorizeOutcome {
        if request.prompt.none {
            let error = OAuthError::new(ErrorCode::LoginRequired, "the user is not signed in");
            return self.error_redirect(request, &error);
        }
        AuthorizeOutcome::Login
    }

    fn error_redirect(&self, request: &AuthorizationRequest, error: &OAuthError) -> AuthorizeOutcome {
        let mode = request.response_type.mode();
        AuthorizeOutcome::Redirect(authorize::error_url(&request.redirect_uri, mode, error, request.state.as_deref(), self.issuer()))
    }

    async fn consent_prompt(&self, request: &AuthorizationRequest, client: &CachedClient, session: &SignedIn) -> Result<AuthorizeOutcome> {
        let user = &session.user;
        let scope = match authorize::scope_for_user(request, client.holder(user), &client.catalogue) {
            Ok(scope) => scope,
            Err(error) => return Ok(self.error_redirect(request, &error)),
        };
        Ok(AuthorizeOutcome::Consent(ConsentPrompt {
            client_id: client.client.id.to_string(),
            client_name: client.client.name.clone(),
            owner: client.owner.as_ref().map_or_else(String::new, |o| o.email.clone()),
            user_email: user.email.clone(),
            scopes: scope_lines(&scope),
            organizations: self.organization_choice(session, &client.client.org_id).await?,
        }))
    }

    /// The org named by `scope=org&org_id=N` when `user` is an admin or owner of it; otherwise
    /// the `access_denied` answer.
    async fn org_to_approve(
        &self,
        request: &AuthorizationRequest,
        user: &User,
    ) -> Result<std::result::Result<tessera_core::model::Org, AuthorizeOutcome>> {
        let org = match request.org_approval.as_deref() {
            Some(wanted) => self.store.find_org(wanted).await?,
            None => None,
        };
        match org.filter(|org| org.id == user.org_id && matches!(user.role, Role::Owner | Role::Admin)) {
            Some(org) => Ok(Ok(org)),
            None => {
                let error = OAuthError::new(ErrorCode::AccessDenied, "only an admin of this organization may approve applications for it");
                Ok(Err(self.error_redirect(request, &error)))
            }
        }
    }

    async fn approval_prompt(&self, request: &AuthorizationRequest, client: &CachedClient, session: &SignedIn) -> Result<AuthorizeOutcome> {
        let org = match self.org_to_approve(request, &session.user).await? {
            Ok(org) => org,
            Err(refused) => return Ok(refused),
        };
        Ok(AuthorizeOutcome::Approval(ApprovalPrompt {
            client_id: client.client.id.to_string(),
            client_name: client.client.name.clone(),
            owner: client.owner.as_ref().map_or_else(String::new, |o| o.email.clone()),
            org_name: org.name.clone(),
            already_approved: self.store.org_approved(&client.client.id, &org.id).await?,
            scopes: scope_lines(&approval_scope(request, client, &session.user)),
        }))
    }

    /// Answers the client: a code, or (implicit) tokens in the fragment.
    async fn respond(&self, request: &AuthorizationRequest, client: &CachedClient, session: &SignedIn) -> Result<AuthorizeOutcome> {
        let user = &session.user;
        self.note_if_awaiting_approval(client, user).await?;
        let scope = match authorize::scope_for_user(request, client.holder(user), &client.catalogue) {
            Ok(scope) => scope,
            Err(error) => return Ok(self.error_redirect(request, &error)),
        };
        let now = self.clock.now();
        let mut response: Vec<(&str, String)> = Vec::new();
        match request.response_type {
            ResponseType::Code => {
                let code = self.secrets.random_token(32)?;
                let record = CodeRecord {
                    grant: self.new_grant(client, session, &scope, &request.resources, now)?,
                    code: IssuedCode {
                        client_id: client.client.id.clone(),
                        redirect_uri: request.redirect_uri_sent.then(|| request.redirect_uri.clone()),
                        scope,
                        code_challenge: request.code_challenge.clone(),
                        nonce: request.nonce.clone(),
                        // Its ten minutes run on the lifetime clock (SPEC §12).
                        issued_at: self.lifetime_now(),
                    },
                };
                self.store.insert_code(&self.secrets.lookup_hash(&code), &record).await?;
                response.push(("code", code));
            }
            ResponseType::Token | ResponseType::IdTokenToken => {
                // The implicit flow: an access token (and an ID token when asked), never a
                // refresh token (A17). The token leaves here, so it is decided here as a code
                // redemption decides (`issue::decide`: the parties, the organization's approval,
                // the scope, the resources), and it carries a grant of its own, so revoking the
                // consent or withdrawing the approval ends it as it ends a code flow's tokens.
                let input = UserGrantInput {
                    client: &client.client,
                    owner: client.owner.as_ref(),
                    user: Some(user),
                    org_approves: self.org_approves(client, user).await?,
                    catalogue: &client.catalogue,
                    scope: &scope,
                    granted_resources: &request.resources,
                    requested_resources: &[],
                };
                let decided = match tessera_core::issue::decide(&input) {
                    Ok(decided) => decided,
                    Err(Refusal::NotApproved) => {
                        let refused = OAuthError::unauthorized_client("the application has not been approved for this organization");
                        return Ok(self.error_redirect(request, &refused));
                    }
                    Err(Refusal::OAuth(error)) => return Ok(self.error_redirect(request, &error)),
                };
                let scope = decided.scope;
                let grant = self.new_grant(client, session, &scope, &decided.resources, now)?;
                self.store.insert_grant(&grant).await?;
                let ttl = self.settings.policy.access_token_ttl(&client.client);
                let states = AccessGrant {
                    subject: &user.id,
                    client: &client.client,
                    org: &user.org_id,
                    scope: &scope,
                    resources: &decided.resources,
                    ttl,
                };
                let access_token = self.sign_access_token(&states, Some(&grant.id), None, now)?;
                if request.response_type == ResponseType::IdTokenToken {
                    let about = IdTokenAbout {
                        scope: &scope,
                        auth_time: session.auth_time,
                        amr: &session.amr,
                        nonce: request.nonce.as_deref(),
                        access_token: Some(&access_token),
                    };
                    let id_token = self.sign_id_token(user, &client.client, &about, now)?;
                    response.push(("id_token", id_token));
                }
                response.push(("access_token", access_token));
                response.push(("token_type", "Bearer".into()));
                response.push(("expires_in", ttl.to_string()));
                response.push(("scope", scope.to_string()));
            }
        }
        let pairs: Vec<(&str, &str)> = response.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Ok(self.answer(request, request.response_type.mode(), &pairs))
    }

    /// A new authorization by the signed-in user for `client`: what a code or an implicit
    /// answer's token descends from.
    fn new_grant(
        &self,
        client: &CachedClient,
        session: &SignedIn,
        scope: &ScopeSet,
        resources: &[String],
        now: i64,
    ) -> Result<GrantRecord> {
        Ok(GrantRecord {
            id: self.secrets.random_id(24)?,
            client_id: client.client.id.clone(),
            user_id: session.user.id.clone(),
            scope: scope.clone(),
            auth_time: session.auth_time,
            created_at: now,
            expires_at: None,
            revoked: false,
            resources: resources.to_vec(),
            amr: session.amr.clone(),
            parent_id: None,
        })
    }

    /// The scopes a user has consented to, per client, for the page where consent is revoked.
    pub async fn consents(&self, user: &User) -> Result<Vec<(String, String, ScopeSet)>> {
        let mut out = Vec::new();
        for (client_id, scope) in self.store.consents(&user.id).await? {
            let name = self.store.client(&client_id).await?.map_or_else(|| client_id.to_string(), |c| c.client.name);
            out.push((client_id.to_string(), name, scope));
        }
        Ok(out)
    }

    /// Withdraws a user's consent for a client and revokes every token it led to.
    pub async fn revoke_consent(&self, user: &User, client_id: &str) -> Result<bool> {
        let audit = AuditEvent {
            at: self.clock.now(),
            org_id: Some(user.org_id.to_string()),
            actor: user.id.to_string(),
            action: AuditAction::ConsentRevoked,
            target: Some(client_id.to_owned()),
            ip: None,
            detail: serde_json::json!({}),
        };
        Ok(self.store.revoke_consent(&user.id, &tessera_core::model::ClientId::new(client_id), &audit).await?)
    }
}
