# German for the service's messages to people (tessera_core::message!): each id of the code,
# with the variables its English names. English is written in the code, beside its rule.

## Clients (core::client, core::resource)

client-run-as-other-org = der ausführende Benutzer muss zur Organisation des Eigentümers gehören
client-run-as-lacks-permission = dem ausführenden Benutzer fehlt das Recht authorize_applications
client-run-as-disabled = der Eigentümer oder der ausführende Benutzer ist deaktiviert
client-no-grant = mindestens ein Grant ist nötig
client-public-client-credentials = ein öffentlicher Client kann den Grant client_credentials nicht nutzen
client-public-token-exchange = ein öffentlicher Client kann den Grant token_exchange nicht nutzen
client-scope-unknown = der Scope „{ $name }“ steht nicht im Katalog der Organisation
client-scope-restricted = die Rolle des Eigentümers darf den eingeschränkten Scope „{ $name }“ nicht vergeben
client-public-pkce = ein öffentlicher Client nutzt immer PKCE: „pkce optional“ gibt es nur für vertrauliche Clients
client-public-method = ein öffentlicher Client, und nur ein öffentlicher Client, nutzt die Methode none
client-keys-missing = private_key_jwt braucht die öffentlichen Schlüssel des Clients: ein JWKS oder eine jwks_uri
client-jwks-uri-bad = jwks_uri „{ $uri }“: { $why }
client-keys-unused = öffentliche Schlüssel werden nur für private_key_jwt hinterlegt
client-ttl-zero = die Lebensdauer eines Access-Tokens muss mindestens 1 Sekunde betragen
client-list-redirect-uris = Weiterleitungs-URIs
client-list-allowed-origins = erlaubte Origins
client-list-allowed-ips = erlaubte IP-Bereiche
client-list-too-long = ein Client hat höchstens { $most } { $what }, nicht { $count }
client-redirect-uri-bad = Weiterleitungs-URI „{ $uri }“: { $why }
client-redirect-uri-needed = die Grants authorization_code und implicit brauchen eine Weiterleitungs-URI
uri-not-https = muss eine https-URL sein
uri-spaces-or-long = enthält Leer- oder Steuerzeichen oder ist zu lang
uri-fragment = darf kein Fragment enthalten
uri-not-absolute = muss eine absolute URI sein
uri-scheme-forbidden = dieses Schema ist nicht erlaubt
uri-no-host = muss einen Host haben
uri-host-not-plain = muss einen einfachen Host haben
uri-http-not-loopback = http ist nur für 127.0.0.1, [::1] und localhost erlaubt
uri-private-scheme = ein eigenes Schema muss ein umgekehrter Domainname sein, etwa com.example.app
resource-uri-bad-text = muss eine URI mit höchstens 2000 Zeichen ohne Leer- und Steuerzeichen sein
resource-too-many = höchstens { $most } Ressourcen können eingetragen werden
resource-uri-bad = Ressource „{ $uri }“: { $why }
resource-twice = Ressource „{ $uri }“ steht doppelt in der Liste

## What was not found (ServiceError::NotFound)

thing-approval-request = Freigabeanfrage
thing-authenticator-app-being-set-up = Authenticator-App in Einrichtung
thing-authenticator-app = Authenticator-App
thing-client = Client
thing-email-verification-link = Link zur E-Mail-Bestätigung
thing-identity-provider = Identitätsanbieter
thing-invitation = Einladung
thing-membership = Mitgliedschaft
thing-organization = Organisation
thing-passkey = Passkey
thing-password-reset-link = Link zum Zurücksetzen des Passworts
thing-record = Eintrag
thing-scope = Scope
thing-session = Sitzung
thing-setup-link = Einrichtungslink
thing-sign-in = Anmeldung
thing-user = Benutzer

## The store's conflicts (service::error)

store-already-exists = existiert bereits
store-email-taken = ein Konto nutzt diese E-Mail-Adresse
store-out-of-range = Wert außerhalb des zulässigen Bereichs
store-in-use = verweist auf etwas, das es nicht gibt oder das noch verwendet wird

## The server's own (crates/server)

page-grace-choice = wählen Sie einen der angebotenen Zeitpunkte

## Who may do what (core::access)

access-admins-only = nur Eigentümer und Administratoren der Organisation dürfen das
access-owner-settings = nur ein Eigentümer darf die Einstellungen der Organisation ändern
access-run-as-outranks = dieser Client läuft als ein Benutzer mit einer höheren Rolle als Ihrer; nur dieser Benutzer oder ein Eigentümer darf seine Zugangsdaten ändern
access-run-as-higher = ein Client darf nicht als Benutzer mit einer höheren Rolle als Ihrer laufen
access-last-owner = dies ist der letzte Eigentümer der Organisation: ernennen Sie zuerst einen weiteren
access-secret-owner-only = nur der Eigentümer des Clients darf sein Secret sehen
access-register-by-owner = ein Client wird von seinem Eigentümer registriert
access-not-yourself = Ihr eigenes Konto können Sie hier nicht ändern
access-owner-makes-owner = nur ein Eigentümer darf einen Eigentümer ernennen oder ändern

## Password hashes brought from another vendor (core::password_hash)

