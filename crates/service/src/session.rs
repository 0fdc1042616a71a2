//! Browser sessions and password login: the session cookie, CSRF tokens, the login throttle
//! and the one-time setup link that creates the first owner.
//!
//! A session id is a 256-bit random value that lives only in the browser's cookie; the store
//! keeps its keyed hash. Logging in always makes a new id and deletes the browser's previous
//! one (no session fixation, B08). Sessions end after an idle timeout and an absolute lifetime.

use std::net::IpAddr;

use tessera_core::audit::{AuditAction, AuditEvent};
use tessera_core::model::{Role, User};
use tessera_core::password_hash;
use tessera_store::SessionRecord;

use crate::Tessera;
use crate::admin::{Actor, NewUser};
use crate::error::{Result, ServiceError};
use crate::second_factor::SignIn;
use crate::secrets::{hex, plausible_token};

/// A browser that is signed in.
#[derive(Clone)]
pub struct SignedIn {
    pub user: User,
    pub auth_time: i64,
    /// How the browser signed in (RFC 8176: `pwd`, or `pwd otp mfa`).
    pub amr: Vec<String>,
    /// The user's organization requires a second factor they have not set up: the pages send
    /// them to set one up and let them do nothing else (SPEC §11).
    pub must_enrol: bool,
    /// The name of the user's organization (the one the browser works in), for the page header.
    pub org_name: String,
    /// The cookie value, which CSRF tokens of this session are bound to.
    cookie: String,
}

impl SignedIn {
    /// The session cookie's value (never leaves the crate: it is the session's credential).
    pub(crate) fn cookie(&self) -> &str {
        &self.cookie
    }
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn").field("user", &self.user.id).field("auth_time", &self.auth_time).finish_non_exhaustive()
    }
}

/// Where a sign-in comes from, as the user's list of signed-in browsers shows it.
#[derive(Debug, Clone)]
pub struct SignInFrom {
    pub peer: IpAddr,
    /// The browser's `User-Agent`, cut to [`USER_AGENT_MAX`] characters.
    pub user_agent: Option<String>,
}

/// The longest `User-Agent` kept with a session.
pub const USER_AGENT_MAX: usize = 512;

/// One of a user's signed-in browsers, as `/settings/security` lists it.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    /// Names the session in a form without being its credential (a hash of its stored hash).
    pub handle: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The browser asking.
    pub current: bool,
}

/// A session just created by a login: the cookie value to set.
pub struct NewSession {
    pub cookie: String,
    pub user: User,
    /// Seconds the cookie may live (the absolute lifetime).
    pub max_age: i64,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession").field("user", &self.user.id).finish_non_exhaustive()
    }
}

/// RFC 8176 authentication method references: a password; a one-time code (an authenticator
/// app's, or a recovery code); more than one factor.
pub const PASSWORD: &str = "pwd";
pub const ONE_TIME_CODE: &str = "otp";
pub const MULTIPLE_FACTORS: &str = "mfa";
/// RFC 8176 "hwk": proof of possession of a key kept by an authenticator (a passkey).
pub const PASSKEY: &str = "hwk";

/// A session's last-seen time is written at most this often (seconds): idle timeouts are
/// coarse, and a page view should not always be a write.
const TOUCH_EVERY: i64 = 60;

/// The live setup link: the keyed hash of its token and when it was made, `HASH:UNIX_SECONDS`.
const SETUP_TOKEN_META: &str = "setup_token";
/// Where earlier versions kept the hash alone (with no time, such a link counts as expired).
const LEGACY_SETUP_TOKEN_META: &str = "setup_token_hash";
/// Claimed by the submission that creates the first owner, so that of two concurrent ones, one
/// does.
const SETUP_USED_META: &str = "setup_used";

/// Seconds a setup link works after it was made (SPEC §11).
pub const SETUP_LINK_LIFETIME: i64 = 24 * 60 * 60;

