//! The first-party session API of the Bluedot seed: `POST /sessions` trades an email and a
//! password for an ID token, an access token and a refresh token; `POST /sessions/refresh`
//! rotates the refresh token (reuse revokes the family, as in the refresh grant);
//! `DELETE /sessions` ends the session that an access token belongs to.
//!
//! The tokens belong to a built-in first-party client of the user's organization, made on first
//! use: a public client with the `refresh_token` grant, owned by a built-in service user. Turning
//! that client OFF (or disabling its service user) turns the session API off for the
//! organization. Password checks share the login page's throttle and audit trail.

use std::net::IpAddr;

use tessera_core::audit::{AuditAction, AuditEvent};
use tessera_core::issue::{Lapse, Parties};
use tessera_core::model::{Client, ClientId, ClientStatus, GrantType, OrgId, PersonId, Pkce, Role, TokenEndpointAuthMethod, User, UserId};
use tessera_core::scope::ScopeSet;
use tessera_core::{ErrorCode, OAuthError};
use tessera_store::{ClientRecord, GrantRecord, StoreError};

use crate::Tessera;
use crate::cache::ClientRef;
use crate::error::{BearerError, Result, ServiceError};
use crate::grants::{GrantIssue, RefreshPresented};

/// The tokens of a session, as `POST /sessions` returns them.
pub struct SessionTokens {
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl std::fmt::Debug for SessionTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionTokens(<redacted>)")
    }
}

/// The id of an organization's built-in session client.
pub fn session_client_id(org: &OrgId) -> ClientId {
    ClientId::new(format!("session-api-{org}"))
}

/// The built-in service user that owns an organization's session client.
pub(crate) fn session_owner_id(org: &OrgId) -> UserId {
    UserId::new(format!("usr_session_api_{org}"))
}

/// A refresh-token failure, told as the session API tells it: the caller must sign in again.
fn must_sign_in_again(error: ServiceError) -> ServiceError {
    match error {
        ServiceError::OAuth { error, .. } if error.code == ErrorCode::InvalidGrant => {
            ServiceError::oauth(OAuthError::new(ErrorCode::InvalidToken, error.description))
        }
        other => other,
    }
}

impl Tessera {
    /// `POST /sessions`: checks the password (throttled per account and address, audited) and
    /// opens a session: a new grant of the user's first-party session scope.
    pub async fn create_api_session(&self, email: &str, password: &str, peer: IpAddr) -> Result<SessionTokens> {
        let user = self.check_password(email, password, peer).await?;
        // A password alone is not enough for an account with a second factor, which this API
        // cannot ask for.
        if self.has_second_factor(&user.id).await? {
            return Err(ServiceError::oauth(OAuthError::new(
                ErrorCode::AccessDenied,
                "this account signs in with a second factor: sign in in a browser",
            )));
        }
        let client = self.session_client(&user.org_id).await?;
        // The parties as for every grant (`issue::standing`): the organization's session client
        // ON, its built-in owner and the user enabled.
        let parties = Parties { client: &client.client, owner: client.owner.as_ref(), subject: Some(&user), org_approves: true };
        let session = tessera_core::issue::first_party_session(&parties, &client.catalogue).map_err(|lapse| match lapse {
            Lapse::ClientOff => {
                ServiceError::oauth(OAuthError::new(ErrorCode::AccessDenied, "the session API is turned off for this organization"))
            }
            Lapse::OwnerInactive | Lapse::SubjectInactive | Lapse::NotApproved => {
                ServiceError::oauth(OAuthError::new(ErrorCode::AccessDenied, "this account cannot open a session"))
            }
        })?;
        let now = self.clock.now();
        let grant = GrantRecord {
            id: self.secrets.random_id(24)?,
            client_id: client.client.id.clone(),
            user_id: user.id.clone(),
            scope: session.scope.clone(),
            auth_time: now,
            created_at: now,
            expires_at: None,
            revoked: false,
            resources: vec![],
            // This API signs in with a password only (accounts with a second factor are refused).
            amr: vec!["pwd".into()],
            parent_id: None,
        };
        self.store.insert_grant(&grant).await?;
        let issue = GrantIssue { grant: &grant, issue: &session, nonce: None, jkt: None };
        let issued = self.issue_for_grant(&client.client, &user, &issue, now).await?;
        self.audit_session(&user, AuditAction::SessionCreated, &grant.id, peer, now).await?;
        session_tokens(issued)
    }

    /// `POST /sessions/refresh`: rotates the refresh token of a session.
    pub async fn refresh_api_session(&self, refresh_token: &str) -> Result<SessionTokens> {
        self.sync().await?;
        let unknown = || ServiceError::oauth(OAuthError::new(ErrorCode::InvalidToken, "unknown refresh token"));
        let found = self.find_refresh_token(refresh_token).await?.ok_or_else(unknown)?;
        let user = self.cache.user(&*self.store, &found.grant.user_id).await?.ok_or_else(unknown)?;
        // Only the session client's tokens: another client's refresh token stays with it.
        if found.grant.client_id != session_client_id(&user.org_id) {
            return Err(unknown());
        }
        let client = self.cache.client(&*self.store, &found.grant.client_id).await?.ok_or_else(unknown)?;
        let issued = self
            .refresh_found(
                &client,
                &RefreshPresented { token: refresh_token, requested: None, resources: &[] },
                Some(found),
                None,
                self.clock.now(),
            )
            .await
            .map_err(must_sign_in_again)?;
        session_tokens(issued)
    }

