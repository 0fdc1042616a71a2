//! Wire types only: what goes over HTTP between Tessera, its clients and the APIs it protects.
//! serde and nothing else; no behaviour beyond (de)serialisation.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// RFC 6749 §5.1 successful token response. `extra` carries profile fields
/// (`expires_at`, `tenant_id`, `endpoints`) flattened into the same object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// RFC 6749 §5.2 error body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorResponse {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// The `aud` of an access token (RFC 7519 §4.1.3): one string when it names one audience, an
/// array when it names several (RFC 8707 §2: one per requested `resource`). Reads both forms.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Audience(Vec<String>);

impl Audience {
    /// An audience of the given values, in order; duplicates are dropped.
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut unique: Vec<String> = Vec::new();
        for value in values {
            if !unique.contains(&value) {
                unique.push(value);
            }
        }
        Self(unique)
    }

    /// Whether `value` is one of the audiences.
    pub fn contains(&self, value: &str) -> bool {
        self.0.iter().any(|v| v == value)
    }

    /// The audiences, in order.
    pub fn values(&self) -> &[String] {
        &self.0
    }

    /// The one audience, when there is exactly one.
    pub fn single(&self) -> Option<&str> {
        match self.0.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

impl From<&str> for Audience {
    fn from(value: &str) -> Self {
        Self(vec![value.to_owned()])
    }
}

impl From<String> for Audience {
    fn from(value: String) -> Self {
        Self(vec![value])
    }
}

impl Serialize for Audience {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            One(String),
            Many(Vec<String>),
        }
        match Form::deserialize(deserializer)? {
            Form::One(one) => Ok(Self(vec![one])),
            Form::Many(many) if many.is_empty() => Err(serde::de::Error::custom("an empty aud")),
            Form::Many(many) => Ok(Self(many)),
        }
    }
}

/// RFC 8693 §4.1: the party acting for the token's subject (a client that exchanged the
/// subject's token); `act` inside names the party that acted before it, when the exchanged
/// token was itself the result of an exchange.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Actor {
    /// The acting client's id.
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Actor>>,
}

impl Actor {
    /// How many parties the chain names (this one included).
    pub fn depth(&self) -> usize {
        1 + self.act.as_ref().map_or(0, |inner| inner.depth())
    }
}

/// The claims of a Tessera access token (RFC 9068 plus `client_id`, `scope`, `org_id`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    /// The default audience, or the resources asked for (RFC 8707).
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    pub org_id: String,
    /// The authorization (code or refresh family) the token descends from; revoking that
    /// authorization stops the token too. Absent on client-credentials tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// RFC 8693 §4.1: on a token issued by token exchange, the client acting for `sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
    /// The key the token is bound to (RFC 9449 §6.1, RFC 7800): a resource server accepts it
    /// only with a DPoP proof signed by that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// The `cnf` (confirmation) claim of a sender-constrained token (RFC 7800 §3.1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Confirmation {
    /// The RFC 7638 SHA-256 thumbprint of the DPoP key (RFC 9449 §6.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
}

impl AccessTokenClaims {
    /// The thumbprint of the DPoP key the token is bound to, if it is bound.
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.cnf.as_ref().and_then(|c| c.jkt.as_deref())
    }
}

/// The claims of an OpenID Connect ID token (OIDC Core §2, §3.1.3.6).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    /// The client id.
    pub aud: String,
    pub azp: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    /// How the user signed in (RFC 8176), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// `mfa` when the sign-in used more than one factor, else `pwd`; with `amr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(flatten)]
    pub profile: ProfileClaims,
    pub org_id: String,
}

/// The claims the `email` and `profile` scopes release, in ID tokens and userinfo alike.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProfileClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
}

/// The OpenID Connect userinfo response, and the body of `GET /session/user`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserInfo {
    pub sub: String,
    /// Same as `sub`: the Bluescape "who am I" names it `id`.
    pub id: String,
    pub org_id: String,
    #[serde(flatten)]
    pub profile: ProfileClaims,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub client_id: String,
    pub scope: String,
}

