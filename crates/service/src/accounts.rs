//! People manage their own credentials (SPEC §11): the forgotten-password link, the password
//! change on `/settings/security`, the operator's reset (`tessera user set-password`) and email
//! verification.
//!
//! A mailed link carries a 256-bit random token; the store keeps only its keyed hash, with the
//! purpose, the user and the lifetime (on the lifetime clock, as sessions). A link works once,
//! and a newer link of the same purpose voids the older ones.

use std::net::IpAddr;
use std::sync::Arc;

use tessera_core::audit::{AuditAction, AuditEvent};
use tessera_core::message;
use tessera_core::model::User;
use tessera_store::{AccountTokenPurpose, AccountTokenRecord, PasswordChange};

use crate::Tessera;
use crate::admin::Actor;
use crate::error::{Result, ServiceError};
use crate::i18n::Lang;
use crate::mail::{Envelope, Letter};
use crate::secrets::plausible_token;
use crate::session::SignedIn;

/// Seconds a password-reset link works.
pub const RESET_LINK_LIFETIME: i64 = 30 * 60;
/// Seconds an email-verification link works.
pub const VERIFICATION_LINK_LIFETIME: i64 = 24 * 60 * 60;
/// Links of one purpose mailed to one account per hour, at most.
pub const LINKS_PER_HOUR: i64 = 5;

/// How a password came to be set, for the audit log.
#[derive(Debug, Clone, Copy)]
enum PasswordSetBy {
    /// The user, with their current password.
    Change,
    /// The user, through a reset link.
    Reset,
    /// The operator (`tessera user set-password`).
    Operator,
}

impl PasswordSetBy {
    fn as_str(self) -> &'static str {
        match self {
            Self::Change => "change",
            Self::Reset => "reset",
            Self::Operator => "set",
        }
    }
}

impl Tessera {
    /// Whether mail goes out (`serve --smtp-url`): without it, the pages that would mail say so.
    pub fn mail_enabled(&self) -> bool {
        self.outbox.enabled()
    }

    /// `/password/forgot`: mails a reset link to `email` if it is an account that can sign in.
    /// Returns at once, before anything is looked up, so that the answer and its timing are the
    /// same whether or not the account exists; the work runs in the background.
    /// The mail is written in `lang`, the language of the page it was asked on.
    pub fn request_password_reset(self: &Arc<Self>, email: &str, peer: IpAddr, lang: Lang) {
        let (service, email) = (self.clone(), email.trim().to_lowercase());
        tokio::spawn(async move {
            if let Err(e) = service.mail_password_reset(&email, peer, lang).await {
                tracing::warn!(error = %e, "a password reset request failed");
            }
        });
    }

    async fn mail_password_reset(&self, email: &str, peer: IpAddr, lang: Lang) -> Result<()> {
        if !self.mail_enabled() || email.is_empty() || email.len() > 254 {
            return Ok(());
        }
        let Some(user) = self.store.user_by_email(email).await?.filter(|u| u.is_active() && !u.service) else {
            return Ok(());
        };
        // Whoever asked is not known: anyone may type an email into the forgot page.
        let anonymous = Actor::system("anonymous");
        let Some(token) = self.new_account_token(&user, AccountTokenPurpose::PasswordReset, RESET_LINK_LIFETIME).await? else {
            self.account_audit(
                &anonymous,
                &user,
                AuditAction::PasswordResetRequested,
                Some(peer),
                serde_json::json!({ "mailed": false, "reason": "hourly_limit" }),
            )
            .await;
            return Ok(());
        };
        let link = format!("{}/password/reset/{token}", self.issuer());
        let envelope = Envelope { lang, brand: self.brand_name(), to: &user.email, link: &link };
        let mailed = self.outbox.post(Letter::password_reset(&envelope, user.id.clone(), RESET_LINK_LIFETIME / 60)?);
        self.account_audit(&anonymous, &user, AuditAction::PasswordResetRequested, Some(peer), serde_json::json!({ "mailed": mailed }))
            .await;
        Ok(())
    }

