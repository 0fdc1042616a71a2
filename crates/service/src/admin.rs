//! Administrative use cases shared by the CLI (and later the portal and admin API):
//! organizations, scopes, users, clients, keys and operator revocation. Every change is
//! validated here and audited by the store in the same transaction.

use std::collections::BTreeSet;

use ipnet::IpNet;
use tessera_core::audit::{AuditAction, AuditEvent};
use tessera_core::client::{self as client_rules, Registration};
use tessera_core::model::{Client, ClientId, ClientStatus, GrantType, Org, OrgId, Role, ScopeDef, User, UserId};
use tessera_core::scope::{self, ScopeSet};
use tessera_proto::{AuditView, ClientView, KeyView, OrgView, UserView};
use tessera_store::{ClientRecord, SecretMaterial};

use crate::error::{Result, ServiceError};
use crate::{Tessera, keys, password};

/// Who performs an administrative action, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

impl Actor {
    pub fn cli() -> Self {
        Actor("cli".into())
    }
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

fn invalid(msg: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(msg.into())
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
    fn audit(
        &self,
        actor: &Actor,
        action: AuditAction,
        org: Option<&OrgId>,
        target: Option<String>,
        detail: serde_json::Value,
    ) -> AuditEvent {
        AuditEvent { at: self.now(), org_id: org.map(ToString::to_string), actor: actor.0.clone(), action, target, ip: None, detail }
    }

    /// Finds an organization by id or name.
    pub async fn org(&self, id_or_name: &str) -> Result<Org> {
        self.store().find_org(id_or_name).await?.ok_or(ServiceError::NotFound("organization"))
    }

    pub async fn create_org(&self, actor: &Actor, name: &str) -> Result<OrgView> {
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

    pub async fn scopes(&self, org: &str) -> Result<Vec<ScopeDef>> {
        let org = self.org(org).await?;
        Ok(self.store().scopes(&org.id).await?)
    }

    pub async fn create_user(&self, actor: &Actor, new: NewUser) -> Result<UserView> {
        let email = validate_email(&new.email)?;
        let org = self.org(&new.org).await?;
        if new.service && new.password.is_some() {
            return Err(invalid("a service user has no password and cannot log in"));
        }
        let password_hash = new.password.as_deref().map(password::hash).transpose()?;
        let user = User {
            id: UserId::new(format!("usr_{}", self.secrets.random_id(16)?)),
            org_id: org.id.clone(),
            email,
            role: new.role,
            service: new.service,
            authorize_applications: new.authorize_applications,
            disabled: false,
            created_at: self.now(),
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

    /// Disables or enables a user. A disabled user's tokens, and those of the clients they own,
    /// stop working at once.
    pub async fn set_user_disabled(&self, actor: &Actor, email: &str, disabled: bool) -> Result<UserView> {
        let mut user = self.user_by_email(email).await?;
        let action = if disabled { AuditAction::UserDisabled } else { AuditAction::UserEnabled };
        let audit = self.audit(actor, action, Some(&user.org_id), Some(user.id.to_string()), serde_json::json!({ "email": user.email }));
        self.store().set_user_disabled(&user.id, disabled, &audit).await?;
        user.disabled = disabled;
        Ok(user_view(&user))
    }

    /// Registers a client and returns it with its secret, shown this once (and later only to
    /// its owner, through the portal).
    pub async fn create_client(&self, actor: &Actor, new: NewClient) -> Result<ClientView> {
        let org = self.org(&new.org).await?;
        let owner = self.user_by_email(&new.owner_email).await?;
        if owner.org_id != org.id {
            return Err(invalid("the owner does not belong to this organization"));
        }
        let run_as = match &new.run_as_email {
            Some(email) => self.user_by_email(email).await?,
            None => owner.clone(),
        };
        let name = validate_name("a client name", &new.name)?;
        let grants: Vec<GrantType> = if new.grants.is_empty() {
            vec![GrantType::ClientCredentials]
        } else {
            new.grants.iter().map(|g| GrantType::parse(g).ok_or_else(|| invalid(format!("unknown grant {g:?}")))).collect::<Result<_>>()?
        };
        let catalogue = self.store().scopes(&org.id).await?;
        let scopes = if new.scopes.is_empty() {
            ScopeSet::from_names(catalogue.iter().filter(|s| scope::role_allows(owner.role, &s.name, &catalogue)).map(|s| s.name.clone()))
        } else {
            ScopeSet::parse(&new.scopes.join(" ")).map_err(|e| invalid(e.description.to_string()))?
        };
        let allowed_origins = new.allowed_origins.iter().map(|o| validate_origin(o)).collect::<Result<Vec<_>>>()?;
        let allowed_ips = new.allowed_ips.iter().map(|ip| parse_network(ip)).collect::<Result<Vec<_>>>()?;
        client_rules::validate_registration(&Registration {
            owner: &owner,
            run_as: &run_as,
            grants: &grants,
            scopes: &scopes,
            redirect_uris: &new.redirect_uris,
            public: new.public,
            access_token_ttl: new.access_token_ttl,
            catalogue: &catalogue,
        })
        .map_err(|e| invalid(e.description.to_string()))?;
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
            access_token_ttl: new.access_token_ttl,
            requires_org_approval: new.requires_org_approval,
            status: ClientStatus::On,
            created_at: self.now(),
        };
        let (secret, material) = if client.public {
            (None, None)
        } else {
            let (secret, material) = self.new_secret(&client.id)?;
            (Some(secret), Some(material))
        };
        let detail = serde_json::json!({ "name": client.name, "grants": client.grants, "scopes": client.scopes.to_string(), "run_as": run_as.id.as_str() });
        let audit = self.audit(actor, AuditAction::ClientCreated, Some(&org.id), Some(client.id.to_string()), detail);
        self.store().insert_client(&ClientRecord { client: client.clone(), secret: material }, &audit).await?;
        let mut view = self.client_view(&client).await?;
        view.client_secret = secret;
        Ok(view)
    }

    fn new_secret(&self, id: &ClientId) -> Result<(String, SecretMaterial)> {
        let secret = self.secrets.random_token(32)?;
        let material =
            SecretMaterial { tag: self.secrets.secret_tag(&secret), sealed: self.secrets.seal(&secret_context(id), secret.as_bytes())? };
        Ok((secret, material))
    }

    async fn client_view(&self, client: &Client) -> Result<ClientView> {
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
            access_token_ttl: client.access_token_ttl,
            requires_org_approval: client.requires_org_approval,
            status: client.status.as_str().into(),
            created_at: client.created_at,
        })
    }

    async fn client_record(&self, id: &str) -> Result<ClientRecord> {
        self.store().client(&ClientId::new(id)).await?.ok_or(ServiceError::NotFound("client"))
    }

    pub async fn show_client(&self, id: &str) -> Result<ClientView> {
        let record = self.client_record(id).await?;
        self.client_view(&record.client).await
    }

    pub async fn list_clients(&self, org: Option<&str>) -> Result<Vec<ClientView>> {
        let org = match org {
            Some(org) => Some(self.org(org).await?.id),
            None => None,
        };
        let mut views = Vec::new();
        for record in self.store().clients(org.as_ref()).await? {
            views.push(self.client_view(&record.client).await?);
        }
        Ok(views)
    }

    /// Turns a client ON or OFF. OFF: authentication fails and its live tokens stop working.
    pub async fn set_client_status(&self, actor: &Actor, id: &str, status: ClientStatus) -> Result<ClientView> {
        let mut record = self.client_record(id).await?;
        let action = if status == ClientStatus::On { AuditAction::ClientEnabled } else { AuditAction::ClientDisabled };
        let audit = self.audit(actor, action, Some(&record.client.org_id), Some(id.to_owned()), serde_json::json!({}));
        if !self.store().set_client_status(&record.client.id, status, &audit).await? {
            return Err(ServiceError::NotFound("client"));
        }
        record.client.status = status;
        self.client_view(&record.client).await
    }

    pub async fn delete_client(&self, actor: &Actor, id: &str) -> Result<()> {
        let record = self.client_record(id).await?;
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
        let record = self.client_record(client_id).await?;
        let org = self.org(org).await?;
        let action = if approve { AuditAction::OrgApproved } else { AuditAction::OrgApprovalWithdrawn };
        let audit = self.audit(
            actor,
            action,
            Some(&org.id),
            Some(client_id.to_owned()),
            serde_json::json!({ "client_org_id": record.client.org_id.as_str() }),
        );
        self.store().set_org_approval(&record.client.id, &org.id, &actor.0, approve, &audit).await?;
        Ok(())
    }

    /// Replaces a client's secret; the old one is void from the commit on. Returns the new one.
    pub async fn regenerate_secret(&self, actor: &Actor, id: &str) -> Result<(String, String)> {
        let record = self.client_record(id).await?;
        if record.client.public {
            return Err(invalid("a public client has no secret"));
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

    /// The stored secret in clear, for its owner's Show button.
    pub async fn reveal_secret(&self, id: &str) -> Result<String> {
        let record = self.client_record(id).await?;
        let material = record.secret.ok_or_else(|| invalid("a public client has no secret"))?;
        let plain = self.secrets.open(&secret_context(&record.client.id), &material.sealed)?;
        String::from_utf8(plain).map_err(|_| ServiceError::Internal("sealed secret is not text".into()))
    }

    pub async fn list_keys(&self) -> Result<Vec<KeyView>> {
        self.sync().await?;
        Ok(self.keyset().records.clone())
    }

    /// Rotates the signing keys now: the published next key starts signing, the current one
    /// retires (still published until its tokens have expired), a new next key is published.
    pub async fn rotate_keys(&self, actor: &Actor) -> Result<Vec<KeyView>> {
        let now = self.now();
        let audit = self.audit(actor, AuditAction::KeysRotated, None, None, serde_json::json!({ "reason": "on demand" }));
        if !keys::rotate(&**self.store(), &self.secrets, self.settings.signing_alg, self.settings.key_retention, now, &audit).await? {
            return Err(ServiceError::Conflict("another process rotated the keys at the same moment; try again".into()));
        }
        self.list_keys().await
    }

    /// The audit log, newest first.
    pub async fn audit_log(&self, org: Option<&str>, before: Option<i64>, limit: u32) -> Result<Vec<AuditView>> {
        let org = match org {
            Some(org) => Some(self.org(org).await?.id),
            None => None,
        };
        let records = self.store().audit_log(org.as_ref(), before, limit.clamp(1, 1000)).await?;
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

    /// Revokes a token by operator order (no client authentication).
    pub async fn revoke_as_operator(&self, actor: &Actor, token: &str) -> Result<()> {
        let claims = self.verified_claims(token.trim()).ok_or_else(|| invalid("this is not a token issued by this server"))?;
        self.revoke_claims(&claims, &actor.0, None, self.now()).await
    }
}

fn secret_context(id: &ClientId) -> String {
    format!("client-secret:{id}")
}
