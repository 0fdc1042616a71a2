//! The authorization matrix of the administration (SPEC §12): every admin-API route and every
//! portal and admin-page action × the caller's role × the caller's relation to the object × how
//! the caller is authenticated, with the expected answer in each cell. One table per kind of
//! authentication, one `check` helper. Every refused cell also checks that nothing changed
//! (the object as the operator sees it, and a client's secret), and that a refusal for lack of
//! rights is audited under the real caller. A new admin route or page action is unfinished until
//! it has its rows here (ARCHITECTURE.md).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::admin_api::{ADMIN_SCOPES, Api, admin_token};
use crate::agent::*;
use crate::common::*;

const PASSWORD: &str = "matrix password 1";

/// The caller's role. A service user is a member without a password: it acts only through a
/// client that runs as it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Owner,
    Admin,
    Member,
    Service,
}

const ROLES: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Service];

/// What the request is about, relative to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// No object (a list, a creation, the organization itself).
    Org,
    /// The caller's own client (running as the caller), or the caller's own account.
    Own,
    /// A client of a member of the same organization, or that member.
    Peer,
    /// A client of another owner of the same organization, running as that owner, or that owner.
    Above,
    /// A client the caller owns that runs as another owner (made by the operator).
    OwnAbove,
    /// A client, or a user, of another organization.
    Other,
}

/// An admin-API action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Me,
    ListClients,
    CreateClient,
    CreateClientRunningAsOwner,
    ShowClient,
    RenameClient,
    RescopeClient,
    DeleteClient,
    DisableClient,
    EnableClient,
    RegenerateSecret,
    RevealSecret,
    ListMembers,
    AddMember,
    AddOwner,
    ShowMember,
    MakeAdmin,
    MakeOwner,
    DisableMember,
    EnableMember,
    ListScopes,
    AddScope,
    RestrictScope,
    /// Without a mail server (the matrix has none), an allowed invitation is `503`: the access
    /// rule comes first (`memberships`/`invitations` e2e tests send real mail).
    Invite,
    InviteOwner,
    ShowOrganization,
    /// Sets `require_mfa` to false, as it is: the cells after it must not be sent to enrolment.
    UpdateOrganization,
    ListApprovals,
    Approve,
    Withdraw,
    ListApprovalRequests,
    /// Of a client no member asked for: once the access rule lets the caller by, 404 (nothing
    /// waits); `approvals.rs` rejects a real request.
    RejectApprovalRequest,
    ListIdentityProviders,
    AddIdentityProvider,
    /// With an email domain: the operator's alone, refused to everyone here.
    AddIdentityProviderClaimingDomain,
    /// The home organization's provider (`Org`), or the other organization's (`Other`).
    ShowIdentityProvider,
    UpdateIdentityProvider,
    RemoveIdentityProvider,
    Audit,
    RevokeToken,
    OpenApi,
}

use Route::*;
use Target::*;

/// One row: an action on a target, and the expected status for owner, admin, member, service.
type Row = (Route, Target, [u16; 4]);

