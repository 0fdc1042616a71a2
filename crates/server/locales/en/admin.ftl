# admin pages (en). Keys start with "admin-".
# The organization's admin pages (Members, Scopes, Approvals, Audit log, Settings), Your
# organizations and Connected applications. Variables: { $email } a person's email, { $name } a
# name, { $when } a time, { $count } a number.

## Shared by the organization's pages
admin-actions = Actions
admin-save = Save
admin-email = Email
admin-role = Role
admin-client-id = Client ID
admin-role-member = member
admin-role-admin = admin
admin-role-owner = owner
# A role a form did not name (lowercase: the page makes it a sentence).
admin-pick-role = pick a role: member, admin or owner

## Members
admin-members-role-and-permission = Role and permission
admin-members-status = Status
admin-members-service-user = service user
admin-members-you = (you)
admin-members-role-of = Role of { $email }
admin-members-may-run-as = may be run-as user
admin-members-disabled = Disabled
admin-members-active = Active
admin-members-enable = Enable
admin-members-disable = Disable
admin-members-enable-who = Enable { $email }
admin-members-disable-who = Disable { $email }
admin-members-invite-heading = Invite someone
admin-members-invite-help = A link to join goes to this address and works for 7 days. The invitee chooses their password, or signs in if they have an account.
admin-members-send-invitation = Send invitation
# Around the command `tessera user invite`.
admin-members-mail-off-before = Email is off on this server, so invitations cannot be mailed. The operator can invite with
admin-members-mail-off-after = , or add a member below.
admin-members-waiting-heading = Waiting to be accepted
# $when: until when the invitation works.
admin-members-until = until { $when }
admin-members-add-heading = Add a member
admin-members-initial-password = Initial password
admin-members-initial-password-help = (at least 12 characters; leave empty for a service user; someone who has an account already keeps their own)
admin-members-may-run-as-check = May be a client's run-as user (authorize applications)
admin-members-service-check = Service user (no password, cannot sign in; exists to be a run-as user)
admin-members-add = Add member
# Lowercase: the page makes it a sentence.
admin-members-password-needed = give the new member an initial password, or tick Service user

## Scopes
admin-scopes-heading = Scope catalogue
admin-scopes-intro = Clients of this organization register scopes from this list. A restricted scope may be granted only by owners and admins.
admin-scopes-scope = Scope
admin-scopes-who = Who may grant it
admin-scopes-restricted = owners and admins (restricted)
admin-scopes-everyone = everyone
admin-scopes-unrestrict = Unrestrict
admin-scopes-restrict = Restrict
admin-scopes-add-heading = Add a scope
admin-scopes-name = Name
admin-scopes-restricted-check = Restricted (owners and admins only)
admin-scopes-add = Add scope

## Approvals
admin-approvals-heading = Application approvals
admin-approvals-intro = Applications that require an organization's approval get tokens for this organization's members only once approved here.
admin-approvals-waiting-heading = Waiting for your approval
admin-approvals-none-waiting = No application is waiting: when a member tries to authorize one that needs approval, it shows up here.
admin-approvals-application = Application
admin-approvals-registered-by = Registered by
admin-approvals-scopes = Scopes
admin-approvals-asked = Asked
# After a time: who asked, or who approved.
admin-approvals-by = by { $email }
admin-approvals-times = ({ $count } times)
admin-approvals-approve = Approve
admin-approvals-approve-name = Approve { $name }
admin-approvals-reject = Reject
admin-approvals-reject-name = Reject { $name }
admin-approvals-approved = Approved
admin-approvals-none-approved = No application is approved yet.
admin-approvals-withdraw = Withdraw
admin-approvals-withdraw-name = Withdraw the approval of { $name }
admin-approvals-by-id-heading = Approve an application by its client ID
admin-approvals-no-client = There is no client with this id.

## Audit log
admin-audit-actor = Actor
admin-audit-actor-placeholder = email or id
admin-audit-action = Action
admin-audit-action-placeholder = any
admin-audit-client = Client
admin-audit-client-placeholder = client id
admin-audit-from = From
admin-audit-to = To
admin-audit-filter = Filter
admin-audit-none = No entries.
admin-audit-when = When (UTC)
admin-audit-target = Target
admin-audit-address = Address
admin-audit-detail = Detail
admin-audit-older = Older entries

## Settings
admin-settings-require-mfa = Require a second factor of every member
admin-settings-require-mfa-help = Members without an authenticator app are sent to set one up right after signing in, and can do nothing else until they have. Turn it on after setting up your own.
admin-settings-mfa-required = Every member must sign in with a second factor.
admin-settings-mfa-optional = Members may sign in with their password alone; a second factor is their choice.
admin-settings-owner-only = Only an owner may change this.

## Your organizations
admin-orgs-heading = Your organizations
admin-orgs-intro = You sign in once, as { $email }, and work in one organization at a time: its clients, its members, and the tokens you get carry it.
admin-orgs-disabled = disabled by the organization
admin-orgs-current = Current
admin-orgs-current-label = { $name }: the organization you are working in
admin-orgs-switch = Switch
admin-orgs-switch-to = Switch to { $name }

## Connected applications
admin-connected-heading = Connected applications
admin-connected-intro = Applications you allowed to use your account. Revoking one ends its access at once; it asks you again next time.
admin-connected-none = You have not allowed any application to use your account.
admin-connected-revoke = Revoke access
admin-connected-revoke-name = Revoke access of { $name }

## Single sign-on on the organization page

admin-settings-sign-in = Signing in
admin-settings-require-sso = Members sign in through the identity provider
admin-settings-require-sso-help = Password sign-in is off for members; owners keep their password as a way in if the provider fails.
admin-settings-require-sso-needs = Connect an identity provider below first.
admin-settings-sso-required = Members sign in through the organization's identity provider.
admin-sso-heading = Single sign-on
admin-sso-intro = Members can sign in with your company's OpenID Provider (Okta, Entra ID, Google Workspace, Keycloak, …). The sign-in page of your applications offers “Continue with” it.
admin-sso-none = No identity provider is connected.
admin-sso-name = Name
admin-sso-issuer = Issuer
admin-sso-domains = Email domains
admin-sso-no-domains = none
admin-sso-default-role = Role of new members
admin-sso-remove = Disconnect
admin-sso-remove-name = Disconnect { $name }
admin-sso-add-heading = Connect an identity provider
admin-sso-register = Register this as the redirect URI of a web application at your provider:
admin-sso-name-help = The sign-in page says “Continue with” this name.
admin-sso-client-id = Client ID at the provider
admin-sso-client-secret = Client secret at the provider
admin-sso-domains-operator = Email domains (people of which sign in here and become members at their first sign-in) are set by the server's operator.
admin-sso-add = Connect
admin-sso-copy-callback = the redirect URI
