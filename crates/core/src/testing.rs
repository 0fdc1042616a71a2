//! Fixtures for the unit tests of this crate: a healthy client and user to change one field of.

use crate::model::{Client, ClientId, ClientStatus, GrantType, OrgId, PersonId, Pkce, Role, TokenEndpointAuthMethod, User, UserId};
use crate::scope::ScopeSet;
use crate::token::TokenPolicy;

/// A confidential client `app` of org `o`, owned and run as user `u`, ON, with `grants` and
/// `scopes`, registered for `https://app.example/cb`.
pub fn client(grants: &[GrantType], scopes: &str) -> Client {
    Client {
        id: ClientId::new("app"),
        org_id: OrgId::new("o"),
        name: "App".into(),
        owner: UserId::new("u"),
        run_as: UserId::new("u"),
        grants: grants.iter().copied().collect(),
        scopes: ScopeSet::parse(scopes).unwrap_or_default(),
        redirect_uris: vec!["https://app.example/cb".into()],
        allowed_origins: vec![],
        allowed_ips: vec![],
        public: false,
        pkce: Pkce::Required,
        auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
        keys: None,
        access_token_ttl: None,
        requires_org_approval: false,
        require_pushed_authorization_requests: false,
        dpop_bound_access_tokens: false,
        resources: vec![],
        status: ClientStatus::On,
        created_at: 0,
        tokens_not_before: None,
    }
}

/// An enabled user `id` of org `o` with `role`.
pub fn user(id: &str, role: Role) -> User {
    User {
        id: UserId::new(id),
        org_id: OrgId::new("o"),
        person_id: PersonId::new(id),
        email: format!("{id}@x.test"),
        role,
        service: false,
        authorize_applications: false,
        disabled: false,
        created_at: 0,
        tokens_not_before: None,
        email_verified_at: None,
    }
}

/// A token policy with issuer `https://id.example` and audience `https://api.example`.
pub fn policy() -> TokenPolicy {
    TokenPolicy {
        issuer: "https://id.example".into(),
        audience: "https://api.example".into(),
        access_token_ttl: 3600,
        max_access_token_ttl: 86_400,
        leeway: 60,
    }
}
