//! An organization's upstream OpenID Providers (SPEC §15): `tessera idp add|list|show|update|remove`,
//! the admin API and the organization page. Connecting one decides how the organization's
//! members sign in, so only its owners (and the operator) may; claiming email domains, which
//! sends everyone with such an email to the provider and lets it make members just in time,
//! is the operator's alone. The client secret is sealed under the master key like a client's,
//! and never shown again. The provider is first asked for anything at a sign-in (the CLI may run
//! where the provider cannot be reached, and the server's outbound rules are the server's).

use tessera_core::access;
use tessera_core::audit::AuditAction;
use tessera_core::client::validate_jwks_uri;
use tessera_core::message;
use tessera_core::model::{OrgId, Role};
use tessera_proto::IdentityProviderView;
use tessera_store::IdentityProviderRecord;

use super::{Actor, Named, invalid, validate_name};
use crate::Tessera;
use crate::error::{Result, ServiceError};

/// The most domains one provider claims.
pub const MAX_DOMAINS: usize = 20;

/// A provider to connect.
pub struct NewIdentityProvider {
    /// The organization's id or name.
    pub org: String,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub email_domains: Vec<String>,
    pub default_role: Role,
}

impl std::fmt::Debug for NewIdentityProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewIdentityProvider").field("org", &self.org).field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

/// What an update changes; `None` keeps a setting.
#[derive(Default)]
pub struct IdentityProviderEdit {
    pub name: Option<String>,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub email_domains: Option<Vec<String>>,
    pub default_role: Option<Role>,
}

impl std::fmt::Debug for IdentityProviderEdit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityProviderEdit").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

/// An email domain as a provider claims it: lower case, a host name with a dot.
fn email_domain(text: &str) -> Result<String> {
    let domain = text.trim().trim_start_matches('@').to_ascii_lowercase();
    let labels_ok = domain.split('.').all(|label| {
        !label.is_empty() && label.len() <= 63 && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') && !label.starts_with('-')
    });
    if domain.len() > 253 || !domain.contains('.') || !labels_ok {
        return Err(ServiceError::invalid_field(
            "email_domains",
            message!("idp-domain-bad", "{domain:?} is not an email domain such as example.com", domain = text.trim()),
        ));
    }
    Ok(domain)
}

/// A provider's domains: each checked, lower case, sorted, once.
fn email_domains(given: &[String]) -> Result<Vec<String>> {
    let mut domains = given.iter().map(|d| email_domain(d)).collect::<Result<Vec<_>>>()?;
    domains.sort();
    domains.dedup();
    Ok(domains)
}

impl Tessera {
    /// A provider's client secret, checked and sealed under the master key, bound to its id
    /// (`sso` opens it with the same context).
    fn sealed_provider_secret(&self, id: &str, secret: &str) -> Result<Vec<u8>> {
        let secret = secret.trim();
        if secret.is_empty() || secret.len() > 1024 {
            return Err(ServiceError::invalid_field(
                "client_secret",
                message!("idp-secret-bad", "the client secret must have 1 to 1024 characters"),
            ));
        }
        self.secrets.seal(&format!("idp-secret:{id}"), secret.as_bytes())
    }

    fn identity_provider_view(&self, provider: &IdentityProviderRecord) -> IdentityProviderView {
        IdentityProviderView {
            id: provider.id.clone(),
            org_id: provider.org_id.to_string(),
            name: provider.name.clone(),
            issuer: provider.issuer.clone(),
            client_id: provider.client_id.clone(),
            email_domains: provider.email_domains.clone(),
            default_role: provider.default_role.as_str().to_owned(),
            redirect_uri: self.sso_callback_uri(),
            created_at: provider.created_at,
            updated_at: provider.updated_at,
        }
    }

    /// The provider `id` of an organization the actor may manage providers of; hidden otherwise.
    async fn managed_provider(&self, actor: &Actor, id: &str, attempted: &'static str) -> Result<IdentityProviderRecord> {
        let provider = self.store().identity_provider(id).await?.ok_or(ServiceError::NotFound("identity provider"))?;
        let decision = access::administer_org(actor.caller(), &provider.org_id);
        self.check_access(actor, decision, "identity provider", attempted, &provider.org_id, id).await?;
        let decision = access::set_org_policy(actor.caller(), &provider.org_id);
        self.check_access(actor, decision, "identity provider", attempted, &provider.org_id, id).await?;
        Ok(provider)
    }

