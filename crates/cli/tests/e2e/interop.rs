//! Interoperability with client libraries nobody here wrote: the `oauth2` crate gets a token,
//! and the `openidconnect` crate's own JOSE code verifies it against the published JWKS only;
//! the `openidconnect` crate also runs a whole code flow with PKCE as a relying party would.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, Scope, TokenUrl};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreProviderMetadata};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, CsrfToken, IssuerUrl, JsonWebKey as _, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge,
    RedirectUrl, TokenResponse as _,
};

use crate::agent::*;
use crate::common::*;

#[tokio::test]
async fn oauth2_crate_gets_a_token_that_openidconnect_verifies_with_the_jwks() {
    let (server, fixture) = start();
    let client = BasicClient::new(ClientId::new(fixture.client_id.clone()))
        .set_client_secret(ClientSecret::new(fixture.client_secret.clone()))
        .set_token_uri(TokenUrl::new(server.url("/oauth2/token")).unwrap());
    let http_client = http();
    let response = client
        .exchange_client_credentials()
        .add_scope(Scope::new("read".into()))
        .request_async(&http_client)
        .await
        .expect("token via the oauth2 crate");
    assert_eq!(response.scopes().map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()), Some(vec!["read".to_owned()]));
    let token = response.access_token().secret().clone();

    let jwks: CoreJsonWebKeySet = http_client.get(server.url("/oauth2/jwks")).send().await.unwrap().json().await.unwrap();
    let (header, claims) = jwt_parts(&token);
    let kid = header["kid"].as_str().unwrap();
    let key = jwks.keys().iter().find(|k| k.key_id().map(|id| id.as_str()) == Some(kid)).expect("kid in the JWKS");
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    key.verify_signature(&CoreJwsSigningAlgorithm::EcdsaP256Sha256, signing_input.as_bytes(), &signature).expect("signature verifies");
    let mut forged = signing_input.to_owned();
    forged.push('x');
    assert!(key.verify_signature(&CoreJwsSigningAlgorithm::EcdsaP256Sha256, forged.as_bytes(), &signature).is_err());
    assert_eq!(claims["client_id"], fixture.client_id.as_str());
}

