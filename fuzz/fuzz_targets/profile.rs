//! Profile files (SPEC §7): TOML parsed and validated at start. A bad file must be an error,
//! never a panic, and a valid one must give aliases the router accepts: axum panics at start on
//! a malformed path or one that clashes with another route.
#![no_main]

use axum::Router;
use axum::routing::get;
use libfuzzer_sys::fuzz_target;
use tessera_profile::Profile;

/// Canonical paths of `tessera_server::build_app` that an alias could collide with (the server is
/// not a dependency here: `tessera-profile` parses profiles on its own).
const CANONICAL: &[&str] = &[
    "/.well-known/openid-configuration",
    "/oauth2/jwks",
    "/oauth2/token",
    "/oauth2/revoke",
    "/oauth2/introspect",
    "/oauth2/authorize",
    "/oauth2/userinfo",
    "/login",
    "/logout",
    "/setup/{token}",
    "/sessions",
    "/healthz",
    "/",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(profile) = Profile::parse(text) else { return };
    let _ = profile.default_grant_type();
    let _ = profile.default_response_type();
    let _ = profile.token_response_endpoints("https://id.example", "https://id.example");
    let _ = profile.unapproved_status();
    let mut router: Router = CANONICAL.iter().fold(Router::new(), |router, path| router.route(path, get(|| async {})));
    for (_, path) in profile.aliases() {
        assert!(path.starts_with('/'), "alias {path:?}");
        router = router.route(&path, get(|| async {}));
    }
    drop(router);
});
