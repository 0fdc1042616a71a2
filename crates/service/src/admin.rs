//! Administrative use cases shared by the CLI, the portal, the organization admin pages and the
//! admin API: organizations, scopes, users, clients, approvals, keys, the audit log and operator
//! revocation. Every call names its [`Actor`]; who may do what is `tessera_core::access`, applied
//! here once for every front end. Every change is validated here and audited by the store in the
//! same transaction.

use std::collections::BTreeSet;

use ipnet::IpNet;
use tessera_core::access::{self, Caller, Denial};
use tessera_core::audit::{AuditAction, AuditEvent};
use tessera_core::client::{self as client_rules, Problem, Registration};
use tessera_core::model::{
    Client, ClientId, ClientKeys, ClientStatus, GrantType, Org, OrgId, Pkce, Role, ScopeDef, TokenEndpointAuthMethod, User, UserId,
};
use tessera_core::scope::{self, ScopeSet};
use tessera_proto::{ApprovalView, AuditView, CallerView, ClientView, KeyView, OrgView, ScopeView, UserView};
use tessera_store::{AuditQuery, ClientRecord, SecretMaterial};

use crate::error::{Result, ServiceError};
use crate::{Tessera, keys};

/// Who performs an administrative action: the operator (CLI, start-up, setup link), or a
/// signed-in user, whose powers `tessera_core::access` limits. The label goes to the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    label: String,
    user: Option<User>,
    /// The client whose access token the user acts through (the admin API), named in every
    /// audit entry so the log shows the real actor, not only the user the token speaks for.
    via_client: Option<String>,
}

impl Actor {
    pub fn cli() -> Self {
        Actor::system("cli")
    }

    /// The operator, or the server itself on the operator's behalf.
    pub fn system(label: impl Into<String>) -> Self {
        Actor { label: label.into(), user: None, via_client: None }
    }

    /// A signed-in user (portal, admin pages) or the user an admin-API token speaks for.
    pub fn user(user: User) -> Self {
        Actor { label: user.id.to_string(), user: Some(user), via_client: None }
    }

    /// The user an admin-API access token of `client_id` speaks for.
    pub fn user_via_client(user: User, client_id: impl Into<String>) -> Self {
        Actor { via_client: Some(client_id.into()), ..Actor::user(user) }
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn as_user(&self) -> Option<&User> {
        self.user.as_ref()
    }

    pub(crate) fn caller(&self) -> Caller<'_> {
        self.user.as_ref().map_or(Caller::Operator, Caller::User)
    }
}

/// An access denial as the service reports it: a hidden record is simply not found.
pub(crate) fn denied(what: &'static str) -> impl Fn(Denial) -> ServiceError {
    move |denial| match denial {
        Denial::Hidden => ServiceError::NotFound(what),
        Denial::Forbidden(why) => ServiceError::Forbidden(why.into()),
    }
}

impl Tessera {
    /// Applies an access decision: a hidden record is "not found"; a refusal is audited under
    /// `org` with the action the caller tried (SPEC §12), then reported as forbidden.
    pub(crate) async fn check_access(
        &self,
        actor: &Actor,
        decision: std::result::Result<(), Denial>,
        what: &'static str,
        attempted: &'static str,
        org: &OrgId,
        target: &str,
    ) -> Result<()> {
        match decision {
            Ok(()) => Ok(()),
            Err(Denial::Hidden) => Err(ServiceError::NotFound(what)),
            Err(Denial::Forbidden(why)) => {
                let detail = serde_json::json!({ "attempted": attempted, "reason": why });
                let audit = self.audit(actor, AuditAction::AccessDenied, Some(org), Some(target.to_owned()), detail);
                self.store().append_audit(&audit).await?;
                Err(ServiceError::Forbidden(why.into()))
            }
        }
    }

    /// Applies the last-owner rule to a change of `target` (SPEC §12). The organization's
    /// members are read only when the target is an enabled owner, the one case it can refuse.
    async fn check_keeps_an_owner(&self, actor: &Actor, target: &User, new_role: Option<Role>, disabling: bool) -> Result<()> {
        if target.role != Role::Owner || target.disabled {
            return Ok(());
        }
        let owners = self.store().users(&target.org_id).await?.iter().filter(|u| u.role == Role::Owner && !u.disabled).count();
        let attempted = if disabling { "user_disable" } else { "user_update" };
        let decision = access::keeps_an_owner(target, new_role, disabling, owners);
        self.check_access(actor, decision, "user", attempted, &target.org_id, target.id.as_str()).await
    }
}

fn operator_only(actor: &Actor) -> Result<()> {
    match actor.caller() {
        Caller::Operator => Ok(()),
        Caller::User(_) => Err(ServiceError::Forbidden("only the operator may do this, with the tessera command".into())),
    }
}

/// What an edit of a client may change. `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientEdit {
    pub name: Option<String>,
    /// Replaces the grant types (at least one). A grant removed stops working at the next token
    /// request; access tokens already issued live out their lifetime.
    pub grants: Option<Vec<String>>,
    /// Replaces the registered scopes (each in the catalogue, or built in; empty: none). A scope
    /// removed is no longer granted, also not on refresh.
    pub scopes: Option<Vec<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub allowed_origins: Option<Vec<String>>,
    pub allowed_ips: Option<Vec<String>>,
    /// The run-as user's email or id.
    pub run_as: Option<String>,
    /// `Some(None)` clears a per-client lifetime.
    pub access_token_ttl: Option<Option<u32>>,
    pub requires_org_approval: Option<bool>,
    pub require_pushed_authorization_requests: Option<bool>,
    /// RFC 9449 §5.2: every token request must carry a DPoP proof.
    pub dpop_bound_access_tokens: Option<bool>,
    /// Whether the code flow needs PKCE (never optional for a public client).
    pub pkce: Option<Pkce>,
    /// RFC 8707: replaces the resources the client may ask tokens for.
    pub resources: Option<Vec<String>>,
    /// New public keys of a `private_key_jwt` client (a JWK, a JWKS or a PEM public key), in
    /// place of its `jwks_uri` or earlier keys.
    pub jwks: Option<String>,
    /// A new `jwks_uri` of a `private_key_jwt` client, in place of its inline keys.
    pub jwks_uri: Option<String>,
}

