//! The device authorization grant (RFC 8628): the device authorization endpoint, the token
//! endpoint's answers to a polling device, and the verification page's use cases (look up a
//! user code, approve or deny), with limits on user-code guessing.
//!
//! The rules are `tessera_core::device`; device and user codes are stored as keyed hashes, and
//! every change of state is one conditional update in the store.

use std::net::IpAddr;

use tessera_core::OAuthError;
use tessera_core::device::{self, DeviceAuthorization, DeviceStatus, Poll};
use tessera_core::grant;
use tessera_core::model::{GrantType, User};
use tessera_core::scope;
use tessera_proto::{DeviceAuthorizationResponse, TokenResponse};
use tessera_store::{DeviceApproval, GrantRecord, StoreError};

use crate::authorization::{ScopeLine, scope_lines};
use crate::cache::CachedClient;
use crate::error::{Result, ServiceError};
use crate::grants::GrantIssue;
use crate::session::SignedIn;
use crate::{EndpointRequest, Tessera, read_credentials};
use tessera_core::issue::UserGrantInput;

/// The path of the verification page.
pub const VERIFICATION_PATH: &str = "/device";

/// What the verification page shows before the user approves or denies.
#[derive(Debug, Clone)]
pub struct DevicePrompt {
    /// The code as the device shows it (`BCDF-GHJK`).
    pub user_code: String,
    pub client_name: String,
    /// The email of the client's owner: who the user is trusting.
    pub owner: String,
    pub scopes: Vec<ScopeLine>,
}

/// Why a user code was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCodeRefusal {
    /// Unknown, expired or decided already (one answer for all, so guesses learn nothing).
    NotValid,
    /// Too many wrong codes: try again after this many seconds.
    TooManyAttempts { retry_after: u64 },
}