    /// A new single-use link's token for `user`, or `None` when the hourly limit is reached.
    pub(crate) async fn new_account_token(&self, user: &User, purpose: AccountTokenPurpose, lifetime: i64) -> Result<Option<String>> {
        let token = self.secrets.random_token(32)?;
        let now = self.lifetime_now();
        let record = AccountTokenRecord { user_id: user.id.clone(), purpose, created_at: now, expires_at: now + lifetime, spent_at: None };
        let stored = self.store.insert_account_token(&self.secrets.lookup_hash(&token), &record, now - 3600, LINKS_PER_HOUR).await?;
        Ok(stored.then_some(token))
    }

    /// The user a live link of `purpose` belongs to, if `token` is one.
    async fn account_token_user(&self, token: &str, purpose: AccountTokenPurpose) -> Result<Option<User>> {
        if !plausible_token(token) {
            return Ok(None);
        }
        let Some(record) = self.store.account_token(&self.secrets.lookup_hash(token)).await? else { return Ok(None) };
        if record.purpose != purpose || record.spent_at.is_some() || self.lifetime_now() >= record.expires_at {
            return Ok(None);
        }
        Ok(self.store.user(&record.user_id).await?.filter(|u| u.is_active() && !u.service))
    }

    /// `GET /password/reset/{token}`: whose password the link resets, while it works.
    pub async fn password_reset_user(&self, token: &str) -> Result<Option<User>> {
        self.account_token_user(token, AccountTokenPurpose::PasswordReset).await
    }

    /// `POST /password/reset/{token}`: sets the new password, spends the link, ends every
    /// session of the user, lifts their lock-out and marks the email proven (the link reached
    /// it). `NotFound` when the link does not work (any more).
    pub async fn reset_password(&self, token: &str, new_password: &str, peer: IpAddr) -> Result<User> {
        let user = self.password_reset_user(token).await?.ok_or(ServiceError::NotFound("password reset link"))?;
        let hash = self.hashers.hash(new_password).await?;
        let change = PasswordChange { user: &user.id, password_hash: &hash, keep_session: None, email_verified_at: Some(self.now()) };
        let audit = self.password_audit(&user, PasswordSetBy::Reset, &Actor::user(user.clone()), Some(peer));
        let spend = (self.secrets.lookup_hash(token), self.lifetime_now());
        if !self.store.change_password(&change, Some((&spend.0, spend.1)), &audit).await? {
            // Used or replaced meanwhile (two submissions at once: one wins).
            return Err(ServiceError::NotFound("password reset link"));
        }
        self.login_limiter.clear(&user.email.to_lowercase()).await?;
        Ok(user)
    }

    /// `/settings/security`: a signed-in user changes their password with the current one. A
    /// wrong current password counts towards the sign-in lock-out. The other sessions end; this
    /// one stays.
    pub async fn change_password(&self, session: &SignedIn, current: &str, new_password: &str, peer: IpAddr) -> Result<()> {
        crate::sso::may_change_credentials(session)?;
        self.confirm_current_password(session, current, peer).await?;
        let hash = self.hashers.hash(new_password).await?;
        let keep = self.secrets.lookup_hash(session.cookie());
        let change = PasswordChange { user: &session.user.id, password_hash: &hash, keep_session: Some(&keep), email_verified_at: None };
        let audit = self.password_audit(&session.user, PasswordSetBy::Change, &Actor::user(session.user.clone()), Some(peer));
        if !self.store.change_password(&change, None, &audit).await? {
            return Err(ServiceError::NotFound("user"));
        }
        Ok(())
    }

    /// Checks the signed-in user's current password before a change to their credentials; a
    /// wrong one counts towards the sign-in lock-out.
    pub(crate) async fn confirm_current_password(&self, session: &SignedIn, current: &str, peer: IpAddr) -> Result<()> {
        let email = session.user.email.to_lowercase();
        let now = self.lifetime_now();
        if let Some(retry_after) = self.login_limiter.locked_for(&email, now).await? {
            return Err(ServiceError::TooManyAttempts { retry_after });
        }
        let stored = self.store.user_credentials(&email).await?.and_then(|(_, hash)| hash);
        if !self.hashers.verify(current.to_owned(), stored).await? {
            self.record_login_failure(&email, Some(&session.user), "wrong_current_password", peer, now).await;
            return Err(ServiceError::invalid_field(
                "current_password",
                message!("password-current-wrong", "The current password is not right."),
            ));
        }
        Ok(())
    }

