//! Interoperability with client libraries nobody here wrote: the `oauth2` crate gets a token,
//! and the `openidconnect` crate's own JOSE code verifies it against the published JWKS only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, Scope, TokenResponse as _, TokenUrl};
use openidconnect::JsonWebKey as _;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};

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
