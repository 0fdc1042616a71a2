//! Profiles (SPEC §7) as the server applies them. A profile file is parsed and validated by
//! `tessera-profile` (a crate of its own, so the parser of these operator-written files is fuzzed
//! without building the server); here, what a profile sets: the paths discovery publishes, the
//! lowest configuration layer, the token-response members and one status.

use serde_json::{Map, Value};
pub use tessera_profile::*;
use tessera_service::{EndpointPaths, TokenResponseShape};

use crate::config::{ConfigLayer, GlobalLayer, ServeLayer};

/// What a profile sets in the server's configuration.
pub trait ProfileSettings {
    /// What discovery publishes: each endpoint's first alias, else its canonical path.
    fn endpoint_paths(&self) -> EndpointPaths;
    /// The lifetimes and switches, as the lowest configuration layer above the defaults.
    fn config_layer(&self) -> ConfigLayer;
    /// The token-response members, with `{issuer}` and `{audience}` filled in.
    fn token_response(&self, issuer: &str, audience: &str) -> TokenResponseShape;
    /// The token endpoint's status for a client lacking an organization's approval.
    fn unapproved_status_code(&self) -> axum::http::StatusCode;
}

impl ProfileSettings for Profile {
    fn endpoint_paths(&self) -> EndpointPaths {
        let canonical = EndpointPaths::default();
        let first = |endpoint: Endpoint, canonical: String| self.first_alias(endpoint).map_or(canonical, str::to_owned);
        EndpointPaths {
            authorize: first(Endpoint::Authorize, canonical.authorize),
            token: first(Endpoint::Token, canonical.token),
            revoke: first(Endpoint::Revoke, canonical.revoke),
            introspect: first(Endpoint::Introspect, canonical.introspect),
            userinfo: first(Endpoint::Userinfo, canonical.userinfo),
            jwks: first(Endpoint::Jwks, canonical.jwks),
            logout: first(Endpoint::Logout, canonical.logout),
            par: canonical.par,
            device_authorization: canonical.device_authorization,
        }
    }

    fn config_layer(&self) -> ConfigLayer {
        ConfigLayer {
            global: GlobalLayer::default(),
            serve: ServeLayer {
                access_token_ttl: self.lifetimes.access_token,
                max_access_token_ttl: self.lifetimes.max_access_token,
                refresh_token_ttl: self.lifetimes.refresh_token,
                session_api: self.session_api,
                ..ServeLayer::default()
            },
        }
    }

    fn token_response(&self, issuer: &str, audience: &str) -> TokenResponseShape {
        let endpoints: Option<Map<String, Value>> = self.token_response_endpoints(issuer, audience);
        TokenResponseShape { expires_at: self.token_response.expires_at, tenant_id: self.token_response.tenant_id, endpoints }
    }

    fn unapproved_status_code(&self) -> axum::http::StatusCode {
        axum::http::StatusCode::from_u16(self.unapproved_status()).unwrap_or(axum::http::StatusCode::BAD_REQUEST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_publishes_the_first_alias_and_the_canonical_paths_else() {
        let profile = Profile::parse("name = \"x\"\n[paths]\ntoken = [\"/a/token\", \"/b/token\"]\n").unwrap();
        let paths = profile.endpoint_paths();
        assert_eq!((paths.token.as_str(), paths.revoke.as_str()), ("/a/token", "/oauth2/revoke"));
        assert_eq!(Profile::load("bluescape").unwrap().unapproved_status_code(), axum::http::StatusCode::METHOD_NOT_ALLOWED);
    }
}
