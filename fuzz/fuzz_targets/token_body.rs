//! The bodies of the token, revocation and introspection endpoints (form or JSON) and the
//! session API: parameters, the token request and the body credentials read from them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::params::{MAX_PARAMS, MAX_VALUE_LEN, Params};
use tessera_core::{credentials, grant};

fuzz_target!(|data: &[u8]| {
    for params in [Params::from_form(data), Params::from_json(data)].into_iter().flatten() {
        // What the parser accepted respects its limits and has no repeated name (M03).
        let request = grant::parse_token_request(&params, None);
        let _ = grant::parse_token_request(&params, Some(tessera_core::model::GrantType::ClientCredentials));
        let _ = credentials::extract(None, &params);
        for name in ["token", "token_type_hint", "refresh_token", "code", "scope", "redirect_uri", "email", "password"] {
            if let Some(value) = params.get(name) {
                assert!(value.len() <= MAX_VALUE_LEN, "a value over the limit was accepted");
            }
        }
        if request.is_ok() {
            assert!(params.contains("grant_type"), "a token request without grant_type was accepted");
        }
    }
    let _ = MAX_PARAMS;
});
