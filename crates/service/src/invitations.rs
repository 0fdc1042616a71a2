//! Invitations (SPEC §11): an owner or admin (or the operator) invites an email to their
//! organization with a role. The link `/invite/{token}` works once, for 7 days; the store keeps
//! only the keyed hash of its token. The invitee chooses a password, or, when the email has an
//! account already, signs in and accepts; either way the membership is added and the email is
//! proven (the link reached it).

use tessera_core::access;
use tessera_core::audit::AuditAction;
use tessera_core::message;
use tessera_core::model::{Org, OrgId, PersonId, Role, User, UserId};
use tessera_store::Invitation;

use crate::Tessera;
use crate::admin::Actor;
use crate::error::{Result, ServiceError};
use crate::mail::{Envelope, Letter};
use crate::secrets::plausible_token;
use crate::session::{NewSession, SignInFrom, SignedIn};

/// Seconds an invitation link works.
pub const INVITATION_LIFETIME: i64 = 7 * 24 * 60 * 60;

/// A new invitation: what the admin API answers, and the link (the CLI prints it; the server
/// mails it and never shows it to the inviter).
#[derive(Debug, Clone)]
pub struct Invited {
    pub id: String,
    pub email: String,
    pub role: Role,
    /// Unix seconds.
    pub expires_at: i64,
    /// `{issuer}/invite/{token}`.
    pub invite_url: String,
    /// `/invite/{token}`: the link under another issuer (the CLI's `--issuer`).
    pub invite_path: String,
    /// Whether the link went out by mail.
    pub mailed: bool,
}

/// What the invitation page shows while the link works.
#[derive(Debug, Clone)]
pub struct InvitationPrompt {
    pub org_name: String,
    pub email: String,
    pub role: Role,
    /// The email has an account: the invitee signs in to accept.
    pub has_account: bool,
}

impl Tessera {
    /// `tessera user invite`: the invitation and its link, mailed as well when this process
    /// sends mail.
    pub async fn invite(&self, actor: &Actor, org: &str, email: &str, role: Role) -> Result<Invited> {
        self.make_invitation(actor, org, email, role, false).await
    }

    /// The admin API and the Members page: an invitation whose link only the mail carries, so
    /// that the inviter never holds it (accepting proves the email). Refused when email is off.
    pub async fn invite_by_mail(&self, actor: &Actor, org: &str, email: &str, role: Role) -> Result<Invited> {
        self.make_invitation(actor, org, email, role, true).await
    }

    async fn make_invitation(&self, actor: &Actor, org: &str, email: &str, role: Role, by_mail_only: bool) -> Result<Invited> {
        let org = self.org(org).await?;
        let email = crate::admin::validate_email(email)?;
        let decision = access::add_member(actor.caller(), &org.id, role);
        self.check_access(actor, decision, "organization", "user_invite", &org.id, &email).await?;
        if by_mail_only && !self.mail_enabled() {
            return Err(ServiceError::off(message!(
                "invitation-mail-off",
                "email is off on this server, and an invitation travels by mail; the operator can invite with `tessera user invite`"
            )));
        }
        if self.store.member_by_email(&org.id, &email).await?.is_some() {
            return Err(ServiceError::invalid(message!(
                "invitation-member-already",
                "{email} is a member of {org} already",
                email = &email,
                org = &org.name
            )));
        }
        self.store_invitation(actor, &org, &email, role, false, None).await
    }

    /// An owner or admin added `member` to `org`, but its email has an account: the person is
    /// mailed an invitation to exactly that membership (when this server sends mail).
    pub(crate) async fn invite_to_membership(&self, actor: &Actor, org: &Org, member: &User) -> Result<()> {
        self.store_invitation(actor, org, &member.email, member.role, member.authorize_applications, Some(member.id.clone()))
            .await
            .map(drop)
    }

