//! The token endpoint's token-exchange grant (RFC 8693): verify the subject (and actor) token,
//! decide with `core::exchange`, sign the new token, audit.

use std::net::IpAddr;

use serde_json::Value;
use tessera_core::OAuthError;
use tessera_core::audit::{AuditAction, AuditEvent};
use tessera_core::exchange::{self, ExchangeInput, ExchangeRequest};
use tessera_core::issue::{self, Lapse, Parties};
use tessera_core::model::{OrgId, UserId};
use tessera_core::token::{self, ACCESS_TOKEN_TYP};
use tessera_proto::TokenResponse;
use tessera_store::GrantRecord;

use crate::Tessera;
use crate::cache::CachedClient;
use crate::error::{Result, ServiceError};

impl Tessera {
    /// `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`.
    /// `jkt`: the key of the request's valid DPoP proof, which the issued token is bound to
    /// (RFC 9449 §5), as for every other grant.
    pub(crate) async fn exchange(
        &self,
        caller: &CachedClient,
        request: &ExchangeRequest,
        peer: IpAddr,
        jkt: Option<&str>,
        now: i64,
    ) -> Result<TokenResponse> {
        let client = &caller.client;
        exchange::check_client_may_exchange(client)?;
        // Active now: signature, lifetime, revocation (its own and its grant's), its client ON,
        // its user enabled; and one this client could introspect.
        let subject = self
            .active_claims(&request.subject_token, now)
            .await?
            .filter(|claims| exchange::subject_visible(client, claims))
            .ok_or_else(|| ServiceError::oauth(exchange::unusable_token("subject")))?;
        if let Some(actor_token) = &request.actor_token {
            let actor = self.active_claims(actor_token, now).await?;
            if !actor.is_some_and(|claims| exchange::actor_acceptable(client, &claims)) {
                return Err(ServiceError::oauth(exchange::unusable_token("actor")));
            }
        }
        // The user the subject token acts for, as they are now: their role and organization decide
        // what the new token may carry (SPEC §12: Tessera's own scopes to first-party clients only).
        let subject_user = self
            .cache
            .user(&*self.store, &UserId::new(subject.sub.clone()))
            .await?
            .ok_or_else(|| ServiceError::oauth(exchange::unusable_token("subject")))?;
        // The new token acts for the subject's user: the parties as for every grant
        // (`issue::standing`), their organization's approval of this client included.
        let parties = Parties {
            client,
            owner: caller.owner.as_ref(),
            subject: Some(&subject_user),
            org_approves: self.org_approves(caller, &subject_user).await?,
        };
        let holder = issue::standing(&parties).map_err(|lapse| match lapse {
            Lapse::NotApproved => ServiceError::NotApproved,
            Lapse::ClientOff => ServiceError::oauth(OAuthError::invalid_client()),
            Lapse::OwnerInactive => ServiceError::oauth(OAuthError::unauthorized_client("the client's owner is disabled")),
            Lapse::SubjectInactive => ServiceError::oauth(exchange::unusable_token("subject")),
        })?;
        let decided = exchange::decide(&ExchangeInput {
            client,
            subject: &subject,
            holder,
            catalogue: &caller.catalogue,
            requested_scope: request.scope.as_ref(),
            requested_resources: &request.resources,
            policy: &self.settings.policy,
            now,
        })?;
        let org = OrgId::new(subject.org_id.clone());
        let acts_for = UserId::new(subject.sub.clone());
        let grant = token::AccessGrant {
            subject: &acts_for,
            client,
            org: &org,
            scope: &decided.scope,
            resources: &decided.resources,
            ttl: decided.ttl,
        };
        // A grant of its own, under the subject token's: revoking the subject's authorization
        // revokes this one (the store's cascade), and so does withdrawing the approval of this
        // client by the subject's organization; the revocation feed carries both.
        let record = GrantRecord {
            id: self.secrets.random_id(24)?,
            client_id: client.id.clone(),
            user_id: acts_for.clone(),
            scope: decided.scope.clone(),
            auth_time: now,
            created_at: now,
            expires_at: None,
            revoked: false,
            resources: decided.resources.clone(),
            amr: Vec::new(),
            parent_id: subject.grant_id.clone(),
        };
        self.store.insert_grant(&record).await?;
        let mut claims = token::access_token_claims(&self.settings.policy, &grant, self.secrets.token_id(), now);
        claims.grant_id = Some(record.id.clone());
        claims.act = Some(decided.act);
        claims.cnf = jkt.map(|jkt| tessera_proto::Confirmation { jkt: Some(jkt.to_owned()) });
        let access_token = self.sign(ACCESS_TOKEN_TYP, &claims)?;
        let audit = AuditEvent {
            at: now,
            org_id: Some(subject.org_id.clone()),
            actor: client.id.to_string(),
            action: AuditAction::TokenExchanged,
            target: Some(subject.client_id.clone()),
            ip: Some(peer.to_string()),
            detail: serde_json::json!({
                "sub": subject.sub,
                "subject_jti": subject.jti,
                "jti": claims.jti,
                "grant_id": claims.grant_id,
                "subject_grant_id": subject.grant_id,
                "aud": claims.aud,
                "scope": claims.scope,
                "act": claims.act,
            }),
        };
        self.store.append_audit(&audit).await?;
        let mut response = self.token_response(access_token, &decided.scope, decided.ttl, &org, jkt.is_some(), now);
        response.extra.insert("issued_token_type".into(), Value::from(exchange::ACCESS_TOKEN_TYPE));
        Ok(response)
    }
}
