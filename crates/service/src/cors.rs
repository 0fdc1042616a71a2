//! Which browser origins may call the token endpoints (a client's registered origins).

use tessera_core::credentials;
use tessera_core::model::ClientId;

use crate::{EndpointRequest, Result, Tessera};

impl Tessera {
    /// CORS for browser apps (the Bluescape seed's whitelisted domains): whether a response to
    /// `request` may be read by a page of `origin`. Only an origin the calling client registered
    /// is allowed, matched exactly (R12).
    pub async fn cors_allowed(&self, request: &EndpointRequest, origin: &str) -> Result<bool> {
        let Ok(presented) = credentials::extract(request.authorization.as_deref(), &request.params) else {
            return Ok(false);
        };
        self.sync().await?;
        let client = self.cache.client(&*self.store, &presented.id).await?;
        Ok(client.is_some_and(|c| {
            c.client.status == tessera_core::model::ClientStatus::On && c.client.allowed_origins.iter().any(|o| o == origin)
        }))
    }

    /// Whether a browser app at `origin` may read the answer to a request bearing `token`
    /// (userinfo): the token's client is ON and registered that origin.
    pub async fn cors_allowed_for_token(&self, token: &str, origin: &str) -> Result<bool> {
        self.sync().await?;
        let Some(claims) = self.verified_claims(token) else { return Ok(false) };
        let client = self.cache.client(&*self.store, &ClientId::new(claims.client_id)).await?;
        Ok(client.is_some_and(|c| {
            c.client.status == tessera_core::model::ClientStatus::On && c.client.allowed_origins.iter().any(|o| o == origin)
        }))
    }

    /// Whether a CORS preflight from `origin` may proceed: some client that is ON registered it.
    pub async fn cors_preflight_allowed(&self, origin: &str) -> Result<bool> {
        if origin.len() > 256 {
            return Ok(false);
        }
        Ok(self.store.origin_registered(origin).await?)
    }
}