/// First-party tokens: each caller's own client-credentials client, registered for the admin
/// scopes its role may hold (owners and admins both, members and service users
/// `tessera:clients`). 403 for a member is the missing `tessera:admin` scope.
#[rustfmt::skip]
const FIRST_PARTY: &[Row] = &[
    //                                         owner admin member service
    (Me,                          Org,        [200, 200, 200, 200]),
    (ListClients,                 Org,        [200, 200, 200, 200]),
    (CreateClient,                Org,        [201, 201, 201, 201]),
    (CreateClientRunningAsOwner,  Above,      [201, 403, 403, 403]),
    (ShowClient,                  Own,        [200, 200, 200, 200]),
    (ShowClient,                  Peer,       [200, 200, 404, 404]),
    (ShowClient,                  Above,      [200, 200, 404, 404]),
    (ShowClient,                  OwnAbove,   [200, 200, 200, 200]),
    (ShowClient,                  Other,      [404, 404, 404, 404]),
    (RenameClient,                Own,        [200, 200, 200, 200]),
    (RenameClient,                Peer,       [200, 200, 404, 404]),
    (RenameClient,                Above,      [200, 200, 404, 404]),
    (RenameClient,                OwnAbove,   [200, 200, 200, 200]),
    (RenameClient,                Other,      [404, 404, 404, 404]),
    (RescopeClient,               Own,        [200, 200, 200, 200]),
    (RescopeClient,               Peer,       [200, 200, 404, 404]),
    (RescopeClient,               Above,      [200, 403, 404, 404]),
    (RescopeClient,               OwnAbove,   [200, 403, 403, 403]),
    (RescopeClient,               Other,      [404, 404, 404, 404]),
    (DeleteClient,                Own,        [204, 204, 204, 204]),
    (DeleteClient,                Peer,       [204, 204, 404, 404]),
    (DeleteClient,                Above,      [204, 204, 404, 404]),
    (DeleteClient,                OwnAbove,   [204, 204, 204, 204]),
    (DeleteClient,                Other,      [404, 404, 404, 404]),
    (DisableClient,               Own,        [200, 200, 200, 200]),
    (DisableClient,               Peer,       [200, 200, 404, 404]),
    (DisableClient,               Above,      [200, 200, 404, 404]),
    (DisableClient,               OwnAbove,   [200, 200, 200, 200]),
    (DisableClient,               Other,      [404, 404, 404, 404]),
    (EnableClient,                Own,        [200, 200, 200, 200]),
    (EnableClient,                Peer,       [200, 200, 404, 404]),
    (EnableClient,                Above,      [200, 200, 404, 404]),
    (EnableClient,                Other,      [404, 404, 404, 404]),
    (RegenerateSecret,            Own,        [200, 200, 200, 200]),
    (RegenerateSecret,            Peer,       [200, 200, 404, 404]),
    (RegenerateSecret,            Above,      [200, 403, 404, 404]),
    (RegenerateSecret,            OwnAbove,   [200, 403, 403, 403]),
    (RegenerateSecret,            Other,      [404, 404, 404, 404]),
    (RevealSecret,                Own,        [200, 200, 200, 200]),
    (RevealSecret,                Peer,       [403, 403, 404, 404]),
    (RevealSecret,                Above,      [403, 403, 404, 404]),
    (RevealSecret,                OwnAbove,   [200, 403, 403, 403]),
    (RevealSecret,                Other,      [404, 404, 404, 404]),
    (ListMembers,                 Org,        [200, 200, 403, 403]),
    (AddMember,                   Org,        [201, 201, 403, 403]),
    (AddOwner,                    Org,        [201, 403, 403, 403]),
    (ShowMember,                  Own,        [200, 200, 403, 403]),
    (ShowMember,                  Peer,       [200, 200, 403, 403]),
    (ShowMember,                  Above,      [200, 200, 403, 403]),
    (ShowMember,                  Other,      [404, 404, 403, 403]),
    (MakeAdmin,                   Own,        [403, 403, 403, 403]),
    (MakeAdmin,                   Peer,       [200, 200, 403, 403]),
    (MakeAdmin,                   Above,      [200, 403, 403, 403]),
    (MakeAdmin,                   Other,      [404, 404, 403, 403]),
    (MakeOwner,                   Own,        [403, 403, 403, 403]),
    (MakeOwner,                   Peer,       [200, 403, 403, 403]),
    (MakeOwner,                   Other,      [404, 404, 403, 403]),
    (DisableMember,               Own,        [403, 403, 403, 403]),
    (DisableMember,               Peer,       [200, 200, 403, 403]),
    (DisableMember,               Above,      [200, 403, 403, 403]),
    (DisableMember,               Other,      [404, 404, 403, 403]),
    (EnableMember,                Peer,       [200, 200, 403, 403]),
    (EnableMember,                Above,      [200, 403, 403, 403]),
    (EnableMember,                Other,      [404, 404, 403, 403]),
    (ListScopes,                  Org,        [200, 200, 200, 200]),
    (AddScope,                    Org,        [201, 201, 403, 403]),
    (RestrictScope,               Org,        [200, 200, 403, 403]),
    (Invite,                      Org,        [503, 503, 403, 403]),
    (InviteOwner,                 Org,        [503, 403, 403, 403]),
    (ShowOrganization,            Org,        [200, 200, 403, 403]),
    (UpdateOrganization,          Org,        [200, 403, 403, 403]),
    (ListApprovals,               Org,        [200, 200, 403, 403]),
    (Approve,                     Other,      [204, 204, 403, 403]),
    (Withdraw,                    Other,      [204, 204, 403, 403]),
    (ListApprovalRequests,        Org,        [200, 200, 403, 403]),
    (RejectApprovalRequest,       Other,      [404, 404, 403, 403]),
    (ListIdentityProviders,       Org,        [200, 200, 403, 403]),
    (AddIdentityProvider,         Org,        [201, 403, 403, 403]),
    (AddIdentityProviderClaimingDomain, Org,  [403, 403, 403, 403]),
    (ShowIdentityProvider,        Org,        [200, 200, 403, 403]),
    (ShowIdentityProvider,        Other,      [404, 404, 403, 403]),
    (UpdateIdentityProvider,      Org,        [200, 403, 403, 403]),
    (UpdateIdentityProvider,      Other,      [404, 404, 403, 403]),
    (RemoveIdentityProvider,      Org,        [204, 403, 403, 403]),
    (RemoveIdentityProvider,      Other,      [404, 404, 403, 403]),
    (Audit,                       Org,        [200, 200, 403, 403]),
    (RevokeToken,                 Org,        [204, 204, 400, 400]),
    (OpenApi,                     Org,        [200, 200, 200, 200]),
];

/// A portal or admin-page action, as a signed-in browser sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    ShowClient,
    RevealSecret,
    RegenerateSecret,
    DeleteClient,
    /// The page that asks before Turn off (a GET: it changes nothing).
    ConfirmTurnOff,
    TurnClientOff,
    EditClientScopes,
    Members,
    AddMember,
    MakeAdmin,
    MakeOwner,
    DisableMember,
    Scopes,
    AddScope,
    Approvals,
    /// Rejects the request of a client no member asked for: 404 once allowed (see the API's row).
    RejectApplication,
    Audit,
    Organization,
    /// Leaves `require_mfa` and `require_sso` off (the cells after it must not be sent to
    /// enrolment, and sign in with passwords).
    SaveOrganization,
    /// Connects an identity provider to the caller's organization.
    AddIdentityProvider,
    /// Disconnects a provider of the caller's organization (`Org`) or of another (`Other`).
    RemoveIdentityProvider,
    /// The person's organizations: the callers belong to one each.
    Memberships,
    /// Without a mail server: `503` once allowed, as the API's row.
    Invite,
    /// Join on `/invite/{token}`: a token that names no invitation (`Org`), or an invitation of
    /// another email (`Other`, to become owner: the role the callers could least give themselves).
    AcceptInvitation,
    /// To the caller's own (current) membership, or to a user of another organization, which
    /// is not the caller's to switch to.
    SwitchMembership,
    /// `/settings/security` and its forms act on the signed-in user only: they take no user id,
    /// so there is no other target to try.
    Security,
    ChangePassword,
    VerifyEmail,
    EndOtherSessions,
    /// Names a session by its handle, which the page shows only to its own user: a handle that is
    /// not one of the caller's sessions names nothing (`accounts.rs` tries another user's).
    EndSession,
    SetUpTotp,
    /// The app being set up (the page `SetUpTotp` redirects to): the caller's own only.
    TotpBeingSetUp,
    /// With a wrong code (the matrix must not turn the factor on: its callers sign in again).
    ConfirmTotp,
    /// Removes the app the `SetUpTotp` row began setting up.
    RemoveTotp,
    /// The page that asks the browser for a new passkey (a ceremony of the caller's own).
    AddPasskey,
    /// Its answer, here a made-up one: refused (400) once the caller may add one.
    FinishPasskey,
    /// A passkey id that is not the caller's (`passkeys_browser.rs` tries another person's).
    RemovePasskey,
}

