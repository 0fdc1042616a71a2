//! Who may do what through the portal, the organization admin pages and the admin API.
//!
//! The operator (the CLI, on the machine) may do everything. A signed-in user acts inside their
//! own organization only: every user manages the clients they own; owners and admins also see
//! every client of the organization and run the organization (members, scopes, approvals, audit
//! log). A record the caller may not see is reported as missing, so ids do not leak across
//! users or organizations; a record they may see but not change is a refusal.
//!
//! SPEC §12 adds two rules that hold on every path:
//! - Tessera's own scopes are first-party only ([`token_holder`]): a token carries them only when
//!   its client belongs to the organization of the user it acts for.
//! - No path to a higher role: nobody obtains a credential that acts as a user of a higher role
//!   than their own ([`use_credentials`], [`choose_run_as`]); only owners make or unmake owners,
//!   and an organization always keeps an enabled owner ([`keeps_an_owner`]).

use crate::message;
use crate::message::Message;
use crate::model::{Client, OrgId, Role, User};
use crate::scope::Holder;

/// The party behind an administrative request.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// The operator at the CLI.
    Operator,
    /// A signed-in, enabled user (the portal) or the user a bearer token speaks for (admin API).
    User(&'a User),
}

/// Why an administrative request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The record is not the caller's to see: answer as if it did not exist.
    Hidden,
    /// The caller sees the record but may not do this to it; the text says why.
    Forbidden(Message),
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
        Caller::User(_) => Err(Denial::Forbidden(message!("access-admins-only", "only owners and admins of the organization may do this"))),
    }
}