/// Which audit entries to list. Dates are Unix seconds; `actor` is a user's id or email, or
/// an operator label such as `cli`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub org: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub before: Option<i64>,
    pub limit: u32,
}

/// What a new client asks for, as given by an operator or a portal user.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub org: String,
    pub owner_email: String,
    pub name: String,
    pub grants: Vec<String>,
    /// Empty: every catalogue scope the owner may grant.
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub allowed_ips: Vec<String>,
    pub run_as_email: Option<String>,
    pub public: bool,
    pub access_token_ttl: Option<u32>,
    pub requires_org_approval: bool,
    /// RFC 9126 §6: authorization requests must be pushed.
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.2: every token request must carry a DPoP proof.
    pub dpop_bound_access_tokens: bool,
    /// Whether the code flow needs PKCE. Unset: required for a public client, else the
    /// server's default (`Settings::default_pkce`: required, optional under the Bluescape
    /// profile).
    pub pkce: Option<Pkce>,
    /// RFC 8707: the resources (absolute URIs) the client may ask tokens for.
    pub resources: Vec<String>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none`. Unset: `none`
    /// for a public client, `private_key_jwt` when keys are given, else `client_secret_basic`.
    pub token_endpoint_auth_method: Option<String>,
    /// The public keys of a `private_key_jwt` client: a JWK, a JWKS or a PEM public key.
    pub jwks: Option<String>,
    /// Or where to fetch them from.
    pub jwks_uri: Option<String>,
}

impl NewClient {
    /// The registered method, and the keys as stored (a pasted key turned into a JWKS).
    fn auth(&self) -> std::result::Result<(TokenEndpointAuthMethod, Option<ClientKeys>), (&'static str, ServiceError)> {
        let keys = client_keys(self.jwks.as_deref(), self.jwks_uri.as_deref())?;
        let method = match self.token_endpoint_auth_method.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            Some(name) => TokenEndpointAuthMethod::parse(name)
                .ok_or_else(|| ("token_endpoint_auth_method", invalid(format!("unknown token_endpoint_auth_method {name:?}"))))?,
            None if self.public => TokenEndpointAuthMethod::None,
            None if keys.is_some() => TokenEndpointAuthMethod::PrivateKeyJwt,
            None => TokenEndpointAuthMethod::ClientSecretBasic,
        };
        Ok((method, keys))
    }
}

/// Keys as given (pasted JWK, JWKS or PEM, or a URL) → as stored: a checked public JWKS, or the URL.
fn client_keys(jwks: Option<&str>, jwks_uri: Option<&str>) -> std::result::Result<Option<ClientKeys>, (&'static str, ServiceError)> {
    let jwks = jwks.map(str::trim).filter(|j| !j.is_empty());
    let jwks_uri = jwks_uri.map(str::trim).filter(|u| !u.is_empty());
    match (jwks, jwks_uri) {
        (Some(_), Some(_)) => Err(("jwks", invalid("give either public keys (jwks) or a jwks_uri, not both"))),
        (Some(text), None) => tessera_jose::assertion::jwks_from_pasted(text)
            .map(|jwks| Some(ClientKeys::Jwks(jwks)))
            .map_err(|e| ("jwks", invalid(format!("public key: {e}")))),
        (None, Some(uri)) => Ok(Some(ClientKeys::Uri(uri.to_owned()))),
        (None, None) => Ok(None),
    }
}

/// What a new user is.
#[derive(Clone)]
pub struct NewUser {
    pub org: String,
    pub email: String,
    pub role: Role,
    pub service: bool,
    pub authorize_applications: bool,
    pub password: Option<String>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser").field("org", &self.org).field("email", &self.email).field("role", &self.role).finish_non_exhaustive()
    }
}

/// The grant types an edit gives, by name; an unknown one is refused.
fn parse_grants(names: &[String]) -> Result<Vec<GrantType>> {
    names.iter().map(|g| GrantType::parse(g).ok_or_else(|| invalid(format!("unknown grant {g:?}")))).collect()
}

/// The scopes an edit gives. Unlike at creation, where an empty list means "every scope the
/// owner may grant", an edit names exactly the scopes the client keeps: empty is none (the
/// client then gets only the OpenID scopes open to every client).
fn parse_scopes(names: &[String]) -> Result<ScopeSet> {
    let names: Vec<&str> = names.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
    if names.is_empty() {
        return Ok(ScopeSet::default());
    }
    ScopeSet::parse(&names.join(" ")).map_err(|e| invalid(e.description.to_string()))
}

fn invalid(msg: impl Into<String>) -> ServiceError {
    ServiceError::invalid(msg)
}

/// The same error, about `field`.
fn in_field(field: &'static str) -> impl Fn(ServiceError) -> ServiceError {
    move |e| match e {
        ServiceError::Invalid(why) => ServiceError::Invalid(crate::error::Invalid { field: Some(field), ..why }),
        other => other,
    }
}

fn org_view(org: &Org) -> OrgView {
    OrgView { id: org.id.to_string(), name: org.name.clone() }
}

pub fn user_view(user: &User) -> UserView {
    UserView {
        id: user.id.to_string(),
        email: user.email.clone(),
        org_id: user.org_id.to_string(),
        role: user.role.as_str().into(),
        service: user.service,
        authorize_applications: user.authorize_applications,
        disabled: user.disabled,
    }
}

/// An organization display name: non-empty, at most 100 characters, no control characters.
fn validate_name(what: &str, name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(invalid(format!("{what} must have 1 to 100 characters and no control characters")));
    }
    Ok(name.to_owned())
}

fn validate_email(email: &str) -> Result<String> {
    let email = email.trim();
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if !valid {
        return Err(invalid(format!("{email:?} is not an email address")));
    }
    Ok(email.to_owned())
}

/// An allowed origin is `scheme://host[:port]`: no path, query or fragment.
fn validate_origin(origin: &str) -> Result<String> {
    let ok = origin
        .split_once("://")
        .is_some_and(|(scheme, rest)| matches!(scheme, "https" | "http") && !rest.is_empty() && !rest.contains(['/', '?', '#', '@', ' ']));
    if !ok {
        return Err(invalid(format!("allowed origin {origin:?} must look like https://host[:port]")));
    }
    Ok(origin.to_owned())
}

