# account pages (en). Keys start with "account-".
# Signing in, the second step, passkeys, signing out, the first owner's setup link, step-up,
# password reset, invitations, consent and approval, the device page, the security settings, and
# the error pages. Each message with a variable says what it holds.

## Words many of these pages share
account-sign-in = Sign in
account-email = Email
account-password = Password
account-password-again = Password again
account-new-password = New password
account-new-password-again = New password again
account-current-password = Current password
account-code = Code
account-cancel = Cancel
account-continue = Continue
account-done = Done
account-name = Name
account-security = Security
account-use-passkey = Use a passkey
account-sign-in-with-passkey = Sign in with a passkey
account-forgot-password = Forgot your password?
account-authenticator-app = Authenticator app
account-passwords-differ = The two passwords are not the same.
account-allow = Allow
account-deny = Deny
# $email: the email of the application's owner.
account-registered-by = This application is registered by { $email }. It asks to:
# $count: minutes to wait.
account-locked-out = Too many failed attempts. Try again in { $count ->
        [one] { $count } minute
       *[other] { $count } minutes
    }.

## Refusals of a request or a form
account-request-failed = This request cannot be completed
account-authorize-form-only = An authorization request is sent in the query or as a form (application/x-www-form-urlencoded).
account-choose-allow-deny = Choose Allow or Deny.
account-cannot-continue = Cannot continue
account-bad-return-address = The address to return to is not valid.
account-form-expired = This form has expired
account-form-expired-text = Go back, reload the page and try again.
account-form-unreadable = This form cannot be read
account-form-unreadable-text = Go back and try again with fewer entries.

## Sign in
account-login-password-set = Your new password is set. Sign in with it.
account-login-wrong = Wrong email or password.
account-login-passkey-not-checked = That passkey could not be checked. Try again, or sign in with your password.
account-passkey-sign-in-text = Your browser asks for one of your passkeys for this site: on this device, on your phone or on a security key.
account-passkey-password-instead = Sign in with your password instead

## The second step of signing in
account-mfa-title = Second step
account-mfa-heading = Your second factor
# $email: who is signing in.
account-mfa-signing-in-as = Signing in as { $email }.
account-mfa-hint-totp = Enter the six-digit code your authenticator app shows, or one of your recovery codes.
account-mfa-hint-passkey = Use your passkey, or enter one of your recovery codes.
account-mfa-sign-in-recovery = Sign in with a recovery code
account-mfa-start-again = Start again
account-mfa-wrong-code = That code is not right. Codes change every 30 seconds; each works once.
account-mfa-passkey-not-checked = That passkey could not be checked. Try again, or enter a code.
account-mfa-expired = This sign-in has expired
account-mfa-expired-text = Sign in again: the second step waits 5 minutes.

## What the browser says while it asks for a passkey (assets/webauthn.js)
account-webauthn-unsupported = This browser cannot use passkeys here.
account-webauthn-waiting = Waiting for your passkey…
account-webauthn-not-allowed = No passkey was used. Try again, or use another way.
# $name: the browser's own words for what went wrong.
account-webauthn-failed = The passkey could not be used: { $name }.
account-webauthn-unknown-error = unknown error

## Log out
account-logout = Log out
# $email: who is signed in.
account-logout-signed-in-as = You are signed in as { $email }.
# $name: the brand name.
account-logout-question = Do you want to log out of { $name }?
account-signed-out = You are signed out
# $name: the brand name.
account-signed-out-text = You have been signed out of { $name }. You can close this window.
account-logout-failed = Cannot log out
account-logout-malformed = The logout request is malformed.

## The first owner's setup link
# $name: the brand name.
account-setup-title = Set up { $name }
account-setup-heading = Create the first owner
# $name: the organization.
account-setup-text = This one-time link creates the owner of the organization “{ $name }”. It stops working once used.
account-setup-password = Password (at least 12 characters)
account-setup-create = Create owner
account-setup-not-valid = This setup link is not valid
account-setup-not-valid-text = It was used already, has expired (a link works for 24 hours), or was replaced by a newer one. Once the first owner exists, sign in instead.

