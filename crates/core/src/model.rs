//! The domain: organizations, users, clients and the vocabulary they are described with.

use std::collections::BTreeSet;
use std::fmt;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::scope::ScopeSet;

/// Whether a client must use PKCE in the code flow: the wire type is the model's.
pub use tessera_proto::Pkce;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// An organization (tenant) id: the `org_id` / `tenant_id` of tokens.
    OrgId
);
id_type!(
    /// A user id: the `sub` of that user's tokens. A user is one person's membership of one
    /// organization.
    UserId
);
id_type!(
    /// A person: one email, one password, one set of second factors, and a membership (a
    /// [`User`]) in each organization they belong to. A person's first membership carries the
    /// person's id.
    PersonId
);
id_type!(
    /// A client id: 1 to 128 of `[A-Za-z0-9._~-]`.
    ClientId
);

impl ClientId {
    /// A client id is 1 to 128 of `[A-Za-z0-9._~-]` (SPEC §10, widened by §13 so a client moved
    /// in from another vendor keeps its id): URL-unreserved characters, so an id reads the same in
    /// a path, a query and Basic credentials with or without the form-encoding of RFC 6749 §2.3.1
    /// (which may turn `~` into `%7E`; the server decodes it back). The ids Tessera makes use
    /// `[A-Za-z0-9]` only.
    pub fn is_well_formed(value: &str) -> bool {
        !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b))
    }
}

/// A user's role in their organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// "Account Owners": full access.
    Owner,
    /// Full access, and may approve applications for the organization.
    Admin,
    /// "All Users": unrestricted scopes only.
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }

    /// Owners and admins may grant restricted scopes; members may not.
    pub fn may_grant_restricted(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

/// The OAuth grants a client may be registered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    ClientCredentials,
    AuthorizationCode,
    RefreshToken,
    Implicit,
    /// The device authorization grant (RFC 8628); at the token endpoint its `grant_type` is
    /// [`crate::device::GRANT_TYPE`].
    DeviceCode,
    /// Token exchange (RFC 8693), off unless registered; at the token endpoint its `grant_type`
    /// is [`crate::exchange::GRANT_TYPE`].
    TokenExchange,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::ClientCredentials => "client_credentials",
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::Implicit => "implicit",
            GrantType::DeviceCode => "device_code",
            GrantType::TokenExchange => "token_exchange",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "client_credentials" => Some(GrantType::ClientCredentials),
            "authorization_code" => Some(GrantType::AuthorizationCode),
            "refresh_token" => Some(GrantType::RefreshToken),
            "implicit" => Some(GrantType::Implicit),
            "device_code" => Some(GrantType::DeviceCode),
            "token_exchange" => Some(GrantType::TokenExchange),
            _ => None,
        }
    }
}

/// A client's ON/OFF switch. OFF: authentication fails and its live tokens are inactive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientStatus {
    On,
    Off,
}

impl ClientStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientStatus::On => "on",
            ClientStatus::Off => "off",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "on" => Some(ClientStatus::On),
            "off" => Some(ClientStatus::Off),
            _ => None,
        }
    }
}

/// How a client authenticates at the token, introspection and revocation endpoints
/// (OIDC Registration §2 `token_endpoint_auth_method`). A secret client may send its secret
/// either way, Basic or in the body, whichever of the two it registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// RFC 7523 §2.2: a JWT signed with a key the client registered.
    PrivateKeyJwt,
    /// A public client: no credentials, PKCE instead.
    None,
}

impl TokenEndpointAuthMethod {
    pub const ALL: [TokenEndpointAuthMethod; 4] = [
        TokenEndpointAuthMethod::ClientSecretBasic,
        TokenEndpointAuthMethod::ClientSecretPost,
        TokenEndpointAuthMethod::PrivateKeyJwt,
        TokenEndpointAuthMethod::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenEndpointAuthMethod::ClientSecretBasic => "client_secret_basic",
            TokenEndpointAuthMethod::ClientSecretPost => "client_secret_post",
            TokenEndpointAuthMethod::PrivateKeyJwt => "private_key_jwt",
            TokenEndpointAuthMethod::None => "none",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == value)
    }

    /// Whether the client holds a secret (shown, regenerated) at all.
    pub fn uses_secret(self) -> bool {
        matches!(self, TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost)
    }
}

