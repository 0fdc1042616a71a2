//! What the issuer has said must be refused, kept up to date from its revocation feed.

use std::collections::{HashMap, HashSet};

use tessera_proto::{AccessTokenClaims, RevocationFeed};

use crate::check::Reason;

/// Revoked token ids and grants (each until no token of theirs can pass any more), and the
/// clients and users whose tokens stopped working.
#[derive(Debug, Default)]
pub(crate) struct Denylist {
    tokens: HashMap<String, i64>,
    grants: HashMap<String, i64>,
    clients: HashSet<String>,
    users: HashSet<String>,
    /// Users whose tokens issued before the time given are refused (a lowered role).
    users_not_before: HashMap<String, i64>,
    /// Clients whose tokens issued before the time given are refused (a scope or the run-as user
    /// taken from the registration).
    clients_not_before: HashMap<String, i64>,
    /// The feed position this state is complete up to.
    pub(crate) cursor: Option<String>,
}

impl Denylist {
    /// Takes one answer of the feed: a full one replaces everything, a delta is applied.
    pub(crate) fn apply(&mut self, feed: RevocationFeed) {
        if feed.full {
            *self = Denylist::default();
        }
        self.tokens.extend(feed.tokens);
        self.grants.extend(feed.grants);
        for id in feed.clients_on {
            self.clients.remove(&id);
        }
        self.clients.extend(feed.clients_off);
        for id in feed.users_on {
            self.users.remove(&id);
        }
        self.users.extend(feed.users_off);
        for (cutoffs, given) in
            [(&mut self.users_not_before, feed.users_not_before), (&mut self.clients_not_before, feed.clients_not_before)]
        {
            for (id, cutoff) in given {
                let held = cutoffs.entry(id).or_insert(cutoff);
                *held = (*held).max(cutoff);
            }
        }
        self.cursor = Some(feed.cursor);
    }

    /// Forgets revocations of tokens that are refused for their age anyway.
    pub(crate) fn prune(&mut self, now: i64, leeway: i64) {
        self.tokens.retain(|_, until| until.saturating_add(leeway) >= now);
        self.grants.retain(|_, until| until.saturating_add(leeway) >= now);
    }

    /// Why `claims` must be refused, if they must.
    pub(crate) fn refusal(&self, claims: &AccessTokenClaims) -> Option<Reason> {
        if self.tokens.contains_key(&claims.jti) || claims.grant_id.as_ref().is_some_and(|g| self.grants.contains_key(g)) {
            return Some(Reason::Revoked);
        }
        if self.clients.contains(&claims.client_id) {
            return Some(Reason::ClientDisabled);
        }
        if self.users.contains(&claims.sub) {
            return Some(Reason::UserDisabled);
        }
        if self.users_not_before.get(&claims.sub).is_some_and(|cutoff| claims.iat < *cutoff) {
            return Some(Reason::UserChanged);
        }
        if self.clients_not_before.get(&claims.client_id).is_some_and(|cutoff| claims.iat < *cutoff) {
            return Some(Reason::ClientChanged);
        }
        None
    }

