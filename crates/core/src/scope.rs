//! Scopes: parsing (RFC 6749 §3.3) and the grant rule of SPEC §4:
//! granted = requested (or all registered) ∩ registered ∩ what the acting user's role allows.

use std::collections::BTreeSet;
use std::fmt;

use crate::OAuthError;
use crate::model::{Role, ScopeDef};

/// Scopes every organization has without creating them.
pub const BUILT_IN: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The admin API's scope for managing the caller's own clients (and, for owners and admins,
/// every client of the organization, as `access` allows); every role may hold it.
pub const ADMIN_CLIENTS: &str = "tessera:clients";

/// The admin API's scope for running the organization: members, the scope catalogue,
/// approvals, the audit log. Only owners and admins may hold it (Q07 role rule); it includes
/// [`ADMIN_CLIENTS`].
pub const ADMIN_ORG: &str = "tessera:admin";

/// The admin API's scopes, built into every organization like [`BUILT_IN`], but granted only
/// to clients that registered them (they are not open to every client of the browser flows).
pub const ADMIN_API: [&str; 2] = [ADMIN_CLIENTS, ADMIN_ORG];

/// Whether `name` is built in: an OpenID scope or an admin-API scope. Creating one is a
/// no-op, and registering one needs no catalogue entry.
pub fn is_built_in(name: &str) -> bool {
    BUILT_IN.contains(&name) || ADMIN_API.contains(&name)
}

/// Whether every client of the browser flows may ask for `name` without registering it: the
/// OpenID scopes only.
pub fn is_open_to_every_client(name: &str) -> bool {
    BUILT_IN.contains(&name)
}

/// The part of `scopes` a client registered for `registered` may be granted in a flow a user
/// authorizes (code, device, exchange, refresh): its registered scopes and those open to every
/// client. Checked against the registration as it is now, so a scope removed from a client is
/// no longer granted, not even on refresh.
pub fn registered_part(scopes: &ScopeSet, registered: &ScopeSet) -> ScopeSet {
    ScopeSet(scopes.0.iter().filter(|s| registered.contains(s) || is_open_to_every_client(s)).cloned().collect())
}

/// Whether a token with `granted` may use an admin-API resource that needs `needed`:
/// [`ADMIN_ORG`] includes [`ADMIN_CLIENTS`].
pub fn admin_api_allows(granted: &ScopeSet, needed: &str) -> bool {
    granted.contains(needed) || (needed == ADMIN_CLIENTS && granted.contains(ADMIN_ORG))
}

/// A set of scope tokens: order and repetition in the request do not matter (Q08).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(BTreeSet<String>);

impl ScopeSet {
    /// Parses a space-separated scope string. Every token must be made of the characters
    /// RFC 6749 §3.3 allows (`%x21 / %x23-5B / %x5D-7E`): no quote, backslash or control
    /// character (Q03).
    pub fn parse(value: &str) -> Result<Self, OAuthError> {
        let mut set = BTreeSet::new();
        for token in value.split(' ') {
            if token.is_empty() {
                continue;
            }
            if !is_scope_token(token) {
                return Err(OAuthError::invalid_scope("scope contains characters that are not allowed"));
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    pub fn from_names<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Self {
        Self(names.into_iter().map(Into::into).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for name in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(name)?;
            first = false;
        }
        Ok(())
    }
}

/// A scope name as RFC 6749 §3.3 defines a scope-token, with a length bound.
pub fn is_scope_token(token: &str) -> bool {
    !token.is_empty() && token.len() <= 128 && token.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Whether `role` may hold `name` given the organization's catalogue. Built-in scopes are
/// unrestricted, except [`ADMIN_ORG`], which is restricted; a name missing from the catalogue
/// is granted to nobody.
pub fn role_allows(role: Role, name: &str, catalogue: &[ScopeDef]) -> bool {
    if name == ADMIN_ORG {
        return role.may_grant_restricted();
    }
    if is_built_in(name) {
        return true;
    }
    match catalogue.iter().find(|s| s.name == name) {
        Some(def) => !def.restricted || role.may_grant_restricted(),
        None => false,
    }
}

/// Who a token's scopes are for (SPEC §12): the role of the user the token acts for, and the
/// role of the client's owner when the client is first-party to that user (same organization,
/// owner enabled), else `None`. Made by `access::token_holder`, the one place that decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    pub role: Role,
    pub first_party_owner: Option<Role>,
}

impl Holder {
    /// A holder to whom Tessera's own scopes are never granted (a third-party client's token).
    pub fn third_party(role: Role) -> Self {
        Holder { role, first_party_owner: None }
    }
}

/// Whether a token for `holder` may carry `name`. Tessera's own scopes are first-party only:
/// [`ADMIN_CLIENTS`] when the client belongs to the user's organization, [`ADMIN_ORG`] when,
/// besides, both the user and the client's owner may hold restricted scopes. Every other scope
/// follows [`role_allows`].
pub fn holder_allows(holder: Holder, name: &str, catalogue: &[ScopeDef]) -> bool {
    match name {
        ADMIN_ORG => holder.first_party_owner.is_some_and(Role::may_grant_restricted) && holder.role.may_grant_restricted(),
        ADMIN_CLIENTS => holder.first_party_owner.is_some(),
        _ => role_allows(holder.role, name, catalogue),
    }
}

/// The grant rule. `requested` is `None` when the request named no scope.
pub fn grant(requested: Option<&ScopeSet>, registered: &ScopeSet, holder: Holder, catalogue: &[ScopeDef]) -> Result<ScopeSet, OAuthError> {
    let base = requested.unwrap_or(registered);
    let granted: BTreeSet<String> =
        base.0.iter().filter(|name| registered.contains(name) && holder_allows(holder, name, catalogue)).cloned().collect();
    if granted.is_empty() {
        return Err(OAuthError::invalid_scope("none of the requested scopes can be granted to this client"));
    }
    Ok(ScopeSet(granted))
}

/// The part of `scopes` that `holder` may hold (Q07: a demoted user's grants narrow; SPEC §12:
/// another organization's client never gets Tessera's own scopes); `invalid_scope` when
/// nothing is left.
pub fn allowed_for(scopes: &ScopeSet, holder: Holder, catalogue: &[ScopeDef]) -> Result<ScopeSet, OAuthError> {
    let allowed: BTreeSet<String> = scopes.0.iter().filter(|name| holder_allows(holder, name, catalogue)).cloned().collect();
    if allowed.is_empty() {
        return Err(OAuthError::invalid_scope("none of these scopes is allowed for this user"));
    }
    Ok(ScopeSet(allowed))
}

/// The scope of a first-party session (the session API): everything the user may do
/// themselves, i.e. every catalogue scope their role allows, plus `openid`, `profile` and
/// `email` for the ID token.
pub fn first_party_session(role: Role, catalogue: &[ScopeDef]) -> ScopeSet {
    let own = catalogue.iter().filter(|def| role_allows(role, &def.name, catalogue)).map(|def| def.name.clone());
    ScopeSet(own.chain(["openid", "profile", "email"].map(str::to_owned)).collect())
}

/// Whether every scope of an issued token is still allowed for its holder as they are now (Q07).
pub fn still_allowed(scopes: &ScopeSet, holder: Holder, catalogue: &[ScopeDef]) -> bool {
    scopes.iter().all(|name| holder_allows(holder, name, catalogue))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Vec<ScopeDef> {
        vec![
            ScopeDef { name: "read".into(), restricted: false },
            ScopeDef { name: "write".into(), restricted: false },
            ScopeDef { name: "admin".into(), restricted: true },
        ]
    }

    fn check(requested: Option<&str>, registered: &str, role: Role, expected: Result<&str, ()>) {
        let requested = requested.map(|r| ScopeSet::parse(r).unwrap());
        let registered = ScopeSet::parse(registered).unwrap();
        let holder = Holder { role, first_party_owner: Some(Role::Owner) };
        let actual = grant(requested.as_ref(), &registered, holder, &catalogue()).map(|s| s.to_string()).map_err(|_| ());
        assert_eq!(actual, expected.map(str::to_owned), "requested {requested:?} registered {registered:?} as {role:?}");
    }

    #[test]
    fn grant_rule() {
        check(None, "read write admin", Role::Owner, Ok("admin read write"));
        check(None, "read write admin", Role::Admin, Ok("admin read write"));
        check(None, "read write admin", Role::Member, Ok("read write"));
        check(Some("read"), "read write", Role::Member, Ok("read"));
        check(Some("read nope"), "read write", Role::Member, Ok("read"));
        check(Some("nope"), "read write", Role::Owner, Err(()));
        check(Some("admin"), "read admin", Role::Member, Err(()));
        check(Some("write read write"), "read write", Role::Owner, Ok("read write"));
        check(None, "", Role::Owner, Err(()));
        check(Some("ghost"), "ghost", Role::Owner, Err(()));
        check(Some("openid"), "openid read", Role::Member, Ok("openid"));
    }

    #[test]
    fn admin_api_scopes_follow_the_role_rule() {
        check(None, "read tessera:admin tessera:clients", Role::Owner, Ok("read tessera:admin tessera:clients"));
        check(None, "read tessera:admin tessera:clients", Role::Admin, Ok("read tessera:admin tessera:clients"));
        check(None, "read tessera:admin tessera:clients", Role::Member, Ok("read tessera:clients"));
        check(Some("tessera:admin"), "tessera:admin", Role::Member, Err(()));
        assert!(is_built_in("tessera:admin") && !is_open_to_every_client("tessera:admin"));
        let token = |s: &str| ScopeSet::parse(s).unwrap();
        assert!(admin_api_allows(&token("tessera:admin"), ADMIN_CLIENTS));
        assert!(admin_api_allows(&token("tessera:clients"), ADMIN_CLIENTS));
        assert!(!admin_api_allows(&token("tessera:clients"), ADMIN_ORG));
        assert!(!admin_api_allows(&token("read"), ADMIN_CLIENTS));
    }

    #[test]
    fn scope_tokens_follow_rfc6749() {
        assert!(ScopeSet::parse("a b:c d/e").is_ok());
        for bad in ["a\"b", "a\\b", "a\tb", "a\u{7f}", "é"] {
            assert!(ScopeSet::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(ScopeSet::parse("b  a b").unwrap().to_string(), "a b");
    }

    #[test]
    fn a_first_party_session_holds_what_the_role_allows() {
        assert_eq!(first_party_session(Role::Owner, &catalogue()).to_string(), "admin email openid profile read write");
        assert_eq!(first_party_session(Role::Member, &catalogue()).to_string(), "email openid profile read write");
        assert_eq!(first_party_session(Role::Member, &[]).to_string(), "email openid profile");
    }

    #[test]
    fn demoted_user_loses_restricted_scopes() {
        let scopes = ScopeSet::parse("read admin").unwrap();
        assert!(still_allowed(&scopes, Holder::third_party(Role::Owner), &catalogue()));
        assert!(!still_allowed(&scopes, Holder::third_party(Role::Member), &catalogue()));
    }

    #[test]
    fn tessera_scopes_are_first_party_only() {
        // (holder, scope, allowed)
        let cases = [
            (Holder { role: Role::Owner, first_party_owner: Some(Role::Owner) }, ADMIN_ORG, true),
            (Holder { role: Role::Admin, first_party_owner: Some(Role::Member) }, ADMIN_ORG, false),
            (Holder { role: Role::Admin, first_party_owner: Some(Role::Member) }, ADMIN_CLIENTS, true),
            (Holder { role: Role::Member, first_party_owner: Some(Role::Owner) }, ADMIN_ORG, false),
            (Holder { role: Role::Member, first_party_owner: Some(Role::Owner) }, ADMIN_CLIENTS, true),
            (Holder::third_party(Role::Owner), ADMIN_ORG, false),
            (Holder::third_party(Role::Owner), ADMIN_CLIENTS, false),
            (Holder::third_party(Role::Owner), "admin", true),
            (Holder::third_party(Role::Member), "read", true),
        ];
        for (holder, name, allowed) in cases {
            assert_eq!(holder_allows(holder, name, &catalogue()), allowed, "{holder:?} {name}");
        }
        let requested = ScopeSet::parse("openid tessera:admin tessera:clients").unwrap();
        assert_eq!(allowed_for(&requested, Holder::third_party(Role::Owner), &catalogue()).unwrap().to_string(), "openid");
        let only_admin = ScopeSet::parse("tessera:admin").unwrap();
        assert!(allowed_for(&only_admin, Holder::third_party(Role::Owner), &catalogue()).is_err());
    }
}
