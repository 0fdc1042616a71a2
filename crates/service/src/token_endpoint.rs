//! The token endpoint (RFC 6749 §3.2): client authentication, then the grant's decision in
//! `tessera-core`, then the answer.

use serde_json::{Map, Value};
use tessera_core::grant::{self, ClientCredentialsInput, TokenRequest};
use tessera_core::model::OrgId;
use tessera_core::scope::ScopeSet;
use tessera_proto::TokenResponse;

use crate::client_auth::read_credentials;
use crate::{EndpointRequest, Result, Tessera, grants};

impl Tessera {
    /// `POST /oauth2/token`.
    pub async fn token(&self, request: &EndpointRequest) -> Result<TokenResponse> {
        let now = self.clock.now();
        let presented = read_credentials(request)?;
        let caller = self.authenticate(&presented, request, now).await?;
        self.usage.note(&caller, now);
        let jkt = self.token_request_proof(request, now).await?;
        let jkt = jkt.as_deref();
        // Before the grant is looked at, so a refused request spends no code or device code.
        tessera_core::dpop::check_required(&caller.client, jkt).map_err(|failure| {
            tracing::info!(failure = failure.as_str(), "DPoP proof required by the client");
            self.refusal(failure, false, now)
        })?;
        match grant::parse_token_request(&request.params, self.settings.default_grant_type)? {
            TokenRequest::ClientCredentials { scope, resources } => {
                let issue = grant::client_credentials(&ClientCredentialsInput {
                    client: &caller.client,
                    owner: caller.owner.as_ref(),
                    run_as: caller.run_as.as_ref(),
                    catalogue: &caller.catalogue,
                    requested: scope.as_ref(),
                    resources: &resources,
                    policy: &self.settings.policy,
                })?;
                let client = &caller.client;
                let states = tessera_core::token::AccessGrant {
                    subject: &client.run_as,
                    client,
                    org: &client.org_id,
                    scope: &issue.scope,
                    resources: &issue.resources,
                    ttl: issue.ttl,
                };
                let access_token = self.sign_access_token(&states, None, jkt, now)?;
                Ok(self.token_response(access_token, &issue.scope, issue.ttl, &client.org_id, jkt.is_some(), now))
            }
            TokenRequest::AuthorizationCode { code, redirect_uri, code_verifier, resources } => {
                let presented = grants::CodePresented {
                    code: &code,
                    redirect_uri: redirect_uri.as_deref(),
                    code_verifier: code_verifier.as_deref(),
                    resources: &resources,
                };
                self.redeem_code(&caller, &presented, jkt, now).await
            }
            TokenRequest::RefreshToken { refresh_token, scope, resources } => {
                let presented = grants::RefreshPresented { token: &refresh_token, requested: scope.as_ref(), resources: &resources };
                self.refresh(&caller, &presented, jkt, now).await
            }
            TokenRequest::DeviceCode { device_code, resources } => {
                self.redeem_device_code(&caller, &device_code, &resources, jkt, now).await
            }
            TokenRequest::TokenExchange(exchange) => self.exchange(&caller, &exchange, request.peer, jkt, now).await,
        }
    }

    /// A token response for an access token of `org` that lives `ttl` seconds from `now`, with
    /// the members the profile adds.
    /// `dpop`: the token is DPoP-bound (`token_type` DPoP, RFC 9449 §5).
    pub(crate) fn token_response(
        &self,
        access_token: String,
        scope: &ScopeSet,
        ttl: u32,
        org: &OrgId,
        dpop: bool,
        now: i64,
    ) -> TokenResponse {
        let shape = &self.settings.token_response;
        let mut extra = Map::new();
        if shape.expires_at {
            extra.insert("expires_at".into(), Value::from(now + i64::from(ttl)));
        }
        if shape.tenant_id {
            extra.insert("tenant_id".into(), Value::from(org.as_str()));
        }
        if let Some(endpoints) = &shape.endpoints {
            extra.insert("endpoints".into(), Value::Object(endpoints.clone()));
        }
        TokenResponse {
            access_token,
            token_type: if dpop { "DPoP" } else { "Bearer" }.into(),
            expires_in: u64::from(ttl),
            scope: Some(scope.to_string()),
            refresh_token: None,
            id_token: None,
            extra,
        }
    }
}
