//! The revocation feed (`GET /oauth2/revocations`): what resource servers must refuse, read
//! incrementally by cursor. Guards verify tokens locally and poll this to honour revocations,
//! disabled clients and disabled users within their poll interval.

use tessera_core::ErrorCode;
use tessera_core::OAuthError;
use tessera_proto::RevocationFeed;

use crate::error::{Result, ServiceError};
use crate::{EndpointRequest, Tessera, read_credentials};

impl Tessera {
    /// One answer of the feed for a client listed in `revocation_feed_clients`. `after` is the
    /// cursor of the caller's previous answer; none (or one past the retained feed) gets the
    /// whole state with `full: true`.
    pub async fn revocation_feed(&self, request: &EndpointRequest, after: Option<&str>) -> Result<RevocationFeed> {
        let now = self.clock.now();
        let presented = read_credentials(request)?;
        let caller = self.authenticate(&presented, request, now).await?;
        if caller.client.public || !self.settings.revocation_feed_clients.iter().any(|id| id == caller.client.id.as_str()) {
            return Err(ServiceError::oauth(OAuthError::new(ErrorCode::AccessDenied, "this client may not read the revocation feed")));
        }
        let after = match after {
            None => None,
            Some(text) => Some(text.parse::<i64>().map_err(|_| OAuthError::invalid_request("after is not a cursor of this feed"))?),
        };
        // No token issued before this can pass any more, whatever happened to it.
        let max_ttl = i64::from(self.settings.policy.max_access_token_ttl);
        let since = now - max_ttl - i64::from(self.settings.policy.leeway);
        let refusals = self.store.refusals(after, since).await?;
        let (clients_on, clients_off) = split(refusals.clients);
        let (users_on, users_off) = split(refusals.users);
        Ok(RevocationFeed {
            cursor: refusals.cursor.to_string(),
            full: refusals.full,
            tokens: refusals.tokens,
            grants: refusals.grants.into_iter().map(|(id, revoked_at)| (id, revoked_at + max_ttl)).collect(),
            clients_off,
            clients_on,
            users_off,
            users_on,
            users_not_before: refusals.users_not_before,
            clients_not_before: refusals.clients_not_before,
            keys_changed: refusals.keys_changed,
        })
    }
}

/// `(working, stopped)` ids.
fn split(entries: Vec<(String, bool)>) -> (Vec<String>, Vec<String>) {
    let (on, off): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(_, works)| *works);
    (on.into_iter().map(|(id, _)| id).collect(), off.into_iter().map(|(id, _)| id).collect())
}
