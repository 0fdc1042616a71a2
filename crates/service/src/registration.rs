//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592). A
//! registration is made with an initial access token that an org owner/admin (or the operator)
//! issued for one owner: the client belongs to that owner and organization, obeys the same
//! rules as a client made in the portal (`core::client::registration_problems`) and shows up
//! in the owner's portal. The registration access token is kept as a keyed hash, is not rotated
//! on update, and dies with the client.

use tessera_core::audit::AuditAction;
use tessera_core::client::validate_redirect_uri;
use tessera_core::model::{Client, ClientId, ClientKeys, ClientStatus, GrantType, Pkce};
use tessera_core::registration::{self, ClientMetadata};
use tessera_core::{ErrorCode, OAuthError, access, message};
use tessera_proto::{ClientRegistrationResponse, RegistrationTokenView};
use tessera_store::SecretMaterial;

use crate::Tessera;
use crate::admin::{Actor, ClientEdit, NewClient, denied};
use crate::error::{BearerError, Result, ServiceError};

/// The audit label of changes made through the registration endpoints.
const ACTOR: &str = "dynamic_registration";

fn oauth(code: ErrorCode, description: impl Into<std::borrow::Cow<'static, str>>) -> ServiceError {
    ServiceError::oauth(OAuthError::new(code, description))
}

fn grant_name(grant: GrantType) -> &'static str {
    match grant {
        GrantType::DeviceCode => tessera_core::device::GRANT_TYPE,
        GrantType::TokenExchange => tessera_core::exchange::GRANT_TYPE,
        other => other.as_str(),
    }
}

impl Tessera {
    fn initial_token_hash(&self, token: &str) -> Vec<u8> {
        self.secrets.lookup_hash(&format!("initial-access-token:{token}"))
    }

    /// The stored form of a registration access token, bound to the client's secret as it is
    /// (its tag; none for a client without a secret): regenerating the secret retires every
    /// registration access token issued before (RFC 7592 §3 lets the server rotate them), so a
    /// leaked registration response stops giving the client away once its owner rotated.
    fn registration_token_hash(&self, token: &str, secret: Option<&SecretMaterial>) -> Vec<u8> {
        let bound_to = secret.map(|m| crate::secrets::hex(&m.tag)).unwrap_or_default();
        self.secrets.lookup_hash(&format!("registration-access-token:{token}:{bound_to}"))
    }

    /// Issues an initial access token for registrations owned by `owner_email` in `org`; the
    /// operator or an owner/admin of that organization may. Shown once, stored hashed.
    pub async fn create_registration_token(
        &self,
        actor: &Actor,
        org: &str,
        owner_email: &str,
        expires_in: Option<i64>,
        uses: Option<u32>,
    ) -> Result<RegistrationTokenView> {
        let org = self.org(org).await?;
        access::administer_org(actor.caller(), &org.id).map_err(denied("organization"))?;
        let owner = self.store().member_by_email(&org.id, owner_email.trim()).await?;
        let Some(owner) = owner else {
            return Err(ServiceError::invalid(message!("registration-owner-not-member", "the owner does not belong to this organization")));
        };
        if expires_in.is_some_and(|s| s < 1) || uses == Some(0) {
            return Err(ServiceError::invalid(message!("registration-token-limits", "--expires-in and --uses must be at least 1")));
        }
        let token = self.secrets.random_token(32)?;
        let expires_at = expires_in.map(|s| self.now().saturating_add(s));
        let detail = serde_json::json!({ "owner": owner.id.as_str(), "expires_at": expires_at, "uses": uses });
        let audit = self.audit(actor, AuditAction::RegistrationTokenCreated, Some(&org.id), Some(owner.id.to_string()), detail);
        self.store()
            .insert_initial_access_token(&self.initial_token_hash(&token), &org.id, &owner.id, expires_at, uses.map(i64::from), &audit)
            .await?;
        Ok(RegistrationTokenView { initial_access_token: token, org_id: org.id.to_string(), owner: owner.email, expires_at, uses })
    }

