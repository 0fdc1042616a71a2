//! The portal's access-token generator: a token for one of the signed-in user's own clients,
//! obtained through the real token endpoint (the same client authentication, IP allow-list,
//! scope rule and audit trail as any other caller), never by a shortcut that skips a rule.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use tessera_core::access;
use tessera_core::message;
use tessera_core::model::ClientId;
use tessera_core::params::Params;
use tessera_proto::TokenResponse;
use tessera_store::ClientRecord;

use crate::admin::Actor;
use crate::error::{Result, ServiceError};
use crate::{EndpointRequest, Tessera};

/// A generator run through the browser: where to send the user, and what to keep (in an
/// HttpOnly cookie) until they come back.
#[derive(Debug)]
pub struct GeneratorStart {
    pub authorize_url: String,
    pub state: String,
    pub code_verifier: String,
}

impl Tessera {
    /// The path of the generator's callback page; a browser client must register
    /// `{issuer}{GENERATOR_CALLBACK}` as a redirect URI to use the generator.
    pub const GENERATOR_CALLBACK: &'static str = "/tools/access-token/callback";

    pub fn generator_redirect_uri(&self) -> String {
        format!("{}{}", self.issuer().trim_end_matches('/'), Self::GENERATOR_CALLBACK)
    }

    /// One of the actor's own clients: the generator uses the client's secret, which only its
    /// owner may use (the Show button's rule).
    async fn owned_client(&self, actor: &Actor, client_id: &str) -> Result<ClientRecord> {
        let record = self.store().client(&ClientId::new(client_id)).await?.ok_or(ServiceError::NotFound("client"))?;
        let run_as = self.client_run_as(&record.client).await?;
        access::reveal_secret(actor.caller(), &record.client, &run_as).map_err(|_| ServiceError::NotFound("client"))?;
        Ok(record)
    }

    /// The client's secret in clear for its owner, without an audit entry of its own (the
    /// token request it is used for is audited when it fails).
    async fn owned_client_secret(&self, actor: &Actor, client_id: &str) -> Result<Option<String>> {
        let record = self.owned_client(actor, client_id).await?;
        if record.client.auth_method == tessera_core::model::TokenEndpointAuthMethod::PrivateKeyJwt {
            return Err(ServiceError::invalid(message!(
                "portal-generator-private-key-jwt",
                "this client authenticates with private_key_jwt: only the holder of its private key can get its tokens"
            )));
        }
        match record.secret {
            Some(material) => Ok(Some(self.open_client_secret(&record.client.id, &material)?)),
            None => Ok(None),
        }
    }

    async fn token_as_client(
        &self,
        actor: &Actor,
        client_id: &str,
        mut pairs: Vec<(String, String)>,
        peer: IpAddr,
    ) -> Result<TokenResponse> {
        let secret = self.owned_client_secret(actor, client_id).await?;
        pairs.push(("client_id".into(), client_id.to_owned()));
        if let Some(secret) = secret {
            pairs.push(("client_secret".into(), secret));
        }
        let params = Params::from_pairs(pairs)?;
        let path = self.settings.endpoint_paths.token.clone();
        self.token(&EndpointRequest { authorization: None, params, peer, path, dpop: Vec::new() }).await
    }

    /// A client-credentials token for one of the actor's own confidential clients.
    pub async fn generator_client_credentials(&self, actor: &Actor, client_id: &str, scope: &str, peer: IpAddr) -> Result<TokenResponse> {
        let mut pairs = vec![("grant_type".into(), "client_credentials".into())];
        if !scope.trim().is_empty() {
            pairs.push(("scope".into(), scope.trim().to_owned()));
        }
        self.token_as_client(actor, client_id, pairs, peer).await
    }

    /// Starts the browser walk-through for one of the actor's own clients: the authorization
    /// request (code flow with PKCE S256, or implicit), bound to a fresh `state`. A client that
    /// must push its requests (RFC 9126) pushes it first, with its own credentials.
    pub async fn generator_start(
        &self,
        actor: &Actor,
        client_id: &str,
        implicit: bool,
        scope: &str,
        peer: IpAddr,
    ) -> Result<GeneratorStart> {
        let record = self.owned_client(actor, client_id).await?;
        let state = self.secrets.random_token(16)?;
        let code_verifier = self.secrets.random_token(32)?;
        let challenge = B64.encode(ring::digest::digest(&ring::digest::SHA256, code_verifier.as_bytes()));
        let redirect_uri = self.generator_redirect_uri();
        let mut query: Vec<(&str, &str)> = vec![
            ("client_id", client_id),
            ("redirect_uri", &redirect_uri),
            ("state", &state),
            ("response_type", if implicit { "token" } else { "code" }),
        ];
        if !scope.trim().is_empty() {
            query.push(("scope", scope.trim()));
        }
        if !implicit {
            query.push(("code_challenge", &challenge));
            query.push(("code_challenge_method", "S256"));
        }
        let pushed;
        if tessera_core::par::required(&record.client, self.settings().require_pushed_authorization_requests) {
            let mut pairs: Vec<(String, String)> = query.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            if let Some(secret) = self.owned_client_secret(actor, client_id).await? {
                pairs.push(("client_secret".into(), secret));
            }
            let request = EndpointRequest {
                authorization: None,
                params: Params::from_pairs(pairs)?,
                peer,
                path: self.settings().endpoint_paths.par.clone(),
                dpop: Vec::new(),
            };
            pushed = self.push_authorization_request(&request).await?.request_uri;
            query = vec![("client_id", client_id), ("request_uri", &pushed)];
        }
        let encoded: Vec<String> = query.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
        let authorize_url = format!("{}/oauth2/authorize?{}", self.issuer().trim_end_matches('/'), encoded.join("&"));
        Ok(GeneratorStart { authorize_url, state, code_verifier })
    }

    /// Redeems the code the walk-through brought back, as the client would.
    pub async fn generator_exchange(
        &self,
        actor: &Actor,
        client_id: &str,
        code: &str,
        code_verifier: &str,
        peer: IpAddr,
    ) -> Result<TokenResponse> {
        let pairs = vec![
            ("grant_type".into(), "authorization_code".into()),
            ("code".into(), code.to_owned()),
            ("redirect_uri".into(), self.generator_redirect_uri()),
            ("code_verifier".into(), code_verifier.to_owned()),
        ];
        self.token_as_client(actor, client_id, pairs, peer).await
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay as they are).
fn urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