## Confirming who you are before a sensitive action
account-step-up-title = Confirm it's you
# $name: what the action does, one of the account-step-up-to-… messages.
account-step-up-passkey-text = To { $name }, use one of your passkeys, or your password and a code. You are asked because you signed in more than 5 minutes ago, or without your second factor.
account-step-up-confirm-passkey = Confirm with a passkey
account-step-up-or-password = Or use your password
# $name: what the action does, one of the account-step-up-to-… messages.
account-step-up-password-code-text = To { $name }, enter your password and a code from your authenticator app. You are asked because you signed in more than 5 minutes ago, or without your second factor.
# $name: what the action does, one of the account-step-up-to-… messages.
account-step-up-password-text = To { $name }, enter your password. You are asked because you signed in more than 5 minutes ago.
account-step-up-code = Code from your authenticator app, or a recovery code
account-step-up-confirm = Confirm and go on
account-step-up-to-add-second-factor = add a second factor
account-step-up-to-add-passkey = add a passkey
account-step-up-to-remove-passkey = remove a passkey
account-step-up-to-show-secret = show the secret
account-step-up-to-make-secret = make a new secret
account-step-up-to-change-role = change a member's role
account-step-up-to-change-settings = change the organization's settings

## Forgot your password, the reset link and the verification link
account-forgot-title = Forgot your password
account-forgot-text = Enter the email you sign in with. If it belongs to an account, a link to choose a new password is mailed to it; the link works for 30 minutes.
account-forgot-send = Send the link
# Followed by the command an operator runs, in brackets.
account-forgot-mail-off = Email is off on this server, so no reset link can be mailed. Ask an owner of your organization or the server's operator to set a new password for you
account-back-to-sign-in = Back to sign in
account-mail-off = Email is off
account-mail-off-text = No reset link can be mailed from this server.
account-check-mail = Check your mail
account-check-mail-text = If the address belongs to an account, a link to choose a new password is on its way. It works for 30 minutes, once; a newer link replaces it.
account-link-not-valid = This link is not valid
account-reset-link-not-valid-text = It was used already, has expired, or was replaced by a newer one. Ask for a new one from the sign-in page: "Forgot your password?".
account-verify-link-not-valid-text = It was used already, has expired, or was replaced by a newer one. Ask for a new one on the Security page.
account-email-verified = Your email is verified
# $email: the address.
account-email-verified-text = { $email } is confirmed as your address.
account-reset-title = Choose a new password
# $email: whose password.
account-reset-text = For { $email }. At least 12 characters; a few unrelated words make a good one. Every browser signed in as you is signed out.
account-reset-set = Set password

## The invitation link
# $name: the organization.
account-invite-join = Join { $name }
# $email: who is invited, $name: the organization.
account-invite-text-owner = { $email } is invited to join { $name } as owner.
# $email: who is invited, $name: the organization.
account-invite-text-admin = { $email } is invited to join { $name } as admin.
# $email: who is invited, $name: the organization.
account-invite-text-member = { $email } is invited to join { $name } as member.
# Before the link "sign out". $email: who is signed in.
account-invite-other-account = You are signed in as { $email }. To accept,
account-invite-sign-out = sign out
# After the link "sign out". $email: who is invited.
account-invite-other-account-after = , then open this link again and sign in as { $email }.
# Before the link "sign in". $email: who is invited.
account-invite-has-account = { $email } has an account:
account-invite-sign-in = sign in
# Right after the link "sign in".
account-invite-has-account-after = {" "}to accept.
account-invite-choose-password = Choose a password for your account: at least 12 characters; a few unrelated words make a good one.
account-invite-not-valid = This invitation is not valid
account-invite-not-valid-text = It was accepted already, has expired (a link works for 7 days), or was replaced by a newer one. Ask for a new one.

## Consent
# $name: the application.
account-consent-title = Allow { $name }?
# Before the application's name in the heading.
account-consent-heading-before = Allow
# After the application's name in the heading.
account-consent-heading-after = to use your account?
# $email: who is signed in.
account-consent-signed-in = You are signed in as { $email }. You can withdraw this access later under Connected applications.
account-consent-organization = In which of your organizations may it act?

## An admin's approval of an application for the organization
# $name: the application.
account-approval-title = Approve { $name }?
# Before the application's name in the heading.
account-approval-heading-before = Approve
# After the application's name in the heading. $name: the organization.
account-approval-heading-after = for { $name }?
# $email: the application's owner, $name: the organization.
account-approval-text = Registered by { $email }. Once approved, this application may keep access (refresh tokens) for the members of { $name } who authorize it.
# $email: who is signed in.
account-approval-scopes = Approving also lets it use your own account, as { $email }, to:
# $name: the organization.
account-approval-already = This application is already approved for { $name }.
account-approve = Approve

