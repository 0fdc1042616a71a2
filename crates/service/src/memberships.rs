//! A person's memberships (SPEC §11): the organizations one person (one email, one password,
//! one set of second factors) belongs to, moving a signed-in browser between them, and which
//! membership a grant acts under.

use tessera_core::audit::AuditAction;
use tessera_core::model::{OrgId, Role, UserId};

use crate::Tessera;
use crate::admin::Actor;
use crate::error::{Result, ServiceError};
use crate::session::SignedIn;

/// One of the signed-in person's memberships, as the organizations page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub user_id: String,
    pub org_name: String,
    pub role: Role,
    /// The membership this browser acts under now.
    pub current: bool,
    /// Disabled by that organization: it cannot be switched to.
    pub disabled: bool,
}

impl Tessera {
    /// The signed-in person's memberships, by organization name.
    pub async fn memberships(&self, session: &SignedIn) -> Result<Vec<Membership>> {
        let listed = self.store.memberships(&session.user.person_id).await?;
        Ok(listed
            .into_iter()
            .filter(|(user, _)| !user.service)
            .map(|(user, org_name)| Membership {
                current: user.id == session.user.id,
                user_id: user.id.to_string(),
                org_name,
                role: user.role,
                disabled: user.disabled,
            })
            .collect())
    }

    /// Moves this browser to another enabled membership of the same person (the portal's
    /// organization switcher); audited in the organization it moves to. `NotFound` for anything
    /// else, so a user id of someone else's names nothing.
    pub async fn switch_membership(&self, session: &SignedIn, to: &str) -> Result<()> {
        let target = self.store.user(&UserId::new(to)).await?.filter(|u| u.person_id == session.user.person_id && !u.service);
        let Some(target) = target else { return Err(ServiceError::NotFound("membership")) };
        if !self.store.switch_session(&self.secrets.lookup_hash(session.cookie()), &target.id).await? {
            return Err(ServiceError::NotFound("membership"));
        }
        let detail = serde_json::json!({ "from_org": session.user.org_id.as_str() });
        let audit = self.audit(
            &Actor::user(target.clone()),
            AuditAction::SessionSwitched,
            Some(&target.org_id),
            Some(target.id.to_string()),
            detail,
        );
        self.store.append_audit(&audit).await?;
        Ok(())
    }

    /// The session as it acts for a client of organization `org`: under the person's enabled
    /// membership of that organization when they have one (a token carries the `org_id` of the
    /// membership it acts under), else under the browser's own. That organization's rule on
    /// second factors holds as for the browser's own.
    pub(crate) async fn acting_session(&self, session: &SignedIn, org: &OrgId) -> Result<SignedIn> {
        if &session.user.org_id == org {
            return Ok(session.clone());
        }
        let memberships = self.store.memberships(&session.user.person_id).await?;
        let Some((member, org_name)) = memberships.into_iter().find(|(u, _)| &u.org_id == org && u.is_active() && !u.service) else {
            return Ok(session.clone());
        };
        let requires = self.store.find_org(org.as_str()).await?.is_some_and(|o| o.require_mfa);
        if requires && !self.has_second_factor(&member.id).await? {
            return Err(ServiceError::Forbidden(format!(
                "{org_name} requires a second factor: set one up on your Security page, then try again"
            )));
        }
        let mut acting = session.clone();
        acting.user = member;
        acting.org_name = org_name;
        Ok(acting)
    }
}