/// Browser sessions (service users cannot sign in: the fourth column is never used).
#[rustfmt::skip]
const PAGES: &[(Page, Target, [u16; 4])] = &[
    //                                        owner admin member
    (Page::ShowClient,          Own,        [200, 200, 200, 0]),
    (Page::ShowClient,          Peer,       [200, 200, 404, 0]),
    (Page::ShowClient,          Other,      [404, 404, 404, 0]),
    (Page::RevealSecret,        Own,        [303, 303, 303, 0]),
    (Page::RevealSecret,        Peer,       [403, 403, 404, 0]),
    (Page::RevealSecret,        Above,      [403, 403, 404, 0]),
    (Page::RevealSecret,        OwnAbove,   [303, 403, 403, 0]),
    (Page::RevealSecret,        Other,      [404, 404, 404, 0]),
    (Page::RegenerateSecret,    Own,        [303, 303, 303, 0]),
    (Page::RegenerateSecret,    Peer,       [303, 303, 404, 0]),
    (Page::RegenerateSecret,    Above,      [303, 403, 404, 0]),
    (Page::RegenerateSecret,    OwnAbove,   [303, 403, 403, 0]),
    (Page::RegenerateSecret,    Other,      [404, 404, 404, 0]),
    (Page::DeleteClient,        Peer,       [303, 303, 404, 0]),
    (Page::DeleteClient,        Above,      [303, 303, 404, 0]),
    (Page::DeleteClient,        Other,      [404, 404, 404, 0]),
    (Page::ConfirmTurnOff,      Own,        [200, 200, 200, 0]),
    (Page::ConfirmTurnOff,      Peer,       [200, 200, 404, 0]),
    (Page::ConfirmTurnOff,      Other,      [404, 404, 404, 0]),
    (Page::TurnClientOff,       Above,      [303, 303, 404, 0]),
    (Page::TurnClientOff,       Other,      [404, 404, 404, 0]),
    (Page::EditClientScopes,    Own,        [303, 303, 303, 0]),
    (Page::EditClientScopes,    Above,      [303, 403, 404, 0]),
    (Page::EditClientScopes,    OwnAbove,   [303, 403, 403, 0]),
    (Page::EditClientScopes,    Other,      [404, 404, 404, 0]),
    (Page::Members,         Org,        [200, 200, 403, 0]),
    (Page::AddMember,           Org,        [303, 303, 403, 0]),
    (Page::MakeAdmin,           Own,        [403, 403, 403, 0]),
    (Page::MakeAdmin,           Peer,       [303, 303, 403, 0]),
    (Page::MakeAdmin,           Above,      [303, 403, 403, 0]),
    (Page::MakeAdmin,           Other,      [404, 404, 404, 0]),
    (Page::MakeOwner,           Peer,       [303, 403, 403, 0]),
    (Page::DisableMember,       Own,        [403, 403, 403, 0]),
    (Page::DisableMember,       Above,      [303, 403, 403, 0]),
    (Page::DisableMember,       Other,      [404, 404, 404, 0]),
    (Page::Scopes,          Org,        [200, 200, 403, 0]),
    (Page::AddScope,            Org,        [303, 303, 403, 0]),
    (Page::Approvals,       Org,        [200, 200, 403, 0]),
    (Page::RejectApplication,   Other,      [404, 404, 403, 0]),
    (Page::Audit,           Org,        [200, 200, 403, 0]),
    (Page::Organization,    Org,        [200, 200, 403, 0]),
    (Page::SaveOrganization,    Org,        [303, 403, 403, 0]),
    (Page::AddIdentityProvider, Org,        [303, 403, 403, 0]),
    (Page::RemoveIdentityProvider, Org,     [303, 403, 403, 0]),
    (Page::RemoveIdentityProvider, Other,   [404, 404, 404, 0]),
    (Page::Memberships,         Own,        [200, 200, 200, 0]),
    (Page::Invite,              Org,        [503, 503, 403, 0]),
    (Page::AcceptInvitation,    Org,        [404, 404, 404, 0]),
    (Page::AcceptInvitation,    Other,      [403, 403, 403, 0]),
    (Page::SwitchMembership,    Own,        [303, 303, 303, 0]),
    (Page::SwitchMembership,    Other,      [404, 404, 404, 0]),
    (Page::Security,            Own,        [200, 200, 200, 0]),
    (Page::ChangePassword,      Own,        [303, 303, 303, 0]),
    (Page::VerifyEmail,         Own,        [303, 303, 303, 0]),
    (Page::EndOtherSessions,    Own,        [303, 303, 303, 0]),
    (Page::EndSession,          Other,      [404, 404, 404, 0]),
    (Page::SetUpTotp,           Own,        [303, 303, 303, 0]),
    (Page::TotpBeingSetUp,      Own,        [200, 200, 200, 0]),
    (Page::ConfirmTotp,         Own,        [400, 400, 400, 0]),
    (Page::RemoveTotp,          Own,        [303, 303, 303, 0]),
    (Page::AddPasskey,          Own,        [200, 200, 200, 0]),
    (Page::FinishPasskey,       Own,        [400, 400, 400, 0]),
    (Page::RemovePasskey,       Other,      [404, 404, 404, 0]),
];

