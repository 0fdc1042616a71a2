//! Administrative use cases shared by the CLI, the portal, the organization admin pages and the
//! admin API, one module per noun: `orgs` (and their approvals of applications), `members`,
//! `clients`, `client_secrets`, `scopes`, `signing_keys`, `audit` and operator
//! revocation in `tokens`. Every call names its [`Actor`]; who may do what is
//! `tessera_core::access`, applied here once for every front end. Every change is validated here
//! and audited by the store in the same transaction.

mod audit;
mod client_secrets;
mod clients;
mod export;
mod identity_providers;
mod import;
mod members;
mod orgs;
mod scopes;
mod signing_keys;
mod tokens;

use tessera_core::access::{Caller, Denial};
use tessera_core::audit::{AuditAction, AuditEvent};
use tessera_core::model::{Org, OrgId, User};
use tessera_core::{Message, message};
use tessera_proto::{CallerView, OrgView, UserView};

use crate::Tessera;
use crate::error::{Result, ServiceError};

pub use audit::AuditFilter;
pub use client_secrets::{MAX_SECRET_GRACE, RolledSecret};
pub use clients::{ClientEdit, NewClient};
pub use identity_providers::{IdentityProviderEdit, NewIdentityProvider};
pub use members::NewUser;
pub(crate) use members::validate_email;
pub use orgs::OrgChange;
pub use scopes::ScopeCreated;

/// Who performs an administrative action: the operator (CLI, start-up, setup link), or a
/// signed-in user, whose powers `tessera_core::access` limits. The label goes to the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    label: String,
    user: Option<User>,
    /// The client whose access token the user acts through (the admin API), named in every
    /// audit entry so the log shows the real actor, not only the user the token speaks for.
    via_client: Option<String>,
    /// The address the request came from, kept in the audit entries it causes.
    ip: Option<std::net::IpAddr>,
    /// The language of the page the actor acts from: mail it causes is written in it.
    lang: crate::i18n::Lang,
}

impl Actor {
    pub fn cli() -> Self {
        Actor::system("cli")
    }

    /// The operator, or the server itself on the operator's behalf.
    pub fn system(label: impl Into<String>) -> Self {
        Actor { label: label.into(), user: None, via_client: None, ip: None, lang: crate::i18n::Lang::En }
    }

    /// A signed-in user (portal, admin pages) or the user an admin-API token speaks for.
    pub fn user(user: User) -> Self {
        Actor { label: user.id.to_string(), user: Some(user), via_client: None, ip: None, lang: crate::i18n::Lang::En }
    }

    /// The user an admin-API access token of `client_id` speaks for.
    pub fn user_via_client(user: User, client_id: impl Into<String>) -> Self {
        Actor { via_client: Some(client_id.into()), ..Actor::user(user) }
    }

    /// The same actor, acting from `ip` (a page's or the admin API's peer).
    pub fn from(self, ip: std::net::IpAddr) -> Self {
        Actor { ip: Some(ip), ..self }
    }

    /// The same actor, on a page in `lang`.
    pub fn speaking(self, lang: crate::i18n::Lang) -> Self {
        Actor { lang, ..self }
    }

    pub(crate) fn lang(&self) -> crate::i18n::Lang {
        self.lang
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
        Denial::Forbidden(why) => ServiceError::Forbidden(why),
    }
}

fn operator_only(actor: &Actor) -> Result<()> {
    match actor.caller() {
        Caller::Operator => Ok(()),
        Caller::User(_) => {
            Err(ServiceError::forbidden(message!("operator-only", "only the operator may do this, with the tessera command")))
        }
    }
}

pub(crate) fn invalid(why: Message) -> ServiceError {
    ServiceError::invalid(why)
}

/// What a check of input found: the rule it broke (for a list of problems), or, returned as it
/// is, a failure that is not about the input.
fn broken_rule<T>(checked: Result<T>) -> Result<std::result::Result<T, Message>> {
    match checked {
        Ok(value) => Ok(Ok(value)),
        Err(ServiceError::Invalid(why)) => Ok(Err(why.message)),
        Err(other) => Err(other),
    }
}

/// The same error, about `field`.
fn in_field(field: &'static str) -> impl Fn(ServiceError) -> ServiceError {
    move |e| match e {
        ServiceError::Invalid(why) => ServiceError::Invalid(crate::error::Invalid { field: Some(field), ..why }),
        other => other,
    }
}

fn org_view(org: &Org) -> OrgView {
    OrgView { id: org.id.to_string(), name: org.name.clone(), require_mfa: org.require_mfa, require_sso: org.require_sso }
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

/// What a display name is the name of.
#[derive(Debug, Clone, Copy)]
enum Named {
    Org,
    Client,
    Provider,
}

/// A display name (of an organization, a client): non-empty, at most 100 characters, no control
/// characters.
fn validate_name(what: Named, name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(invalid(match what {
            Named::Org => {
                message!("org-name-bad", "an organization name must have 1 to 100 characters and no control characters")
            }
            Named::Client => message!("client-name-bad", "a client name must have 1 to 100 characters and no control characters"),
            Named::Provider => {
                message!("idp-name-bad", "a provider name must have 1 to 100 characters and no control characters")
            }
        }));
    }
    Ok(name.to_owned())
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
                let detail = serde_json::json!({ "attempted": attempted, "reason": why.to_string() });
                let audit = self.audit(actor, AuditAction::AccessDenied, Some(org), Some(target.to_owned()), detail);
                self.store().append_audit(&audit).await?;
                Err(ServiceError::Forbidden(why))
            }
        }
    }

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
        AuditEvent {
            at: self.now(),
            org_id: org.map(ToString::to_string),
            actor: actor.label.clone(),
            action,
            target,
            ip: actor.ip.map(|ip| ip.to_string()),
            detail,
        }
    }

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
}