impl Tessera {
    /// `POST /oauth2/device_authorization` (RFC 8628 §3.1, §3.2).
    pub async fn device_authorization(&self, request: &EndpointRequest) -> Result<DeviceAuthorizationResponse> {
        let now = self.clock.now();
        let presented = read_credentials(request)?;
        let caller = self.authenticate(&presented, request, now).await?;
        let scope = device::validate_request(&request.params, &caller.client)?;
        let device_code = self.secrets.random_token(32)?;
        let lifetime = self.settings.device_code_lifetime.max(1);
        let interval = self.settings.device_poll_interval.max(1);
        let started = self.lifetime_now();
        let record = DeviceAuthorization {
            client_id: caller.client.id.clone(),
            scope,
            created_at: started,
            expires_at: started.saturating_add(lifetime),
            interval,
            last_polled_at: None,
            status: DeviceStatus::Pending,
            user_id: None,
            auth_time: None,
            amr: vec![],
        };
        // A user code taken by another live authorization: draw again (rare at 20^8 codes).
        for _ in 0..5 {
            let Some(user_code) = device::user_code_from_random(&self.secrets.random_bytes(32)?) else { continue };
            match self
                .store
                .insert_device_authorization(&self.device_code_hash(&device_code), &self.user_code_hash(&user_code), &record)
                .await
            {
                Ok(()) => {
                    let shown = device::display_user_code(&user_code);
                    let verification_uri = format!("{}{VERIFICATION_PATH}", self.issuer());
                    // The code's letters and dash need no percent-encoding.
                    let complete = format!("{verification_uri}?user_code={shown}");
                    return Ok(DeviceAuthorizationResponse {
                        device_code,
                        user_code: shown,
                        verification_uri,
                        verification_uri_complete: complete,
                        expires_in: u64::try_from(lifetime).unwrap_or(1),
                        interval: u64::try_from(interval).unwrap_or(1),
                    });
                }
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Internal("could not draw a free user code".into()))
    }

    fn device_code_hash(&self, device_code: &str) -> Vec<u8> {
        self.secrets.lookup_hash(&format!("device:{device_code}"))
    }

    fn user_code_hash(&self, canonical: &str) -> Vec<u8> {
        self.secrets.lookup_hash(&format!("device-user:{canonical}"))
    }

    /// The token endpoint's device grant (RFC 8628 §3.4, §3.5).
    pub(crate) async fn redeem_device_code(
        &self,
        caller: &CachedClient,
        device_code: &str,
        requested_resources: &[String],
        jkt: Option<&str>,
        now: i64,
    ) -> Result<TokenResponse> {
        grant::check_client_may_use(&caller.client, GrantType::DeviceCode)?;
        // RFC 8707: the device authorization names no resources, so the token request chooses
        // among the client's registered ones; the grant records them for its refreshes.
        let resources = tessera_core::resource::select(requested_resources, &caller.client, &[])?;
        let invalid_grant = |text: &'static str| ServiceError::oauth(OAuthError::new(tessera_core::ErrorCode::InvalidGrant, text));
        if !crate::secrets::plausible_token(device_code) {
            return Err(invalid_grant("unknown device code"));
        }
        let hash = self.device_code_hash(device_code);
        let Some(found) = self.store.device_authorization(&hash).await? else {
            return Err(invalid_grant("unknown device code"));
        };
        // The code's lifetime and the polling interval run on the lifetime clock (SPEC §12).
        let polled_at = self.lifetime_now();
        match device::poll(&found, &caller.client.id, polled_at) {
            Err(error) if error.code == tessera_core::ErrorCode::InvalidGrant => Err(ServiceError::oauth(error)),
            Err(error) => Err(ServiceError::DevicePoll(error)),
            Ok(Poll::Pending) => {
                // Another poll recorded in between means this one came too soon.
                let recorded = self.store.record_device_poll(&hash, found.last_polled_at, polled_at, found.interval).await?;
                Err(ServiceError::DevicePoll(if recorded { device::pending() } else { device::slow_down() }))
            }
            Ok(Poll::SlowDown { interval }) => {
                self.store.record_device_poll(&hash, found.last_polled_at, polled_at, interval).await?;
                Err(ServiceError::DevicePoll(device::slow_down()))
            }
            Ok(Poll::Issue) => {
                if !self.store.consume_device_authorization(&hash).await? {
                    return Err(invalid_grant("this device code has been used already"));
                }
                self.issue_for_device(caller, &found, resources, jkt, now).await
            }
        }
    }

    async fn issue_for_device(
        &self,
        caller: &CachedClient,
        found: &DeviceAuthorization,
        resources: Vec<String>,
        jkt: Option<&str>,
        now: i64,
    ) -> Result<TokenResponse> {
        let gone = || ServiceError::oauth(OAuthError::new(tessera_core::ErrorCode::InvalidGrant, "the approving user is disabled or gone"));
        let user_id = found.user_id.clone().ok_or_else(gone)?;
        let grant = GrantRecord {
            id: self.secrets.random_id(24)?,
            client_id: caller.client.id.clone(),
            user_id,
            scope: found.scope.clone(),
            auth_time: found.auth_time.unwrap_or(found.created_at),
            created_at: now,
            expires_at: None,
            revoked: false,
            resources,
            // How the approving user signed in, as the browser's session said.
            amr: found.amr.clone(),
            parent_id: None,
        };
        let (user, org_approves) = self.grant_user(caller, &grant.user_id).await?;
        let input = UserGrantInput {
            client: &caller.client,
            owner: caller.owner.as_ref(),
            user: user.as_ref(),
            org_approves,
            catalogue: &caller.catalogue,
            scope: &grant.scope,
            // Selected from the token request already, before the device code was spent.
            granted_resources: &grant.resources,
            requested_resources: &[],
        };
        let decided = tessera_core::issue::decide(&input)?;
        let Some(user) = user else { return Err(ServiceError::Internal("a device grant decided without its user".into())) };
        self.store.insert_grant(&grant).await?;
        let issue = GrantIssue { grant: &grant, issue: &decided, nonce: None, jkt };
        self.issue_for_grant(&caller.client, &user, &issue, now).await
    }

    /// The verification page: what the user code `typed` stands for, for the signed-in person at
    /// `peer`: the scopes as the approval would grant them, under the membership it would act
    /// under ([`Tessera::acting_session`]). Wrong codes count against the user and the address
    /// (RFC 8628 §5.1).
    pub async fn device_prompt(
        &self,
        session: &SignedIn,
        typed: &str,
        peer: IpAddr,
    ) -> Result<std::result::Result<DevicePrompt, UserCodeRefusal>> {
        let (canonical, found) = match self.pending_device(&session.user, typed, peer).await? {
            Ok(found) => found,
            Err(refusal) => return Ok(Err(refusal)),
        };
        self.sync().await?;
        let Some(client) = self.cache.client(&*self.store, &found.client_id).await? else {
            return Ok(Err(UserCodeRefusal::NotValid));
        };
        let acting = self.acting_session(session, &client.client.org_id, &client.client.id, None).await?;
        let scope = scope::allowed_for(&found.scope, client.holder(&acting.user), &client.catalogue).unwrap_or_default();
        Ok(Ok(DevicePrompt {
            user_code: device::display_user_code(&canonical),
            client_name: client.client.name.clone(),
            owner: client.owner.as_ref().map_or_else(String::new, |o| o.email.clone()),
            scopes: scope_lines(&scope),
        }))
    }

    /// The user's Approve or Deny on the verification page (CSRF checked by the HTTP layer).
    /// `Ok(true)`: recorded; `Ok(false)`: decided or expired meanwhile.
    pub async fn device_decide(
        &self,
        session: &SignedIn,
        typed: &str,
        approve: bool,
        peer: IpAddr,
    ) -> Result<std::result::Result<bool, UserCodeRefusal>> {
        let user = &session.user;
        let (canonical, found) = match self.pending_device(user, typed, peer).await? {
            Ok(found) => found,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let now = self.lifetime_now();
        let hash = self.user_code_hash(&canonical);
        if !approve {
            return Ok(Ok(self.store.decide_device_authorization(&hash, None, now).await?));
        }
        self.sync().await?;
        let Some(client) = self.cache.client(&*self.store, &found.client_id).await? else {
            return Ok(Err(UserCodeRefusal::NotValid));
        };
        // Under the person's membership of the client's organization, as a browser grant.
        let session = &self.acting_session(session, &client.client.org_id, &client.client.id, None).await?;
        let user = &session.user;
        let Ok(scope) = scope::allowed_for(&found.scope, client.holder(user), &client.catalogue) else {
            // Nothing this user may grant: the approval is a denial.
            return Ok(Ok(self.store.decide_device_authorization(&hash, None, now).await?));
        };
        let approval = DeviceApproval { user: &user.id, auth_time: session.auth_time, amr: &session.amr, scope: &scope };
        let decided = self.store.decide_device_authorization(&hash, Some(approval), now).await?;
        if decided {
            self.save_consent_audited(user, &client.client.id, &scope).await?;
            self.note_if_awaiting_approval(&client, user).await?;
        }
        Ok(Ok(decided))
    }

    /// The pending, unexpired authorization the code `typed` names, after the guessing limits.
    async fn pending_device(
        &self,
        user: &User,
        typed: &str,
        peer: IpAddr,
    ) -> Result<std::result::Result<(String, DeviceAuthorization), UserCodeRefusal>> {
        let now = self.lifetime_now();
        let locked = match self.device_user_limiter.locked_for(&user.id, now).await? {
            Some(wait) => Some(wait),
            None => self.device_address_limiter.locked_for(&peer, now).await?,
        };
        if let Some(retry_after) = locked {
            return Ok(Err(UserCodeRefusal::TooManyAttempts { retry_after }));
        }
        let found = match device::normalize_user_code(typed) {
            Some(canonical) => {
                let record = self.store.device_authorization_by_user_code(&self.user_code_hash(&canonical)).await?;
                record.filter(|r| device::decidable(r, now)).map(|r| (canonical, r))
            }
            None => None,
        };
        match found {
            Some(found) => Ok(Ok(found)),
            None => {
                self.device_user_limiter.record_failure(&user.id, now).await?;
                self.device_address_limiter.record_failure(&peer, now).await?;
                Ok(Err(UserCodeRefusal::NotValid))
            }
        }
    }
}
