//! The token endpoint's user grants: `authorization_code` (RFC 6749 §4.1.3, RFC 7636) and
//! `refresh_token` (RFC 6749 §6) with rotation and family revocation; and the ID tokens both
//! may carry.

use ring::digest;
use tessera_core::audit::{AuditAction, AuditEvent};
use tessera_core::code::{self, Redemption};
use tessera_core::dpop;
use tessera_core::grant;
use tessera_core::issue::{UserGrantInput, UserIssue};
use tessera_core::model::{Client, GrantType, User, UserId};
use tessera_core::oidc::{self, IdTokenFacts};
use tessera_core::refresh::{self, RefreshDecision, RefreshInput};
use tessera_core::scope::ScopeSet;
use tessera_core::token::{self, ACCESS_TOKEN_TYP, AccessGrant};
use tessera_core::{ErrorCode, OAuthError};
use tessera_proto::TokenResponse;
use tessera_store::{CodeRedemption, GrantRecord};

use crate::Tessera;
use crate::cache::CachedClient;
use crate::error::{Result, ServiceError};

fn invalid_grant(description: &'static str) -> ServiceError {
    ServiceError::oauth(OAuthError::new(ErrorCode::InvalidGrant, description))
}

/// BASE64URL(SHA-256(input)): the PKCE S256 transform.
fn s256(input: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, input.as_bytes()))
}

/// `at_hash`: the left half of SHA-256 of the access token, base64url (for ES256/RS256; OIDC
/// Core §3.1.3.6).
fn at_hash(access_token: &str) -> String {
    use base64::Engine as _;
    let hash = digest::digest(&digest::SHA256, access_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&hash.as_ref()[..16])
}

/// What a grant's first tokens are issued with.
pub(crate) struct GrantIssue<'a> {
    pub grant: &'a GrantRecord,
    /// What the core decided to issue (`tessera_core::issue`).
    pub issue: &'a UserIssue,
    pub nonce: Option<&'a str>,
    /// The DPoP key the access token is bound to (RFC 9449 §5).
    pub jkt: Option<&'a str>,
}

/// An authorization code as the token request presents it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CodePresented<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    /// RFC 8707: the resources asked for at redemption.
    pub resources: &'a [String],
}

/// A refresh token as the token request presents it, with what it asks for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefreshPresented<'a> {
    pub token: &'a str,
    /// A narrower scope, if asked for.
    pub requested: Option<&'a ScopeSet>,
    /// RFC 8707: the resources asked for.
    pub resources: &'a [String],
}

/// What an ID token says beyond its user and client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdTokenAbout<'a> {
    pub scope: &'a ScopeSet,
    pub auth_time: i64,
    pub amr: &'a [String],
    pub nonce: Option<&'a str>,
    /// The access token issued with it, for `at_hash`.
    pub access_token: Option<&'a str>,
}

impl Tessera {
    /// Signs an access token stating `grant`. `grant_id` ties it to the authorization it descends
    /// from, so that revoking that stops it too; `jkt` binds it to a DPoP key.
    pub(crate) fn sign_access_token(&self, grant: &AccessGrant<'_>, grant_id: Option<&str>, jkt: Option<&str>, now: i64) -> Result<String> {
        let jti = self.secrets.token_id();
        let mut claims = token::access_token_claims(&self.settings.policy, grant, jti, now);
        claims.grant_id = grant_id.map(str::to_owned);
        claims.cnf = jkt.map(|jkt| tessera_proto::Confirmation { jkt: Some(jkt.to_owned()) });
        let token = self.sign(ACCESS_TOKEN_TYP, &claims)?;
        self.counters.tokens_issued.increment();
        Ok(token)
    }

    /// Signs `claims` with the current key.
    pub(crate) fn sign(&self, typ: &str, claims: &impl serde::Serialize) -> Result<String> {
        let _span = tracing::info_span!(target: crate::TRACE_SPANS, "sign", typ).entered();
        self.cache.with_keys(|keys| {
            let key = keys.current.as_ref().ok_or_else(|| ServiceError::Internal("no current signing key".into()))?;
            key.sign(typ, claims).map_err(|e| ServiceError::Internal(e.to_string()))
        })
    }

    /// Signs an ID token for `user` at `client`.
    pub(crate) fn sign_id_token(&self, user: &User, client: &Client, about: &IdTokenAbout<'_>, now: i64) -> Result<String> {
        let IdTokenAbout { scope, auth_time, amr, nonce, access_token } = *about;
        let ttl = self.settings.policy.access_token_ttl;
        let facts = IdTokenFacts { scope, auth_time, amr, nonce, at_hash: access_token.map(at_hash), ttl, now };
        self.sign(oidc::ID_TOKEN_TYP, &oidc::id_token_claims(&self.settings.policy, user, client, facts))
    }