/// Whether a setup link made at `created_at` still works at `now`.
fn setup_link_alive(created_at: i64, now: i64) -> bool {
    now < created_at.saturating_add(SETUP_LINK_LIFETIME)
}

impl Tessera {
    /// The CSRF token for forms shown to the browser holding `binding` (a session cookie or the
    /// pre-login cookie).
    pub fn csrf_token(&self, binding: &str) -> String {
        self.secrets.csrf_token(binding)
    }

    pub fn csrf_matches(&self, binding: &str, token: &str) -> bool {
        self.secrets.csrf_matches(binding, token)
    }

    /// A fresh random value for a cookie.
    pub fn new_cookie_value(&self) -> Result<String> {
        self.secrets.random_token(32)
    }

    /// The signed-in user of the browser presenting `cookie`, if its session is still alive
    /// and its user still enabled. A dead session is deleted.
    pub async fn current_session(&self, cookie: Option<&str>) -> Result<Option<SignedIn>> {
        let Some(cookie) = cookie.filter(|c| plausible_token(c)) else {
            return Ok(None);
        };
        let hash = self.secrets.lookup_hash(cookie);
        let Some(session) = self.store.session(&hash).await? else {
            return Ok(None);
        };
        // Sessions live on the lifetime clock (SPEC §12).
        let now = self.lifetime_now();
        let alive = now < session.expires_at && now < session.last_seen_at + self.settings.session_idle_timeout;
        self.sync().await?;
        let user = self.cache.user(&*self.store, &session.user_id).await?.filter(|u| u.is_active() && !u.service);
        let Some(user) = user.filter(|_| alive) else {
            self.store.delete_session(&hash).await?;
            return Ok(None);
        };
        if now - session.last_seen_at >= TOUCH_EVERY {
            self.store.touch_session(&hash, now).await?;
        }
        // A session older than the column signed in with a password.
        let amr = if session.amr.is_empty() { vec![PASSWORD.to_owned()] } else { session.amr };
        let org = self.store.find_org(user.org_id.as_str()).await?;
        let must_enrol = org.as_ref().is_some_and(|org| org.require_mfa) && !self.has_second_factor(&user.id).await?;
        let org_name = org.map(|org| org.name).unwrap_or_default();
        Ok(Some(SignedIn { user, auth_time: session.auth_time, amr, must_enrol, org_name, cookie: cookie.to_owned() }))
    }

    /// The CSRF token of a signed-in browser's forms.
    pub fn session_csrf(&self, session: &SignedIn) -> String {
        self.csrf_token(&session.cookie)
    }

    pub fn session_csrf_matches(&self, session: &SignedIn, token: &str) -> bool {
        self.csrf_matches(&session.cookie, token)
    }

    /// The mark a page sets in this browser after a secret of `client_id` was made or its showing
    /// confirmed, so the page it redirects to shows that secret once (post/redirect/get without
    /// the secret in the URL). Bound to the session: a mark from another browser is worthless.
    pub fn fresh_secret_mark(&self, session: &SignedIn, client_id: &str) -> String {
        // Session cookies are URL-safe base64, so no session's own binding starts like this one.
        self.csrf_token(&format!("fresh-secret:{client_id}:{}", session.cookie))
    }

    pub fn fresh_secret_mark_matches(&self, session: &SignedIn, client_id: &str, mark: &str) -> bool {
        self.csrf_matches(&format!("fresh-secret:{client_id}:{}", session.cookie), mark)
    }

    /// `value` sealed under the master key for this session and `purpose`, as URL-safe text: a
    /// page carries something across its redirect (post/redirect/get) in a cookie, which then
    /// shows nothing and opens for this session only.
    pub fn seal_for_session(&self, session: &SignedIn, purpose: &str, value: &[u8]) -> Result<String> {
        self.seal_text(&format!("{purpose}:{}", session.cookie), value)
    }