fn parse_network(value: &str) -> Result<IpNet> {
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| invalid(format!("allowed IP {value:?} is not an address or CIDR range")))
}

impl Tessera {
    pub(crate) fn audit(
        &self,
        actor: &Actor,
        action: AuditAction,
        org: Option<&OrgId>,
        target: Option<String>,
        detail: serde_json::Value,
    ) -> AuditEvent {
        let mut detail = detail;
        if let (Some(client), serde_json::Value::Object(fields)) = (&actor.via_client, &mut detail) {
            fields.insert("via_client".into(), client.clone().into());
        }
        AuditEvent { at: self.now(), org_id: org.map(ToString::to_string), actor: actor.label.clone(), action, target, ip: None, detail }
    }

    /// Finds an organization by id or name.
    pub async fn org(&self, id_or_name: &str) -> Result<Org> {
        self.store().find_org(id_or_name).await?.ok_or(ServiceError::NotFound("organization"))
    }

    pub async fn create_org(&self, actor: &Actor, name: &str) -> Result<OrgView> {
        operator_only(actor)?;
        let name = validate_name("an organization name", name)?;
        let org = Org { id: OrgId::new(format!("org_{}", self.secrets.random_id(12)?)), name, created_at: self.now() };
        let audit =
            self.audit(actor, AuditAction::OrgCreated, Some(&org.id), Some(org.id.to_string()), serde_json::json!({ "name": org.name }));
        self.store().insert_org(&org, &audit).await.map_err(|e| match e {
            tessera_store::StoreError::Conflict(_) => invalid(format!("an organization named {:?} exists already", org.name)),
            other => other.into(),
        })?;
        Ok(org_view(&org))
    }

    pub async fn orgs(&self) -> Result<Vec<OrgView>> {
        Ok(self.store().orgs().await?.iter().map(org_view).collect())
    }

    /// Adds a scope to an organization's catalogue. Built-in names and existing scopes are a
    /// no-op (returns false).
    pub async fn create_scope(&self, actor: &Actor, org: &str, name: &str, restricted: bool) -> Result<bool> {
        if !scope::is_scope_token(name) {
            return Err(invalid(format!("{name:?} is not a valid scope name (RFC 6749 §3.3)")));
        }
        let org = self.org(org).await?;
        access::administer_org(actor.caller(), &org.id).map_err(denied("organization"))?;
        if scope::is_built_in(name) {
            return Ok(false);
        }
        let def = ScopeDef { name: name.to_owned(), restricted };
        let audit = self.audit(
            actor,
            AuditAction::ScopeCreated,
            Some(&org.id),
            Some(name.to_owned()),
            serde_json::json!({ "restricted": restricted }),
        );
        Ok(self.store().insert_scope(&org.id, &def, self.now(), &audit).await?)
    }

    /// An organization's scope catalogue; every user of the organization may read it.
    pub async fn scopes(&self, actor: &Actor, org: &str) -> Result<Vec<ScopeDef>> {
        let org = self.org(org).await?;
        if let Some(user) = actor.as_user()
            && user.org_id != org.id
        {
            return Err(ServiceError::NotFound("organization"));
        }
        Ok(self.store().scopes(&org.id).await?)
    }

    /// Marks a catalogue scope restricted (only owners and admins may grant it) or not. Tokens
    /// already issued keep their scope until they expire; new grants follow the new rule.
    pub async fn set_scope_restricted(&self, actor: &Actor, org: &str, name: &str, restricted: bool) -> Result<ScopeDef> {
        let org = self.org(org).await?;
        access::administer_org(actor.caller(), &org.id).map_err(denied("organization"))?;
        let audit = self.audit(
            actor,
            AuditAction::ScopeUpdated,
            Some(&org.id),
            Some(name.to_owned()),
            serde_json::json!({ "restricted": restricted }),
        );
        if !self.store().set_scope_restricted(&org.id, name, restricted, &audit).await? {
            return Err(ServiceError::NotFound("scope"));
        }
        Ok(ScopeDef { name: name.to_owned(), restricted })
    }

    pub async fn create_user(&self, actor: &Actor, new: NewUser) -> Result<UserView> {
        let email = validate_email(&new.email)?;
        let org = self.org(&new.org).await?;
        let decision = access::add_member(actor.caller(), &org.id, new.role);
        self.check_access(actor, decision, "organization", "user_create", &org.id, &email).await?;
        if new.service && new.password.is_some() {
            return Err(invalid("a service user has no password and cannot log in"));
        }
        let password_hash = match new.password.as_deref() {
            Some(password) => Some(self.hashers.hash(password).await?),
            None => None,
        };
        let user = User {
            id: UserId::new(format!("usr_{}", self.secrets.random_id(16)?)),
            org_id: org.id.clone(),
            email,
            role: new.role,
            service: new.service,
            authorize_applications: new.authorize_applications,
            disabled: false,
            created_at: self.now(),
            tokens_not_before: None,
        };
        let detail = serde_json::json!({ "email": user.email, "role": user.role.as_str(), "service": user.service, "authorize_applications": user.authorize_applications });
        let audit = self.audit(actor, AuditAction::UserCreated, Some(&org.id), Some(user.id.to_string()), detail);
        self.store().insert_user(&user, password_hash.as_deref(), &audit).await.map_err(|e| match e {
            tessera_store::StoreError::Conflict(_) => invalid(format!("a user with the email {:?} exists already", user.email)),
            other => other.into(),
        })?;
        Ok(user_view(&user))
    }