    /// Checks what a provider is to be.
    async fn checked_provider(&self, actor: &Actor, provider: &mut IdentityProviderRecord, domains_changed: bool) -> Result<()> {
        provider.name = validate_name(Named::Provider, &provider.name)?;
        provider.issuer = provider.issuer.trim().to_owned();
        if let Err(why) = validate_jwks_uri(&provider.issuer) {
            return Err(ServiceError::invalid_field(
                "issuer",
                message!("idp-issuer-bad", "issuer {issuer:?}: {why}", issuer = provider.issuer.clone(), why = why),
            ));
        }
        if provider.issuer.contains('?') {
            return Err(ServiceError::invalid_field("issuer", message!("idp-issuer-query", "an issuer has no query")));
        }
        if provider.client_id.trim().is_empty() || provider.client_id.len() > 255 {
            return Err(ServiceError::invalid_field(
                "client_id",
                message!("idp-client-id-bad", "the client id must have 1 to 255 characters"),
            ));
        }
        if provider.default_role == Role::Owner {
            return Err(ServiceError::invalid_field(
                "default_role",
                message!("idp-role-owner", "a provider makes members or admins, never owners"),
            ));
        }
        let decision = access::add_member(actor.caller(), &provider.org_id, provider.default_role);
        self.check_access(actor, decision, "identity provider", "set_identity_provider_role", &provider.org_id, &provider.id).await?;
        if domains_changed && !provider.email_domains.is_empty() && !matches!(actor.caller(), access::Caller::Operator) {
            let decision = Err(access::Denial::Forbidden(message!(
                "idp-domains-operator-only",
                "only the operator may claim email domains for a provider (tessera idp add … --email-domain)"
            )));
            self.check_access(actor, decision, "identity provider", "claim_email_domains", &provider.org_id, &provider.id).await?;
        }
        if provider.email_domains.len() > MAX_DOMAINS {
            return Err(invalid(message!("idp-domains-too-many", "a provider claims at most {most} domains", most = MAX_DOMAINS)));
        }
        for domain in &provider.email_domains {
            if let Some(other) = self.store().identity_provider_for_domain(domain).await?
                && other.id != provider.id
            {
                return Err(ServiceError::conflict(message!(
                    "idp-domain-taken",
                    "the domain {domain} is claimed by another identity provider already",
                    domain = domain
                )));
            }
        }
        Ok(())
    }

    /// `tessera idp add`: connects an upstream OpenID Provider to an organization.
    pub async fn add_identity_provider(&self, actor: &Actor, new: NewIdentityProvider) -> Result<IdentityProviderView> {
        let org = self.org(&new.org).await?;
        let decision = access::administer_org(actor.caller(), &org.id);
        self.check_access(actor, decision, "organization", "add_identity_provider", &org.id, org.id.as_str()).await?;
        let decision = access::set_org_policy(actor.caller(), &org.id);
        self.check_access(actor, decision, "organization", "add_identity_provider", &org.id, org.id.as_str()).await?;
        let id = format!("idp_{}", self.secrets.random_id(12)?);
        let now = self.now();
        let mut provider = IdentityProviderRecord {
            client_secret_sealed: self.sealed_provider_secret(&id, &new.client_secret)?,
            id,
            org_id: org.id.clone(),
            name: new.name,
            issuer: new.issuer,
            client_id: new.client_id.trim().to_owned(),
            email_domains: email_domains(&new.email_domains)?,
            default_role: new.default_role,
            created_at: now,
            updated_at: now,
        };
        self.checked_provider(actor, &mut provider, true).await?;
        let audit = self.audit(
            actor,
            AuditAction::IdentityProviderAdded,
            Some(&org.id),
            Some(provider.id.clone()),
            serde_json::json!({ "name": provider.name, "issuer": provider.issuer, "email_domains": provider.email_domains }),
        );
        self.store().insert_identity_provider(&provider, &audit).await.map_err(|e| name_taken(e, &provider.name))?;
        Ok(self.identity_provider_view(&provider))
    }

    /// The providers of an organization (every organization's for the operator with `None`).
    pub async fn identity_providers(&self, actor: &Actor, org: Option<&str>) -> Result<Vec<IdentityProviderView>> {
        let org_id: Option<OrgId> = match (org, actor.caller()) {
            (Some(org), _) => Some(self.org(org).await?.id),
            (None, access::Caller::User(user)) => Some(user.org_id.clone()),
            (None, access::Caller::Operator) => None,
        };
        if let Some(org_id) = &org_id {
            access::administer_org(actor.caller(), org_id).map_err(super::denied("organization"))?;
        }
        let providers = self.store().identity_providers(org_id.as_ref()).await?;
        Ok(providers.iter().map(|p| self.identity_provider_view(p)).collect())
    }