    /// The `authorization_code` grant.
    pub(crate) async fn redeem_code(
        &self,
        caller: &CachedClient,
        presented: &CodePresented<'_>,
        jkt: Option<&str>,
        now: i64,
    ) -> Result<TokenResponse> {
        let CodePresented { code, redirect_uri, code_verifier, resources: requested_resources } = *presented;
        grant::check_client_may_use(&caller.client, GrantType::AuthorizationCode)?;
        let record = match self.store.redeem_code(&self.secrets.lookup_hash(code), now).await? {
            CodeRedemption::Unknown => return Err(invalid_grant("unknown authorization code")),
            CodeRedemption::Reused(record) => {
                // A second use means the code leaked: everything issued from it stops (C01).
                self.revoke_family(&record.grant, "authorization code reused", now).await?;
                return Err(invalid_grant("the authorization code has already been used"));
            }
            CodeRedemption::Fresh(record) => record,
        };
        // The code is consumed (committed); the tokens are not stored yet.
        crate::failpoint("code-consumed");
        let redemption = Redemption { client_id: &caller.client.id, redirect_uri, code_verifier, now: self.lifetime_now() };
        let (user, org_approves) = self.grant_user(caller, &record.grant.user_id).await?;
        let input = UserGrantInput {
            client: &caller.client,
            owner: caller.owner.as_ref(),
            user: user.as_ref(),
            org_approves,
            catalogue: &caller.catalogue,
            scope: &record.grant.scope,
            granted_resources: &record.grant.resources,
            requested_resources,
        };
        let decided = code::decide(&record.code, &redemption, &input, s256)?;
        let Some(user) = user else { return Err(ServiceError::Internal("a code decided without its user".into())) };
        let issue = GrantIssue { grant: &record.grant, issue: &decided, nonce: record.code.nonce.as_deref(), jkt };
        let response = self.issue_for_grant(&caller.client, &user, &issue, now).await?;
        // The tokens are stored; the answer has not been sent.
        crate::failpoint("code-tokens-stored");
        Ok(response)
    }

    /// The first tokens of a grant: an access token, a refresh token (which starts the family)
    /// when asked, and an ID token when `openid` was granted.
    pub(crate) async fn issue_for_grant(&self, client: &Client, user: &User, first: &GrantIssue<'_>, now: i64) -> Result<TokenResponse> {
        let GrantIssue { grant, issue, jkt, .. } = *first;
        let refresh_token = if issue.refresh_token {
            let token = self.secrets.random_token(32)?;
            let expires_at = (self.settings.refresh_token_ttl > 0).then(|| now + self.settings.refresh_token_ttl);
            let bound = dpop::refresh_binding(client, jkt);
            self.store.insert_refresh_token(&self.secrets.lookup_hash(&token), &grant.id, expires_at, bound, now).await?;
            Some(token)
        } else {
            None
        };
        self.token_answer(client, user, first, refresh_token, now)
    }

    /// The token response for `tokens`: the access token its issue describes, the ID token it
    /// asks for, and `refresh_token` (already stored).
    fn token_answer(
        &self,
        client: &Client,
        user: &User,
        tokens: &GrantIssue<'_>,
        refresh_token: Option<String>,
        now: i64,
    ) -> Result<TokenResponse> {
        let GrantIssue { grant, issue, nonce, jkt } = *tokens;
        let ttl = self.settings.policy.access_token_ttl(client);
        let states = AccessGrant { subject: &user.id, client, org: &user.org_id, scope: &issue.scope, resources: &issue.resources, ttl };
        let access_token = self.sign_access_token(&states, Some(&grant.id), jkt, now)?;
        let id_token = if issue.id_token {
            let about =
                IdTokenAbout { scope: &issue.scope, auth_time: grant.auth_time, amr: &grant.amr, nonce, access_token: Some(&access_token) };
            Some(self.sign_id_token(user, client, &about, now)?)
        } else {
            None
        };
        let mut response = self.token_response(access_token, &issue.scope, ttl, &user.org_id, jkt.is_some(), now);
        response.refresh_token = refresh_token;
        response.id_token = id_token;
        Ok(response)
    }

    /// The `refresh_token` grant: rotate, or on reuse revoke the family.
    pub(crate) async fn refresh(
        &self,
        caller: &CachedClient,
        presented: &RefreshPresented<'_>,
        jkt: Option<&str>,
        now: i64,
    ) -> Result<TokenResponse> {
        let found = self.find_refresh_token(presented.token).await?;
        self.refresh_found(caller, presented, found, jkt, now).await
    }

