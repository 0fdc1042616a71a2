# German for the service's messages (see messages.ftl): accounts, sign-in, mail, invitations, second factors, and the server's own.

## Accounts and passwords (accounts.rs, password.rs)

password-current-wrong = Das aktuelle Passwort stimmt nicht.
account-service-user-no-password = ein Dienstbenutzer hat kein Passwort: er kann sich nicht anmelden
password-length = Ein Passwort muss { $least } bis { $most } Zeichen haben.
password-common = Dieses Passwort gehört zu den häufigsten in bekannten Datenlecks; wählen Sie ein anderes.

## Invitations (invitations.rs)

invitation-mail-off = auf diesem Server ist E-Mail ausgeschaltet, und eine Einladung wird per E-Mail verschickt; der Betreiber kann mit `tessera user invite` einladen
invitation-member-already = { $email } ist bereits Mitglied von { $org }
invitation-inviter-powerless = die Person, die diese Einladung verschickt hat, kann diese Rolle nicht mehr vergeben: bitten Sie die Organisation um eine neue Einladung
invitation-has-account = { $email } hat bereits ein Konto: melden Sie sich an, um die Einladung anzunehmen
invitation-member-of-org-already = in dieser Organisation sind Sie bereits Mitglied
invitation-other-email = diese Einladung gilt für { $email }: melden Sie sich ab und dann als { $email } an, um sie anzunehmen

## Memberships (memberships.rs)

membership-disabled = in { $org } ist Ihre Mitgliedschaft deaktiviert
membership-second-factor-required = { $org } verlangt einen zweiten Faktor: richten Sie auf Ihrer Seite „Sicherheit“ einen ein und versuchen Sie es dann erneut

## Mail (mail.rs)

mail-smtp-url-bad = smtp_url: { $why }
mail-smtp-url-not-url = keine URL (smtp://HOST:PORT oder smtps://HOST:PORT)
mail-smtp-url-no-host = kein Host
mail-smtp-url-scheme = das Schema muss smtp:// oder smtps:// sein
mail-smtp-ca-file-not-pem = smtp_ca_file: kein PEM-Zertifikat
mail-from-not-address = mail_from: keine E-Mail-Adresse

## The master key (master_key.rs, secrets.rs)

master-key-check-missing = der Speicher enthält versiegelte Daten, aber keinen Prüfwert des Master-Schlüssels
master-key-wrong = der Master-Schlüssel passt nicht zu diesem Speicher (falscher TESSERA_MASTER_KEY oder falsche Datei master.key)
master-key-other-sealed = der Speicher enthält Daten, die mit einem anderen Master-Schlüssel versiegelt sind
master-key-not-base64url = der Master-Schlüssel ist kein gültiges base64url
master-key-length = der Master-Schlüssel muss 32 Bytes lang sein

## Passkeys (passkeys.rs, second_factor.rs)

passkey-not-accepted = Dieser Passkey konnte nicht geprüft werden. Versuchen Sie es erneut, oder nutzen Sie einen anderen Weg.
passkey-step-up-not-accepted = Dieser Passkey konnte nicht geprüft werden. Versuchen Sie es erneut, oder nutzen Sie Ihr Passwort.
passkey-off = für Passkeys muss der Issuer ein Domainname sein (WebAuthn kennt keine Relying Party auf einer IP-Adresse)
passkey-too-many = für Sie { $most ->
        [one] ist bereits ein Passkey
       *[other] sind bereits { $most } Passkeys
    } eingetragen: entfernen Sie zuerst einen
passkey-name-too-long = Der Name eines Passkeys hat höchstens { $most } Zeichen.
passkey-registered-already = dieser Passkey ist bereits registriert

## The authenticator app (second_factor.rs)

totp-set-up-already-remove = eine Authenticator-App ist bereits eingerichtet: entfernen Sie sie zuerst
totp-set-up-already = die Authenticator-App ist bereits eingerichtet
totp-code-wrong = Dieser Code stimmt nicht. Geben Sie die sechs Ziffern ein, die die App gerade anzeigt.

## The portal's access-token generator (portal.rs)

portal-generator-private-key-jwt = dieser Client authentifiziert sich mit private_key_jwt: nur wer seinen privaten Schlüssel hat, kann seine Tokens erhalten

## Registration tokens (registration.rs)

registration-owner-not-member = der Eigentümer gehört nicht zu dieser Organisation
registration-token-limits = --expires-in und --uses müssen mindestens 1 sein

## The admin API (server: http/admin_api.rs)

api-limit-out-of-range = limit muss zwischen 1 und { $most } liegen
api-cursor-unknown = cursor ist keiner, den dieser Server ausgegeben hat
api-role-unknown = role muss owner, admin oder member sein, nicht „{ $value }“
api-scope-exists = der Scope „{ $name }“ existiert bereits oder ist eingebaut
api-audit-target-and-client = geben Sie target oder client an, nicht beides
api-audit-instant-bad = { $name } muss in Unix-Sekunden oder als YYYY-MM-DD oder YYYY-MM-DDTHH:MM:SSZ angegeben werden

## The session API (server: http/sessions.rs)

session-param-required = { $name } ist erforderlich
