//! Scope strings (RFC 6749 §3.3) and the grant rule: requested ∩ registered ∩ what the holder may
//! hold (the role; Tessera's own scopes for first-party clients only).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::model::{Role, ScopeDef};
use tessera_core::scope::{self, Holder, ScopeSet};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(requested) = ScopeSet::parse(text) else { return };
    for name in requested.iter() {
        assert!(scope::is_scope_token(name), "{name:?} is not a scope token (Q03)");
    }
    let registered = ScopeSet::parse("openid read write admin tessera:admin tessera:clients").unwrap_or_default();
    let catalogue = vec![ScopeDef { name: "admin".into(), restricted: true }, ScopeDef { name: "read".into(), restricted: false }];
    let holders = [Role::Owner, Role::Admin, Role::Member]
        .into_iter()
        .flat_map(|role| [Holder { role, first_party_owner: Some(Role::Owner) }, Holder::third_party(role)]);
    for holder in holders {
        if let Ok(granted) = scope::grant(Some(&requested), &registered, holder, &catalogue) {
            assert!(granted.is_subset(&registered) && granted.is_subset(&requested), "granted more than asked or registered");
            if holder.role == Role::Member {
                assert!(!granted.contains("admin") && !granted.contains("tessera:admin"), "a member was granted a restricted scope (Q04)");
            }
            if holder.first_party_owner.is_none() {
                assert!(!granted.iter().any(|name| name.starts_with("tessera:")), "a third-party token got an admin scope (SPEC §12)");
            }
        }
    }
});