/// RFC 7662 §2.2 introspection response. Inactive tokens serialise to `{"active":false}` only.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct IntrospectionResponse {
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    /// The DPoP key a bound token is bound to (RFC 9449 §6.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// RFC 8693 §4.1: the acting party of an exchanged token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
}

impl IntrospectionResponse {
    /// The only answer for a token that is not active (RFC 7662 §2.2).
    pub fn inactive() -> Self {
        Self::default()
    }
}

/// One answer of the revocation feed (`GET /oauth2/revocations`), which resource servers (the
/// guard) poll to learn within a bounded delay what stopped working. Ask with `after` set to the
/// previous answer's `cursor`; an idle feed answers `{"cursor":"…"}` and nothing else.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct RevocationFeed {
    /// The position to ask from next time (opaque).
    pub cursor: String,
    /// True: this is the whole state, not a change; drop what you hold and take this.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub full: bool,
    /// Revoked access tokens: `[jti, exp]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<(String, i64)>,
    /// Revoked grants: `[grant_id, until]`; no token of the grant has an `exp` past `until`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<(String, i64)>,
    /// Clients whose tokens stopped working (OFF, deleted, or a disabled owner or run-as user).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients_off: Vec<String>,
    /// Clients whose tokens work again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients_on: Vec<String>,
    /// Users whose tokens stopped working (disabled or gone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users_off: Vec<String>,
    /// Users whose tokens work again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users_on: Vec<String>,
    /// Users whose access tokens issued before the time given no longer work (their role was
    /// lowered): `[sub, not_before]`; a token of `sub` with an `iat` before it is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users_not_before: Vec<(String, i64)>,
    /// Clients whose access tokens issued before the time given no longer work (a scope or the
    /// run-as user taken from the registration): `[client_id, not_before]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients_not_before: Vec<(String, i64)>,
    /// The signing keys changed: fetch the JWKS again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keys_changed: bool,
}

/// A public JSON Web Key (RFC 7517). Only public members exist on this type, so a private
/// key can never be serialised through it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: String,
    pub kid: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

/// A JWK Set document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// OAuth 2.0 Authorization Server Metadata (RFC 8414), which is also the OpenID Connect
/// Discovery document: only the fields this server actually supports are set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServerMetadata {
    pub issuer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    pub grant_types_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// The JWS algorithms of `private_key_jwt` client assertions (RFC 8414 §2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_challenge_methods_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub access_token_signing_alg_values_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub authorization_response_iss_parameter_supported: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompt_values_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acr_values_supported: Vec<String>,
    /// RFC 9126 §5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// RFC 7591 §3, when dynamic registration is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// The algorithms DPoP proofs may be signed with (RFC 9449 §5.1).
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// RFC 8628 §4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// RFC 9126 §5: every authorization request must be pushed.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
}

/// RFC 8628 §3.2: the answer to a device authorization request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeviceAuthorizationResponse {
    pub device_code: String,
    /// What the user types on the verification page (`BCDF-GHJK`).
    pub user_code: String,
    pub verification_uri: String,
    /// The verification page with the user code filled in (for a QR code).
    pub verification_uri_complete: String,
    pub expires_in: u64,
    /// Seconds to wait between polls of the token endpoint.
    pub interval: u64,
}

/// RFC 9126 §2.2: the answer to a pushed authorization request (status 201).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PushedAuthorizationResponse {
    /// `urn:ietf:params:oauth:request_uri:…`, for one authorization request by this client.
    pub request_uri: String,
    /// Seconds the request URI may wait for its use at the authorization endpoint.
    pub expires_in: u64,
}

/// Whether a client must use PKCE in the code flow (OAuth 2.1 §4.1.1, SPEC §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Pkce {
    /// Every code-flow authorization request carries an S256 `code_challenge`: the default, and
    /// always so for a public client.
    #[default]
    Required,
    /// A legacy confidential client may leave the challenge out; one that is sent is enforced
    /// all the same.
    Optional,
}