    /// `POST /oauth2/register` (RFC 7591 §3): registers a client with the initial access token
    /// `initial_token` (the bearer token of the request).
    pub async fn register_client(&self, initial_token: Option<&str>, body: &serde_json::Value) -> Result<ClientRegistrationResponse> {
        let token = initial_token.ok_or(ServiceError::Bearer(BearerError::Missing { dpop: false }))?;
        let token_hash = self.initial_token_hash(token);
        let now = self.now();
        let (org_id, owner_id) =
            self.store().initial_access_token(&token_hash, now).await?.ok_or(ServiceError::Bearer(BearerError::InvalidToken))?;
        let owner = self.store().user(&owner_id).await?.ok_or(ServiceError::Bearer(BearerError::InvalidToken))?;
        let metadata = registration::parse_metadata(body).map_err(ServiceError::oauth)?;
        let new = NewClient {
            org: org_id.to_string(),
            owner_email: owner.email.clone(),
            name: metadata.client_name.clone().unwrap_or_else(|| "Registered client".into()),
            grants: metadata.grant_types.iter().map(|g| g.as_str().to_owned()).collect(),
            scopes: metadata.scope.iter().flat_map(|s| s.split_whitespace()).map(str::to_owned).collect(),
            redirect_uris: metadata.redirect_uris.clone(),
            public: metadata.token_endpoint_auth_method == tessera_core::model::TokenEndpointAuthMethod::None,
            token_endpoint_auth_method: Some(metadata.token_endpoint_auth_method.as_str().to_owned()),
            jwks: metadata.jwks.clone(),
            jwks_uri: metadata.jwks_uri.clone(),
            dpop_bound_access_tokens: metadata.dpop_bound_access_tokens.unwrap_or(false),
            // RFC 7591 has no PKCE metadata: a registered client always requires it, whatever
            // the profile's default for clients made by people.
            pkce: Some(Pkce::Required),
            ..NewClient::default()
        };
        let actor = Actor::system(ACTOR);
        if let Some(problem) = self.client_problems(&actor, &new).await?.first() {
            return Err(ServiceError::oauth(registration::error_for(problem)));
        }
        let (mut record, secret, audit) = self.prepare_client(&actor, &new).await?;
        // A registrant has no switch to turn its client ON: whatever the profile, it starts ON.
        record.client.status = ClientStatus::On;
        let access_token = self.secrets.random_token(32)?;
        let inserted = self
            .store()
            .insert_registered_client(
                &record,
                Some(&token_hash),
                &self.registration_token_hash(&access_token, record.secret.as_ref()),
                now,
                &audit,
            )
            .await?;
        if !inserted {
            // Spent or expired between the check and the insert.
            return Err(ServiceError::Bearer(BearerError::InvalidToken));
        }
        Ok(self.registration_response(&record.client, secret, access_token))
    }

    fn registration_response(&self, client: &Client, secret: Option<String>, access_token: String) -> ClientRegistrationResponse {
        let mut response_types = Vec::new();
        if client.grants.contains(&GrantType::AuthorizationCode) {
            response_types.push("code".to_owned());
        }
        if client.grants.contains(&GrantType::Implicit) {
            response_types.push("token".to_owned());
        }
        ClientRegistrationResponse {
            client_id: client.id.to_string(),
            client_secret_expires_at: secret.as_ref().map(|_| 0),
            client_secret: secret,
            client_id_issued_at: client.created_at,
            registration_access_token: access_token,
            registration_client_uri: format!("{}/oauth2/register/{}", self.issuer(), client.id),
            client_name: client.name.clone(),
            redirect_uris: client.redirect_uris.clone(),
            grant_types: client.grants.iter().map(|g| grant_name(*g).to_owned()).collect(),
            response_types,
            token_endpoint_auth_method: client.auth_method.as_str().to_owned(),
            scope: client.scopes.to_string(),
            jwks: ClientKeys::jwks(client.keys.as_ref()).and_then(|jwks| serde_json::from_str(jwks).ok()),
            jwks_uri: ClientKeys::jwks_uri(client.keys.as_ref()).map(str::to_owned),
            dpop_bound_access_tokens: client.dpop_bound_access_tokens,
        }
    }

    /// The client a registration access token manages (RFC 7592 §2): the token must be the one
    /// issued for `client_id`. An unknown client, a client registered otherwise, or any other
    /// token (another client's included) is the same 401 `invalid_token`, so nothing leaks.
    async fn managed_client(&self, client_id: &str, token: Option<&str>) -> Result<Client> {
        let token = token.ok_or(ServiceError::Bearer(BearerError::Missing { dpop: false }))?;
        let id = ClientId::new(client_id);
        let record = self.store().client(&id).await?.ok_or(ServiceError::Bearer(BearerError::InvalidToken))?;
        let stored = self.store().registration_token_hash(&id).await?;
        if stored.is_none_or(|hash| hash != self.registration_token_hash(token, record.secret.as_ref())) {
            return Err(ServiceError::Bearer(BearerError::InvalidToken));
        }
        // A client turned OFF is managed by its owner or the operator only, not by whoever holds
        // its registration response.
        if record.client.status != ClientStatus::On {
            return Err(ServiceError::Bearer(BearerError::InvalidToken));
        }
        Ok(record.client)
    }