    /// What [`Self::seal_for_session`] sealed, when `text` was sealed for this session and
    /// `purpose`.
    pub fn open_for_session(&self, session: &SignedIn, purpose: &str, text: &str) -> Option<Vec<u8>> {
        self.open_text(&format!("{purpose}:{}", session.cookie), text)
    }

    /// Checks an email and password and opens a session. `previous` is the browser's current
    /// session cookie, which is ended. Failures are throttled per account and per address and
    /// audited; an unknown email costs the same as a wrong password and gets the same answer.
    /// A user with a second factor is not signed in yet: the sign-in waits for it at `/login/mfa`
    /// and goes on to `return_to` (`second_factor`).
    pub async fn login(&self, email: &str, password: &str, previous: Option<&str>, from: &SignInFrom, return_to: &str) -> Result<SignIn> {
        let user = self.check_password(email, password, from.peer).await?;
        self.sign_in_after_password(user, previous, from, return_to).await
    }

    /// The password check behind the login form and `POST /sessions`.
    /// After a successful sign-in: a hash other than Argon2id with today's parameters (one brought
    /// from another vendor, SPEC §13) is replaced with one, so the old scheme leaves the store.
    async fn upgrade_password_hash(&self, user: &User, stored: &str, password: &str) -> Result<()> {
        if password_hash::scheme(stored).is_ok_and(|scheme| password_hash::is_current(&scheme)) {
            return Ok(());
        }
        let upgraded = self.hashers.rehash(password).await?;
        let scheme = stored.split('$').nth(1).unwrap_or_default();
        let audit = AuditEvent {
            at: self.clock.now(),
            org_id: Some(user.org_id.to_string()),
            actor: user.id.to_string(),
            action: AuditAction::PasswordHashUpgraded,
            target: Some(user.id.to_string()),
            ip: None,
            detail: serde_json::json!({ "from": scheme }),
        };
        // `false`: the password changed meanwhile, and that change stands.
        self.store.upgrade_password_hash(&user.id, stored, &upgraded, &audit).await?;
        Ok(())
    }

    pub async fn check_password(&self, email: &str, password: &str, peer: IpAddr) -> Result<User> {
        // Lock-outs run on the lifetime clock: a wall-clock step forwards lifts none early.
        let now = self.lifetime_now();
        let account = email.trim().to_lowercase();
        let locked = match self.login_limiter.locked_for(&account, now).await? {
            Some(retry_after) => Some(retry_after),
            None => self.login_address_limiter.locked_for(&peer, now).await?,
        };
        if let Some(retry_after) = locked {
            return Err(ServiceError::TooManyAttempts { retry_after });
        }
        let found = if account.is_empty() || account.len() > 254 { None } else { self.store.user_credentials(&account).await? };
        let (user, stored) = match found {
            Some((user, Some(hash))) => (Some(user), Some(hash)),
            _ => (None, None),
        };
        // Argon2 on the hashing threads; with no such account a dummy hash is checked, so unknown
        // and known emails cost the same (B03).
        let verified = self.hashers.verify(password.to_owned(), stored.clone()).await?;
        match user {
            Some(user) if verified && user.is_active() && !user.service => {
                self.login_limiter.clear(&account).await?;
                self.sign_in_allowed_without_provider(&user).await?;
                if let Some(stored) = stored {
                    self.upgrade_password_hash(&user, &stored, password).await?;
                }
                Ok(user)
            }
            user => {
                let reason = match &user {
                    None => "unknown_email",
                    Some(u) if u.disabled => "user_disabled",
                    Some(_) => "wrong_password",
                };
                self.record_login_failure(&account, user.as_ref(), reason, peer, now).await;
                Err(ServiceError::BadCredentials)
            }
        }
    }