    /// The `refresh_token` grant for a token already looked up (`found`: its stored record).
    pub(crate) async fn refresh_found(
        &self,
        caller: &CachedClient,
        presented: &RefreshPresented<'_>,
        found: Option<tessera_store::RefreshLookup>,
        jkt: Option<&str>,
        now: i64,
    ) -> Result<TokenResponse> {
        let RefreshPresented { token, requested, resources: requested_resources } = *presented;
        grant::check_client_may_use(&caller.client, GrantType::RefreshToken)?;
        let (user, org_approves) = match &found {
            Some(found) => self.grant_user(caller, &found.grant.user_id).await?,
            None => (None, false),
        };
        if let Some(found) = found.as_ref().filter(|f| f.record.client_id != caller.client.id) {
            // Another client's token: refused and audited; its owner keeps using it (F02).
            self.audit_grant(&found.grant, AuditAction::RefreshTokenMisused, caller.client.id.as_str(), "presented by another client", now)
                .await?;
        }
        let input = RefreshInput {
            record: found.as_ref().map(|f| &f.record),
            client: &caller.client,
            user: user.as_ref(),
            owner: caller.owner.as_ref(),
            catalogue: &caller.catalogue,
            registration_bound: caller.client.id != crate::session_api::session_client_id(&caller.client.org_id),
            requested,
            org_approves,
            granted_resources: found.as_ref().map_or(&[], |f| &f.grant.resources),
            requested_resources,
            proof_jkt: jkt,
            now,
        };
        let issue = match refresh::decide(&input) {
            RefreshDecision::Refuse(error) => return Err(error.into()),
            RefreshDecision::NotApproved => return Err(ServiceError::NotApproved),
            RefreshDecision::RefuseProof(failure) => {
                tracing::info!(failure = failure.as_str(), "DPoP proof refused for a bound refresh token");
                return Err(self.refusal(failure, false, now));
            }
            RefreshDecision::RevokeFamily => {
                if let Some(found) = &found {
                    self.revoke_family(&found.grant, "refresh token reused", now).await?;
                }
                return Err(invalid_grant("the refresh token has already been used"));
            }
            RefreshDecision::Rotate(issue) => issue,
        };
        let (Some(found), Some(user)) = (found, user) else {
            return Err(ServiceError::Internal("refresh decided without its record".into()));
        };
        let new_token = self.secrets.random_token(32)?;
        let (old_hash, new_hash) = (self.secrets.lookup_hash(token), self.secrets.lookup_hash(&new_token));
        if !self.store.rotate_refresh_token(&old_hash, &new_hash, now).await? {
            // A concurrent request rotated it first: this one is a reuse (F10, no grace window).
            self.revoke_family(&found.grant, "refresh token reused concurrently", now).await?;
            return Err(invalid_grant("the refresh token has already been used"));
        }
        let tokens = GrantIssue { grant: &found.grant, issue: &issue, nonce: None, jkt };
        self.token_answer(&caller.client, &user, &tokens, Some(new_token), now)
    }

    /// Whether `user`'s organization lets `caller` act for its users: always, unless the client
    /// was registered as needing an approval (`requires_org_approval`). Every path that issues a
    /// token acting for a user asks it and hands the answer to `issue::standing`.
    pub(crate) async fn org_approves(&self, caller: &CachedClient, user: &User) -> Result<bool> {
        Ok(!caller.client.requires_org_approval || self.store.org_approved(&caller.client.id, &user.org_id).await?)
    }

    /// When `user`'s organization has not approved `caller` (registered as needing it), notes that
    /// a member asked, so the organization's admins find it awaiting them (SPEC §16). Whatever
    /// then refuses the token is the path's own rule (`issue::standing`), not this.
    pub(crate) async fn note_if_awaiting_approval(&self, caller: &CachedClient, user: &User) -> Result<()> {
        if self.org_approves(caller, user).await? {
            return Ok(());
        }
        let actor = crate::admin::Actor::user(user.clone());
        let detail = serde_json::json!({ "client_org_id": caller.client.org_id.as_str() });
        let audit = self.audit(&actor, AuditAction::ApprovalRequested, Some(&user.org_id), Some(caller.client.id.to_string()), detail);
        self.store.note_approval_request(&caller.client.id, &user.org_id, &user.id, &audit).await?;
        Ok(())
    }

    /// The user a grant acts for, as stored now (`None` when deleted), and whether their organization
    /// lets the calling client act for them: what every user grant's decision starts from.
    pub(crate) async fn grant_user(&self, caller: &CachedClient, user_id: &UserId) -> Result<(Option<User>, bool)> {
        let user = self.cache.user(&*self.store, user_id).await?;
        let approves = match &user {
            Some(user) => self.org_approves(caller, user).await?,
            None => false,
        };
        Ok((user, approves))
    }

    pub(crate) async fn revoke_family(&self, grant: &GrantRecord, reason: &str, now: i64) -> Result<()> {
        let audit = self.grant_audit(grant, AuditAction::GrantRevoked, "system", reason, now).await?;
        self.store.revoke_grant(&grant.id, &audit).await?;
        Ok(())
    }

    async fn audit_grant(&self, grant: &GrantRecord, action: AuditAction, actor: &str, reason: &str, now: i64) -> Result<()> {
        self.store.append_audit(&self.grant_audit(grant, action, actor, reason, now).await?).await?;
        Ok(())
    }

    /// An audit entry about a grant, filed under its user's organization (whose owners read it).
    async fn grant_audit(&self, grant: &GrantRecord, action: AuditAction, actor: &str, reason: &str, now: i64) -> Result<AuditEvent> {
        let org_id = self.cache.user(&*self.store, &grant.user_id).await?.map(|u| u.org_id.to_string());
        Ok(AuditEvent {
            at: now,
            org_id,
            actor: actor.to_owned(),
            action,
            target: Some(grant.client_id.to_string()),
            ip: None,
            detail: serde_json::json!({ "grant_id": grant.id, "user_id": grant.user_id.as_str(), "reason": reason }),
        })
    }
}