    /// `DELETE /sessions`: ends the session `access_token` belongs to. Its refresh token and
    /// every access token of the session stop working at once.
    pub async fn end_api_session(&self, access_token: &str, peer: IpAddr) -> Result<()> {
        let now = self.clock.now();
        self.sync().await?;
        let claims = self.active_claims(access_token, now).await?.ok_or(ServiceError::Bearer(BearerError::InvalidToken))?;
        let org = OrgId::new(claims.org_id.clone());
        let (Some(grant_id), true) = (claims.grant_id.as_deref(), claims.client_id == session_client_id(&org).as_str()) else {
            return Err(ServiceError::oauth(OAuthError::new(ErrorCode::InvalidToken, "this access token does not belong to a session")));
        };
        let user = self
            .cache
            .user(&*self.store, &UserId::new(claims.sub.clone()))
            .await?
            .ok_or(ServiceError::Bearer(BearerError::InvalidToken))?;
        let audit = self.session_audit(&user, AuditAction::SessionEnded, grant_id, peer, now);
        self.store.revoke_grant(grant_id, &audit).await?;
        Ok(())
    }

    /// The organization's built-in session client, made on first use. Two nodes making it at
    /// once is harmless: the ids are fixed, so the second insert finds the first one's rows.
    async fn session_client(&self, org: &OrgId) -> Result<ClientRef> {
        let id = session_client_id(org);
        self.sync().await?;
        if let Some(client) = self.cache.client(&*self.store, &id).await? {
            return Ok(client);
        }
        let now = self.clock.now();
        let owner = User {
            person_id: PersonId::new(session_owner_id(org).as_str()),
            id: session_owner_id(org),
            org_id: org.clone(),
            email: format!("session-api@{org}.invalid"),
            role: Role::Member,
            service: true,
            authorize_applications: false,
            disabled: false,
            created_at: now,
            tokens_not_before: None,
            email_verified_at: None,
        };
        let audit = |action, target: &str| AuditEvent {
            at: now,
            org_id: Some(org.to_string()),
            actor: "system".into(),
            action,
            target: Some(target.to_owned()),
            ip: None,
            detail: serde_json::json!({ "built_in": "session_api" }),
        };
        ignore_existing(self.store.insert_user(&owner, None, &audit(AuditAction::UserCreated, owner.id.as_str())).await)?;
        let client = Client {
            id: id.clone(),
            org_id: org.clone(),
            name: "Session API (built-in)".into(),
            owner: owner.id.clone(),
            run_as: owner.id.clone(),
            grants: [GrantType::RefreshToken].into_iter().collect(),
            scopes: ScopeSet::default(),
            redirect_uris: Vec::new(),
            allowed_origins: Vec::new(),
            allowed_ips: Vec::new(),
            public: true,
            pkce: Pkce::Required,
            auth_method: TokenEndpointAuthMethod::None,
            keys: None,
            access_token_ttl: None,
            requires_org_approval: false,
            require_pushed_authorization_requests: false,
            dpop_bound_access_tokens: false,
            resources: vec![],
            status: ClientStatus::On,
            created_at: now,
            tokens_not_before: None,
        };
        let record = ClientRecord { client, secret: None, previous_secret: None };
        ignore_existing(self.store.insert_client(&record, &audit(AuditAction::ClientCreated, id.as_str())).await)?;
        self.sync().await?;
        self.cache.client(&*self.store, &id).await?.ok_or_else(|| ServiceError::Internal("the session client vanished".into()))
    }

    fn session_audit(&self, user: &User, action: AuditAction, grant_id: &str, peer: IpAddr, now: i64) -> AuditEvent {
        AuditEvent {
            at: now,
            org_id: Some(user.org_id.to_string()),
            actor: user.id.to_string(),
            action,
            target: Some(session_client_id(&user.org_id).to_string()),
            ip: Some(peer.to_string()),
            detail: serde_json::json!({ "grant_id": grant_id }),
        }
    }

    async fn audit_session(&self, user: &User, action: AuditAction, grant_id: &str, peer: IpAddr, now: i64) -> Result<()> {
        self.store.append_audit(&self.session_audit(user, action, grant_id, peer, now)).await?;
        Ok(())
    }
}

/// A row that is there already is what a concurrent first use made.
fn ignore_existing(result: std::result::Result<(), StoreError>) -> Result<()> {
    match result {
        Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn session_tokens(issued: tessera_proto::TokenResponse) -> Result<SessionTokens> {
    match (issued.id_token, issued.refresh_token) {
        (Some(id_token), Some(refresh_token)) => Ok(SessionTokens { id_token, access_token: issued.access_token, refresh_token }),
        _ => Err(ServiceError::Internal("a session was issued without its ID or refresh token".into())),
    }
}