    pub async fn user_by_email(&self, email: &str) -> Result<User> {
        self.store().user_by_email(email.trim()).await?.ok_or(ServiceError::NotFound("user"))
    }

    /// A user by id or email, as the actor may see them: users of their own organization, and
    /// for a member only themselves.
    pub async fn member(&self, actor: &Actor, id_or_email: &str) -> Result<User> {
        let found = match self.store().user(&UserId::new(id_or_email)).await? {
            Some(user) => user,
            None => self.user_by_email(id_or_email).await?,
        };
        if let Some(me) = actor.as_user()
            && me.id != found.id
        {
            access::administer_org(actor.caller(), &found.org_id).map_err(denied("user"))?;
        }
        Ok(found)
    }

    /// Whether the actor runs organization `org` (the gate of the admin pages that show what
    /// members may also read, such as the catalogue).
    pub fn require_runs_org(&self, actor: &Actor, org: &OrgId) -> Result<()> {
        access::administer_org(actor.caller(), org).map_err(denied("organization"))
    }

    /// The users of an organization.
    pub async fn members(&self, actor: &Actor, org: &str) -> Result<Vec<UserView>> {
        let org = self.org(org).await?;
        access::administer_org(actor.caller(), &org.id).map_err(denied("organization"))?;
        Ok(self.store().users(&org.id).await?.iter().map(user_view).collect())
    }

    /// The users of the actor's organization who may be a client's run-as user: those holding
    /// `authorize_applications`, and the actor.
    pub async fn run_as_candidates(&self, actor: &Actor) -> Result<Vec<UserView>> {
        let Some(me) = actor.as_user() else { return Ok(Vec::new()) };
        let users = self.store().users(&me.org_id).await?;
        Ok(users.iter().filter(|u| !u.disabled && (u.id == me.id || u.authorize_applications)).map(user_view).collect())
    }

    /// Sets a member's role and `authorize_applications` permission. A lower role takes effect
    /// at once: tokens issued on it lose the restricted scopes at introspection.
    pub async fn update_member(
        &self,
        actor: &Actor,
        id_or_email: &str,
        role: Option<Role>,
        authorize_applications: Option<bool>,
    ) -> Result<UserView> {
        let mut user = self.member(actor, id_or_email).await?;
        let target = user.id.to_string();
        self.check_access(actor, access::change_member(actor.caller(), &user, role), "user", "user_update", &user.org_id, &target).await?;
        self.check_keeps_an_owner(actor, &user, role, false).await?;
        let new_role = role.unwrap_or(user.role);
        let authorize_applications = authorize_applications.unwrap_or(user.authorize_applications);
        // A lowered role ends every token issued under the higher one, here and at every guard
        // (the revocation feed carries the cutoff); the user signs in or refreshes again. `iat`
        // counts whole seconds, so the cutoff is the next second: a token signed earlier in this
        // second must not pass, and one signed later in it waits for that second to end.
        let tokens_not_before = access::lowers_role(user.role, new_role).then(|| self.now() + 1);
        let detail =
            serde_json::json!({ "email": user.email, "role": new_role.as_str(), "authorize_applications": authorize_applications });
        let audit = self.audit(actor, AuditAction::UserUpdated, Some(&user.org_id), Some(user.id.to_string()), detail);
        if !self.store().update_user(&user.id, new_role, authorize_applications, tokens_not_before, &audit).await? {
            return Err(ServiceError::NotFound("user"));
        }
        user.role = new_role;
        user.authorize_applications = authorize_applications;
        Ok(user_view(&user))
    }

    /// Disables or enables a user (by id or email). A disabled user's tokens, and those of the
    /// clients they own, stop working at once.
    pub async fn set_user_disabled(&self, actor: &Actor, id_or_email: &str, disabled: bool) -> Result<UserView> {
        let mut user = self.member(actor, id_or_email).await?;
        let target = user.id.to_string();
        self.check_access(actor, access::change_member(actor.caller(), &user, None), "user", "user_disable", &user.org_id, &target).await?;
        if disabled {
            self.check_keeps_an_owner(actor, &user, None, true).await?;
        }
        let action = if disabled { AuditAction::UserDisabled } else { AuditAction::UserEnabled };
        let audit = self.audit(actor, action, Some(&user.org_id), Some(user.id.to_string()), serde_json::json!({ "email": user.email }));
        self.store().set_user_disabled(&user.id, disabled, &audit).await?;
        user.disabled = disabled;
        Ok(user_view(&user))
    }