#[tokio::test]
async fn openidconnect_crate_runs_the_code_flow_with_pkce_and_validates_the_id_token() {
    let (server, fixture) = start();
    let http_client = http();

    // Discovery: the crate checks that the document's issuer is the one it asked for.
    let issuer = server.url("").trim_end_matches('/').to_owned();
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone()).unwrap(), &http_client)
        .await
        .expect("discovery via the openidconnect crate");
    assert_eq!(metadata.issuer().as_str(), issuer);
    assert!(!metadata.jwks().keys().is_empty(), "the crate fetched the JWKS");

    let (_, rp) = add_client(
        &server,
        &fixture,
        "oidc-rp",
        &["--grant", "authorization_code", "--grant", "refresh_token", "--redirect-uri", "http://127.0.0.1/cb", "--scope", "read"],
    );
    let client = CoreClient::from_provider_metadata(
        metadata,
        openidconnect::ClientId::new(rp.client_id.clone()),
        Some(openidconnect::ClientSecret::new(rp.client_secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new("http://127.0.0.1/cb".to_owned()).unwrap());

    // The authorization request, built by the crate (it adds `openid` itself).
    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(openidconnect::Scope::new("email".into()))
        .set_pkce_challenge(pkce_challenge)
        .url();
    assert!(auth_url.as_str().starts_with(&server.url("/oauth2/authorize")), "{auth_url}");
    let query = auth_url.query().expect("authorize query");

    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let location = agent.authorize(query, "allow").await;
    assert!(location.starts_with("http://127.0.0.1/cb?"), "{location}");
    let params = response_params(&location);
    assert_eq!(params.get("state").map(String::as_str), Some(csrf.secret().as_str()), "{location}");
    assert_eq!(params.get("iss").map(String::as_str), Some(issuer.as_str()), "{location}");
    let code = params.get("code").unwrap_or_else(|| panic!("no code in {location}")).clone();

    // The code exchange with the PKCE verifier (client_secret_basic, the crate's default).
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint discovered")
        .set_pkce_verifier(pkce_verifier)
        .request_async(&http_client)
        .await
        .expect("code exchange via the openidconnect crate");
    let id_token = tokens.id_token().expect("an ID token for the openid scope");
    let verifier = client.id_token_verifier();
    // Signature against the discovered JWKS, iss, aud, azp, exp, iat and nonce.
    let claims = id_token.claims(&verifier, &nonce).expect("ID token validates");
    assert_eq!(claims.issuer().as_str(), issuer);
    assert_eq!(claims.subject().as_str(), fixture.owner_id);
    assert_eq!(claims.audiences().iter().map(|a| a.as_str()).collect::<Vec<_>>(), [rp.client_id.as_str()]);
    assert_eq!(claims.email().map(|e| e.as_str()), Some(fixture.owner_email.as_str()));
    let alg = id_token.signing_alg().expect("signed ID token");
    assert_eq!(*alg, CoreJwsSigningAlgorithm::EcdsaP256Sha256);
    let key = id_token.signing_key(&verifier).expect("the ID token's key is in the JWKS");
    let at_hash = AccessTokenHash::from_token(tokens.access_token(), alg, key).expect("at_hash computable");
    assert_eq!(claims.access_token_hash(), Some(&at_hash), "at_hash matches the access token");
    // A wrong nonce is refused by the crate.
    assert!(id_token.claims(&verifier, &Nonce::new("another nonce".into())).is_err());

    // Userinfo, through the endpoint found in discovery; the crate checks the subject.
    let info: openidconnect::core::CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
        .expect("userinfo endpoint discovered")
        .request_async(&http_client)
        .await
        .expect("userinfo via the openidconnect crate");
    assert_eq!(info.subject(), claims.subject());
    assert_eq!(info.email().map(|e| e.as_str()), Some(fixture.owner_email.as_str()));

    // One refresh: the refresh token rotates.
    let first = tokens.refresh_token().expect("a refresh token for the refresh_token grant");
    let refreshed = client
        .exchange_refresh_token(first)
        .expect("token endpoint discovered")
        .request_async(&http_client)
        .await
        .expect("refresh via the openidconnect crate");
    let second = refreshed.refresh_token().expect("a rotated refresh token");
    assert_ne!(second.secret(), first.secret(), "rotated");
    assert_ne!(refreshed.access_token().secret(), tokens.access_token().secret());
}

/// private_key_jwt with Python's authlib: its `PrivateKeyJWT` client authentication signs the
/// assertions (its own claims, `jti` and lifetime), and joserfc verifies the token it gets
/// against the published JWKS (`authlib_private_key_jwt.py`; `scripts/test` installs both, pinned).
#[tokio::test]
async fn authlib_private_key_jwt_gets_a_token_that_verifies_with_the_jwks() {
    use base64::engine::general_purpose::STANDARD;
    let (server, fixture) = start();
    let (key, pkcs8) = tessera_jose::SigningKey::generate(tessera_jose::Algorithm::ES256).unwrap();
    let client = crate::private_key_jwt::register_inline(&server, &fixture, &key);
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", STANDARD.encode(&pkcs8.0));
    let key_file = std::env::temp_dir().join(format!("tessera-authlib-{}-{client}.pem", std::process::id()));
    std::fs::write(&key_file, pem).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/authlib_private_key_jwt.py");
    let issuer = server.url("");
    let output = tokio::process::Command::new("python3")
        .args([script, &issuer, &client, key_file.to_str().unwrap(), key.kid()])
        .output()
        .await
        .expect("python3 runs (the CI installs authlib)");
    std::fs::remove_file(&key_file).unwrap();
    assert!(output.status.success(), "authlib: {}", String::from_utf8_lossy(&output.stderr));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["claims"]["client_id"], client.as_str(), "{result}");
    assert_eq!(result["claims"]["iss"], issuer.as_str());
    assert_eq!(result["claims"]["scope"], "read");
    assert_eq!(result["token"]["token_type"], "Bearer");
    assert_eq!(result["second_differs"], true, "a second assertion (fresh jti) gets a second token");
    assert!(is_active(&server, &fixture, result["token"]["access_token"].as_str().unwrap()).await);
}