/// Two organizations and the people of the matrix.
struct World {
    server: Server,
    /// The issuer's origin, which a browser's form posts say.
    origin: String,
    home: Fixture,
    other: Fixture,
    /// Email of the caller of each role.
    callers: BTreeMap<&'static str, String>,
    /// Each caller's user id.
    ids: BTreeMap<String, String>,
    counter: std::cell::Cell<u32>,
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Owner => "owner",
        Role::Admin => "admin",
        Role::Member => "member",
        Role::Service => "service",
    }
}

/// The second owner of the home organization: the "above" of every admin and member, with
/// `authorize_applications` so clients may run as them.
const SECOND_OWNER: &str = "second-owner@matrix.test";
const PEER: &str = "peer@matrix.test";

impl World {
    fn new() -> Self {
        // On a named issuer, so that the passkey pages are on (WebAuthn needs a domain).
        let (server, home, origin) = start_on_localhost();
        let other = Fixture::create(&server.cli).unwrap();
        let mut callers = BTreeMap::new();
        callers.insert("owner", home.owner_email.clone());
        for (role, email, extra) in [
            ("admin", "admin@matrix.test", vec!["--password-stdin"]),
            ("member", "member@matrix.test", vec!["--password-stdin"]),
            ("service", "service@matrix.test", vec!["--service"]),
        ] {
            let mut args = vec!["user", "create", "--org", &home.org_name, "--email", email, "--role"];
            args.push(if role == "service" { "member" } else { role });
            args.extend(extra);
            server.cli.json_with_stdin(&args, &format!("{PASSWORD}\n")).unwrap();
            callers.insert(role, email.to_owned());
        }
        add_user(&server, &home, SECOND_OWNER, "owner", PASSWORD, &["--permission", "authorize_applications"]);
        add_user(&server, &home, PEER, "member", PASSWORD, &[]);
        let users = server.cli.json(&["user", "list", "--org", &home.org_name]).unwrap();
        let ids = users
            .as_array()
            .unwrap()
            .iter()
            .map(|u| (u["email"].as_str().unwrap().to_owned(), u["id"].as_str().unwrap().to_owned()))
            .collect();
        World { server, origin, home, other, callers, ids, counter: std::cell::Cell::new(0) }
    }

    fn email(&self, role: Role) -> &str {
        &self.callers[role_name(role)]
    }

    fn id(&self, email: &str) -> String {
        self.ids.get(email).cloned().unwrap_or_else(|| self.user_state(email)["id"].as_str().unwrap().to_owned())
    }

    fn next(&self) -> u32 {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        n
    }

    /// A first-party admin-API token of the caller of `role`.
    async fn token(&self, role: Role) -> String {
        let scopes: &[&str] = match role {
            Role::Owner | Role::Admin => ADMIN_SCOPES,
            Role::Member | Role::Service => &["--scope", "tessera:clients"],
        };
        admin_token(&self.server, &self.home, self.email(role), scopes).await
    }

    /// A fresh client for a cell: client credentials, scope `read`, a secret. Returns its id
    /// and secret.
    fn client(&self, org: &Fixture, owner: &str, run_as: Option<&str>) -> (String, String) {
        let name = format!("target {}", self.next());
        let mut args = vec!["client", "create", "--org", &org.org_name, "--owner", owner, "--name", &name, "--grant", "client_credentials"];
        args.extend(["--grant", "authorization_code", "--redirect-uri", "https://app.example/cb", "--scope", "read"]);
        if let Some(run_as) = run_as {
            args.extend(["--run-as", run_as]);
        }
        let created = self.server.cli.json(&args).unwrap();
        (created["client_id"].as_str().unwrap().to_owned(), created["client_secret"].as_str().unwrap().to_owned())
    }

    /// The client a cell acts on, for a caller of `role`.
    fn client_target(&self, role: Role, target: Target) -> (String, String) {
        match target {
            Own | Org => self.client(&self.home, self.email(role), None),
            Peer => self.client(&self.home, PEER, None),
            Above => self.client(&self.home, SECOND_OWNER, None),
            OwnAbove => self.client(&self.home, self.email(role), Some(SECOND_OWNER)),
            Other => self.client(&self.other, &self.other.owner_email, None),
        }
    }

    /// A fresh user of `role` for a cell (no password; created by the operator).
    fn user(&self, org: &Fixture, role: &str) -> String {
        let email = format!("target{}@{}.test", self.next(), org.org_name);
        self.server.cli.json(&["user", "create", "--org", &org.org_name, "--email", &email, "--role", role]).unwrap();
        email
    }

    /// The user a cell acts on, for a caller of `role`: their own account, a member, another
    /// owner, or a member of the other organization.
    fn user_target(&self, role: Role, target: Target) -> String {
        match target {
            Own | Org | OwnAbove => self.email(role).to_owned(),
            Peer => self.user(&self.home, "member"),
            Above => self.user(&self.home, "owner"),
            Other => self.user(&self.other, "member"),
        }
    }

    /// A fresh identity provider of `org` (made by the operator), by id.
    fn provider(&self, org: &Fixture) -> String {
        let name = format!("provider {}", self.next());
        let args = [
            "idp",
            "add",
            "--org",
            &org.org_name,
            "--name",
            &name,
            "--issuer",
            "https://login.example.test",
            "--client-id",
            "tessera",
            "--client-secret-stdin",
        ];
        self.server.cli.json_with_stdin(&args, "upstream secret\n").unwrap()["id"].as_str().unwrap().to_owned()
    }

    /// What the operator sees of a client (`None`: gone).
    fn client_state(&self, id: &str) -> Option<Value> {
        let shown = self.server.cli.run(&["--json", "client", "show", id]).unwrap();
        shown.success.then(|| shown.json().unwrap())
    }

    /// What the operator sees of a user.
    fn user_state(&self, email: &str) -> Value {
        let org = if email.ends_with(&format!("@{}.test", self.other.org_name)) { &self.other } else { &self.home };
        let users = self.server.cli.json(&["user", "list", "--org", &org.org_name]).unwrap();
        users.as_array().unwrap().iter().find(|u| u["email"] == email).cloned().unwrap_or(Value::Null)
    }