    /// Entries held, by kind: tokens, grants, clients, users.
    pub(crate) fn sizes(&self) -> [usize; 4] {
        [
            self.tokens.len(),
            self.grants.len(),
            self.clients.len() + self.clients_not_before.len(),
            self.users.len() + self.users_not_before.len(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(jti: &str, client: &str, sub: &str, grant: Option<&str>) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "i".into(),
            sub: sub.into(),
            aud: "a".into(),
            exp: 100,
            iat: 0,
            nbf: None,
            jti: jti.into(),
            client_id: client.into(),
            scope: String::new(),
            org_id: "o".into(),
            grant_id: grant.map(str::to_owned),
            cnf: None,
            act: None,
        }
    }

    #[test]
    fn deltas_add_and_lift_refusals_and_a_full_answer_replaces_them() {
        let mut list = Denylist::default();
        list.apply(RevocationFeed {
            cursor: "1".into(),
            full: true,
            tokens: vec![("j1".into(), 100)],
            grants: vec![("g1".into(), 200)],
            clients_off: vec!["c1".into()],
            users_off: vec!["u1".into()],
            ..RevocationFeed::default()
        });
        assert_eq!(list.refusal(&claims("j1", "c", "u", None)), Some(Reason::Revoked));
        assert_eq!(list.refusal(&claims("j", "c", "u", Some("g1"))), Some(Reason::Revoked));
        assert_eq!(list.refusal(&claims("j", "c1", "u", None)), Some(Reason::ClientDisabled));
        assert_eq!(list.refusal(&claims("j", "c", "u1", None)), Some(Reason::UserDisabled));
        assert_eq!(list.refusal(&claims("j", "c", "u", Some("g2"))), None);
        list.apply(RevocationFeed {
            cursor: "2".into(),
            clients_on: vec!["c1".into()],
            users_on: vec!["u1".into()],
            clients_off: vec!["c2".into()],
            ..RevocationFeed::default()
        });
        assert_eq!(list.refusal(&claims("j", "c1", "u1", None)), None);
        assert_eq!(list.refusal(&claims("j", "c2", "u", None)), Some(Reason::ClientDisabled));
        assert_eq!(list.cursor.as_deref(), Some("2"));
        list.prune(150, 10);
        assert_eq!(list.sizes(), [0, 1, 1, 0], "the token revocation outlived its token");
        list.apply(RevocationFeed { cursor: "9".into(), full: true, ..RevocationFeed::default() });
        assert_eq!(list.sizes(), [0, 0, 0, 0]);
    }

    #[test]
    fn a_lowered_role_refuses_the_tokens_issued_before_it() {
        let mut list = Denylist::default();
        list.apply(RevocationFeed { cursor: "1".into(), users_not_before: vec![("u".into(), 50)], ..RevocationFeed::default() });
        let at = |iat: i64| AccessTokenClaims { iat, ..claims("j", "c", "u", None) };
        assert_eq!(list.refusal(&at(49)), Some(Reason::UserChanged));
        assert_eq!(list.refusal(&at(50)), None, "issued at or after the cutoff");
        assert_eq!(list.refusal(&AccessTokenClaims { iat: 0, ..claims("j", "c", "other", None) }), None);
        // A later cutoff moves it on; an older one never moves it back.
        list.apply(RevocationFeed { cursor: "2".into(), users_not_before: vec![("u".into(), 80)], ..RevocationFeed::default() });
        list.apply(RevocationFeed { cursor: "3".into(), users_not_before: vec![("u".into(), 60)], ..RevocationFeed::default() });
        assert_eq!(list.refusal(&at(70)), Some(Reason::UserChanged));
        assert_eq!(list.refusal(&at(80)), None);
    }

    #[test]
    fn a_cut_registration_refuses_the_clients_tokens_issued_before_it() {
        let mut list = Denylist::default();
        list.apply(RevocationFeed { cursor: "1".into(), clients_not_before: vec![("c".into(), 50)], ..RevocationFeed::default() });
        let at = |iat: i64| AccessTokenClaims { iat, ..claims("j", "c", "u", None) };
        assert_eq!(list.refusal(&at(49)), Some(Reason::ClientChanged));
        assert_eq!(list.refusal(&at(50)), None, "issued at or after the cutoff");
        assert_eq!(list.refusal(&AccessTokenClaims { iat: 0, ..claims("j", "other", "u", None) }), None);
        assert_eq!(list.sizes(), [0, 0, 1, 0]);
        list.apply(RevocationFeed { cursor: "2".into(), clients_not_before: vec![("c".into(), 40)], ..RevocationFeed::default() });
        assert_eq!(list.refusal(&at(45)), Some(Reason::ClientChanged), "an older cutoff never moves it back");
    }
}