impl Pkce {
    pub fn as_str(self) -> &'static str {
        match self {
            Pkce::Required => "required",
            Pkce::Optional => "optional",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "required" => Some(Pkce::Required),
            "optional" => Some(Pkce::Optional),
            _ => None,
        }
    }
}

/// A client as the CLI and the admin API show it (never with its secret, except right after
/// creation or regeneration, in `client_secret`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientView {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub name: String,
    pub org_id: String,
    /// The owner's email.
    pub owner: String,
    pub owner_id: String,
    /// The run-as user's email.
    pub run_as: String,
    pub run_as_id: String,
    pub grants: Vec<String>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub allowed_ips: Vec<String>,
    pub public: bool,
    /// Whether the code flow needs PKCE (`required` for every public client).
    #[serde(default)]
    pub pkce: Pkce,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none`.
    pub token_endpoint_auth_method: String,
    /// The public keys of a `private_key_jwt` client (a JWKS), when registered inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub jwks: Option<serde_json::Value>,
    /// Where the public keys of a `private_key_jwt` client are fetched from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<u32>,
    pub requires_org_approval: bool,
    /// RFC 9126 §6: authorization requests must be pushed (`/oauth2/par`).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.2: every token request must carry a DPoP proof (all tokens are DPoP-bound).
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// RFC 8707: the resources (absolute URIs) this client may ask tokens for with `resource`.
    #[serde(default)]
    pub resources: Vec<String>,
    /// `on` or `off`.
    pub status: String,
    pub created_at: i64,
    /// Until when (Unix seconds) the secret a roll with a grace period replaced keeps working
    /// beside the new one; absent when no grace is running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<i64>,
    /// When the client last authenticated (Unix seconds, to the minute); absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
}

/// An organization.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgView {
    pub id: String,
    pub name: String,
    /// Members must sign in with a second factor (SPEC §11); left out when not (so `org create`
    /// prints `{"id","name"}` as SPEC §2 says).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_mfa: bool,
    /// Members sign in through the organization's identity provider; password sign-in is off
    /// for them, owners excepted (SPEC §15). Left out when not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_sso: bool,
}

/// An organization's upstream OpenID Provider (SPEC §15); its client secret is never shown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityProviderView {
    pub id: String,
    pub org_id: String,
    /// The sign-in page's "Continue with NAME".
    pub name: String,
    pub issuer: String,
    /// Tessera's client id at the provider.
    pub client_id: String,
    /// The email domains that sign in here (claimed by the operator).
    pub email_domains: Vec<String>,
    /// The role of a member made at their first sign-in.
    pub default_role: String,
    /// Where the provider must send people back: register it with the provider.
    pub redirect_uri: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A user, without any credential.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub org_id: String,
    pub role: String,
    pub service: bool,
    pub authorize_applications: bool,
    pub disabled: bool,
}

/// A signing key's public facts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyView {
    pub kid: String,
    pub alg: String,
    /// `next` (published, not yet signing), `current` (signing) or `retired` (verifying only).
    pub state: String,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<i64>,
}

/// An organization's approval of a client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalView {
    pub client_id: String,
    pub client_name: String,
    pub org_id: String,
    /// Who approved: a user id, or an operator label such as `cli`.
    pub approved_by: String,
    pub approved_at: i64,
}

/// An application that members of the organization tried to authorize and that awaits its
/// approval: approve it (`PUT /admin/v1/approvals/{client_id}`) or reject the request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalRequestView {
    pub client_id: String,
    pub client_name: String,
    /// The email of the client's owner, who registered it.
    pub owner: String,
    /// The scopes the client is registered for.
    pub scopes: Vec<String>,
    /// The email of the member who asked last (empty: no longer a member).
    pub requested_by: String,
    pub first_requested_at: i64,
    pub last_requested_at: i64,
    /// How many times members tried to authorize it.
    pub requests: i64,
}

/// An audit-log entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditView {
    pub id: i64,
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    pub actor: String,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: Value,
}

/// An entry of an organization's scope catalogue (admin API).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopeView {
    pub name: String,
    /// Only owners and admins may be granted it.
    pub restricted: bool,
    /// Built into every organization (`openid`, `profile`, `email`, `offline_access`, the
    /// admin API's `tessera:*` scopes); not stored in the catalogue and not changeable.
    pub built_in: bool,
}

/// The caller of the admin API: the user the access token speaks for (admin API).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallerView {
    pub user: UserView,
    pub org: OrgView,
    /// The client the token was issued to.
    pub client_id: String,
    /// The token's scopes.
    pub scopes: Vec<String>,
}

/// A client's secret, shown right after regeneration or to its owner on request (admin API).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientSecretView {
    pub client_id: String,
    pub client_secret: String,
    /// After a roll with a grace period: until when (Unix seconds) the replaced secret still works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<i64>,
}

/// How to roll a client's secret (admin API); an empty body rolls it at once.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretRoll {
    /// How many seconds the replaced secret keeps working beside the new one (at most 2,592,000:
    /// 30 days); absent or 0: it stops at once.
    #[serde(default)]
    pub grace_seconds: Option<u32>,
}

/// An RFC 7807 problem: every error of the admin API, as `application/problem+json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// `about:blank`: the status says what went wrong, `error` says it in RFC 6749/6750 terms.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase.
    pub title: String,
    pub status: u16,
    /// What went wrong with this request, for a person.
    pub detail: String,
    /// The RFC 6749/6750 error code (`invalid_request`, `invalid_token`, `insufficient_scope`, …).
    pub error: String,
    /// The request member the problem is about, when it is about one (e.g. `redirect_uris`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A new client (admin API, `POST /admin/v1/clients`). The caller is its owner.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewClientRequest {
    pub name: String,
    /// `client_credentials` (the default), `authorization_code`, `refresh_token`, `implicit`.
    #[serde(default)]
    pub grants: Vec<String>,
    /// Empty: every catalogue scope the caller may grant.
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// CIDR ranges or addresses.
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    /// The run-as user's email; by default the caller.
    #[serde(default)]
    pub run_as: Option<String>,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub access_token_ttl: Option<u32>,
    #[serde(default)]
    pub requires_org_approval: bool,
    /// RFC 9126 §6: the client must push its authorization requests (`/oauth2/par`).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.2: every token request must carry a DPoP proof (all tokens are DPoP-bound).
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// Whether the code flow needs PKCE. Absent: `required` (the server's default for
    /// confidential clients, `optional` under the Bluescape profile); a public client cannot be
    /// `optional`.
    #[serde(default)]
    pub pkce: Option<Pkce>,
    /// RFC 8707: the resources (absolute URIs, no fragment) the client may ask tokens for.
    #[serde(default)]
    pub resources: Vec<String>,
    /// `client_secret_basic` (the default), `client_secret_post`, `private_key_jwt` (implied
    /// when `jwks` or `jwks_uri` is given) or `none` (implied by `public`).
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// For `private_key_jwt`: the client's public keys, as a JWKS or a single JWK object, or a
    /// PEM public key as a string. Private keys are refused.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub jwks: Option<serde_json::Value>,
    /// For `private_key_jwt`: an `https` URL serving the client's JWKS.
    #[serde(default)]
    pub jwks_uri: Option<String>,
}

