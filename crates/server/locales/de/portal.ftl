# portal pages (de). Keys start with "portal-".
# Variablen: { $name } der Name eines Clients, { $answer } die Antwort eines Servers, { $count } eine Zahl.
# Eine Nachricht, die direkt nach Markup (`<code>…</code>`, einem Link) weitergeht und mit einem
# Leerzeichen beginnen muss, schreibt es als {" "}.

## Gemeinsam für die Client-Seiten
portal-clients = API-Clients
portal-new-client = Neuer API-Client
portal-cancel = Abbrechen
portal-status-on = An
portal-status-off = Aus
portal-name = Name
portal-client-id = Client-ID
portal-grants = Grants
portal-scopes = Scopes
portal-owner = Inhaber
portal-status = Status
portal-redirect-uris = Redirect-URIs
portal-allowed-origins = Erlaubte Origins
portal-allowed-ips = Erlaubte IP-Bereiche
portal-resources = Ressourcen
portal-copy = Kopieren
# Was die Statuszeile der Kopier-Knöpfe Screenreadern sagt (assets/copy.js).
portal-copied = Kopiert.
portal-copy-failed = Der Browser hat das Kopieren nicht erlaubt: Markieren Sie den Text und kopieren Sie ihn.

## Die Liste der Clients
portal-clients-new = Neuer Client
portal-clients-none = Sie haben noch keine API-Clients. Legen Sie einen an, um Tokens für die API zu erhalten.

## Wofür ein neuer Client ist
portal-kind-intro = Was wird ihn nutzen? Die Antwort legt fest, wie er Tokens erhält; Sie können das später unter „Erweiterte Einstellungen“ ändern.
portal-kind-server = Server oder Skript
portal-kind-server-text = Ein Backend-Dienst, ein geplanter Job oder ein Kommandozeilen-Skript ruft die API in eigenem Namen auf, mit eigener ID und eigenem Secret.
portal-kind-web-app = Web-App mit Backend
portal-kind-web-app-text = Meldet Personen an und ruft die API für sie auf; ihr Server verwahrt das Secret.
portal-kind-single-page = Single-Page-App
portal-kind-single-page-text = Läuft im Browser (React, Vue, Angular …); sie verwahrt kein Secret und weist sich mit PKCE aus.
portal-kind-native = Mobile App oder Desktop-App
portal-kind-native-text = Eine App auf dem Smartphone oder Computer der Person; sie verwahrt kein Secret und kehrt über eine Weiterleitung zurück.
portal-kind-device = Gerät ohne Browser
portal-kind-device-text = Ein Fernseher, eine Konsole oder ein Kommandozeilen-Tool: Die Person bestätigt einen kurzen Code auf ihrem Smartphone oder Laptop.
portal-kind-exchanging = Dienst im Auftrag von Nutzern
portal-kind-exchanging-text = Ein Backend-Dienst, der das Token einer Person gegen ein enger gefasstes tauscht, um eine andere API aufzurufen (Token Exchange).