    pub async fn show_identity_provider(&self, actor: &Actor, id: &str) -> Result<IdentityProviderView> {
        let provider = self.store().identity_provider(id).await?.ok_or(ServiceError::NotFound("identity provider"))?;
        access::administer_org(actor.caller(), &provider.org_id).map_err(super::denied("identity provider"))?;
        Ok(self.identity_provider_view(&provider))
    }

    /// `tessera idp update`: what the edit sets; a new secret is sealed again.
    pub async fn update_identity_provider(&self, actor: &Actor, id: &str, edit: IdentityProviderEdit) -> Result<IdentityProviderView> {
        let mut provider = self.managed_provider(actor, id, "update_identity_provider").await?;
        let domains_changed = edit.email_domains.is_some();
        // Who answers for a claimed domain was the operator's choice: an owner may not swap the
        // provider behind it (another issuer or client would speak for those people).
        let swaps_provider = edit.issuer.as_deref().is_some_and(|i| i.trim() != provider.issuer)
            || edit.client_id.as_deref().is_some_and(|c| c.trim() != provider.client_id);
        if swaps_provider && !provider.email_domains.is_empty() && !matches!(actor.caller(), access::Caller::Operator) {
            let decision = Err(access::Denial::Forbidden(message!(
                "idp-swap-operator-only",
                "this provider answers for email domains the operator let it claim: only the operator may change its issuer or \
                 client id"
            )));
            self.check_access(actor, decision, "identity provider", "swap_identity_provider", &provider.org_id, &provider.id).await?;
        }
        if let Some(name) = edit.name {
            provider.name = name;
        }
        if let Some(issuer) = edit.issuer {
            provider.issuer = issuer;
        }
        if let Some(client_id) = edit.client_id {
            provider.client_id = client_id.trim().to_owned();
        }
        if let Some(secret) = edit.client_secret {
            provider.client_secret_sealed = self.sealed_provider_secret(&provider.id, &secret)?;
        }
        if let Some(domains) = edit.email_domains {
            provider.email_domains = email_domains(&domains)?;
        }
        if let Some(role) = edit.default_role {
            provider.default_role = role;
        }
        provider.updated_at = self.now();
        self.checked_provider(actor, &mut provider, domains_changed).await?;
        let audit = self.audit(
            actor,
            AuditAction::IdentityProviderUpdated,
            Some(&provider.org_id),
            Some(provider.id.clone()),
            serde_json::json!({ "name": provider.name, "issuer": provider.issuer, "email_domains": provider.email_domains }),
        );
        if !self.store().update_identity_provider(&provider, &audit).await.map_err(|e| name_taken(e, &provider.name))? {
            return Err(ServiceError::NotFound("identity provider"));
        }
        Ok(self.identity_provider_view(&provider))
    }

    /// `tessera idp remove`. The last provider of an organization that requires single sign-on
    /// stays: its members would have no way in.
    pub async fn remove_identity_provider(&self, actor: &Actor, id: &str) -> Result<()> {
        let provider = self.managed_provider(actor, id, "remove_identity_provider").await?;
        let org = self.org(provider.org_id.as_str()).await?;
        if org.require_sso && self.store().identity_providers(Some(&org.id)).await?.len() == 1 {
            return Err(ServiceError::conflict(message!(
                "idp-last-of-sso-org",
                "the organization requires single sign-on and this is its only provider: turn --require-sso off first"
            )));
        }
        let audit = self.audit(
            actor,
            AuditAction::IdentityProviderRemoved,
            Some(&provider.org_id),
            Some(provider.id.clone()),
            serde_json::json!({ "name": provider.name }),
        );
        if !self.store().delete_identity_provider(id, &audit).await? {
            return Err(ServiceError::NotFound("identity provider"));
        }
        Ok(())
    }
}

/// The store's conflict on insert or update: the organization has a provider of that name (the
/// domains were checked before).
fn name_taken(error: tessera_store::StoreError, name: &str) -> ServiceError {
    match error {
        tessera_store::StoreError::Conflict(_) => ServiceError::conflict(message!(
            "idp-name-taken",
            "the organization has an identity provider named {name:?} already",
            name = name
        )),
        other => other.into(),
    }
}