    /// The newest audit entry of the home organization (`Null` when none).
    fn newest_audit_entry(&self) -> Value {
        let log = self.server.cli.json(&["audit", "list", "--org", &self.home.org_name, "--limit", "1"]).unwrap();
        log.as_array().unwrap().first().cloned().unwrap_or(Value::Null)
    }

    /// Whether `secret` still gets `id` a client-credentials token.
    async fn secret_works(&self, id: &str, secret: &str) -> bool {
        post_basic(&self.server, "/oauth2/token", id, secret, &[("grant_type", "client_credentials")]).await.status() == 200
    }
}

/// The object of a cell and how to see whether it changed.
enum Object {
    None,
    Client {
        id: String,
        secret: String,
    },
    User {
        email: String,
    },
    /// An identity provider, as the operator sees it.
    Provider {
        id: String,
    },
}

impl Object {
    async fn snapshot(&self, world: &World) -> (Value, bool) {
        match self {
            Object::None => (Value::Null, true),
            Object::Client { id, secret } => (world.client_state(id).unwrap_or(Value::Null), world.secret_works(id, secret).await),
            Object::User { email } => (world.user_state(email), true),
            Object::Provider { id } => {
                let shown = world.server.cli.run(&["--json", "idp", "show", id]).unwrap();
                (if shown.success { shown.json().unwrap() } else { Value::Null }, true)
            }
        }
    }
}

/// A request of a cell, with the object it acts on.
struct Request {
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
    object: Object,
}

impl Request {
    fn new(method: reqwest::Method, path: impl Into<String>, body: Option<Value>, object: Object) -> Self {
        Request { method, path: path.into(), body, object }
    }
}

/// Makes what an admin-API cell acts on (fresh objects, so cells do not disturb one another)
/// and the request to send.
async fn prepare(world: &World, role: Role, action: Route, target: Target) -> Request {
    use reqwest::Method;
    let client = || {
        let (id, secret) = world.client_target(role, target);
        (format!("/clients/{id}"), Object::Client { id, secret })
    };
    let user = |setup: Option<&str>| {
        let email = world.user_target(role, target);
        if let Some(command) = setup {
            world.server.cli.json(&["user", command, &email]).unwrap();
        }
        (format!("/members/{}", world.id(&email)), Object::User { email })
    };
    let empty = || Some(json!({}));
    match action {
        Me => Request::new(Method::GET, "/me", None, Object::None),
        ListClients => Request::new(Method::GET, "/clients", None, Object::None),
        CreateClient => {
            let body = json!({ "name": "new", "grants": ["client_credentials"], "scopes": ["read"] });
            Request::new(Method::POST, "/clients", Some(body), Object::None)
        }
        CreateClientRunningAsOwner => {
            let body = json!({ "name": "as owner", "grants": ["client_credentials"], "scopes": ["read"], "run_as": SECOND_OWNER });
            Request::new(Method::POST, "/clients", Some(body), Object::None)
        }
        ShowClient => {
            let (path, object) = client();
            Request::new(Method::GET, path, None, object)
        }
        RenameClient => {
            let (path, object) = client();
            Request::new(Method::PATCH, path, Some(json!({ "name": "renamed" })), object)
        }
        RescopeClient => {
            let (path, object) = client();
            Request::new(Method::PATCH, path, Some(json!({ "scopes": ["read", "write"] })), object)
        }
        DeleteClient => {
            let (path, object) = client();
            Request::new(Method::DELETE, path, None, object)
        }
        DisableClient => {
            let (path, object) = client();
            Request::new(Method::POST, format!("{path}/disable"), empty(), object)
        }
        EnableClient => {
            let (path, object) = client();
            if let Object::Client { id, .. } = &object {
                world.server.cli.json(&["client", "disable", id]).unwrap();
            }
            Request::new(Method::POST, format!("{path}/enable"), empty(), object)
        }
        RegenerateSecret => {
            let (path, object) = client();
            Request::new(Method::POST, format!("{path}/secret"), empty(), object)
        }
        RevealSecret => {
            let (path, object) = client();
            Request::new(Method::GET, format!("{path}/secret"), None, object)
        }
        ListMembers => Request::new(Method::GET, "/members", None, Object::None),
        AddMember | AddOwner => {
            let role = if action == AddOwner { "owner" } else { "member" };
            let body = json!({ "email": format!("added{}@matrix.test", world.next()), "role": role, "password": PASSWORD });
            Request::new(Method::POST, "/members", Some(body), Object::None)
        }
        ShowMember => {
            let (path, object) = user(None);
            Request::new(Method::GET, path, None, object)
        }
        MakeAdmin | MakeOwner => {
            let (path, object) = user(None);
            let role = if action == MakeOwner { "owner" } else { "admin" };
            Request::new(Method::PATCH, path, Some(json!({ "role": role })), object)
        }
        DisableMember => {
            let (path, object) = user(None);
            Request::new(Method::POST, format!("{path}/disable"), empty(), object)
        }
        EnableMember => {
            let (path, object) = user(Some("disable"));
            Request::new(Method::POST, format!("{path}/enable"), empty(), object)
        }
        ListScopes => Request::new(Method::GET, "/scopes", None, Object::None),
        AddScope => Request::new(Method::POST, "/scopes", Some(json!({ "name": format!("added{}", world.next()) })), Object::None),
        RestrictScope => Request::new(Method::PATCH, "/scopes/write", Some(json!({ "restricted": false })), Object::None),
        Invite => {
            Request::new(Method::POST, "/invitations", Some(json!({ "email": "invited@matrix.test", "role": "member" })), Object::None)
        }
        InviteOwner => {
            Request::new(Method::POST, "/invitations", Some(json!({ "email": "invited@matrix.test", "role": "owner" })), Object::None)
        }
        ShowOrganization => Request::new(Method::GET, "/organization", None, Object::None),
        UpdateOrganization => Request::new(Method::PATCH, "/organization", Some(json!({ "require_mfa": false })), Object::None),
        ListApprovals => Request::new(Method::GET, "/approvals", None, Object::None),
        Approve | Withdraw => {
            let (id, secret) = world.client_target(role, Other);
            let method = if action == Approve { Method::PUT } else { Method::DELETE };
            Request::new(method, format!("/approvals/{id}"), None, Object::Client { id, secret })
        }
        ListApprovalRequests => Request::new(Method::GET, "/approval-requests", None, Object::None),
        RejectApprovalRequest => {
            let (id, secret) = world.client_target(role, Other);
            Request::new(Method::DELETE, format!("/approval-requests/{id}"), None, Object::Client { id, secret })
        }
        ListIdentityProviders => Request::new(Method::GET, "/identity-providers", None, Object::None),
        AddIdentityProvider | AddIdentityProviderClaimingDomain => {
            let mut body = json!({ "name": format!("SSO {}", world.next()), "issuer": "https://login.example.test",
                "client_id": "tessera", "client_secret": "upstream secret" });
            if action == AddIdentityProviderClaimingDomain {
                body["email_domains"] = json!([format!("claimed{}.example", world.next())]);
            }
            Request::new(Method::POST, "/identity-providers", Some(body), Object::None)
        }
        ShowIdentityProvider | UpdateIdentityProvider | RemoveIdentityProvider => {
            let id = world.provider(if target == Other { &world.other } else { &world.home });
            let path = format!("/identity-providers/{id}");
            let object = Object::Provider { id };
            match action {
                ShowIdentityProvider => Request::new(Method::GET, path, None, object),
                UpdateIdentityProvider => Request::new(Method::PATCH, path, Some(json!({ "name": "renamed" })), object),
                _ => Request::new(Method::DELETE, path, None, object),
            }
        }
        Audit => Request::new(Method::GET, "/audit", None, Object::None),
        RevokeToken => {
            // A token of the caller's own organization: one of the home fixture's client.
            let token = access_token(&world.server, &world.home).await;
            Request::new(Method::POST, "/tokens/revoke", Some(json!({ "token": token })), Object::None)
        }
        OpenApi => Request::new(Method::GET, "/openapi.json", None, Object::None),
    }
}