/// Where a `private_key_jwt` client's public keys are: a JWKS registered with the client, or a
/// URL the server fetches it from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKeys {
    /// A JWKS document (public keys only, checked at registration).
    Jwks(String),
    /// `https:` (or `http:` on a loopback host) URL of the client's JWKS.
    Uri(String),
}

impl ClientKeys {
    /// From the two places keys are kept (the store's columns, the registration fields): an
    /// inline JWKS wins over a URL.
    pub fn from_parts(jwks: Option<String>, jwks_uri: Option<String>) -> Option<Self> {
        jwks.map(Self::Jwks).or(jwks_uri.map(Self::Uri))
    }

    /// The inline JWKS, if the keys are one.
    pub fn jwks(keys: Option<&Self>) -> Option<&str> {
        match keys {
            Some(Self::Jwks(jwks)) => Some(jwks),
            _ => None,
        }
    }

    /// The URL, if the keys are fetched.
    pub fn jwks_uri(keys: Option<&Self>) -> Option<&str> {
        match keys {
            Some(Self::Uri(uri)) => Some(uri),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub created_at: i64,
    /// Members must sign in with a second factor: those without one are sent to set one up
    /// right after signing in (SPEC §11).
    pub require_mfa: bool,
    /// Members sign in through the organization's identity provider: password sign-in is off
    /// for them, owners excepted (their break-glass password; SPEC §15).
    pub require_sso: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    /// The person this membership is of (who signs in, with what credentials).
    pub person_id: PersonId,
    pub email: String,
    pub role: Role,
    /// A service user has no password and cannot log in; it exists to be a client's run-as user.
    pub service: bool,
    /// The BlueConic "authorize applications" permission: may be a client's run-as user.
    pub authorize_applications: bool,
    pub disabled: bool,
    pub created_at: i64,
    /// Access tokens of this user issued before this time (Unix seconds) no longer work: set
    /// when the user's role is lowered (SPEC §12), so every token issued under the higher role
    /// ends at once, at introspection and at every guard alike.
    pub tokens_not_before: Option<i64>,
    /// When the user proved they receive mail at `email` (an invitation, a password reset or a
    /// verification link, SPEC §11); `None`: never. ID tokens and userinfo say `email_verified`.
    pub email_verified_at: Option<i64>,
}

impl User {
    pub fn is_active(&self) -> bool {
        !self.disabled
    }
}

/// An entry of an organization's scope catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeDef {
    pub name: String,
    /// Only owners and admins can grant a restricted scope.
    pub restricted: bool,
}

/// A registered client, without its secret material (which only the service layer handles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: ClientId,
    pub org_id: OrgId,
    pub name: String,
    pub owner: UserId,
    /// The user the client acts as for client-credentials tokens (BlueConic "run as user").
    pub run_as: UserId,
    pub grants: BTreeSet<GrantType>,
    /// Registered scopes (an operator or the owner may change them; RFC 7592 updates may not).
    pub scopes: ScopeSet,
    pub redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    /// Empty: every address is allowed.
    pub allowed_ips: Vec<IpNet>,
    /// A public client has no secret and must use PKCE.
    pub public: bool,
    /// Whether the code flow needs PKCE; never [`Pkce::Optional`] for a public client.
    pub pkce: Pkce,
    /// `None` exactly when `public`.
    pub auth_method: TokenEndpointAuthMethod,
    /// The public keys of a `private_key_jwt` client; `None` for every other method.
    pub keys: Option<ClientKeys>,
    pub access_token_ttl: Option<u32>,
    pub requires_org_approval: bool,
    /// RFC 9126 §6: this client's authorization requests must be pushed (`/oauth2/par`).
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.2 `dpop_bound_access_tokens`: every token request of this client must carry
    /// a DPoP proof, so all its access tokens are bound.
    pub dpop_bound_access_tokens: bool,
    /// RFC 8707: the resources (absolute URIs) the client may ask tokens for; empty: none, so
    /// its tokens carry the default audience only.
    pub resources: Vec<String>,
    pub status: ClientStatus,
    pub created_at: i64,
    /// Access tokens of this client issued before this time (Unix seconds) no longer work: set
    /// when its registration loses a scope or changes its run-as user; fed to every guard.
    pub tokens_not_before: Option<i64>,
}

impl Client {
    pub fn has_grant(&self, grant: GrantType) -> bool {
        self.grants.contains(&grant)
    }
}