    /// Every problem of a client registration by field, for a form's inline messages: the same
    /// rules [`Tessera::create_client`] applies (it stops at the first).
    pub async fn client_problems(&self, actor: &Actor, new: &NewClient) -> Result<Vec<Problem>> {
        let org = self.org(&new.org).await?;
        let owner = self.user_by_email(&new.owner_email).await?;
        access::register_for(actor.caller(), &owner).map_err(denied("user"))?;
        let mut problems = Vec::new();
        let mut add = |field: &'static str, e: ServiceError| problems.push(Problem { field, message: e.to_string() });
        if let Err(e) = validate_name("a client name", &new.name) {
            add("name", e);
        }
        let mut grants = Vec::new();
        for g in &new.grants {
            match GrantType::parse(g) {
                Some(grant) => grants.push(grant),
                None => add("grants", invalid(format!("unknown grant {g:?}"))),
            }
        }
        if new.grants.is_empty() {
            grants.push(GrantType::ClientCredentials);
        }
        for origin in &new.allowed_origins {
            if let Err(e) = validate_origin(origin) {
                add("allowed_origins", e);
            }
        }
        for ip in &new.allowed_ips {
            if let Err(e) = parse_network(ip) {
                add("allowed_ips", e);
            }
        }
        let scopes = match ScopeSet::parse(&new.scopes.join(" ")) {
            Ok(scopes) => scopes,
            Err(e) if !new.scopes.is_empty() => {
                add("scopes", invalid(e.description.to_string()));
                ScopeSet::default()
            }
            Err(_) => ScopeSet::default(),
        };
        let run_as = match &new.run_as_email {
            Some(email) => match self.store().user_by_email(email.trim()).await? {
                Some(user) => {
                    let decision = access::choose_run_as(actor.caller(), &user);
                    if matches!(decision, Err(Denial::Forbidden(_))) {
                        self.check_access(actor, decision, "user", "client_create", &org.id, user.id.as_str()).await?;
                    }
                    Some(user)
                }
                None => {
                    add("run_as", invalid(format!("no run-as user {email:?} in this organization")));
                    None
                }
            },
            None => Some(owner.clone()),
        };
        if owner.org_id != org.id {
            add("owner", invalid("the owner does not belong to this organization"));
        }
        let catalogue = self.store().scopes(&org.id).await?;
        let auth = match new.auth() {
            Ok(auth) => Some(auth),
            Err((field, e)) => {
                add(field, e);
                None
            }
        };
        if let (Some(run_as), Some((auth_method, keys))) = (run_as, auth) {
            problems.extend(client_rules::registration_problems(&Registration {
                owner: &owner,
                run_as: &run_as,
                grants: &grants,
                scopes: &scopes,
                redirect_uris: &new.redirect_uris,
                allowed_origins: &new.allowed_origins,
                allowed_ips: &new.allowed_ips,
                public: new.public,
                pkce: self.pkce_of(new),
                auth_method,
                keys: keys.as_ref(),
                access_token_ttl: new.access_token_ttl,
                catalogue: &catalogue,
                resources: &new.resources,
            }));
        }
        Ok(problems)
    }

    /// The PKCE setting of a new client: as given, else required for a public client and the
    /// server's default for a confidential one.
    fn pkce_of(&self, new: &NewClient) -> Pkce {
        match new.pkce {
            Some(pkce) => pkce,
            None if new.public => Pkce::Required,
            None => self.settings.default_pkce,
        }
    }

    /// Registers a client and returns it with its secret, shown this once (and later only to
    /// its owner, through the portal).
    pub async fn create_client(&self, actor: &Actor, new: NewClient) -> Result<ClientView> {
        let (record, secret, audit) = self.prepare_client(actor, &new).await?;
        self.store().insert_client(&record, &audit).await?;
        let mut view = self.client_view(&record.client).await?;
        view.client_secret = secret;
        Ok(view)
    }

    /// A new client checked against every registration rule, with its secret (shown once) and
    /// the audit entry of its creation; not yet stored.
    pub(crate) async fn prepare_client(&self, actor: &Actor, new: &NewClient) -> Result<(ClientRecord, Option<String>, AuditEvent)> {
        // Every rule of a registration, in one place; the parsing below cannot fail after it.
        if let Some(problem) = self.client_problems(actor, new).await?.into_iter().next() {
            return Err(ServiceError::Invalid(problem.into()));
        }
        let org = self.org(&new.org).await?;
        let owner = self.user_by_email(&new.owner_email).await?;
        let run_as = match &new.run_as_email {
            Some(email) => self.user_by_email(email).await?,
            None => owner.clone(),
        };
        let name = validate_name("a client name", &new.name)?;
        let grants: Vec<GrantType> = if new.grants.is_empty() { vec![GrantType::ClientCredentials] } else { parse_grants(&new.grants)? };
        let catalogue = self.store().scopes(&org.id).await?;
        let scopes = if new.scopes.is_empty() {
            ScopeSet::from_names(catalogue.iter().filter(|s| scope::role_allows(owner.role, &s.name, &catalogue)).map(|s| s.name.clone()))
        } else {
            parse_scopes(&new.scopes)?
        };
        let allowed_origins = new.allowed_origins.iter().map(|o| validate_origin(o)).collect::<Result<Vec<_>>>()?;
        let allowed_ips = new.allowed_ips.iter().map(|ip| parse_network(ip)).collect::<Result<Vec<_>>>()?;
        let (auth_method, keys) = new.auth().map_err(|(_, e)| e)?;
        let client = Client {
            id: ClientId::new(self.secrets.random_id(24)?),
            org_id: org.id.clone(),
            name,
            owner: owner.id.clone(),
            run_as: run_as.id.clone(),
            grants: grants.into_iter().collect::<BTreeSet<_>>(),
            scopes,
            redirect_uris: new.redirect_uris.clone(),
            allowed_origins,
            allowed_ips,
            public: new.public,
            pkce: self.pkce_of(new),
            auth_method,
            keys,
            access_token_ttl: new.access_token_ttl,
            requires_org_approval: new.requires_org_approval,
            require_pushed_authorization_requests: new.require_pushed_authorization_requests,
            dpop_bound_access_tokens: new.dpop_bound_access_tokens,
            resources: new.resources.clone(),
            status: ClientStatus::On,
            created_at: self.now(),
        };
        let (secret, material) = if !client.auth_method.uses_secret() {
            (None, None)
        } else {
            let (secret, material) = self.new_secret(&client.id)?;
            (Some(secret), Some(material))
        };
        let detail = serde_json::json!({
            "name": client.name,
            "grants": client.grants,
            "scopes": client.scopes.to_string(),
            "run_as": run_as.id.as_str(),
            "token_endpoint_auth_method": client.auth_method.as_str(),
            "pkce": client.pkce.as_str(),
        });
        let audit = self.audit(actor, AuditAction::ClientCreated, Some(&org.id), Some(client.id.to_string()), detail);
        Ok((ClientRecord { client, secret: material }, secret, audit))
    }

    fn new_secret(&self, id: &ClientId) -> Result<(String, SecretMaterial)> {
        let secret = self.secrets.random_token(32)?;
        let material =
            SecretMaterial { tag: self.secrets.secret_tag(&secret), sealed: self.secrets.seal(&secret_context(id), secret.as_bytes())? };
        Ok((secret, material))
    }

