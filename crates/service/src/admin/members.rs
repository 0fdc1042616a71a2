//! Members of an organization: adding them, their role and rights, disabling them, under the
//! last-owner rule (SPEC §12).

use tessera_core::audit::AuditAction;
use tessera_core::model::{OrgId, PersonId, Role, User, UserId};
use tessera_core::password_hash;
use tessera_core::{access, message};
use tessera_proto::UserView;

use super::{Actor, denied, invalid, user_view};
use crate::Tessera;
use crate::error::{Result, ServiceError};

/// What a new user is.
#[derive(Clone)]
pub struct NewUser {
    pub org: String,
    pub email: String,
    pub role: Role,
    pub service: bool,
    pub authorize_applications: bool,
    pub password: Option<String>,
    /// A password hash brought from another vendor (SPEC §13), in place of `password`: Argon2id
    /// or Argon2i, bcrypt, passlib's PBKDF2-SHA256 or scrypt, within `password_hash::cost_problem`'s
    /// limits. It is replaced with an Argon2id hash at the next successful sign-in.
    pub password_hash: Option<String>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser").field("org", &self.org).field("email", &self.email).field("role", &self.role).finish_non_exhaustive()
    }
}

/// A password hash brought from another vendor, if Tessera can verify it within its cost limits.
pub(crate) fn brought_hash(hash: String) -> Result<String> {
    let hash = hash.trim().to_owned();
    let scheme = password_hash::scheme(&hash).map_err(|why| ServiceError::invalid_field("password_hash", why))?;
    if let Some(problem) = password_hash::cost_problem(&scheme) {
        return Err(ServiceError::invalid_field("password_hash", problem));
    }
    Ok(hash)
}

pub(crate) fn validate_email(email: &str) -> Result<String> {
    let email = email.trim();
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if !valid {
        return Err(invalid(message!("member-email-invalid", "{email:?} is not an email address", email = email)));
    }
    Ok(email.to_owned())
}

impl Tessera {
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

    pub async fn create_user(&self, actor: &Actor, new: NewUser) -> Result<UserView> {
        let email = validate_email(&new.email)?;
        let org = self.org(&new.org).await?;
        let decision = access::add_member(actor.caller(), &org.id, new.role);
        self.check_access(actor, decision, "organization", "user_create", &org.id, &email).await?;
        if new.service && (new.password.is_some() || new.password_hash.is_some()) {
            return Err(invalid(message!("member-service-no-password", "a service user has no password and cannot log in")));
        }
        let password_hash = match (new.password.as_deref(), new.password_hash) {
            (Some(_), Some(_)) => {
                return Err(invalid(message!("member-password-and-hash", "a password or a password hash, not both")));
            }
            (Some(password), None) => Some(self.hashers.hash(password).await?),
            (None, Some(hash)) => Some(brought_hash(hash)?),
            (None, None) => None,
        };
        if self.store().member_by_email(&org.id, &email).await?.is_some() {
            return Err(invalid(message!(
                "invitation-member-already",
                "{email} is a member of {org} already",
                email = &email,
                org = &org.name
            )));
        }
        let id = UserId::new(format!("usr_{}", self.secrets.random_id(16)?));
        let user = User {
            person_id: PersonId::new(id.as_str()),
            id,
            org_id: org.id.clone(),
            email,
            role: new.role,
            service: new.service,
            authorize_applications: new.authorize_applications,
            disabled: false,
            created_at: self.now(),
            tokens_not_before: None,
            email_verified_at: None,
        };
        // A person who has an account already (in another organization) decides whether to
        // join: an owner or admin's request mails them an invitation to the membership, under
        // the id this answer gives, and the answer is the same as for a new account, so it never
        // tells whether an email has an account elsewhere (SPEC §11). The operator adds the
        // membership at once; the person keeps their password either way.
        if self.store().user_by_email(&user.email).await?.is_some() {
            if user.service {
                return Err(invalid(message!(
                    "member-service-email-taken",
                    "a service user needs an email no account uses, not {email}",
                    email = &user.email
                )));
            }
            match actor.as_user() {
                Some(_) => {
                    self.invite_to_membership(actor, &org, &user).await?;
                    return Ok(user_view(&user));
                }
                None if password_hash.is_some() => {
                    return Err(invalid(message!(
                        "member-keeps-password",
                        "{email} has an account, and its person keeps their password: add the membership without --password-stdin",
                        email = &user.email
                    )));
                }
                None => {}
            }
        }
        let detail = serde_json::json!({ "email": user.email, "role": user.role.as_str(), "service": user.service, "authorize_applications": user.authorize_applications });
        let audit = self.audit(actor, AuditAction::UserCreated, Some(&org.id), Some(user.id.to_string()), detail);
        self.store().insert_user(&user, password_hash.as_deref(), &audit).await.map_err(|e| match e {
            tessera_store::StoreError::Conflict(_) => invalid(message!(
                "member-email-taken",
                "{email} is a member of {org} or used by a service user already",
                email = &user.email,
                org = &org.name
            )),
            other => other.into(),
        })?;
        Ok(user_view(&user))
    }

    /// A membership of the person with `email`, for what concerns the person (signing in, their
    /// password): an enabled one first, then the oldest.
    pub async fn user_by_email(&self, email: &str) -> Result<User> {
        self.store().user_by_email(email.trim()).await?.ok_or(ServiceError::NotFound("user"))
    }

    /// The membership in `org` of the person with `email`.
    pub async fn member_of(&self, org: &OrgId, email: &str) -> Result<User> {
        self.store().member_by_email(org, email.trim()).await?.ok_or(ServiceError::NotFound("user"))
    }

    /// A user by id or email, as the actor may see them: users of their own organization, and
    /// for a member only themselves. An email names the membership in the actor's organization;
    /// for the operator, the person's only one (a person in several organizations is named by
    /// the user id `user list --org` shows).
    pub async fn member(&self, actor: &Actor, id_or_email: &str) -> Result<User> {
        let found = match self.store().user(&UserId::new(id_or_email)).await? {
            Some(user) => user,
            None => match actor.as_user() {
                Some(me) => self.member_of(&me.org_id, id_or_email).await?,
                None => {
                    let user = self.user_by_email(id_or_email).await?;
                    if self.store().memberships(&user.person_id).await?.len() > 1 {
                        return Err(invalid(message!(
                            "member-email-ambiguous",
                            "{email} is a member of several organizations: name the user by the id `user list --org ORG` shows",
                            email = &user.email
                        )));
                    }
                    user
                }
            },
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
}