/// May the caller change organization `org`'s own settings (whether members need a second
/// factor)? They are the organization's security policy: its owners may, not its admins.
pub fn set_org_policy(caller: Caller<'_>, org: &OrgId) -> Result<(), Denial> {
    administer_org(caller, org)?;
    match caller {
        Caller::User(user) if user.role != Role::Owner => {
            Err(Denial::Forbidden(message!("access-owner-settings", "only an owner may change the organization's settings")))
        }
        _ => Ok(()),
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

/// How much a role may do: owner > admin > member.
fn rank(role: Role) -> u8 {
    match role {
        Role::Owner => 3,
        Role::Admin => 2,
        Role::Member => 1,
    }
}

/// Whether `user` holds a higher role than `caller`.
pub fn outranks(user: &User, caller: &User) -> bool {
    rank(user.role) > rank(caller.role)
}

/// Whether a change from `from` to `to` lowers a role (which ends the user's tokens issued before).
pub fn lowers_role(from: Role, to: Role) -> bool {
    rank(to) < rank(from)
}

/// Who a token of `client`, owned by `owner`, acting for `subject`, is for: Tessera's own scopes
/// only when the client is first-party to the subject (SPEC §12). Every path that issues or
/// honours a token asks this.
pub fn token_holder(client: &Client, owner: Option<&User>, subject: &User) -> Holder {
    let first_party_owner = owner
        .filter(|owner| owner.id == client.owner && owner.org_id == client.org_id && client.org_id == subject.org_id && owner.is_active())
        .map(|owner| owner.role);
    Holder { role: subject.role, first_party_owner }
}

/// May the caller obtain or change what a token of `client` acts with: regenerate, roll, reveal
/// or re-key its secret, change its run-as user, grants or scopes? As [`see_client`], and never
/// for a client that runs as a user of a higher role than the caller's (SPEC §12): that would
/// hand the caller that user's powers. Turning such a client off stays allowed.
pub fn use_credentials(caller: Caller<'_>, client: &Client, run_as: &User) -> Result<(), Denial> {
    see_client(caller, client)?;
    match caller {
        Caller::User(user) if outranks(run_as, user) => Err(Denial::Forbidden(message!(
            "access-run-as-outranks",
            "this client runs as a user with a higher role than yours; only they or an owner may change its credentials"
        ))),
        _ => Ok(()),
    }
}

/// May the caller make `run_as` the user a client runs as? Never a user of a higher role than
/// the caller's (SPEC §12). Whether that user may authorize applications at all is a
/// registration rule (`client::registration_problems`).
pub fn choose_run_as(caller: Caller<'_>, run_as: &User) -> Result<(), Denial> {
    match caller {
        Caller::User(user) if user.org_id != run_as.org_id => Err(Denial::Hidden),
        Caller::User(user) if outranks(run_as, user) => {
            Err(Denial::Forbidden(message!("access-run-as-higher", "a client may not run as a user with a higher role than yours")))
        }
        _ => Ok(()),
    }
}

/// Whether a change leaves the organization an enabled owner: `target` is demoted to
/// `new_role` or disabled (`disabling`), and `enabled_owners` counts the organization's
/// enabled owners now, the target included. Binds the operator too (SPEC §12).
pub fn keeps_an_owner(target: &User, new_role: Option<Role>, disabling: bool, enabled_owners: usize) -> Result<(), Denial> {
    let loses_owner = target.role == Role::Owner && !target.disabled && (disabling || new_role.is_some_and(|r| r != Role::Owner));
    if loses_owner && enabled_owners <= 1 {
        return Err(Denial::Forbidden(message!("access-last-owner", "this is the organization's last owner: make another owner first")));
    }
    Ok(())
}

/// May the caller reveal `client`'s secret? Only its owner, not even an org admin (SPEC §6, A11);
/// the operator, who holds the master key anyway, may too.
pub fn reveal_secret(caller: Caller<'_>, client: &Client, run_as: &User) -> Result<(), Denial> {
    use_credentials(caller, client, run_as)?;
    match caller {
        Caller::User(user) if user.id != client.owner => {
            Err(Denial::Forbidden(message!("access-secret-owner-only", "only the client's owner may see its secret")))
        }
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
        Caller::User(_) => Err(Denial::Forbidden(message!("access-register-by-owner", "a client is registered by its owner"))),
    }
}

/// May the caller change `target` (role, permission, disable, enable)? Owners and admins of the
/// same organization may, except on themselves (so an organization cannot lose its last
/// administrator by accident); only an owner may make an owner or change one.
pub fn change_member(caller: Caller<'_>, target: &User, new_role: Option<Role>) -> Result<(), Denial> {
    administer_org(caller, &target.org_id)?;
    let Caller::User(user) = caller else { return Ok(()) };
    if user.id == target.id {
        return Err(Denial::Forbidden(message!("access-not-yourself", "you cannot change your own account here")));
    }
    let touches_owner = target.role == Role::Owner || new_role == Some(Role::Owner);
    if touches_owner && user.role != Role::Owner {
        return Err(Denial::Forbidden(message!("access-owner-makes-owner", "only an owner may make or change an owner")));
    }
    Ok(())
}

/// May the caller add a member with `role`? As [`change_member`] for a new account.
pub fn add_member(caller: Caller<'_>, org: &OrgId, role: Role) -> Result<(), Denial> {
    administer_org(caller, org)?;
    match caller {
        Caller::User(user) if role == Role::Owner && user.role != Role::Owner => {
            Err(Denial::Forbidden(message!("access-owner-makes-owner", "only an owner may make or change an owner")))
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

    #[test]
    fn only_an_owner_of_the_organization_sets_its_policy() {
        let org = OrgId::new("o1");
        assert_eq!(set_org_policy(Caller::Operator, &org), Ok(()));
        assert_eq!(set_org_policy(Caller::User(&user("a", "o1", Role::Owner)), &org), Ok(()));
        assert!(matches!(set_org_policy(Caller::User(&user("b", "o1", Role::Admin)), &org), Err(Denial::Forbidden(_))));
        assert!(matches!(set_org_policy(Caller::User(&user("c", "o1", Role::Member)), &org), Err(Denial::Forbidden(_))));
        assert_eq!(set_org_policy(Caller::User(&user("d", "o2", Role::Owner)), &org), Err(Denial::Hidden));
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
            (
                user("u3", "a", Role::Admin),
                Ok(()),
                Err(Denial::Forbidden(message!("access-secret-owner-only", "only the client's owner may see its secret"))),
            ),
            (
                user("u4", "a", Role::Owner),
                Ok(()),
                Err(Denial::Forbidden(message!("access-secret-owner-only", "only the client's owner may see its secret"))),
            ),
            (user("u5", "b", Role::Owner), Err(Denial::Hidden), Err(Denial::Hidden)),
        ];
        for (caller, see, reveal) in cases {
            assert_eq!(see_client(Caller::User(&caller), &c), see, "{} sees", caller.id);
            assert_eq!(reveal_secret(Caller::User(&caller), &c, &owner), reveal, "{} reveals", caller.id);
        }
        assert_eq!(reveal_secret(Caller::Operator, &c, &owner), Ok(()));
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

    #[test]
    fn no_credential_acts_above_its_holder() {
        let owner = user("ow", "a", Role::Owner);
        let admin = user("ad", "a", Role::Admin);
        let member = user("me", "a", Role::Member);
        // The owner's client, running as the owner: an admin sees it but may not touch its credentials.
        let owners_client = client(&owner);
        assert_eq!(see_client(Caller::User(&admin), &owners_client), Ok(()));
        assert!(matches!(use_credentials(Caller::User(&admin), &owners_client, &owner), Err(Denial::Forbidden(_))));
        assert_eq!(use_credentials(Caller::User(&owner), &owners_client, &owner), Ok(()));
        assert_eq!(use_credentials(Caller::Operator, &owners_client, &owner), Ok(()));
        // The admin's own client made to run as the owner: refused; as an admin or member: fine.
        assert!(matches!(choose_run_as(Caller::User(&admin), &owner), Err(Denial::Forbidden(_))));
        assert_eq!(choose_run_as(Caller::User(&admin), &admin), Ok(()));
        assert!(matches!(choose_run_as(Caller::User(&member), &admin), Err(Denial::Forbidden(_))));
        assert_eq!(choose_run_as(Caller::User(&member), &member), Ok(()));
        assert_eq!(choose_run_as(Caller::User(&user("x", "b", Role::Owner)), &member), Err(Denial::Hidden));
        assert_eq!(choose_run_as(Caller::Operator, &owner), Ok(()));
        let admins_client = client(&admin);
        assert_eq!(use_credentials(Caller::User(&admin), &admins_client, &admin), Ok(()));
    }

    #[test]
    fn tessera_scopes_go_to_first_party_clients_only() {
        let owner = user("ow", "a", Role::Owner);
        let stranger = user("st", "b", Role::Owner);
        let own_client = client(&owner);
        let foreign_client = client(&stranger);
        assert_eq!(token_holder(&own_client, Some(&owner), &owner).first_party_owner, Some(Role::Owner));
        assert_eq!(token_holder(&foreign_client, Some(&stranger), &owner).first_party_owner, None);
        let disabled_owner = User { disabled: true, ..owner.clone() };
        assert_eq!(token_holder(&own_client, Some(&disabled_owner), &owner).first_party_owner, None);
        assert_eq!(token_holder(&own_client, None, &owner).first_party_owner, None);
        // An owner record that is not the client's owner does not count.
        assert_eq!(token_holder(&own_client, Some(&user("x", "a", Role::Owner)), &owner).first_party_owner, None);
    }

    #[test]
    fn the_last_enabled_owner_stays() {
        let owner = user("ow", "a", Role::Owner);
        let admin = user("ad", "a", Role::Admin);
        // (target, new role, disabling, enabled owners, allowed)
        let cases = [
            (&owner, Some(Role::Admin), false, 1, false),
            (&owner, None, true, 1, false),
            (&owner, Some(Role::Owner), false, 1, true),
            (&owner, Some(Role::Member), false, 2, true),
            (&owner, None, true, 2, true),
            (&admin, None, true, 1, true),
            (&admin, Some(Role::Member), false, 1, true),
        ];
        for (target, role, disabling, owners, allowed) in cases {
            assert_eq!(keeps_an_owner(target, role, disabling, owners).is_ok(), allowed, "{} {role:?} {disabling} {owners}", target.id);
        }
    }
}