hash-no-dollar = ein Passwort-Hash beginnt mit $
hash-argon2d = Argon2d-Hashes werden nicht angenommen (nur Argon2id oder Argon2i)
hash-bcrypt-cost-nan = die bcrypt-Kosten sind keine Zahl
hash-bcrypt-cost-range = die bcrypt-Kosten liegen außerhalb des zulässigen Bereichs
hash-not-bcrypt = kein bcrypt-Hash ($2b$NN$ und 53 Zeichen)
hash-pbkdf2-rounds-nan = die PBKDF2-Runden sind keine Zahl
hash-pbkdf2-rounds-zero = die PBKDF2-Runden sind null
hash-not-pbkdf2 = kein PBKDF2-SHA256-Hash von passlib ($pbkdf2-sha256$ROUNDS$SALT$CHECKSUM)
hash-scrypt-ln-range = scrypt-ln liegt außerhalb des zulässigen Bereichs
hash-scrypt-r-p = scrypt-r und -p müssen positiv sein
hash-not-scrypt = kein scrypt-Hash ($scrypt$ln=…,r=…,p=…$SALT$HASH)
hash-unknown-scheme = ein unbekanntes Hash-Verfahren (Argon2id, Argon2i, bcrypt, PBKDF2-SHA256 oder scrypt)
hash-argon2-version = eine unbekannte Argon2-Version
hash-not-argon2 = kein Argon2-PHC-String ($argon2id$v=19$m=…,t=…,p=…$SALT$HASH)
hash-parameter-missing = ein Parameter des Hashes fehlt
hash-parameter-nan = ein Parameter des Hashes ist keine Zahl
hash-argon2-too-costly = die Argon2-Parameter m={ $memory_kib },t={ $iterations },p={ $lanes } überschreiten die Grenze (m ≤ { $most_memory } KiB, 1 ≤ t ≤ { $most_iterations }, 1 ≤ p ≤ { $most_lanes })
hash-bcrypt-too-costly = die bcrypt-Kosten { $cost } überschreiten die Grenze ({ $most })
hash-pbkdf2-too-costly = { $rounds } PBKDF2-Runden überschreiten die Grenze ({ $most })
hash-scrypt-too-costly = die scrypt-Parameter ln={ $log_n },r={ $r },p={ $p } überschreiten die Grenze (128·r·2^ln ≤ 256 MiB, p ≤ { $most_p })

## Single sign-on (service::sso)

sso-expired = diese Anmeldung ist abgelaufen oder wurde in einem anderen Browser begonnen; beginnen Sie sie noch einmal
sso-provider-unreachable = { $name } ist gerade nicht erreichbar; versuchen Sie es später noch einmal
sso-upstream-email-unverified = { $name } hat Ihre E-Mail-Adresse nicht bestätigt, daher wird kein Konto verknüpft oder angelegt; bestätigen Sie sie dort und versuchen Sie es noch einmal
sso-local-email-unverified = hier gibt es ein Konto mit dieser E-Mail-Adresse, deren Bestätigung aber fehlt, daher wird es nicht mit { $name } verknüpft; melden Sie sich mit Ihrem Passwort an und bestätigen Sie zuerst Ihre E-Mail-Adresse
sso-service-user = diese E-Mail-Adresse gehört zu einem Dienstkonto, das sich nicht anmelden kann
sso-not-a-member = { $name } kennt Sie, aber Sie sind kein Mitglied dieser Organisation; bitten Sie einen ihrer Administratoren um eine Einladung
sso-user-disabled = Ihr Konto in dieser Organisation ist deaktiviert
sso-state-mismatch = die Antwort von { $name } gehört zu keiner Anmeldung dieses Browsers; beginnen Sie noch einmal
sso-upstream-refused = { $name } hat Sie nicht angemeldet; versuchen Sie es noch einmal
sso-not-verified = die Antwort von { $name } ließ sich nicht prüfen, daher sind Sie nicht angemeldet; versuchen Sie es noch einmal oder wenden Sie sich an Ihre Administration
sso-required = { $org } meldet seine Mitglieder über { $name } an: nutzen Sie „Weiter mit { $name }“
membership-switch-after-sso = Sie haben sich über den Identitätsanbieter Ihrer Organisation angemeldet, der nur dort für Sie bürgt: melden Sie sich ab und erneut an, um eine andere Organisation zu nutzen
org-sso-needs-provider = verbinden Sie zuerst einen Identitätsanbieter (tessera idp add): ohne ihn könnten sich nur die Eigentümer anmelden

## Identity providers (service::admin::identity_providers)

idp-name-bad = der Name eines Anbieters muss 1 bis 100 Zeichen und keine Steuerzeichen haben
idp-domain-bad = „{ $domain }“ ist keine E-Mail-Domain wie example.com
idp-issuer-bad = Issuer „{ $issuer }“: { $why }
idp-issuer-query = ein Issuer hat keine Query
idp-client-id-bad = die Client-ID muss 1 bis 255 Zeichen haben
idp-role-owner = ein Anbieter legt Mitglieder oder Administratoren an, nie Eigentümer
idp-domains-operator-only = nur der Betreiber darf E-Mail-Domains für einen Anbieter beanspruchen (tessera idp add … --email-domain)
idp-domains-too-many = ein Anbieter beansprucht höchstens { $most } Domains
idp-domain-taken = die Domain { $domain } wird bereits von einem anderen Identitätsanbieter beansprucht
idp-secret-bad = das Client-Secret muss 1 bis 1024 Zeichen haben
idp-last-of-sso-org = die Organisation verlangt Single Sign-on und dies ist ihr einziger Anbieter: schalten Sie --require-sso zuerst aus
idp-name-taken = die Organisation hat bereits einen Identitätsanbieter namens „{ $name }“
sso-credentials-elsewhere = Sie haben sich über den Identitätsanbieter Ihrer Organisation angemeldet: melden Sie sich mit Ihrem Passwort oder einem Passkey an, um Ihre eigenen Zugangsdaten zu ändern
idp-swap-operator-only = dieser Anbieter steht für E-Mail-Domains, die der Betreiber ihm zugesprochen hat: nur der Betreiber darf seinen Issuer oder seine Client-ID ändern
