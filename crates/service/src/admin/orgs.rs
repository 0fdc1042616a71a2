//! Organizations: creating and finding them, and which applications each has approved to act
//! for its users (`requires_org_approval`).

use tessera_core::audit::AuditAction;
use tessera_core::model::{ClientId, Org, OrgId};
use tessera_core::{access, message};
use tessera_proto::{ApprovalRequestView, ApprovalView, OrgView};

use super::{Actor, Named, denied, invalid, operator_only, org_view, validate_name};
use crate::Tessera;
use crate::error::{Result, ServiceError};

/// What `update_org` changes; `None` leaves a setting as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrgChange {
    pub require_mfa: Option<bool>,
    pub require_sso: Option<bool>,
}

impl Tessera {
    /// Finds an organization by id or name.
    pub async fn org(&self, id_or_name: &str) -> Result<Org> {
        self.store().find_org(id_or_name).await?.ok_or(ServiceError::NotFound("organization"))
    }

    pub async fn create_org(&self, actor: &Actor, name: &str) -> Result<OrgView> {
        operator_only(actor)?;
        let name = validate_name(Named::Org, name)?;
        let org = Org {
            id: OrgId::new(format!("org_{}", self.secrets.random_id(12)?)),
            name,
            created_at: self.now(),
            require_mfa: false,
            require_sso: false,
        };
        let audit =
            self.audit(actor, AuditAction::OrgCreated, Some(&org.id), Some(org.id.to_string()), serde_json::json!({ "name": org.name }));
        self.store().insert_org(&org, &audit).await.map_err(|e| match e {
            tessera_store::StoreError::Conflict(_) => {
                invalid(message!("org-name-taken", "an organization named {name:?} exists already", name = &org.name))
            }
            other => other.into(),
        })?;
        Ok(org_view(&org))
    }

    /// An organization's settings, for its owners and admins.
    pub async fn show_org(&self, actor: &Actor, org: &str) -> Result<OrgView> {
        let org = self.org(org).await?;
        access::administer_org(actor.caller(), &org.id).map_err(denied("organization"))?;
        Ok(org_view(&org))
    }

    /// `tessera org update ORG --require-mfa BOOL --require-sso BOOL`, the admin API's `PATCH
    /// /organization` and the organization page: whether members must sign in with a second factor
    /// (those without one are sent to set one up right after signing in), and whether they must
    /// sign in through the organization's identity provider (password sign-in off but for the
    /// owners' break-glass passwords; it needs a provider). The operator and the organization's
    /// owners.
    pub async fn update_org(&self, actor: &Actor, org: &str, change: OrgChange) -> Result<OrgView> {
        let mut org = self.org(org).await?;
        let decision = access::set_org_policy(actor.caller(), &org.id);
        self.check_access(actor, decision, "organization", "update_organization", &org.id, org.id.as_str()).await?;
        let require_mfa = change.require_mfa.unwrap_or(org.require_mfa);
        let require_sso = change.require_sso.unwrap_or(org.require_sso);
        if require_sso && !org.require_sso && self.store().identity_providers(Some(&org.id)).await?.is_empty() {
            return Err(ServiceError::invalid_field(
                "require_sso",
                message!(
                    "org-sso-needs-provider",
                    "connect an identity provider first (tessera idp add): with none, nobody but the owners could sign in"
                ),
            ));
        }
        if change.require_mfa.is_none() && change.require_sso.is_none() {
            return Ok(org_view(&org));
        }
        let mut detail = serde_json::Map::new();
        if let Some(value) = change.require_mfa {
            detail.insert("require_mfa".into(), value.into());
        }
        if let Some(value) = change.require_sso {
            detail.insert("require_sso".into(), value.into());
        }
        let audit = self.audit(actor, AuditAction::OrgUpdated, Some(&org.id), Some(org.id.to_string()), serde_json::Value::Object(detail));
        if !self.store().set_org_sign_in_rules(&org.id, require_mfa, require_sso, &audit).await? {
            return Err(ServiceError::NotFound("organization"));
        }
        org.require_mfa = require_mfa;
        org.require_sso = require_sso;
        Ok(org_view(&org))
    }

    pub async fn orgs(&self) -> Result<Vec<OrgView>> {
        Ok(self.store().orgs().await?.iter().map(org_view).collect())
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

    /// The applications awaiting the organization's approval, the most recently asked first.
    pub async fn approval_requests(&self, actor: &Actor, org: &str) -> Result<Vec<ApprovalRequestView>> {
        let org = self.org(org).await?;
        access::administer_org(actor.caller(), &org.id).map_err(denied("organization"))?;
        let mut views = Vec::new();
        for request in self.store().approval_requests(&org.id).await? {
            // The client is usually another organization's: read as the store has it.
            let Some(record) = self.store().client(&request.client_id).await? else { continue };
            let owner = self.store().user(&record.client.owner).await?.map(|u| u.email).unwrap_or_default();
            let requested_by = match &request.requested_by {
                Some(id) => self.store().user(id).await?.map(|u| u.email).unwrap_or_default(),
                None => String::new(),
            };
            views.push(ApprovalRequestView {
                client_id: request.client_id.to_string(),
                client_name: record.client.name,
                owner,
                scopes: record.client.scopes.iter().map(str::to_owned).collect(),
                requested_by,
                first_requested_at: request.first_requested_at,
                last_requested_at: request.last_requested_at,
                requests: request.requests,
            });
        }
        Ok(views)
    }

    /// Rejects a request for approval: it leaves the list (a member asking again brings it back).
    pub async fn reject_approval_request(&self, actor: &Actor, client_id: &str, org: &str) -> Result<()> {
        let org = self.org(org).await?;
        access::administer_org(actor.caller(), &org.id).map_err(denied("organization"))?;
        let audit = self.audit(actor, AuditAction::ApprovalRejected, Some(&org.id), Some(client_id.to_owned()), serde_json::json!({}));
        if !self.store().reject_approval_request(&ClientId::new(client_id), &org.id, &audit).await? {
            return Err(ServiceError::NotFound("approval request"));
        }
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
}