    /// In an organization that requires single sign-on only owners sign in with their own
    /// credentials (their break-glass way in; SPEC §15). Asked after the credential was found
    /// right, so the answer tells nothing to whoever does not hold it.
    pub(crate) async fn sign_in_allowed_without_provider(&self, user: &User) -> Result<()> {
        if user.role == tessera_core::model::Role::Owner {
            return Ok(());
        }
        let Some(org) = self.store.find_org(user.org_id.as_str()).await? else { return Ok(()) };
        if !org.require_sso {
            return Ok(());
        }
        let providers = self.store.identity_providers(Some(&org.id)).await?;
        let name = providers.first().map_or_else(|| "your identity provider".to_owned(), |p| p.name.clone());
        Err(ServiceError::forbidden(tessera_core::message!(
            "sso-required",
            "{org} signs its members in through {name}: use “Continue with {name}”",
            org = org.name,
            name = name
        )))
    }

    pub(crate) async fn record_login_failure(&self, account: &str, user: Option<&User>, reason: &str, peer: IpAddr, now: i64) {
        let counted = |result: tessera_store::Result<bool>| {
            result.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not count a failed login");
                false
            })
        };
        let locked = counted(self.login_limiter.record_failure(&account, now).await);
        let address_locked = counted(self.login_address_limiter.record_failure(&peer, now).await);
        self.counters.login_failures.increment();
        if locked {
            self.counters.account_lockouts.increment();
        }
        if address_locked {
            self.counters.address_lockouts.increment();
        }
        let mut event = AuditEvent {
            at: self.clock.now(),
            org_id: user.map(|u| u.org_id.to_string()),
            actor: user.map_or_else(|| "anonymous".to_owned(), |u| u.id.to_string()),
            action: AuditAction::LoginFailed,
            target: user.map(|u| u.id.to_string()),
            ip: Some(peer.to_string()),
            detail: serde_json::json!({ "reason": reason }),
        };
        if let Err(e) = self.store.append_audit(&event).await {
            tracing::warn!(error = %e, "could not write the audit entry of a failed login");
        }
        // One entry per lock that started: an address lock is not hidden by an account lock.
        event.action = AuditAction::LoginLocked;
        for (started, scope) in [(locked, "account"), (address_locked, "address")] {
            if !started {
                continue;
            }
            event.detail = serde_json::json!({ "locked": scope });
            if let Err(e) = self.store.append_audit(&event).await {
                tracing::warn!(error = %e, "could not write the audit entry of a login lock-out");
            }
        }
    }

    pub(crate) async fn open_session(&self, user: User, previous: Option<&str>, from: &SignInFrom, amr: &[&str]) -> Result<NewSession> {
        let now = self.lifetime_now();
        let cookie = self.secrets.random_token(32)?;
        let max_age = self.settings.session_max_lifetime;
        // `auth_time` leaves the process (ID tokens): wall time. The rest is the session's lifetime.
        let record = SessionRecord {
            user_id: user.id.clone(),
            auth_time: self.clock.now(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + max_age,
            ip: Some(from.peer.to_string()),
            user_agent: from.user_agent.as_ref().map(|ua| ua.chars().take(USER_AGENT_MAX).collect()),
            amr: amr.iter().map(|m| (*m).to_owned()).collect(),
        };
        let replaces = previous.map(|p| self.secrets.lookup_hash(p));
        self.store.insert_session(&self.secrets.lookup_hash(&cookie), &record, replaces.as_deref()).await?;
        Ok(NewSession { cookie, user, max_age })
    }

    /// Ends the browser's session server-side.
    pub async fn logout(&self, cookie: Option<&str>) -> Result<()> {
        if let Some(cookie) = cookie.filter(|c| plausible_token(c)) {
            self.store.delete_session(&self.secrets.lookup_hash(cookie)).await?;
        }
        Ok(())
    }

    /// On a store with no user yet, makes a new one-time setup token (replacing any earlier
    /// one), valid for [`SETUP_LINK_LIFETIME`], and returns it; `serve` prints the link at
    /// every start. `None` once a user exists.
    pub async fn prepare_setup(&self) -> Result<Option<String>> {
        if !self.setup_open().await? {
            return Ok(None);
        }
        let token = self.secrets.random_token(32)?;
        let record = format!("{}:{}", hex(&self.secrets.lookup_hash(&token)), self.lifetime_now());
        self.store.set_meta(SETUP_TOKEN_META, &record).await?;
        // A claim left by a setup that never made its user (a crash in between) must not
        // block the new link: with no user, nobody has completed the setup.
        self.store.delete_meta(SETUP_USED_META).await?;
        self.store.delete_meta(LEGACY_SETUP_TOKEN_META).await?;
        Ok(Some(token))
    }

    /// Whether the setup pages exist at all: only while no user does (afterwards every
    /// `/setup/…` is a 404, whatever the token).
    pub async fn setup_open(&self) -> Result<bool> {
        Ok(self.store.user_count().await? == 0)
    }

    /// Whether `token` is the live setup token: the newest one made, unused, made less than
    /// [`SETUP_LINK_LIFETIME`] ago, while no user exists.
    pub async fn setup_token_valid(&self, token: &str) -> Result<bool> {
        if !plausible_token(token) || !self.setup_open().await? || self.store.meta(SETUP_USED_META).await?.is_some() {
            return Ok(false);
        }
        let Some(stored) = self.store.meta(SETUP_TOKEN_META).await? else {
            return Ok(false);
        };
        let Some((hash, created_at)) = stored.split_once(':') else {
            return Ok(false);
        };
        let alive = created_at.parse().is_ok_and(|created_at| setup_link_alive(created_at, self.lifetime_now()));
        Ok(alive && constant_time_eq(hash.as_bytes(), hex(&self.secrets.lookup_hash(token)).as_bytes()))
    }

    /// Uses the setup token once: creates the first owner in the default organization and
    /// signs them in.
    pub async fn complete_setup(&self, token: &str, email: &str, password: &str, from: &SignInFrom) -> Result<NewSession> {
        let peer = from.peer;
        if !self.setup_token_valid(token).await? {
            return Err(ServiceError::NotFound("setup link"));
        }
        // Claim the token atomically: of two concurrent submissions one wins.
        let claim = hex(&self.secrets.lookup_hash(token));
        if self.store.init_meta(SETUP_USED_META, &claim).await? != claim || self.store.user_count().await? > 0 {
            return Err(ServiceError::NotFound("setup link"));
        }
        crate::failpoint("setup-claimed");
        let org = self.store.orgs().await?.into_iter().next().ok_or(ServiceError::NotFound("organization"))?;
        let new = NewUser {
            password_hash: None,
            org: org.id.to_string(),
            email: email.to_owned(),
            role: Role::Owner,
            service: false,
            authorize_applications: true,
            password: Some(password.to_owned()),
        };
        let created = self.create_user(&Actor::system(format!("setup@{peer}")), new).await;
        let view = match created {
            Ok(view) => view,
            Err(e) => {
                // Let the owner correct the form and try again with the same link.
                self.store.delete_meta(SETUP_USED_META).await?;
                return Err(e);
            }
        };
        self.store.delete_meta(SETUP_TOKEN_META).await?;
        let user = self.user_by_email(&view.email).await?;
        self.open_session(user, None, from, &[PASSWORD]).await
    }

    /// The signed-in browsers of `session`'s user, newest first, this one marked.
    pub async fn browser_sessions(&self, session: &SignedIn) -> Result<Vec<BrowserSession>> {
        let current = self.secrets.lookup_hash(&session.cookie);
        let now = self.lifetime_now();
        let sessions = self.store.user_sessions(&session.user.id).await?;
        Ok(sessions
            .into_iter()
            .filter(|(_, s)| now < s.expires_at && now < s.last_seen_at + self.settings.session_idle_timeout)
            .map(|(hash, s)| BrowserSession {
                handle: session_handle(&hash),
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                ip: s.ip,
                user_agent: s.user_agent,
                current: hash == current,
            })
            .collect())
    }

    /// Ends one of the user's other browser sessions, named by its handle. `NotFound` when the
    /// user has no such session (another user's handle names nothing here).
    pub async fn end_browser_session(&self, session: &SignedIn, handle: &str) -> Result<()> {
        let current = self.secrets.lookup_hash(&session.cookie);
        let sessions = self.store.user_sessions(&session.user.id).await?;
        let found = sessions.into_iter().find(|(hash, _)| *hash != current && session_handle(hash) == handle);
        let Some((hash, _)) = found else { return Err(ServiceError::NotFound("session")) };
        self.store.delete_session(&hash).await?;
        Ok(())
    }

    /// Signs out every other browser of the user; returns how many.
    pub async fn end_other_browser_sessions(&self, session: &SignedIn) -> Result<u64> {
        let current = self.secrets.lookup_hash(&session.cookie);
        Ok(self.store.delete_user_sessions(&session.user.id, Some(&current)).await?)
    }
}