/// A change to a client (admin API, `PATCH /admin/v1/clients/{client_id}`); absent members stay
/// as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientPatch {
    #[serde(default)]
    pub name: Option<String>,
    /// Replaces the grant types (at least one; the same rules as at creation). A grant removed
    /// stops working at the client's next token request.
    #[serde(default)]
    pub grants: Option<Vec<String>>,
    /// Replaces the registered scopes (each in the organization's catalogue or built in; `[]`:
    /// none, unlike at creation). A scope removed is no longer granted, also not on refresh.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default)]
    pub allowed_ips: Option<Vec<String>>,
    /// The run-as user's email or id.
    #[serde(default)]
    pub run_as: Option<String>,
    /// Seconds; `null` clears the client's own lifetime (the server's default applies).
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>))]
    pub access_token_ttl: Option<Option<u32>>,
    #[serde(default)]
    pub requires_org_approval: Option<bool>,
    #[serde(default)]
    pub require_pushed_authorization_requests: Option<bool>,
    /// RFC 9449 §5.2: every token request must carry a DPoP proof.
    #[serde(default)]
    pub dpop_bound_access_tokens: Option<bool>,
    /// Whether the code flow needs PKCE (a public client cannot be `optional`).
    #[serde(default)]
    pub pkce: Option<Pkce>,
    /// RFC 8707: replaces the resources the client may ask tokens for.
    #[serde(default)]
    pub resources: Option<Vec<String>>,
    /// New public keys of a `private_key_jwt` client (JWKS, JWK or PEM string).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub jwks: Option<serde_json::Value>,
    /// A new `jwks_uri` of a `private_key_jwt` client.
    #[serde(default)]
    pub jwks_uri: Option<String>,
}