    pub(crate) async fn client_view(&self, client: &Client) -> Result<ClientView> {
        let email = |user: Option<User>| user.map(|u| u.email).unwrap_or_default();
        Ok(ClientView {
            client_id: client.id.to_string(),
            client_secret: None,
            name: client.name.clone(),
            org_id: client.org_id.to_string(),
            owner: email(self.store().user(&client.owner).await?),
            owner_id: client.owner.to_string(),
            run_as: email(self.store().user(&client.run_as).await?),
            run_as_id: client.run_as.to_string(),
            grants: client.grants.iter().map(|g| g.as_str().to_owned()).collect(),
            scopes: client.scopes.iter().map(str::to_owned).collect(),
            redirect_uris: client.redirect_uris.clone(),
            allowed_origins: client.allowed_origins.clone(),
            allowed_ips: client.allowed_ips.iter().map(ToString::to_string).collect(),
            public: client.public,
            pkce: client.pkce,
            token_endpoint_auth_method: client.auth_method.as_str().into(),
            jwks: ClientKeys::jwks(client.keys.as_ref()).and_then(|jwks| serde_json::from_str(jwks).ok()),
            jwks_uri: ClientKeys::jwks_uri(client.keys.as_ref()).map(str::to_owned),
            access_token_ttl: client.access_token_ttl,
            requires_org_approval: client.requires_org_approval,
            require_pushed_authorization_requests: client.require_pushed_authorization_requests,
            dpop_bound_access_tokens: client.dpop_bound_access_tokens,
            resources: client.resources.clone(),
            status: client.status.as_str().into(),
            created_at: client.created_at,
        })
    }

    /// The user a client's tokens act as, as stored now.
    pub(crate) async fn client_run_as(&self, client: &Client) -> Result<User> {
        self.store().user(&client.run_as).await?.ok_or(ServiceError::NotFound("user"))
    }

    /// A client the actor may see; any other is "not found", whether it exists or not.
    async fn client_record(&self, actor: &Actor, id: &str) -> Result<ClientRecord> {
        let record = self.store().client(&ClientId::new(id)).await?.ok_or(ServiceError::NotFound("client"))?;
        access::see_client(actor.caller(), &record.client).map_err(denied("client"))?;
        Ok(record)
    }

    pub async fn show_client(&self, actor: &Actor, id: &str) -> Result<ClientView> {
        let record = self.client_record(actor, id).await?;
        self.client_view(&record.client).await
    }

    /// The clients the actor may see: for the operator those of `org` (or all), for a user
    /// their own, and for an owner or admin every client of their organization.
    pub async fn list_clients(&self, actor: &Actor, org: Option<&str>) -> Result<Vec<ClientView>> {
        let org = match (org, actor.as_user()) {
            (Some(org), _) => Some(self.org(org).await?.id),
            (None, Some(user)) => Some(user.org_id.clone()),
            (None, None) => None,
        };
        let mut views = Vec::new();
        for record in self.store().clients(org.as_ref()).await? {
            if access::see_client(actor.caller(), &record.client).is_ok() {
                views.push(self.client_view(&record.client).await?);
            }
        }
        Ok(views)
    }

    /// Applies an edit to a client; the result must pass the same rules as a registration.
    pub async fn update_client(&self, actor: &Actor, id: &str, edit: ClientEdit) -> Result<ClientView> {
        let mut client = self.client_record(actor, id).await?.client;
        let owner = self.store().user(&client.owner).await?.ok_or(ServiceError::NotFound("user"))?;
        let current_run_as = self.client_run_as(&client).await?;
        let before = client.clone();
        if let Some(name) = &edit.name {
            client.name = validate_name("a client name", name).map_err(in_field("name"))?;
        }
        if let Some(uris) = edit.redirect_uris {
            client.redirect_uris = uris;
        }
        if let Some(grants) = &edit.grants {
            client.grants = parse_grants(grants).map_err(in_field("grants"))?.into_iter().collect();
        }
        if let Some(scopes) = &edit.scopes {
            client.scopes = parse_scopes(scopes).map_err(in_field("scopes"))?;
        }
        if let Some(origins) = &edit.allowed_origins {
            client.allowed_origins =
                origins.iter().map(|o| validate_origin(o)).collect::<Result<_>>().map_err(in_field("allowed_origins"))?;
        }
        if let Some(ips) = &edit.allowed_ips {
            client.allowed_ips = ips.iter().map(|ip| parse_network(ip)).collect::<Result<_>>().map_err(in_field("allowed_ips"))?;
        }
        let run_as = match &edit.run_as {
            Some(who) => {
                let found = match self.store().user(&UserId::new(who)).await? {
                    Some(user) => Some(user),
                    None => self.store().user_by_email(who.trim()).await?,
                };
                let found = found
                    .filter(|u| u.org_id == client.org_id)
                    .ok_or_else(|| ServiceError::invalid_field("run_as", format!("no run-as user {who:?} in this organization")))?;
                if found.id != client.run_as {
                    let decision = access::choose_run_as(actor.caller(), &found);
                    self.check_access(actor, decision, "user", "client_update", &client.org_id, client.id.as_str()).await?;
                }
                found
            }
            None => current_run_as.clone(),
        };
        client.run_as = run_as.id.clone();
        if let Some(ttl) = edit.access_token_ttl {
            client.access_token_ttl = ttl;
        }
        if let Some(requires) = edit.requires_org_approval {
            client.requires_org_approval = requires;
        }
        if let Some(requires) = edit.require_pushed_authorization_requests {
            client.require_pushed_authorization_requests = requires;
        }
        if let Some(requires) = edit.dpop_bound_access_tokens {
            client.dpop_bound_access_tokens = requires;
        }
        if let Some(pkce) = edit.pkce {
            client.pkce = pkce;
        }
        if let Some(resources) = edit.resources {
            client.resources = resources;
        }
        if edit.jwks.is_some() || edit.jwks_uri.is_some() {
            if client.auth_method != TokenEndpointAuthMethod::PrivateKeyJwt {
                return Err(ServiceError::invalid_field("jwks", "public keys are registered only for private_key_jwt clients"));
            }
            client.keys = client_keys(edit.jwks.as_deref(), edit.jwks_uri.as_deref()).map_err(|(field, e)| in_field(field)(e))?;
        }
        // What a token of this client acts with changes only by callers its run-as user does not
        // outrank (SPEC §12); its name, URIs, lists and switches stay editable by who sees it.
        let credentials_changed = client.run_as != before.run_as
            || client.grants != before.grants
            || client.scopes != before.scopes
            || client.keys != before.keys;
        if credentials_changed {
            let decision = access::use_credentials(actor.caller(), &before, &current_run_as);
            self.check_access(actor, decision, "client", "client_update", &before.org_id, before.id.as_str()).await?;
        }
        let catalogue = self.store().scopes(&client.org_id).await?;
        let grants: Vec<GrantType> = client.grants.iter().copied().collect();
        let allowed_ips: Vec<String> = client.allowed_ips.iter().map(ToString::to_string).collect();
        let first_problem = client_rules::registration_problems(&Registration {
            owner: &owner,
            run_as: &run_as,
            grants: &grants,
            scopes: &client.scopes,
            redirect_uris: &client.redirect_uris,
            allowed_origins: &client.allowed_origins,
            allowed_ips: &allowed_ips,
            public: client.public,
            pkce: client.pkce,
            auth_method: client.auth_method,
            keys: client.keys.as_ref(),
            access_token_ttl: client.access_token_ttl,
            catalogue: &catalogue,
            resources: &client.resources,
        })
        .into_iter()
        .next();
        if let Some(problem) = first_problem {
            return Err(ServiceError::Invalid(problem.into()));
        }
        let detail = serde_json::json!({
            "name": client.name,
            "run_as": client.run_as.as_str(),
            "grants": client.grants,
            "scopes": client.scopes.to_string(),
            "redirect_uris": client.redirect_uris,
            "allowed_origins": client.allowed_origins,
            "resources": client.resources,
            "pkce": client.pkce.as_str(),
        });
        let audit = self.audit(actor, AuditAction::ClientUpdated, Some(&client.org_id), Some(client.id.to_string()), detail);
        if !self.store().update_client(&client, &audit).await? {
            return Err(ServiceError::NotFound("client"));
        }
        self.client_view(&client).await
    }