/// Runs one cell: the answer must be `expected`; a refusal changes nothing, and a refusal for
/// lack of rights (an `access_denied` 403, not a missing scope) is audited under the caller.
async fn check(
    world: &World,
    caller_id: &str,
    expected: u16,
    cell: &str,
    request: Request,
    send: impl AsyncFnOnce(&Request) -> (u16, String),
) {
    let before = request.object.snapshot(world).await;
    let newest = world.newest_audit_entry()["id"].as_i64().unwrap_or(0);
    let (status, error) = send(&request).await;
    assert_eq!(status, expected, "{cell}: {error}");
    if status >= 400 {
        assert_eq!(request.object.snapshot(world).await, before, "{cell}: a refusal changed the object");
    }
    if status == 403 && error == "access_denied" {
        let entry = world.newest_audit_entry();
        let audited = entry["id"].as_i64().unwrap_or(0) > newest && entry["action"] == "access_denied" && entry["actor"] == caller_id;
        assert!(audited, "{cell}: the refusal is audited under the caller: {entry}");
    }
}

/// Sends an admin-API request with `token`; the status and the problem's `error`, if any.
async fn send_api(api: &Api<'_>, request: &Request) -> (u16, String) {
    let response = api.send(request.method.clone(), &request.path, request.body.as_ref()).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["error"].as_str().unwrap_or_default().to_owned())
}

fn column(role: Role) -> usize {
    ROLES.iter().position(|r| *r == role).unwrap_or(0)
}

/// Every admin-API route × role × target, with each caller's own first-party token.
#[tokio::test]
async fn admin_api_with_first_party_tokens() {
    let world = World::new();
    for role in ROLES {
        let api = Api::new(&world.server, &world.token(role).await);
        let caller_id = world.id(world.email(role));
        for &(action, target, expected) in FIRST_PARTY {
            let cell = format!("{action:?} on {target:?} as {role:?} with a first-party token");
            let request = prepare(&world, role, action, target).await;
            check(&world, &caller_id, expected[column(role)], &cell, request, async |r| send_api(&api, r).await).await;
        }
    }
}

/// A token another organization's app got by a user's consent carries no admin scope, so every
/// admin-API route refuses it (403 `insufficient_scope`), whoever consented; the document is
/// public.
#[tokio::test]
async fn admin_api_with_third_party_delegated_tokens() {
    let world = World::new();
    let mut flags = vec!["--grant", "authorization_code", "--redirect-uri", "https://app.example/cb", "--scope", "openid"];
    flags.extend_from_slice(ADMIN_SCOPES);
    let app = add_client(&world.server, &world.other, "third-party app", &flags).1;
    for role in [Role::Owner, Role::Admin, Role::Member] {
        let mut agent = Agent::new(&world.server);
        agent.origin = Some(world.origin.clone());
        assert_eq!(agent.login(world.email(role), if role == Role::Owner { OWNER_PASSWORD } else { PASSWORD }).await.status(), 303);
        let query = code_query(
            &app,
            &format!("&scope=openid+tessera%3Aadmin+tessera%3Aclients&code_challenge={}&code_challenge_method=S256", challenge(VERIFIER)),
        );
        let url = agent.authorize(&query, "allow").await;
        let code = response_params(&url)["code"].clone();
        let tokens = redeem(&world.server, &app, &code, &[("code_verifier", VERIFIER)]).await.json::<Value>().await.unwrap();
        assert_eq!(tokens["scope"], "openid", "{role:?}: {tokens}");
        let api = Api::new(&world.server, tokens["access_token"].as_str().unwrap());
        let caller_id = world.id(world.email(role));
        for &(action, target, _) in FIRST_PARTY {
            let expected = if action == OpenApi { 200 } else { 403 };
            let cell = format!("{action:?} on {target:?} as {role:?} with a third-party token");
            let request = prepare(&world, role, action, target).await;
            check(&world, &caller_id, expected, &cell, request, async |r| {
                let (status, error) = send_api(&api, r).await;
                if status == 403 {
                    assert_eq!(error, "insufficient_scope", "{action:?}");
                }
                (status, error)
            })
            .await;
        }
    }
}