    async fn store_invitation(
        &self,
        actor: &Actor,
        org: &Org,
        email: &str,
        role: Role,
        authorize_applications: bool,
        member_id: Option<UserId>,
    ) -> Result<Invited> {
        let email = email.to_owned();
        let token = self.secrets.random_token(32)?;
        let now = self.lifetime_now();
        let invitation = Invitation {
            id: format!("inv_{}", self.secrets.random_id(16)?),
            org_id: org.id.clone(),
            email: email.clone(),
            role,
            authorize_applications,
            member_id,
            invited_by: actor.label().to_owned(),
            created_at: now,
            expires_at: now + INVITATION_LIFETIME,
            accepted_at: None,
        };
        let invite_path = format!("/invite/{token}");
        let link = format!("{}{invite_path}", self.issuer());
        let inviter = actor.as_user().map(|u| u.email.as_str());
        let envelope = Envelope { lang: actor.lang(), brand: self.brand_name(), to: &email, link: &link };
        let letter = Letter::invitation(&envelope, &invitation.id, &org.name, role.as_str(), inviter)?;
        let detail = serde_json::json!({ "email": email, "role": role.as_str(), "mailed": self.mail_enabled() });
        let audit = self.audit(actor, AuditAction::UserInvited, Some(&org.id), Some(invitation.id.clone()), detail);
        self.store.insert_invitation(&invitation, &self.secrets.lookup_hash(&token), &audit).await?;
        let mailed = self.outbox.post(letter);
        let expires_at = self.now() + INVITATION_LIFETIME;
        Ok(Invited { id: invitation.id, email, role, expires_at, invite_url: link, invite_path, mailed })
    }

    /// The invitation `token` names while it is pending.
    async fn pending_invitation(&self, token: &str) -> Result<Option<Invitation>> {
        if !plausible_token(token) {
            return Ok(None);
        }
        let found = self.store.invitation(&self.secrets.lookup_hash(token)).await?;
        Ok(found.filter(|i| i.accepted_at.is_none() && self.lifetime_now() < i.expires_at))
    }

    /// `GET /invite/{token}`: what the invitation offers, while the link works.
    pub async fn invitation_prompt(&self, token: &str) -> Result<Option<InvitationPrompt>> {
        let Some(invitation) = self.pending_invitation(token).await? else { return Ok(None) };
        let org = self.store.find_org(invitation.org_id.as_str()).await?.ok_or(ServiceError::NotFound("organization"))?;
        let has_account = self.store.user_by_email(&invitation.email).await?.is_some();
        Ok(Some(InvitationPrompt { org_name: org.name, email: invitation.email, role: invitation.role, has_account }))
    }

    /// The membership an accepted invitation makes, for `person` (`None`: a new person).
    fn invited_member(&self, invitation: &Invitation, person: Option<&PersonId>) -> Result<User> {
        let id = match &invitation.member_id {
            Some(id) => id.clone(),
            None => UserId::new(format!("usr_{}", self.secrets.random_id(16)?)),
        };
        Ok(User {
            person_id: person.cloned().unwrap_or_else(|| PersonId::new(id.as_str())),
            id,
            org_id: invitation.org_id.clone(),
            email: invitation.email.clone(),
            role: invitation.role,
            service: false,
            authorize_applications: invitation.authorize_applications,
            disabled: false,
            created_at: self.now(),
            tokens_not_before: None,
            email_verified_at: None,
        })
    }

    /// An invitation gives no more than its inviter may give when it is accepted: one sent by an
    /// admin who has since been demoted or disabled no longer works (no role goes further than
    /// its giver's, SPEC §12). The operator's invitations (CLI, setup) name no user.
    async fn inviter_may_still_give(&self, invitation: &Invitation) -> Result<()> {
        let Some(inviter) = self.store.user(&UserId::new(invitation.invited_by.as_str())).await? else { return Ok(()) };
        let actor = Actor::user(inviter.clone());
        if inviter.is_active() && access::add_member(actor.caller(), &invitation.org_id, invitation.role).is_ok() {
            return Ok(());
        }
        tracing::info!(invitation = %invitation.id, inviter = %inviter.id, "an invitation outlived its inviter's powers");
        Err(ServiceError::forbidden(message!(
            "invitation-inviter-powerless",
            "the person who sent this invitation can no longer give this role: ask the organization for a new invitation"
        )))
    }