## Das Client-Formular
portal-form-edit = { $name } bearbeiten
portal-form-for = Für:
portal-form-change = Ändern
portal-form-name-hint = (Ihre Kunden sehen ihn, wenn sie die App autorisieren)
portal-form-scopes-hint = (was seine Tokens dürfen; wählen Sie mindestens einen)
portal-form-no-scopes = Ihre Organisation hat noch keine Scopes: Ein Admin legt sie unter Organisation, Scopes an.
portal-form-restricted = eingeschränkt
portal-form-restricted-not-allowed = eingeschränkt: Nur Inhaber und Admins dürfen ihn vergeben
portal-form-advanced = Erweiterte Einstellungen
portal-form-public = Öffentlicher Client
portal-form-public-hint = (läuft dort, wo ein Secret nicht geheim bleiben kann: im Browser, auf einem Smartphone oder einem Gerät; er weist sich mit PKCE aus)
portal-form-grant-removed = Ein entfernter Grant funktioniert ab der nächsten Token-Anfrage des Clients nicht mehr; bereits ausgestellte Access-Tokens bleiben bis zu ihrem Ablauf gültig.
portal-form-redirect-uris-hint = (wohin Nutzer nach der Anmeldung zurückkehren; eine pro Zeile, exakt abgeglichen)
portal-form-allowed-origins-hint = (die Webadressen, unter denen Ihre Browser-App läuft, für CORS; eine pro Zeile: https://app.example.com)
portal-form-public-key = Öffentlicher Schlüssel
# Um <code>private_key_jwt</code> herum.
portal-form-public-key-hint = (optional: Fügen Sie einen JWK, ein JWKS oder einen öffentlichen PEM-Schlüssel ein, und der Client authentifiziert sich mit einem selbst signierten JWT,
portal-form-public-key-hint-end = , statt mit einem Secret; niemals den privaten Schlüssel)
# Um <code>resource</code> herum.
portal-form-resources-hint = (APIs, für die dieser Client mit
portal-form-resources-hint-end = {" "}Tokens anfordern darf, RFC 8707; absolute URIs, eine pro Zeile)
portal-form-allowed-ips-hint = (einer pro Zeile, CIDR; leer: alle)
portal-form-run-as = Ausführen als Nutzer
portal-form-run-as-hint = (wessen Identität Tokens aus Client Credentials tragen)
portal-form-ttl = Lebensdauer des Access-Tokens in Sekunden
portal-form-ttl-hint = (leer: Standardwert des Servers)
portal-form-org-approval = Erfordert die Freigabe durch einen Admin der Organisation jedes Nutzers
portal-form-pkce = PKCE im Code-Flow
# Um <code>code_challenge</code> herum.
portal-form-pkce-hint = (optional nur für einen älteren vertraulichen Client, der kein
portal-form-pkce-hint-end = {" "}sendet; ein öffentlicher Client nutzt PKCE immer)
portal-form-pkce-required = Erforderlich
portal-form-pkce-optional = Optional
portal-form-par = Erfordert Pushed Authorization Requests (PAR, RFC 9126)
portal-form-dpop = Erfordert DPoP-gebundene Access-Tokens (jede Token-Anfrage trägt einen DPoP-Nachweis, RFC 9449)
portal-form-save = Speichern
portal-form-create = Client anlegen
portal-form-correct = Bitte korrigieren Sie die unten markierten Felder.
# Wofür ein Grant ist, nach seinem Namen.
portal-grant-client-credentials = ein Server, der die API in eigenem Namen aufruft
portal-grant-authorization-code = eine App, die über Anmeldung und Zustimmung im Auftrag ihrer Nutzer handelt
portal-grant-refresh-token = hält Nutzer angemeldet (mit authorization_code)
portal-grant-implicit = ältere Browser-Apps: Das Token kommt im URL-Fragment zurück
portal-grant-device-code = Fernseher, Konsolen und Kommandozeilen-Tools: Der Nutzer bestätigt einen Code auf einem anderen Gerät
portal-grant-token-exchange = ein Dienst, der das Token eines Nutzers gegen ein enger gefasstes für eine nachgelagerte API tauscht (RFC 8693)
# Probleme mit dem Formular, als Satzteile: Die Seite beginnt sie groß und schließt sie mit einem Punkt.
portal-problem-no-grant = wählen Sie mindestens einen Grant
portal-problem-no-scope = wählen Sie mindestens einen Scope
portal-problem-ttl = die Lebensdauer des Access-Tokens muss eine ganze Zahl von Sekunden sein
portal-problem-pkce = wählen Sie, ob PKCE erforderlich oder optional ist

## Die Seite eines Clients
portal-client-secret = Client-Secret
portal-client-secret-public = Keines: Ein öffentlicher Client authentifiziert sich mit PKCE.
# Gefolgt von " (<code>private_key_jwt</code>)."
portal-client-secret-key = Keines: Dieser Client authentifiziert sich mit einem JWT, das er mit seinem privaten Schlüssel signiert
# Für Screenreader, nach „Kopieren“.
portal-client-copy-id = (Client-ID)
portal-client-copy-secret = (Secret)
portal-client-keep-safe = Bewahren Sie es sicher auf: Wer es besitzt, kann Tokens als dieser Client erhalten.
portal-client-show = Anzeigen
portal-client-owner-only = Nur der Inhaber des Clients darf es sehen.
# Gefolgt vom Zeitpunkt, fett, und einem Punkt.
portal-client-previous-secret = Das vorherige Secret funktioniert ebenfalls noch bis
portal-client-public-keys = Öffentliche Schlüssel
# Gefolgt von der Adresse des Schlüsselsatzes.
portal-client-fetched-from = abgerufen von
portal-client-created = Erstellt
portal-client-last-used = Zuletzt benutzt
portal-client-never-used = noch nie
portal-client-run-as = Ausgeführt als
portal-client-none = keine
portal-client-no-resources = keine (Tokens tragen die Standard-Audience)
portal-client-any = alle
portal-client-ttl = Lebensdauer des Access-Tokens
portal-client-server-default = Standardwert des Servers
portal-client-org-approval = Freigabe durch die Organisation
portal-client-required = erforderlich
portal-client-not-required = nicht erforderlich
portal-client-pkce = PKCE
portal-client-pkce-optional = optional (ein älterer Client: Der Code-Flow darf es weglassen)
portal-client-par = Pushed Authorization Requests
portal-client-dpop = DPoP-gebundene Access-Tokens
portal-client-edit = Bearbeiten
portal-client-roll = Secret erneuern
portal-client-turn-off = Ausschalten
portal-client-turn-on = Einschalten
portal-client-get-token = Token holen
portal-client-delete = Löschen
portal-status-refused = Das ist nicht möglich
portal-status-invalid = Der Status muss „an“ oder „aus“ sein.

## Rückfrage vor einer Änderung an einem Client
portal-confirm-delete = { $name } löschen?
portal-confirm-delete-text = Der Client und sein Secret werden endgültig entfernt; alle seine Tokens funktionieren nicht mehr.
portal-confirm-delete-button = Client löschen
portal-confirm-off = { $name } ausschalten?
portal-confirm-off-text = Er kann keine Tokens mehr erhalten, und seine Tokens funktionieren sofort nicht mehr. Sie können ihn später wieder einschalten.
portal-confirm-roll = Secret von { $name } erneuern?
portal-confirm-roll-text = Ein neues Secret wird erstellt und als Nächstes angezeigt. Bis das aktuelle nicht mehr funktioniert, werden beide akzeptiert: Zeit, alles, was es nutzt, auf das neue umzustellen. Bereits ausgestellte Tokens funktionieren bis zu ihrem Ablauf weiter.
portal-confirm-grace = Wann soll das aktuelle Secret nicht mehr funktionieren?
portal-grace-now = Sofort
portal-grace-hour = In 1 Stunde
portal-grace-day = In 24 Stunden
portal-grace-week = In 7 Tagen

## Der Access-Token-Generator
portal-generator = Access-Token-Generator
portal-generator-intro = Holen Sie ein Access-Token für einen Ihrer Clients, um die API von Hand auszuprobieren. Ein Client mit dem Grant Client Credentials erhält es sofort; mit einem Browser-Client durchlaufen Sie die Anmelde- und Zustimmungsseiten, die seine Nutzer sehen, und kommen hierher zurück.
portal-generator-no-clients = Sie haben keine API-Clients.
# Ein Link, dann portal-generator-create-one-end.
portal-generator-create-one = Legen Sie zuerst einen an
portal-generator-create-one-end = .
portal-generator-client = Client
portal-generator-scope = Scope
portal-generator-scope-hint = (leer: alles, was der Client erhalten darf)
portal-generator-get = Token holen
# Um die Adresse des Callbacks, <code>…</code>, herum.
portal-generator-callback = Für diesen Durchlauf muss dieser Client
portal-generator-callback-end = als Redirect-URI akzeptieren.
portal-generator-add-callback = Beim Client eintragen
portal-generator-your-token = Ihr Access-Token
portal-generator-token = Access-Token
portal-generator-copy-token = Token kopieren
portal-generator-expires = Läuft ab
# $count: Sekunden.
portal-generator-expires-in = in { $count } s
portal-generator-decoded = Was es enthält
portal-generator-header = Header
portal-generator-claims = Claims
# Gefolgt von „:“ (und davor portal-generator-api-url, wenn die Adresse der API nicht bekannt ist).
portal-generator-call = Rufen Sie damit die API auf
# Um <code>$API_URL</code> und <code>serve --api-base-url</code> herum.
portal-generator-api-url = (setzen Sie
portal-generator-api-url-middle = auf die Adresse Ihrer API; der Betreiber kann sie hier eintragen, mit
portal-generator-api-url-end = )
portal-generator-copy-command = Befehl kopieren
portal-generator-yourself = Oder holen Sie sich Tokens selbst (das Secret steht auf der Seite des Clients):
# Die Art des Clients, nach seinem Namen in der Liste.
portal-generator-kind-client-credentials = Client Credentials
portal-generator-kind-code = Browser, Code-Flow
portal-generator-kind-implicit = Browser, Implicit
portal-generator-kind-none = kein Grant für Tokens
# $name: der Fehlercode und seine Beschreibung, „invalid_scope: …“.
portal-generator-token-endpoint-answered = Der Token-Endpunkt antwortete mit { $answer }
portal-generator-not-approved = Diese Anwendung ist für Ihre Organisation noch nicht freigegeben.
portal-generator-too-many-attempts = Zu viele fehlgeschlagene Versuche für diesen Client; versuchen Sie es später erneut.
portal-generator-no-grant = Dieser Client hat keinen Grant, der Access-Tokens ausstellt.
portal-generator-expired = Dieser Durchlauf ist abgelaufen. Beginnen Sie von vorn.
# $name: der Fehlercode und seine Beschreibung, „access_denied: …“.
portal-generator-server-answered = Der Autorisierungsserver antwortete mit { $answer }
portal-generator-not-yours = Diese Antwort gehört nicht zu dem Durchlauf, den Sie begonnen haben. Beginnen Sie von vorn.

## Das Skript des Implicit-Durchlaufs (assets/generator.js), von der Seite gelesen.
# Gefolgt vom Fehlercode, den der Autorisierungsserver sandte.
portal-generator-script-answered = Der Autorisierungsserver antwortete:{" "}
portal-generator-no-token = Für diesen Durchlauf kam kein Token zurück. Beginnen Sie noch einmal im Generator.