    /// `tessera user set-password EMAIL --password-stdin`: the operator sets a user's password.
    /// Every session of the user ends and their lock-out is lifted.
    pub async fn set_password(&self, actor: &Actor, email: &str, new_password: &str) -> Result<User> {
        let user = self.user_by_email(email).await?;
        if user.service {
            return Err(ServiceError::invalid(message!(
                "account-service-user-no-password",
                "a service user has no password: it cannot sign in"
            )));
        }
        let hash = self.hashers.hash(new_password).await?;
        let change = PasswordChange { user: &user.id, password_hash: &hash, keep_session: None, email_verified_at: None };
        let audit = self.password_audit(&user, PasswordSetBy::Operator, actor, None);
        if !self.store.change_password(&change, None, &audit).await? {
            return Err(ServiceError::NotFound("user"));
        }
        self.login_limiter.clear(&user.email.to_lowercase()).await?;
        Ok(user)
    }

    /// The "Verify" button of `/settings/security`: mails a verification link to the user's
    /// email. `Ok(false)` when mail is off, the email is proven already or the hourly limit is
    /// reached.
    /// The mail is written in `lang`, the language of the page it was asked on.
    pub async fn request_email_verification(&self, session: &SignedIn, peer: IpAddr, lang: Lang) -> Result<bool> {
        let user = &session.user;
        if !self.mail_enabled() || user.email_verified_at.is_some() {
            return Ok(false);
        }
        let Some(token) = self.new_account_token(user, AccountTokenPurpose::EmailVerification, VERIFICATION_LINK_LIFETIME).await? else {
            return Ok(false);
        };
        let link = format!("{}/email/verify/{token}", self.issuer());
        let envelope = Envelope { lang, brand: self.brand_name(), to: &user.email, link: &link };
        let mailed = self.outbox.post(Letter::email_verification(&envelope, user.id.clone())?);
        self.account_audit(
            &Actor::user(user.clone()),
            user,
            AuditAction::EmailVerificationRequested,
            Some(peer),
            serde_json::json!({ "mailed": mailed }),
        )
        .await;
        Ok(mailed)
    }

    /// `GET /email/verify/{token}`: marks the email of the link's user proven. `NotFound` when
    /// the link does not work (any more).
    pub async fn verify_email(&self, token: &str, peer: IpAddr) -> Result<User> {
        let user = self
            .account_token_user(token, AccountTokenPurpose::EmailVerification)
            .await?
            .ok_or(ServiceError::NotFound("email verification link"))?;
        let mut audit = self.audit(
            &Actor::user(user.clone()),
            AuditAction::EmailVerified,
            Some(&user.org_id),
            Some(user.id.to_string()),
            serde_json::json!({}),
        );
        audit.ip = Some(peer.to_string());
        let hash = self.secrets.lookup_hash(token);
        if !self.store.verify_email(&hash, &user.id, self.lifetime_now(), self.now(), &audit).await? {
            return Err(ServiceError::NotFound("email verification link"));
        }
        Ok(user)
    }

    fn password_audit(&self, user: &User, how: PasswordSetBy, actor: &Actor, peer: Option<IpAddr>) -> AuditEvent {
        let mut audit = self.audit(
            actor,
            AuditAction::PasswordChanged,
            Some(&user.org_id),
            Some(user.id.to_string()),
            serde_json::json!({ "how": how.as_str() }),
        );
        audit.ip = peer.map(|p| p.to_string());
        audit
    }

    /// An audit entry about the user's own account, written on its own (no change goes with it).
    async fn account_audit(&self, actor: &Actor, user: &User, action: AuditAction, peer: Option<IpAddr>, detail: serde_json::Value) {
        let mut audit = self.audit(actor, action, Some(&user.org_id), Some(user.id.to_string()), detail);
        audit.ip = peer.map(|p| p.to_string());
        if let Err(e) = self.store.append_audit(&audit).await {
            tracing::warn!(error = %e, action = action.as_str(), "could not write an audit entry");
        }
    }
}