    async fn accept(&self, token: &str, invitation: &Invitation, member: &User, password_hash: Option<&str>) -> Result<()> {
        self.inviter_may_still_give(invitation).await?;
        let detail = serde_json::json!({ "invitation": invitation.id, "role": member.role.as_str() });
        let audit = self.audit(
            &Actor::user(member.clone()),
            AuditAction::InvitationAccepted,
            Some(&invitation.org_id),
            Some(member.id.to_string()),
            detail,
        );
        let hash = self.secrets.lookup_hash(token);
        if !self.store.accept_invitation(&hash, member, password_hash, self.lifetime_now(), self.now(), &audit).await? {
            // Accepted or replaced meanwhile (two submissions at once: one wins).
            return Err(ServiceError::NotFound("invitation"));
        }
        Ok(())
    }

    /// `POST /invite/{token}`: a new account with the password chosen, signed in, unless the
    /// organization requires its identity provider (then `None`: the person signs in there).
    /// `NotFound` when the link does not work (any more); an email that has an account signs in
    /// instead.
    pub async fn accept_invitation_with_password(&self, token: &str, password: &str, from: &SignInFrom) -> Result<Option<NewSession>> {
        let invitation = self.pending_invitation(token).await?.ok_or(ServiceError::NotFound("invitation"))?;
        if self.store.user_by_email(&invitation.email).await?.is_some() {
            return Err(ServiceError::invalid(message!(
                "invitation-has-account",
                "{email} has an account: sign in to accept",
                email = &invitation.email
            )));
        }
        let hash = self.hashers.hash(password).await?;
        let member = self.invited_member(&invitation, None)?;
        self.accept(token, &invitation, &member, Some(&hash)).await?;
        let member = self.store.user(&member.id).await?.ok_or(ServiceError::NotFound("user"))?;
        if self.sign_in_allowed_without_provider(&member).await.is_err() {
            return Ok(None);
        }
        self.open_session(member, None, from, &[crate::session::PASSWORD]).await.map(Some)
    }

    /// `POST /invite/{token}/accept`: the signed-in person, whose email the invitation names,
    /// joins; the browser then works in the new organization (`true`), unless that organization
    /// requires its identity provider and this session did not begin there (`false`).
    pub async fn accept_invitation_signed_in(&self, token: &str, session: &SignedIn) -> Result<bool> {
        let invitation = self.pending_invitation(token).await?.ok_or(ServiceError::NotFound("invitation"))?;
        if self.store.member_by_email(&invitation.org_id, &invitation.email).await?.is_some() {
            return Err(ServiceError::invalid(message!(
                "invitation-member-of-org-already",
                "you are a member of this organization already"
            )));
        }
        if !invitation.email.eq_ignore_ascii_case(&session.user.email) {
            return Err(ServiceError::forbidden(message!(
                "invitation-other-email",
                "this invitation is for {email}: sign out, then sign in as {email} to accept it",
                email = &invitation.email
            )));
        }
        let member = self.invited_member(&invitation, Some(&session.user.person_id))?;
        self.accept(token, &invitation, &member, None).await?;
        if !crate::sso::is_federated(session) && self.sign_in_allowed_without_provider(&member).await.is_err() {
            return Ok(false);
        }
        self.store.switch_session(&self.secrets.lookup_hash(session.cookie()), &member.id).await?;
        Ok(true)
    }

    /// The organization's pending invitations, for its owners and admins.
    pub async fn pending_invitations(&self, actor: &Actor, org: &OrgId) -> Result<Vec<Invitation>> {
        access::administer_org(actor.caller(), org).map_err(crate::admin::denied("organization"))?;
        Ok(self.store.pending_invitations(org, self.lifetime_now()).await?)
    }
}