    /// Turns a client ON or OFF. OFF: authentication fails and its live tokens stop working.
    pub async fn set_client_status(&self, actor: &Actor, id: &str, status: ClientStatus) -> Result<ClientView> {
        let mut record = self.client_record(actor, id).await?;
        let action = if status == ClientStatus::On { AuditAction::ClientEnabled } else { AuditAction::ClientDisabled };
        let audit = self.audit(actor, action, Some(&record.client.org_id), Some(id.to_owned()), serde_json::json!({}));
        if !self.store().set_client_status(&record.client.id, status, &audit).await? {
            return Err(ServiceError::NotFound("client"));
        }
        record.client.status = status;
        self.client_view(&record.client).await
    }

    pub async fn delete_client(&self, actor: &Actor, id: &str) -> Result<()> {
        let record = self.client_record(actor, id).await?;
        let audit = self.audit(
            actor,
            AuditAction::ClientDeleted,
            Some(&record.client.org_id),
            Some(id.to_owned()),
            serde_json::json!({ "name": record.client.name }),
        );
        if !self.store().delete_client(&record.client.id, &audit).await? {
            return Err(ServiceError::NotFound("client"));
        }
        Ok(())
    }

    /// Approves a client for an organization's users (the Bluescape seed's whitelisting), or
    /// withdraws the approval, which ends the refresh families of that org's users.
    pub async fn set_org_approval(&self, actor: &Actor, client_id: &str, org: &str, approve: bool) -> Result<()> {
        let org = self.org(org).await?;
        access::administer_org(actor.caller(), &org.id).map_err(denied("organization"))?;
        // The client is usually another organization's: approving needs only its id.
        let record = self.store().client(&ClientId::new(client_id)).await?.ok_or(ServiceError::NotFound("client"))?;
        let action = if approve { AuditAction::OrgApproved } else { AuditAction::OrgApprovalWithdrawn };
        let audit = self.audit(
            actor,
            action,
            Some(&org.id),
            Some(client_id.to_owned()),
            serde_json::json!({ "client_org_id": record.client.org_id.as_str() }),
        );
        self.store().set_org_approval(&record.client.id, &org.id, &actor.label, approve, &audit).await?;
        Ok(())
    }

    /// The clients approved for an organization.
    pub async fn org_approvals(&self, actor: &Actor, org: &str) -> Result<Vec<ApprovalView>> {
        let org = self.org(org).await?;
        access::administer_org(actor.caller(), &org.id).map_err(denied("organization"))?;
        let mut views = Vec::new();
        for approval in self.store().org_approvals(&org.id).await? {
            let client = self.store().client(&approval.client_id).await?;
            views.push(ApprovalView {
                client_id: approval.client_id.to_string(),
                client_name: client.map(|c| c.client.name).unwrap_or_default(),
                org_id: approval.org_id.to_string(),
                approved_by: approval.approved_by,
                approved_at: approval.approved_at,
            });
        }
        Ok(views)
    }

    /// Replaces a client's secret; the old one is void from the commit on. Returns the new one.
    pub async fn regenerate_secret(&self, actor: &Actor, id: &str) -> Result<(String, String)> {
        let record = self.client_record(actor, id).await?;
        let run_as = self.client_run_as(&record.client).await?;
        let decision = access::use_credentials(actor.caller(), &record.client, &run_as);
        self.check_access(actor, decision, "client", "client_secret_regenerate", &record.client.org_id, id).await?;
        if !record.client.auth_method.uses_secret() {
            return Err(invalid(format!("a client authenticating with {} has no secret", record.client.auth_method.as_str())));
        }
        let (secret, material) = self.new_secret(&record.client.id)?;
        let audit = self.audit(
            actor,
            AuditAction::ClientSecretRegenerated,
            Some(&record.client.org_id),
            Some(id.to_owned()),
            serde_json::json!({}),
        );
        if !self.store().replace_client_secret(&record.client.id, &material, &audit).await? {
            return Err(ServiceError::NotFound("client"));
        }
        Ok((record.client.id.to_string(), secret))
    }

