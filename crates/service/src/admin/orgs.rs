//! Organizations: creating and finding them, and which applications each has approved to act
//! for its users (`requires_org_approval`).

use tessera_core::access;
use tessera_core::audit::AuditAction;
use tessera_core::model::{ClientId, Org, OrgId};
use tessera_proto::{ApprovalRequestView, ApprovalView, OrgView};

use super::{Actor, denied, invalid, operator_only, org_view, validate_name};
use crate::Tessera;
use crate::error::{Result, ServiceError};

impl Tessera {
    /// Finds an organization by id or name.
    pub async fn org(&self, id_or_name: &str) -> Result<Org> {
        self.store().find_org(id_or_name).await?.ok_or(ServiceError::NotFound("organization"))
    }

    pub async fn create_org(&self, actor: &Actor, name: &str) -> Result<OrgView> {
        operator_only(actor)?;
        let name = validate_name("an organization name", name)?;
        let org = Org { id: OrgId::new(format!("org_{}", self.secrets.random_id(12)?)), name, created_at: self.now(), require_mfa: false };
        let audit =
            self.audit(actor, AuditAction::OrgCreated, Some(&org.id), Some(org.id.to_string()), serde_json::json!({ "name": org.name }));
        self.store().insert_org(&org, &audit).await.map_err(|e| match e {
            tessera_store::StoreError::Conflict(_) => invalid(format!("an organization named {:?} exists already", org.name)),
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

    /// `tessera org update ORG --require-mfa BOOL`, the admin API's `PATCH /organization` and the
    /// organization page: whether members must sign in with a second factor (those without one
    /// are sent to set one up right after signing in). The operator and the organization's owners.
    pub async fn update_org(&self, actor: &Actor, org: &str, require_mfa: Option<bool>) -> Result<OrgView> {
        let mut org = self.org(org).await?;
        let decision = access::set_org_policy(actor.caller(), &org.id);
        self.check_access(actor, decision, "organization", "update_organization", &org.id, org.id.as_str()).await?;
        if let Some(require) = require_mfa {
            let audit = self.audit(
                actor,
                AuditAction::OrgUpdated,
                Some(&org.id),
                Some(org.id.to_string()),
                serde_json::json!({ "require_mfa": require }),
            );
            if !self.store().set_org_require_mfa(&org.id, require, &audit).await? {
                return Err(ServiceError::NotFound("organization"));
            }
            org.require_mfa = require;
        }
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
