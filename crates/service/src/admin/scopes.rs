//! An organization's scope catalogue: the scopes its clients may be given, restricted or not.

use tessera_core::audit::AuditAction;
use tessera_core::model::ScopeDef;
use tessera_core::{access, message, scope};
use tessera_proto::ScopeView;

use super::{Actor, denied, invalid};
use crate::Tessera;
use crate::error::{Result, ServiceError};

/// What [`Tessera::create_scope`] did: the scope as it stands now, and whether it was added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeCreated {
    /// The new scope; for an existing one, as it was (its `restricted` unchanged); for a
    /// built-in one, not restricted.
    pub scope: ScopeDef,
    /// False for a built-in name or a scope the catalogue has already: a no-op.
    pub created: bool,
}

impl Tessera {
    /// Adds a scope to an organization's catalogue. Built-in names and existing scopes are a
    /// no-op (`created` false).
    pub async fn create_scope(&self, actor: &Actor, org: &str, name: &str, restricted: bool) -> Result<ScopeCreated> {
        if !scope::is_scope_token(name) {
            return Err(invalid(message!("scope-name-invalid", "{name:?} is not a valid scope name (RFC 6749 §3.3)", name = name)));
        }
        let org = self.org(org).await?;
        access::administer_org(actor.caller(), &org.id).map_err(denied("organization"))?;
        if scope::is_built_in(name) {
            return Ok(ScopeCreated { scope: ScopeDef { name: name.to_owned(), restricted: false }, created: false });
        }
        let def = ScopeDef { name: name.to_owned(), restricted };
        let audit = self.audit(
            actor,
            AuditAction::ScopeCreated,
            Some(&org.id),
            Some(name.to_owned()),
            serde_json::json!({ "restricted": restricted }),
        );
        if self.store().insert_scope(&org.id, &def, self.now(), &audit).await? {
            return Ok(ScopeCreated { scope: def, created: true });
        }
        let existing = self.store().scopes(&org.id).await?.into_iter().find(|d| d.name == def.name);
        Ok(ScopeCreated { scope: existing.unwrap_or(def), created: false })
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

    /// Marks a catalogue scope restricted (only owners and admins may grant it) or not. New grants
    /// follow the new rule at once. A member's token that carries a scope they may no longer hold
    /// is inactive at introspection; since a guard cannot tell a member's token from an owner's,
    /// restricting a scope ends every access token of the organization's members issued before
    /// (fed like a lowered role): they get new ones, without it, by refresh or client credentials.
    pub async fn set_scope_restricted(&self, actor: &Actor, org: &str, name: &str, restricted: bool) -> Result<ScopeDef> {
        let org = self.org(org).await?;
        access::administer_org(actor.caller(), &org.id).map_err(denied("organization"))?;
        let was_restricted = self.store().scopes(&org.id).await?.iter().any(|def| def.name == name && def.restricted);
        let members_not_before = (restricted && !was_restricted).then(|| self.now() + 1);
        let audit = self.audit(
            actor,
            AuditAction::ScopeUpdated,
            Some(&org.id),
            Some(name.to_owned()),
            serde_json::json!({ "restricted": restricted }),
        );
        if !self.store().set_scope_restricted(&org.id, name, restricted, members_not_before, &audit).await? {
            return Err(ServiceError::NotFound("scope"));
        }
        Ok(ScopeDef { name: name.to_owned(), restricted })
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