    async fn current_secret(&self, client: &Client) -> Result<Option<String>> {
        match self.store().client(&client.id).await?.and_then(|r| r.secret) {
            Some(material) => self.open_client_secret(&client.id, &material).map(Some),
            None => Ok(None),
        }
    }

    /// `GET /oauth2/register/{client_id}` (RFC 7592 §2.1).
    pub async fn read_registration(&self, client_id: &str, token: Option<&str>) -> Result<ClientRegistrationResponse> {
        let client = self.managed_client(client_id, token).await?;
        let secret = self.current_secret(&client).await?;
        Ok(self.registration_response(&client, secret, token.unwrap_or_default().to_owned()))
    }

    /// `PUT /oauth2/register/{client_id}` (RFC 7592 §2.2): replaces the name, redirect URIs and
    /// keys. The client id, secret and registration access token stay. Grants, scope and the
    /// authentication method are fixed at registration: omitted they stay (§2.2 lets the server
    /// ignore values), given differently they are `invalid_client_metadata`.
    pub async fn update_registration(
        &self,
        client_id: &str,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> Result<ClientRegistrationResponse> {
        let client = self.managed_client(client_id, token).await?;
        if body.get("client_id").and_then(|v| v.as_str()) != Some(client.id.as_str()) {
            return Err(oauth(ErrorCode::InvalidRequest, "client_id must be given and match the registration"));
        }
        let secret = self.current_secret(&client).await?;
        if let Some(sent) = body.get("client_secret").filter(|v| !v.is_null())
            && sent.as_str() != secret.as_deref()
        {
            return Err(oauth(ErrorCode::InvalidRequest, "client_secret does not match the client's secret"));
        }
        let metadata: ClientMetadata = registration::parse_metadata(body).map_err(ServiceError::oauth)?;
        let fixed =
            |what: &str| oauth(ErrorCode::InvalidClientMetadata, format!("{what} cannot change after registration; register a new client"));
        if metadata.grant_types_given && metadata.grant_types.iter().copied().collect::<std::collections::BTreeSet<_>>() != client.grants {
            return Err(fixed("grant_types"));
        }
        if metadata.token_endpoint_auth_method_given && metadata.token_endpoint_auth_method != client.auth_method {
            return Err(fixed("token_endpoint_auth_method"));
        }
        if let Some(scope) = &metadata.scope
            && scope.split_whitespace().collect::<std::collections::BTreeSet<_>>() != client.scopes.iter().collect()
        {
            return Err(fixed("scope"));
        }
        for uri in &metadata.redirect_uris {
            if let Err(why) = validate_redirect_uri(uri) {
                return Err(oauth(ErrorCode::InvalidRedirectUri, format!("redirect URI {uri:?}: {why}")));
            }
        }
        let needs_redirect = client.grants.iter().any(|g| matches!(g, GrantType::AuthorizationCode | GrantType::Implicit));
        if needs_redirect && metadata.redirect_uris.is_empty() {
            return Err(oauth(ErrorCode::InvalidRedirectUri, "the authorization_code and implicit grants need a redirect URI"));
        }
        let edit = ClientEdit {
            name: metadata.client_name.clone(),
            redirect_uris: Some(metadata.redirect_uris.clone()),
            jwks: metadata.jwks.clone(),
            jwks_uri: metadata.jwks_uri.clone(),
            dpop_bound_access_tokens: metadata.dpop_bound_access_tokens,
            ..ClientEdit::default()
        };
        self.update_client(&Actor::system(ACTOR), client.id.as_str(), edit).await.map_err(|e| match e {
            ServiceError::Invalid(why) => oauth(ErrorCode::InvalidClientMetadata, why.message.english),
            other => other,
        })?;
        let client = self.managed_client(client_id, token).await?;
        Ok(self.registration_response(&client, secret, token.unwrap_or_default().to_owned()))
    }

    /// `DELETE /oauth2/register/{client_id}` (RFC 7592 §2.3): the client is gone, its tokens
    /// stop working, its registration access token with it.
    pub async fn delete_registration(&self, client_id: &str, token: Option<&str>) -> Result<()> {
        let client = self.managed_client(client_id, token).await?;
        self.delete_client(&Actor::system(ACTOR), client.id.as_str()).await
    }
}
