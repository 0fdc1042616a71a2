//! Discovery: the server's metadata (RFC 8414, OpenID Connect Discovery) and its JWKS.

use std::sync::Arc;

use tessera_proto::ServerMetadata;

use crate::keys::KeySet;
use crate::{Result, Tessera};

impl Tessera {
    pub(crate) fn keyset(&self) -> Arc<KeySet> {
        self.cache.keys()
    }

    /// The JWKS document (pre-serialised).
    pub async fn jwks(&self) -> Result<Arc<str>> {
        self.sync().await?;
        Ok(self.keyset().jwks_json.clone())
    }

    /// The discovery document (RFC 8414 / OIDC Discovery).
    pub fn metadata(&self) -> ServerMetadata {
        let issuer = self.issuer().to_owned();
        let at = |path: &str| format!("{issuer}{path}");
        let paths = &self.settings.endpoint_paths;
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let auth_methods = strings(&["client_secret_basic", "client_secret_post", "private_key_jwt"]);
        let assertion_algs = strings(&tessera_jose::assertion::ASSERTION_ALGORITHMS);
        ServerMetadata {
            authorization_endpoint: Some(at(&paths.authorize)),
            userinfo_endpoint: Some(at(&paths.userinfo)),
            end_session_endpoint: Some(at(&paths.logout)),
            token_endpoint: at(&paths.token),
            jwks_uri: at(&paths.jwks),
            revocation_endpoint: at(&paths.revoke),
            introspection_endpoint: at(&paths.introspect),
            grant_types_supported: strings(&[
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "implicit",
                tessera_core::device::GRANT_TYPE,
                tessera_core::exchange::GRANT_TYPE,
            ]),
            device_authorization_endpoint: Some(at(&paths.device_authorization)),
            response_types_supported: strings(&["code", "token", "id_token token"]),
            response_modes_supported: strings(&["query", "fragment"]),
            scopes_supported: strings(&tessera_core::scope::BUILT_IN),
            subject_types_supported: strings(&["public"]),
            token_endpoint_auth_methods_supported: strings(&["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]),
            revocation_endpoint_auth_methods_supported: strings(&["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]),
            introspection_endpoint_auth_methods_supported: auth_methods,
            token_endpoint_auth_signing_alg_values_supported: assertion_algs.clone(),
            revocation_endpoint_auth_signing_alg_values_supported: assertion_algs.clone(),
            introspection_endpoint_auth_signing_alg_values_supported: assertion_algs,
            code_challenge_methods_supported: strings(&["S256"]),
            pushed_authorization_request_endpoint: Some(at(&paths.par)),
            registration_endpoint: self.settings.registration_endpoint.then(|| format!("{issuer}/oauth2/register")),
            require_pushed_authorization_requests: self.settings.require_pushed_authorization_requests,
            dpop_signing_alg_values_supported: strings(&tessera_jose::dpop::DPOP_ALGORITHMS),
            id_token_signing_alg_values_supported: strings(&["ES256", "RS256"]),
            access_token_signing_alg_values_supported: vec![self.settings.signing_alg.name().to_owned()],
            claims_supported: strings(&[
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "jti",
                "client_id",
                "scope",
                "org_id",
                "auth_time",
                "amr",
                "acr",
                "nonce",
                "at_hash",
                "azp",
                "email",
                "email_verified",
                "preferred_username",
            ]),
            authorization_response_iss_parameter_supported: true,
            prompt_values_supported: strings(&["none", "login", "consent"]),
            acr_values_supported: strings(&tessera_core::oidc::ACR_VALUES_SUPPORTED),
            issuer,
        }
    }
}