/// A session's name in forms: the first 16 bytes of SHA-256 of its stored keyed hash, hex. It
/// reveals nothing of the cookie and cannot be turned back into the stored hash.
fn session_handle(stored_hash: &[u8]) -> String {
    hex(&ring::digest::digest(&ring::digest::SHA256, stored_hash).as_ref()[..16])
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Tessera {
    /// Where RP-initiated logout may send the browser afterwards (OIDC RP-Initiated Logout §2):
    /// `uri` only when it is registered for the client named by `client_id` or by the
    /// `id_token_hint` (an ID token we signed, expired or not), with `state` appended. Anything
    /// else: `None`, and the user sees the signed-out page (R11).
    pub async fn post_logout_redirect(
        &self,
        client_id: Option<&str>,
        id_token_hint: Option<&str>,
        uri: Option<&str>,
        state: Option<&str>,
    ) -> Result<Option<String>> {
        let Some(uri) = uri else { return Ok(None) };
        let hinted = id_token_hint.and_then(|hint| {
            let keys = self.keyset();
            let verified = tessera_jose::verify(hint, tessera_core::oidc::ID_TOKEN_TYP, |kid| keys.verifying_key(kid)).ok()?;
            let claims: tessera_proto::IdTokenClaims = serde_json::from_slice(&verified.payload).ok()?;
            (claims.iss == self.settings.policy.issuer).then_some(claims.aud)
        });
        let client_id = match (client_id, hinted.as_deref()) {
            (Some(named), Some(hinted)) if named != hinted => return Ok(None),
            (Some(named), _) => named.to_owned(),
            (None, Some(hinted)) => hinted.to_owned(),
            (None, None) => return Ok(None),
        };
        if !tessera_core::model::ClientId::is_well_formed(&client_id) {
            return Ok(None);
        }
        self.sync().await?;
        let client = self.cache.client(&*self.store, &tessera_core::model::ClientId::new(client_id)).await?;
        let registered = client.is_some_and(|c| c.client.redirect_uris.iter().any(|r| r == uri));
        if !registered {
            return Ok(None);
        }
        let response: Vec<(&str, &str)> = state.map(|s| vec![("state", s)]).unwrap_or_default();
        Ok(Some(if response.is_empty() {
            uri.to_owned()
        } else {
            tessera_core::authorize::response_url(uri, tessera_core::authorize::ResponseMode::Query, &response)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setup_link_works_for_24_hours_after_it_was_made() {
        let made = 1_700_000_000;
        for (now, alive) in [(made, true), (made + SETUP_LINK_LIFETIME - 1, true), (made + SETUP_LINK_LIFETIME, false), (made - 5, true)] {
            assert_eq!(setup_link_alive(made, now), alive, "{} s after it was made", now - made);
        }
        assert!(!setup_link_alive(i64::MAX - 1, i64::MAX), "no overflow");
    }
}