    /// The stored secret in clear, for its owner's Show button (audited, A11).
    pub async fn reveal_secret(&self, actor: &Actor, id: &str) -> Result<String> {
        let record = self.client_record(actor, id).await?;
        let run_as = self.client_run_as(&record.client).await?;
        let decision = access::reveal_secret(actor.caller(), &record.client, &run_as);
        self.check_access(actor, decision, "client", "client_secret_reveal", &record.client.org_id, id).await?;
        let material = record.secret.ok_or_else(|| invalid("this client has no secret"))?;
        let secret = self.open_client_secret(&record.client.id, &material)?;
        // Audited only when something was revealed.
        let audit =
            self.audit(actor, AuditAction::ClientSecretRevealed, Some(&record.client.org_id), Some(id.to_owned()), serde_json::json!({}));
        self.store().append_audit(&audit).await?;
        Ok(secret)
    }

    /// Unseals a client's stored secret.
    pub(crate) fn open_client_secret(&self, id: &ClientId, material: &SecretMaterial) -> Result<String> {
        let plain = self.secrets.open(&secret_context(id), &material.sealed)?;
        String::from_utf8(plain).map_err(|_| ServiceError::Internal("sealed secret is not text".into()))
    }

    pub async fn list_keys(&self) -> Result<Vec<KeyView>> {
        self.sync().await?;
        Ok(self.keyset().records.clone())
    }

    /// Rotates the signing keys now: the published next key starts signing, the current one
    /// retires (still published until its tokens have expired), a new next key is published.
    pub async fn rotate_keys(&self, actor: &Actor) -> Result<Vec<KeyView>> {
        operator_only(actor)?;
        let now = self.now();
        let audit = self.audit(actor, AuditAction::KeysRotated, None, None, serde_json::json!({ "reason": "on demand" }));
        if !keys::rotate(&**self.store(), &self.secrets, self.settings.signing_alg, self.settings.key_retention, now, &audit).await? {
            return Err(ServiceError::Conflict("another process rotated the keys at the same moment; try again".into()));
        }
        self.list_keys().await
    }

    /// The audit log, newest first. Users read their own organization's log, if they run it.
    pub async fn audit_log(&self, actor: &Actor, filter: AuditFilter) -> Result<Vec<AuditView>> {
        let org = match (filter.org.as_deref(), actor.as_user()) {
            (Some(org), _) => Some(self.org(org).await?.id),
            (None, Some(user)) => Some(user.org_id.clone()),
            (None, None) => None,
        };
        if let Some(org) = &org {
            access::administer_org(actor.caller(), org).map_err(denied("organization"))?;
        }
        // An actor given by email is recorded by user id.
        let actor_label = match filter.actor.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(who) if who.contains('@') => {
                Some(self.store().user_by_email(who).await?.map_or_else(|| who.to_owned(), |u| u.id.to_string()))
            }
            other => other.map(str::to_owned),
        };
        let nonempty = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let query = AuditQuery {
            org,
            actor: actor_label,
            action: nonempty(filter.action),
            target: nonempty(filter.target),
            since: filter.since,
            until: filter.until,
            before: filter.before,
            limit: filter.limit.clamp(1, 1000),
        };
        let records = self.store().audit_log(&query).await?;
        Ok(records
            .into_iter()
            .map(|r| AuditView {
                id: r.id,
                at: r.at,
                org_id: r.org_id,
                actor: r.actor,
                action: r.action,
                target: r.target,
                ip: r.ip,
                detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
            })
            .collect())
    }

    /// Revokes a token by operator order (no client authentication), or by a user who may see
    /// the token's client.
    pub async fn revoke_as_operator(&self, actor: &Actor, token: &str) -> Result<()> {
        let claims = self.verified_claims(token.trim()).ok_or_else(|| invalid("this is not a token issued by this server"))?;
        if actor.as_user().is_some() {
            self.client_record(actor, &claims.client_id).await.map_err(|_| invalid("this is not a token issued by this server"))?;
        }
        self.revoke_claims(&claims, &actor.label, None, self.now()).await
    }
}

/// Operations the admin API needs beyond those the portal and the CLI share.
impl Tessera {
    /// The admin API's caller: who the token speaks for, their organization and the token's
    /// scopes (`GET /admin/v1/me`).
    pub async fn caller_view(&self, caller: &crate::AdminCaller) -> Result<CallerView> {
        let user = caller.actor.as_user().ok_or(ServiceError::NotFound("user"))?;
        let org = self.org(user.org_id.as_str()).await?;
        Ok(CallerView {
            user: user_view(user),
            org: org_view(&org),
            client_id: caller.client_id.clone(),
            scopes: caller.scope.iter().map(str::to_owned).collect(),
        })
    }

    /// An organization's scopes as the admin API lists them: the built-in ones, then the
    /// catalogue. Every user of the organization may read them.
    pub async fn scope_views(&self, actor: &Actor, org: &str) -> Result<Vec<ScopeView>> {
        let catalogue = self.scopes(actor, org).await?;
        let built_in = scope::BUILT_IN.iter().chain(scope::ADMIN_API.iter()).map(|name| ScopeView {
            name: (*name).to_owned(),
            restricted: *name == scope::ADMIN_ORG,
            built_in: true,
        });
        let stored = catalogue.into_iter().map(|def| ScopeView { name: def.name, restricted: def.restricted, built_in: false });
        Ok(built_in.chain(stored).collect())
    }
}

fn secret_context(id: &ClientId) -> String {
    format!("client-secret:{id}")
}