/// A client that runs as a higher role than its owner's (made so by the operator): its token
/// acts as the run-as user, and the audit log names that user and the client; its owner may
/// turn it off but not obtain or change what it acts with.
#[tokio::test]
async fn admin_api_with_a_token_of_a_client_running_as_a_higher_role() {
    let world = World::new();
    let member = world.email(Role::Member).to_owned();
    let created = world
        .server
        .cli
        .json(&[
            "client",
            "create",
            "--org",
            &world.home.org_name,
            "--owner",
            &member,
            "--name",
            "runs as owner",
            "--grant",
            "client_credentials",
            "--run-as",
            SECOND_OWNER,
            "--scope",
            "tessera:clients",
        ])
        .unwrap();
    let (id, secret) = (created["client_id"].as_str().unwrap().to_owned(), created["client_secret"].as_str().unwrap().to_owned());
    let token = client_credentials_token(&world.server, &id, &secret).await;
    let elevated = Api::new(&world.server, &token);
    let me = elevated.send(reqwest::Method::GET, "/me", None).await.json::<Value>().await.unwrap();
    assert_eq!(me["user"]["email"], SECOND_OWNER, "the token acts as its run-as user");
    // Its scope is what the owner registered: tessera:clients, not tessera:admin.
    let (status, error) = send_api(&elevated, &Request::new(reqwest::Method::GET, "/members", None, Object::None)).await;
    assert_eq!((status, error.as_str()), (403, "insufficient_scope"));
    // An action through it is audited under the run-as user, naming the client.
    let renamed =
        send_api(&elevated, &Request::new(reqwest::Method::PATCH, format!("/clients/{id}"), Some(json!({ "name": "x" })), Object::None))
            .await;
    assert_eq!(renamed.0, 200);
    let log = world.server.cli.json(&["audit", "list", "--org", &world.home.org_name]).unwrap();
    let entry = log.as_array().unwrap().iter().find(|e| e["action"] == "client_updated" && e["target"] == id.as_str()).unwrap().clone();
    assert_eq!(entry["actor"], world.id(SECOND_OWNER).as_str());
    assert_eq!(entry["detail"]["via_client"], id.as_str());
    // Its owner, the member, may turn it off, not reveal, regenerate or re-scope it.
    let owner_api = Api::new(&world.server, &world.token(Role::Member).await);
    let caller_id = world.id(&member);
    let object = || Object::Client { id: id.clone(), secret: secret.clone() };
    for (method, path, body, expected) in [
        (reqwest::Method::GET, format!("/clients/{id}/secret"), None, 403),
        (reqwest::Method::POST, format!("/clients/{id}/secret"), Some(json!({})), 403),
        (reqwest::Method::PATCH, format!("/clients/{id}"), Some(json!({ "scopes": ["read"] })), 403),
        (reqwest::Method::POST, format!("/clients/{id}/disable"), Some(json!({})), 200),
    ] {
        let cell = format!("{method} {path} by the member who owns a client running as an owner");
        let request = Request::new(method, path, body, object());
        check(&world, &caller_id, expected, &cell, request, async |r| send_api(&owner_api, r).await).await;
    }
}

