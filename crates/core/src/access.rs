//! Who may do what through the portal, the organization admin pages and the admin API.
//!
//! The operator (the CLI, on the machine) may do everything. A signed-in user acts inside their
//! own organization only: every user manages the clients they own; owners and admins also see
//! every client of the organization and run the organization (members, scopes, approvals, audit
//! log). A record the caller may not see is reported as missing, so ids do not leak across
//! users or organizations; a record they may see but not change is a refusal.

use crate::model::{Client, OrgId, Role, User};

/// The party behind an administrative request.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// The operator at the CLI.
    Operator,
    /// A signed-in, enabled user (the portal) or the user a bearer token speaks for (admin API).
    User(&'a User),
}

/// Why an administrative request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// The record is not the caller's to see: answer as if it did not exist.
    Hidden,
    /// The caller sees the record but may not do this to it; the text says why.
    Forbidden(&'static str),
}

/// Whether `role` runs its organization (members, scopes, approvals, the audit log).
pub fn runs_org(role: Role) -> bool {
    matches!(role, Role::Owner | Role::Admin)
}

/// May the caller see and manage things of organization `org` as a whole?
pub fn administer_org(caller: Caller<'_>, org: &OrgId) -> Result<(), Denial> {
    match caller {
        Caller::Operator => Ok(()),
        Caller::User(user) if &user.org_id != org => Err(Denial::Hidden),
        Caller::User(user) if runs_org(user.role) => Ok(()),
        Caller::User(_) => Err(Denial::Forbidden("only owners and admins of the organization may do this")),
    }
}

/// May the caller see (and so edit, turn on or off, regenerate or delete) `client`?
/// Its owner may, and the owners and admins of its organization.
pub fn see_client(caller: Caller<'_>, client: &Client) -> Result<(), Denial> {
    match caller {
        Caller::Operator => Ok(()),
        Caller::User(user) if user.org_id != client.org_id => Err(Denial::Hidden),
        Caller::User(user) if user.id == client.owner || runs_org(user.role) => Ok(()),
        Caller::User(_) => Err(Denial::Hidden),
    }
}

/// May the caller reveal `client`'s secret? Only its owner, not even an org admin (SPEC §6, A11);
/// the operator, who holds the master key anyway, may too.
pub fn reveal_secret(caller: Caller<'_>, client: &Client) -> Result<(), Denial> {
    see_client(caller, client)?;
    match caller {
        Caller::User(user) if user.id != client.owner => Err(Denial::Forbidden("only the client's owner may see its secret")),
        _ => Ok(()),
    }
}

/// May the caller register a client owned by `owner`? Users register clients for themselves;
/// the operator for anyone.
pub fn register_for(caller: Caller<'_>, owner: &User) -> Result<(), Denial> {
    match caller {
        Caller::Operator => Ok(()),
        Caller::User(user) if user.org_id != owner.org_id => Err(Denial::Hidden),
        Caller::User(user) if user.id == owner.id => Ok(()),
        Caller::User(_) => Err(Denial::Forbidden("a client is registered by its owner")),
    }
}

/// May the caller change `target` (role, permission, disable, enable)? Owners and admins of the
/// same organization may, except on themselves (so an organization cannot lose its last
/// administrator by accident); only an owner may make an owner or change one.
pub fn change_member(caller: Caller<'_>, target: &User, new_role: Option<Role>) -> Result<(), Denial> {
    administer_org(caller, &target.org_id)?;
    let Caller::User(user) = caller else { return Ok(()) };
    if user.id == target.id {
        return Err(Denial::Forbidden("you cannot change your own account here"));
    }
    let touches_owner = target.role == Role::Owner || new_role == Some(Role::Owner);
    if touches_owner && user.role != Role::Owner {
        return Err(Denial::Forbidden("only an owner may make or change an owner"));
    }
    Ok(())
}

/// May the caller add a member with `role`? As [`change_member`] for a new account.
pub fn add_member(caller: Caller<'_>, org: &OrgId, role: Role) -> Result<(), Denial> {
    administer_org(caller, org)?;
    match caller {
        Caller::User(user) if role == Role::Owner && user.role != Role::Owner => {
            Err(Denial::Forbidden("only an owner may make or change an owner"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn user(id: &str, org: &str, role: Role) -> User {
        User { org_id: OrgId::new(org), ..testing::user(id, role) }
    }

    fn client(owner: &User) -> Client {
        Client { org_id: owner.org_id.clone(), owner: owner.id.clone(), run_as: owner.id.clone(), ..testing::client(&[], "") }
    }

    #[test]
    fn clients_are_seen_by_their_owner_and_the_org_admins_only() {
        let owner = user("u1", "a", Role::Member);
        let c = client(&owner);
        let cases = [
            (user("u1", "a", Role::Member), Ok(()), Ok(())),
            (user("u2", "a", Role::Member), Err(Denial::Hidden), Err(Denial::Hidden)),
            (user("u3", "a", Role::Admin), Ok(()), Err(Denial::Forbidden("only the client's owner may see its secret"))),
            (user("u4", "a", Role::Owner), Ok(()), Err(Denial::Forbidden("only the client's owner may see its secret"))),
            (user("u5", "b", Role::Owner), Err(Denial::Hidden), Err(Denial::Hidden)),
        ];
        for (caller, see, reveal) in cases {
            assert_eq!(see_client(Caller::User(&caller), &c), see, "{} sees", caller.id);
            assert_eq!(reveal_secret(Caller::User(&caller), &c), reveal, "{} reveals", caller.id);
        }
        assert_eq!(reveal_secret(Caller::Operator, &c), Ok(()));
    }

    #[test]
    fn members_are_changed_by_admins_of_the_same_org_and_not_by_themselves() {
        let admin = user("ad", "a", Role::Admin);
        let owner = user("ow", "a", Role::Owner);
        let member = user("me", "a", Role::Member);
        let stranger = user("st", "b", Role::Member);
        assert_eq!(change_member(Caller::User(&admin), &member, Some(Role::Admin)), Ok(()));
        assert!(matches!(change_member(Caller::User(&admin), &member, Some(Role::Owner)), Err(Denial::Forbidden(_))));
        assert!(matches!(change_member(Caller::User(&admin), &owner, None), Err(Denial::Forbidden(_))));
        assert_eq!(change_member(Caller::User(&owner), &admin, Some(Role::Owner)), Ok(()));
        assert!(matches!(change_member(Caller::User(&admin), &admin, None), Err(Denial::Forbidden(_))));
        assert!(matches!(change_member(Caller::User(&member), &admin, None), Err(Denial::Forbidden(_))));
        assert_eq!(change_member(Caller::User(&admin), &stranger, None), Err(Denial::Hidden));
        assert_eq!(change_member(Caller::Operator, &owner, Some(Role::Member)), Ok(()));
        assert!(matches!(add_member(Caller::User(&admin), &OrgId::new("a"), Role::Owner), Err(Denial::Forbidden(_))));
        assert_eq!(add_member(Caller::User(&admin), &OrgId::new("a"), Role::Member), Ok(()));
        assert_eq!(add_member(Caller::User(&admin), &OrgId::new("b"), Role::Member), Err(Denial::Hidden));
    }

    #[test]
    fn clients_are_registered_by_their_owner() {
        let me = user("u1", "a", Role::Member);
        let other = user("u2", "a", Role::Member);
        assert_eq!(register_for(Caller::User(&me), &me), Ok(()));
        assert!(matches!(register_for(Caller::User(&me), &other), Err(Denial::Forbidden(_))));
        assert_eq!(register_for(Caller::Operator, &other), Ok(()));
    }
}