/// A member present in a JSON object, possibly `null`: `Some(None)` (absent is `None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A new member or service user (admin API, `POST /admin/v1/members`).
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewMemberRequest {
    pub email: String,
    /// `owner`, `admin` or `member`.
    pub role: String,
    /// A service user has no password and cannot log in; it exists to be a run-as user.
    #[serde(default)]
    pub service: bool,
    #[serde(default)]
    pub authorize_applications: bool,
    /// The password to sign in with; none: the account cannot sign in until one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl std::fmt::Debug for NewMemberRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewMemberRequest").field("email", &self.email).field("role", &self.role).finish_non_exhaustive()
    }
}

/// A change to a member (admin API, `PATCH /admin/v1/members/{user}`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberPatch {
    /// `owner`, `admin` or `member`.
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub authorize_applications: Option<bool>,
}

/// A new catalogue scope (admin API, `POST /admin/v1/scopes`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewScopeRequest {
    pub name: String,
    #[serde(default)]
    pub restricted: bool,
}

/// A change to a catalogue scope (admin API, `PATCH /admin/v1/scopes/{name}`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopePatch {
    pub restricted: bool,
}

/// An invitation to the caller's organization (admin API, `POST /admin/v1/invitations`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewInvitationRequest {
    pub email: String,
    /// owner, admin or member.
    pub role: String,
}

/// An upstream OpenID Provider to connect (admin API, `POST /admin/v1/identity-providers`).
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewIdentityProviderRequest {
    /// The sign-in page's "Continue with NAME".
    pub name: String,
    pub issuer: String,
    /// Tessera's client id at the provider.
    pub client_id: String,
    /// Its secret: stored sealed, never shown again.
    pub client_secret: String,
    /// Email domains that sign in here (the operator's alone: refused through the API).
    #[serde(default)]
    pub email_domains: Vec<String>,
    /// member (the default) or admin.
    #[serde(default)]
    pub default_role: Option<String>,
}

impl std::fmt::Debug for NewIdentityProviderRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewIdentityProviderRequest").field("name", &self.name).field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

/// Changes to an identity provider (admin API, `PATCH /admin/v1/identity-providers/{id}`).
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityProviderPatch {
    pub name: Option<String>,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub email_domains: Option<Vec<String>>,
    pub default_role: Option<String>,
}

impl std::fmt::Debug for IdentityProviderPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityProviderPatch").field("name", &self.name).field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

/// An invitation as the admin API shows it: its link travels only by mail, to the invitee.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationView {
    pub id: String,
    pub email: String,
    pub role: String,
    /// When the link stops working (Unix seconds).
    pub expires_at: i64,
}

/// The caller's organization and its settings (admin API, `GET`/`PATCH /admin/v1/organization`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationSettings {
    pub id: String,
    pub name: String,
    /// Members must sign in with a second factor (SPEC §11); those without one are sent to set
    /// one up right after signing in and can do nothing else until they have.
    pub require_mfa: bool,
    /// Members sign in through the organization's identity provider (SPEC §15).
    pub require_sso: bool,
}

impl From<OrgView> for OrganizationSettings {
    fn from(org: OrgView) -> Self {
        Self { id: org.id, name: org.name, require_mfa: org.require_mfa, require_sso: org.require_sso }
    }
}

