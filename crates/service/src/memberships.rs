//! A person's memberships (SPEC §11): the organizations one person (one email, one password,
//! one set of second factors) belongs to, moving a signed-in browser between them, and which
//! membership a grant acts under.

use tessera_core::audit::AuditAction;
use tessera_core::message;
use tessera_core::model::{ClientId, OrgId, Role, User, UserId};

use crate::Tessera;
use crate::admin::Actor;
use crate::error::{Result, ServiceError};
use crate::session::SignedIn;

/// An organization the consent page offers to act in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgChoice {
    pub user_id: String,
    pub org_name: String,
    /// The membership the request acts under unless another is chosen.
    pub current: bool,
}

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
        if signed_in_through_provider(session) && to != session.user.id.as_str() {
            return Err(ServiceError::forbidden(message!(
                "membership-switch-after-sso",
                "you signed in through your organization's identity provider, which vouches for you there only: sign out and \
                 sign in again to use another organization"
            )));
        }
        let target = self.store.user(&UserId::new(to)).await?.filter(|u| u.person_id == session.user.person_id && !u.service);
        let Some(target) = target else { return Err(ServiceError::NotFound("membership")) };
        // Into an organization that requires its provider, only a session that began there (or
        // an owner's) moves.
        if !signed_in_through_provider(session) {
            self.sign_in_allowed_without_provider(&target).await?;
        }
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

    /// The session as it acts for `client` of organization `org`: under the person's enabled
    /// membership of that organization when they have one (a token carries the `org_id` of the
    /// membership it acts under). For an application of an organization the person is not a
    /// member of, under the membership they `chose` on the consent page, else the one they chose
    /// before (it holds their consent), else the browser's own. That organization's rule on
    /// second factors holds as for the browser's own.
    pub(crate) async fn acting_session(&self, session: &SignedIn, org: &OrgId, client: &ClientId, chose: Option<&str>) -> Result<SignedIn> {
        if &session.user.org_id == org {
            return Ok(session.clone());
        }
        let all = self.store.memberships(&session.user.person_id).await?;
        if let Some((_, org_name)) = all.iter().find(|(u, _)| &u.org_id == org && !u.is_active()) {
            // Disabled there: no other membership of theirs acts for its applications either.
            return Err(ServiceError::forbidden(message!("membership-disabled", "your membership of {org} is disabled", org = org_name)));
        }
        // A provider vouches for its own organization only: its sessions never act under the
        // person's memberships elsewhere (another organization's owner could run one).
        if signed_in_through_provider(session) {
            return Ok(session.clone());
        }
        let memberships: Vec<(User, String)> = all.into_iter().filter(|(u, _)| u.is_active() && !u.service).collect();
        let member = match memberships.iter().find(|(u, _)| &u.org_id == org) {
            Some(found) => Some(found.clone()),
            None => match chose.filter(|id| !id.is_empty()) {
                Some(id) => {
                    Some(memberships.iter().find(|(u, _)| u.id.as_str() == id).cloned().ok_or(ServiceError::NotFound("membership"))?)
                }
                None => self.remembered_membership(session, &memberships, client).await?,
            },
        };
        let Some((member, org_name)) = member.filter(|(u, _)| u.id != session.user.id) else { return Ok(session.clone()) };
        // Acting in an organization that requires its provider needs a session that began there.
        self.sign_in_allowed_without_provider(&member).await?;
        let requires = self.store.find_org(member.org_id.as_str()).await?.is_some_and(|o| o.require_mfa);
        if requires && !self.has_second_factor(&member.id).await? {
            return Err(ServiceError::forbidden(message!(
                "membership-second-factor-required",
                "{org} requires a second factor: set one up on your Security page, then try again",
                org = &org_name
            )));
        }
        let mut acting = session.clone();
        acting.user = member;
        acting.org_name = org_name;
        Ok(acting)
    }

    /// Of a person's memberships, the one whose consent `client` holds (the browser's own first).
    async fn remembered_membership(
        &self,
        session: &SignedIn,
        memberships: &[(User, String)],
        client: &ClientId,
    ) -> Result<Option<(User, String)>> {
        if memberships.len() < 2 || self.store.consent(&session.user.id, client).await?.is_some() {
            return Ok(None);
        }
        for (member, org_name) in memberships {
            if self.store.consent(&member.id, client).await?.is_some() {
                return Ok(Some((member.clone(), org_name.clone())));
            }
        }
        Ok(None)
    }

    /// The person's organizations an application of none of them may act in, for the consent
    /// page's choice (empty when there is nothing to choose: one membership, or the client's
    /// organization is among them).
    pub(crate) async fn organization_choice(&self, session: &SignedIn, org: &OrgId) -> Result<Vec<OrgChoice>> {
        let all = self.store.memberships(&session.user.person_id).await?;
        if all.iter().any(|(u, _)| &u.org_id == org) {
            return Ok(Vec::new());
        }
        let memberships: Vec<(User, String)> = all.into_iter().filter(|(u, _)| u.is_active() && !u.service).collect();
        if memberships.len() < 2 {
            return Ok(Vec::new());
        }
        Ok(memberships
            .into_iter()
            .map(|(u, org_name)| OrgChoice { current: u.id == session.user.id, user_id: u.id.to_string(), org_name })
            .collect())
    }
}

/// Whether the session began at an organization's identity provider (SPEC §15).
fn signed_in_through_provider(session: &SignedIn) -> bool {
    crate::sso::is_federated(session)
}