## The device page
account-device-title = Connect a device
# Before the application's name in the heading.
account-device-heading-before = Allow
# After the application's name in the heading.
account-device-heading-after = on your device?
# Before the code.
account-device-check = Check that your device shows the code
# Right after the code.
account-device-check-after = .
# $email: who is signed in.
account-device-signed-in = You are signed in as { $email }. Deny if you did not start this on a device of yours.
account-device-enter = Enter the code your device shows.
account-device-hint = Letters only; the dash is optional and case does not matter.
account-device-not-valid = That code is not valid. Check the code on your device; it may have expired.
# $count: minutes to wait.
account-device-too-many = Too many wrong codes. Try again in { $count ->
        [one] { $count } minute
       *[other] { $count } minutes
    }.
account-device-connected = Device connected
account-device-connected-text = You can return to your device; it will continue by itself.
account-device-denied = Request denied
account-device-denied-text = The device was not given access. You can close this page.
account-device-code-used = This code cannot be used
account-device-code-used-text = It has expired or was answered already.

## Passkeys, the authenticator app and recovery codes
account-add-passkey = Add a passkey
account-passkey-setup-text = A passkey signs you in with this device's screen lock, your phone or a security key, instead of a password or after it. Name it so you can tell your passkeys apart.
account-passkey-name-example = Work laptop
account-passkey-create = Create the passkey
account-totp-set-up = Set up an authenticator app
# Before the link "open it in the app".
account-totp-scan = Scan this code with your authenticator app (or, on this phone,
account-totp-open = open it in the app
# Right after the link "open it in the app".
account-totp-scan-after = ).
# Before the key.
account-totp-type = Or type this key into the app:
account-totp-enter = Enter the six-digit code the app shows now.
account-totp-code = Code from the app
account-totp-turn-on = Turn on
account-recovery-codes = Recovery codes
account-recovery-heading = Your recovery codes
account-recovery-on = The authenticator app is on: signing in now asks for a code from it.
account-recovery-text = If you lose the app, each of these codes signs you in once instead. Keep them somewhere safe: they are shown only now.

## The security settings
account-verified = verified
account-not-verified = not verified
account-verify = Verify
account-verify-text = Mails you a link that proves you receive mail at this address.
account-verify-mail-off = Email is off on this server: the address cannot be verified here.
account-second-factor = Second factor
account-on = on
# $count: how many recovery codes are left.
account-codes-left = { $count } recovery codes left
account-remove-totp-password = Current password, to remove the app
account-remove-totp = Remove the authenticator app
account-password-only = Signing in asks for your password only. With an authenticator app it also asks for a code from your phone.
# $count: how many recovery codes are left.
account-passkeys-factor = Your passkeys are your second factor ({ $count } recovery codes left). An authenticator app can be one too.
account-passkeys = Passkeys
account-passkeys-text = A passkey signs you in with this device's screen lock, your phone or a security key: instead of your password, or as the second step after it.
account-added = Added
account-last-used = Last used
# $name: the passkey's name.
account-remove-passkey = Remove the passkey { $name }
account-remove = Remove
account-passkeys-off = Passkeys are off on this server: they need it to be reached by a domain name, not an IP address.
account-sessions = Signed-in browsers
account-browser = Browser
account-address = Address
account-signed-in = Signed in
account-last-seen = Last seen
account-this-browser = this browser
# $name: the browser (account-browser-at), $when: when it signed in.
account-sign-out-browser = Sign out { $name }, signed in { $when }
# $name: the browser (account-browser-on-system), $address: its IP address.
account-browser-at = { $name } at { $address }
# $name: the browser's name (Firefox), $system: its operating system (Linux).
account-browser-on-system = { $name } on { $system }
account-a-browser = a browser
account-unknown = unknown
account-never = never
account-sign-out = Sign out
account-sign-out-others = Sign out every other browser
account-change-password = Change your password
account-change-password-text = At least 12 characters; a few unrelated words make a good one. Every other browser signed in as you is signed out.
account-change-password-button = Change password
account-new-passwords-differ = The two new passwords are not the same.

## Error pages
account-error-not-found = Not found
# $name: what was looked for, in the service's words (client, user, …).
account-error-not-found-text = There is no such { $name } here.
account-error-not-allowed = Not allowed
account-error-cannot = This cannot be done
account-error-off = This is off here
account-error-failed = Something went wrong
# $name: the brand name.
account-error-failed-text = { $name } cannot answer right now. Try again in a moment.

## Single sign-on (http/sso.rs)

account-continue-with = Continue with { $name }
account-sso-failed = Sign-in did not go through
account-sso-sign-in-again = Sign in again
account-password-sso-hint = With a company email, leave the password empty to sign in through your company.
account-login-joined-sso = You joined the organization. It signs its members in through its identity provider: use “Continue with” it, or an email of its domain with no password.
