# German for the service's messages (see messages.ftl): the administrative use cases, src/admin/.


## Who may do it, and names (admin/mod.rs, orgs.rs)

operator-only = das darf nur der Betreiber tun, mit dem Befehl tessera
org-name-bad = ein Organisationsname muss 1 bis 100 Zeichen lang sein und darf keine Steuerzeichen enthalten
org-name-taken = eine Organisation namens „{ $name }“ gibt es bereits

## Members (members.rs)

member-email-invalid = „{ $email }“ ist keine E-Mail-Adresse
member-service-no-password = ein Dienstbenutzer hat kein Passwort und kann sich nicht anmelden
member-password-and-hash = entweder ein Passwort oder ein Passwort-Hash, nicht beides
member-service-email-taken = ein Dienstbenutzer braucht eine E-Mail-Adresse, die noch kein Konto nutzt, nicht { $email }
member-keeps-password = { $email } hat bereits ein Konto, und die Person behält ihr Passwort: fügen Sie die Mitgliedschaft ohne --password-stdin hinzu
member-email-taken = { $email } ist bereits Mitglied von { $org } oder wird bereits von einem Dienstbenutzer verwendet
member-email-ambiguous = { $email } ist Mitglied mehrerer Organisationen: nennen Sie den Benutzer bei der ID, die `user list --org ORG` anzeigt

## Clients (clients.rs, client_secrets.rs)

client-name-bad = ein Client-Name muss 1 bis 100 Zeichen lang sein und darf keine Steuerzeichen enthalten
client-auth-method-unknown = unbekannte token_endpoint_auth_method „{ $name }“
client-keys-and-uri = geben Sie entweder öffentliche Schlüssel (jwks) oder eine jwks_uri an, nicht beides
client-public-key-bad = öffentlicher Schlüssel: { $why }
client-keys-not-json = der Schlüsselsatz ist weder ein JSON Web Key noch ein Key Set
client-keys-private = der Schlüsselsatz enthält einen privaten oder symmetrischen Schlüssel; hinterlegen Sie nur den öffentlichen Schlüssel
client-keys-empty = der Schlüsselsatz ist leer
client-keys-too-large = der Schlüsselsatz enthält mehr als { $most } Schlüssel oder ist größer als 64 KiB
client-keys-unsupported = nicht unterstützter Schlüssel: { $detail }
client-keys-kid-twice = zwei Schlüssel haben dieselbe kid „{ $kid }“
client-keys-not-pem = der PEM-Text ist kein öffentlicher Schlüssel (SubjectPublicKeyInfo oder RSA PUBLIC KEY)
client-keys-only-private-key-jwt = öffentliche Schlüssel werden nur für Clients mit private_key_jwt hinterlegt
client-grant-unknown = unbekannter Grant „{ $name }“
client-origin-bad = der erlaubte Origin „{ $origin }“ muss die Form https://host[:port] haben
client-ip-bad = die erlaubte IP „{ $ip }“ ist weder eine Adresse noch ein CIDR-Bereich
client-run-as-unknown = in dieser Organisation gibt es keinen ausführenden Benutzer „{ $user }“
client-method-has-no-secret = ein Client, der sich mit { $method } authentifiziert, hat kein Secret
secret-grace-too-long = die Übergangsfrist beträgt höchstens { $most } Sekunden (30 Tage)
secret-none = dieser Client hat kein Secret

## Scopes, signing keys, tokens (clients.rs, scopes.rs, signing_keys.rs, tokens.rs)

scope-characters-bad = der Scope enthält unzulässige Zeichen
scope-name-invalid = „{ $name }“ ist kein gültiger Scope-Name (RFC 6749 §3.3)
key-rotation-raced = ein anderer Prozess hat die Schlüssel im selben Moment rotiert; versuchen Sie es erneut
token-not-ours = dies ist kein Token, das dieser Server ausgestellt hat

## Import (import.rs)

import-refused-one-problem =
    die Datei hat ein Problem; es wurde nichts importiert:
    { $problems }
import-refused-problems =
    die Datei hat { $count } Probleme; es wurde nichts importiert:
    { $problems }
import-problem-lines =
    { $first }
    { $rest }
import-problem = { $record }: { $field }: { $why }
import-format-unknown = „{ $given }“ ist nicht { $format }, das Format, das diese Version liest
import-id-bad = muss aus 1 bis 128 Zeichen aus [A-Za-z0-9._~|:@-] bestehen
import-client-id-bad = muss aus 1 bis 128 Zeichen aus [A-Za-z0-9._~-] bestehen
import-twice = steht doppelt in der Datei
import-org-name-taken = „{ $name }“ ist der Name der Organisation { $org }
import-org-unknown = keine Organisation „{ $org }“ in der Datei oder im Speicher
import-scope-name-bad = ist nicht genau ein Scope-Name (Zeichen nach RFC 6749 §3.3, ohne Leerzeichen)
import-email-taken = ist die E-Mail-Adresse einer anderen Person ({ $person })
import-no-membership = eine Person braucht mindestens eine Mitgliedschaft
import-role-unknown = „{ $role }“ ist weder owner noch admin noch member
import-membership-elsewhere = ist im Speicher eine Mitgliedschaft einer anderen Person oder Organisation
import-client-elsewhere = ist im Speicher ein Client einer anderen Organisation
import-member-unknown = keine Mitgliedschaft „{ $id }“ dieser Organisation in der Datei oder im Speicher
import-auth-method-unknown = unbekannte Methode „{ $method }“
import-pkce-unknown = „{ $pkce }“ ist weder required noch optional
import-status-unknown = „{ $status }“ ist weder on noch off
import-secret-bad = muss aus 1 bis 512 druckbaren ASCII-Zeichen bestehen
