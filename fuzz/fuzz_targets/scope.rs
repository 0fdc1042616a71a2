//! Scope strings (RFC 6749 §3.3) and the grant rule: requested ∩ registered ∩ what the role allows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::model::{Role, ScopeDef};
use tessera_core::scope::{self, ScopeSet};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(requested) = ScopeSet::parse(text) else { return };
    for name in requested.iter() {
        assert!(scope::is_scope_token(name), "{name:?} is not a scope token (Q03)");
    }
    let registered = ScopeSet::parse("openid read write admin").unwrap_or_default();
    let catalogue = vec![ScopeDef { name: "admin".into(), restricted: true }, ScopeDef { name: "read".into(), restricted: false }];
    for role in [Role::Owner, Role::Admin, Role::Member] {
        if let Ok(granted) = scope::grant(Some(&requested), &registered, role, &catalogue) {
            assert!(granted.is_subset(&registered) && granted.is_subset(&requested), "granted more than asked or registered");
            if role == Role::Member {
                assert!(!granted.contains("admin"), "a member was granted a restricted scope (Q04)");
            }
        }
    }
});
