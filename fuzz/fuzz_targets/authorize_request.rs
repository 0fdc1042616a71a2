//! Redirect URIs and authorization requests: registration rules for a redirect URI (R06), the
//! authorization request's parameters against a registered client (exact matching, R01–R05;
//! PKCE, P01–P05, P10), and the response URL built from what the request sent (state, S01).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::authorize::{self, AuthorizeError, ResponseMode};
use tessera_core::client::validate_redirect_uri;
use tessera_core::authorize::ResponseType;
use tessera_core::model::{Client, ClientId, ClientStatus, GrantType, OrgId, Pkce, TokenEndpointAuthMethod, UserId};
use tessera_core::params::Params;
use tessera_core::scope::ScopeSet;

fn client(redirect_uri: &str, public: bool, pkce: Pkce) -> Client {
    Client {
        id: ClientId::new("app"),
        org_id: OrgId::new("o"),
        name: "App".into(),
        owner: UserId::new("u"),
        run_as: UserId::new("u"),
        grants: [GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::Implicit].into_iter().collect(),
        scopes: ScopeSet::parse("openid read write").unwrap_or_default(),
        redirect_uris: vec!["https://app.example/cb".into(), redirect_uri.into()],
        allowed_origins: vec![],
        allowed_ips: vec![],
        public,
        pkce,
        auth_method: if public { TokenEndpointAuthMethod::None } else { TokenEndpointAuthMethod::ClientSecretBasic },
        keys: None,
        access_token_ttl: None,
        requires_org_approval: false,
        require_pushed_authorization_requests: false,
        dpop_bound_access_tokens: false,
        resources: vec!["https://api.example/v1".into(), "urn:example:api".into()],
        status: ClientStatus::On,
        created_at: 0,
        tokens_not_before: None,
    }
}

fuzz_target!(|data: &[u8]| {
    // Input: a redirect URI to register, a 0 byte, then the authorize query string.
    let (uri, query) = match data.iter().position(|b| *b == 0) {
        Some(split) => (&data[..split], &data[split + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(uri) = std::str::from_utf8(uri) else { return };
    let registrable = validate_redirect_uri(uri).is_ok();
    if registrable {
        assert!(!uri.contains('#'), "a redirect URI with a fragment was accepted (R06)");
        let scheme = uri.split(':').next().unwrap_or_default().to_ascii_lowercase();
        // https, http on loopback only, or a native app's reverse-domain private-use scheme.
        assert!(scheme == "https" || scheme == "http" || scheme.contains('.'), "{uri}");
        if scheme == "http" {
            let host = uri[7..].split(['/', '?', ':']).next().unwrap_or_default();
            assert!(matches!(host, "127.0.0.1" | "localhost" | "[") , "http to {host:?} accepted: {uri}");
        }
    }
    let Ok(params) = Params::from_form(query) else { return };
    for (public, pkce) in [(false, Pkce::Optional), (false, Pkce::Required), (true, Pkce::Required)] {
        let client = client(uri, public, pkce);
        match authorize::validate(&params, Some(&client), None) {
            Ok(request) => {
                // PKCE required (public, or registered so): no code without a challenge (P01, P10).
                if pkce == Pkce::Required && request.response_type == ResponseType::Code {
                    assert!(request.code_challenge.is_some(), "a code flow without PKCE passed: {request:?}");
                }
                // Exact string match only: the URI used is one that is registered, byte for byte.
                assert!(client.redirect_uris.iter().any(|r| *r == request.redirect_uri), "{request:?}");
                let url = authorize::answer_url(&request.redirect_uri, ResponseMode::Query, &[("code", "c")], request.state.as_deref(), "https://id.example");
                assert!(url.starts_with(request.redirect_uri.as_str()));
            }
            Err(AuthorizeError::Redirect { redirect_uri, mode, error, state }) => {
                assert!(client.redirect_uris.iter().any(|r| *r == redirect_uri), "an error redirected to an unregistered URI");
                let url = authorize::error_url(&redirect_uri, mode, &error, state.as_deref(), "https://id.example");
                assert!(url.starts_with(redirect_uri.as_str()));
            }
            Err(AuthorizeError::Page(_)) => {}
        }
        let _ = authorize::validate(&params, None, None);
    }
});