/// A change to the caller's organization (admin API, `PATCH /admin/v1/organization`); a field
/// left out stays as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationPatch {
    pub require_mfa: Option<bool>,
    /// Members sign in through the organization's identity provider (needs one; owners keep a
    /// break-glass password).
    pub require_sso: Option<bool>,
}

/// A token to revoke (admin API, `POST /admin/v1/tokens/revoke`).
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeTokenRequest {
    /// An access token issued by this server to a client the caller may see.
    pub token: String,
}

impl std::fmt::Debug for RevokeTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevokeTokenRequest").finish_non_exhaustive()
    }
}

/// A dynamically registered client as RFC 7591 §3.2.1 and RFC 7592 §3 answer it: its id and
/// secret, the registration access token and where to manage the registration, and its
/// metadata as registered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClientRegistrationResponse {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub client_id_issued_at: i64,
    /// 0: the secret does not expire (present whenever `client_secret` is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    pub registration_access_token: String,
    pub registration_client_uri: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// RFC 9449 §5.2: every token request of this client must carry a DPoP proof.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
}

/// A new initial access token for dynamic client registration, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationTokenView {
    pub initial_access_token: String,
    pub org_id: String,
    /// The email of the user who owns the clients registered with it.
    pub owner: String,
    /// Unix seconds; absent: it does not expire.
    pub expires_at: Option<i64>,
    /// Registrations it allows; absent: any number.
    pub uses: Option<u32>,
}

/// `tessera export`'s file (`docs/migration.md`, JSON Schema `docs/migration.schema.json`):
/// organizations with their scopes, people with their memberships, clients with every setting.
/// Secrets (password hashes, client secrets) only when asked for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportFile {
    /// `tessera-export/1`.
    pub format: String,
    /// When it was written (Unix seconds).
    pub exported_at: i64,
    pub organizations: Vec<ExportOrganization>,
    pub people: Vec<ExportPerson>,
    pub clients: Vec<ExportClient>,
}

/// The format this release writes (and will read).
pub const EXPORT_FORMAT: &str = "tessera-export/1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportOrganization {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub require_mfa: bool,
    #[serde(default)]
    pub scopes: Vec<ExportScope>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportScope {
    pub name: String,
    #[serde(default)]
    pub restricted: bool,
}

/// Someone who signs in: one email, one password, a membership in each of their organizations.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportPerson {
    pub id: String,
    pub email: String,
    /// When they proved they receive mail at `email` (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified_at: Option<i64>,
    /// PHC or modular-crypt string; only with `--include-secrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    pub memberships: Vec<ExportMembership>,
}

impl std::fmt::Debug for ExportPerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportPerson").field("id", &self.id).field("email", &self.email).finish_non_exhaustive()
    }
}

/// A person's place in one organization: its id is the `sub` of their tokens there.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportMembership {
    pub id: String,
    /// The organization's id.
    pub organization: String,
    /// `owner`, `admin` or `member`.
    pub role: String,
    #[serde(default)]
    pub service: bool,
    #[serde(default)]
    pub authorize_applications: bool,
    #[serde(default)]
    pub disabled: bool,
}

/// A client with every setting `client create` takes, its status, and its secret when asked for.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportClient {
    /// 1 to 128 of `[A-Za-z0-9._~-]`: an id from another vendor may be kept.
    pub id: String,
    /// The organization's id.
    pub organization: String,
    pub name: String,
    /// The owner's membership id.
    pub owner: String,
    /// The membership id its client-credentials tokens act as.
    pub run_as: String,
    /// `on` or `off`.
    pub status: String,
    #[serde(default)]
    pub public: bool,
    pub token_endpoint_auth_method: String,
    pub grants: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    /// `required` or `optional`.
    pub pkce: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<u32>,
    #[serde(default)]
    pub requires_org_approval: bool,
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Only with `--include-secrets`, for a client that authenticates with a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for ExportClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportClient").field("id", &self.id).field("organization", &self.organization).finish_non_exhaustive()
    }
}