/// Prepares a portal cell: the page path and the form fields to post (`None`: a GET).
fn prepare_page(world: &World, role: Role, action: Page, target: Target) -> (String, Option<Vec<(String, String)>>, Object) {
    let client = || {
        let (id, secret) = world.client_target(role, target);
        (format!("/settings/api-clients/{id}"), Object::Client { id, secret })
    };
    let form = |fields: &[(&str, &str)]| Some(fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>());
    match action {
        Page::ShowClient => {
            let (path, object) = client();
            (path, None, object)
        }
        Page::RevealSecret => {
            let (path, object) = client();
            (format!("{path}/secret"), form(&[]), object)
        }
        Page::RegenerateSecret => {
            let (path, object) = client();
            (format!("{path}/regenerate"), form(&[]), object)
        }
        Page::DeleteClient => {
            let (path, object) = client();
            (format!("{path}/delete"), form(&[]), object)
        }
        Page::ConfirmTurnOff => {
            let (path, object) = client();
            (format!("{path}/status"), None, object)
        }
        Page::TurnClientOff => {
            let (path, object) = client();
            (format!("{path}/status"), form(&[("status", "off")]), object)
        }
        Page::EditClientScopes => {
            let (path, object) = client();
            let fields = [
                ("name", "edited"),
                ("grants", "client_credentials"),
                ("grants", "authorization_code"),
                ("grants", ""),
                ("scopes", "read"),
                ("scopes", "write"),
                ("scopes", ""),
                ("redirect_uris", "https://app.example/cb"),
            ];
            (format!("{path}/edit"), form(&fields), object)
        }
        Page::Members => ("/admin/members".into(), None, Object::None),
        Page::AddMember => {
            let email = format!("added{}@matrix.test", world.next());
            ("/admin/members".into(), form(&[("email", &email), ("role", "member"), ("password", PASSWORD)]), Object::None)
        }
        Page::MakeAdmin | Page::MakeOwner | Page::DisableMember => {
            let email = world.user_target(role, target);
            let id = world.id(&email);
            let object = Object::User { email };
            match action {
                Page::MakeAdmin => (format!("/admin/members/{id}"), form(&[("role", "admin")]), object),
                Page::MakeOwner => (format!("/admin/members/{id}"), form(&[("role", "owner")]), object),
                _ => (format!("/admin/members/{id}/disable"), form(&[]), object),
            }
        }
        Page::Scopes => ("/admin/scopes".into(), None, Object::None),
        Page::AddScope => ("/admin/scopes".into(), form(&[("name", &format!("page{}", world.next()))]), Object::None),
        Page::Approvals => ("/admin/approvals".into(), None, Object::None),
        Page::RejectApplication => {
            let (id, secret) = world.client_target(role, Other);
            ("/admin/approvals/reject".into(), form(&[("client_id", &id)]), Object::Client { id, secret })
        }
        Page::Audit => ("/admin/audit".into(), None, Object::None),
        Page::Organization => ("/admin/organization".into(), None, Object::None),
        Page::SaveOrganization => ("/admin/organization".into(), form(&[]), Object::None),
        Page::AddIdentityProvider => {
            let name = format!("SSO {}", world.next());
            let fields =
                [("name", name.as_str()), ("issuer", "https://login.example.test"), ("client_id", "tessera"), ("client_secret", "s")];
            ("/admin/organization/identity-providers".into(), form(&fields), Object::None)
        }
        Page::RemoveIdentityProvider => {
            let id = world.provider(if target == Other { &world.other } else { &world.home });
            ("/admin/organization/identity-providers/remove".into(), form(&[("id", &id)]), Object::Provider { id })
        }
        Page::Memberships => ("/settings/organizations".into(), None, Object::None),
        Page::Invite => ("/admin/members/invite".into(), form(&[("email", "invited@matrix.test"), ("role", "member")]), Object::None),
        Page::AcceptInvitation if target == Org => {
            ("/invite/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/accept".into(), form(&[]), Object::None)
        }
        Page::AcceptInvitation => {
            let email = format!("someone{}@matrix.test", world.next());
            let args = ["user", "invite", "--org", &world.home.org_name, "--email", &email, "--role", "owner"];
            let invited = world.server.cli.json(&args).unwrap();
            let token = invited["invite_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
            (format!("/invite/{token}/accept"), form(&[]), Object::None)
        }
        Page::SwitchMembership => {
            let email = if target == Other { world.other.owner_email.clone() } else { world.email(role).to_owned() };
            ("/settings/organizations/switch".into(), form(&[("user_id", &world.id(&email))]), Object::User { email })
        }
        Page::Security => ("/settings/security".into(), None, Object::None),
        Page::ChangePassword => {
            // To the same password: the cells after this one sign in with it.
            let password = if role == Role::Owner { OWNER_PASSWORD } else { PASSWORD };
            let fields = [("current_password", password), ("new_password", password), ("confirm_password", password)];
            ("/settings/security/password".into(), form(&fields), Object::None)
        }
        Page::VerifyEmail => ("/settings/security/verify-email".into(), form(&[]), Object::None),
        Page::EndOtherSessions => ("/settings/security/sessions/end-others".into(), form(&[]), Object::None),
        Page::EndSession => {
            ("/settings/security/sessions/end".into(), form(&[("session", "00112233445566778899aabbccddeeff")]), Object::None)
        }
        Page::SetUpTotp => ("/settings/security/totp".into(), form(&[]), Object::None),
        Page::TotpBeingSetUp => ("/settings/security/totp".into(), None, Object::None),
        Page::ConfirmTotp => ("/settings/security/totp/confirm".into(), form(&[("code", "not-a-code")]), Object::None),
        Page::RemoveTotp => {
            let password = if role == Role::Owner { OWNER_PASSWORD } else { PASSWORD };
            ("/settings/security/totp/remove".into(), form(&[("current_password", password)]), Object::None)
        }
        Page::AddPasskey => ("/settings/security/passkeys/new".into(), form(&[]), Object::None),
        Page::FinishPasskey => {
            let fields = [("ceremony", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), ("name", "made up"), ("credential", "{}")];
            ("/settings/security/passkeys".into(), form(&fields), Object::None)
        }
        Page::RemovePasskey => ("/settings/security/passkeys/remove".into(), form(&[("passkey", "pk_notanyones")]), Object::None),
    }
}

/// Every portal and admin-page action × role × target, in a signed-in browser session.
#[tokio::test]
async fn pages_with_browser_sessions() {
    let world = World::new();
    for role in [Role::Owner, Role::Admin, Role::Member] {
        let mut agent = Agent::new(&world.server);
        agent.origin = Some(world.origin.clone());
        assert_eq!(agent.login(world.email(role), if role == Role::Owner { OWNER_PASSWORD } else { PASSWORD }).await.status(), 303);
        // The session's form token: every form of the session carries the same one.
        let page = agent.get("/settings/api-clients/new?kind=server").await.text().await.unwrap();
        let csrf = hidden(&page, "csrf_token");
        let caller_id = world.id(world.email(role));
        for &(action, target, expected) in PAGES {
            let cell = format!("{action:?} on {target:?} as {role:?} in a browser session");
            let (path, fields, object) = prepare_page(&world, role, action, target);
            let request = Request::new(reqwest::Method::GET, path, None, object);
            let agent = &mut agent;
            check(&world, &caller_id, expected[column(role)], &cell, request, async |r| {
                let response = match &fields {
                    None => agent.get(&r.path).await,
                    Some(fields) => {
                        let mut form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                        form.push(("csrf_token", &csrf));
                        agent.post(&r.path, &form).await
                    }
                };
                let status = response.status().as_u16();
                // The page says why; the audit entries of the same refusals are checked through the
                // admin API, which calls the same use cases.
                (status, String::new())
            })
            .await;
        }
    }
}
