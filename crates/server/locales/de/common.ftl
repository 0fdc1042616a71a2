# Die Texte der Seiten auf Deutsch (SPEC §16); jede Nachricht des englischen Katalogs steht hier.
# Variablen: { $brand } der Markenname des Betreibers, andere wie bei jeder Nachricht angegeben.

## Jede Seite
language-switch = Sprache
nav-main = Hauptmenü
nav-clients = API-Clients
nav-generator = Token-Generator
nav-connected = Verbundene Apps
nav-security = Sicherheit
nav-organization = Organisation
nav-your-organizations = Ihre Organisationen
nav-log-out = Abmelden
go-to-start = Zur Startseite

## Die Reiter der Organisation
tab-members = Mitglieder
tab-scopes = Scopes
tab-approvals = Freigaben
tab-audit = Protokoll
tab-settings = Einstellungen

## Hinweise nach einer Änderung (`?done=…`)
notice-on = Der Client ist eingeschaltet: Er kann wieder Tokens erhalten.
notice-off = Der Client ist ausgeschaltet: Er kann sich nicht anmelden, und seine gültigen Tokens funktionieren nicht mehr.
notice-saved = Gespeichert.
notice-switched = Sie arbeiten jetzt in einer anderen Organisation.
notice-joined = Willkommen: Sie sind jetzt Mitglied dieser Organisation.
notice-invited = Die Einladung ist unterwegs. Ihr Link gilt 7 Tage.
notice-deleted = Der Client ist gelöscht.
notice-created = Der Client ist angelegt. Kopieren Sie jetzt sein Secret; später zeigt „Anzeigen“ auf dieser Seite es wieder.
notice-rolled = Ein neues Secret ist erstellt; das alte funktioniert nicht mehr.
notice-rolled-grace = Ein neues Secret ist erstellt; das alte funktioniert noch bis zum unten genannten Zeitpunkt.
notice-added = Hinzugefügt.
notice-approved = Die Anwendung ist für Ihre Organisation freigegeben.
notice-rejected = Die Anfrage ist abgelehnt. Fragt ein Mitglied erneut, erscheint sie wieder hier.
notice-withdrawn = Die Freigabe ist zurückgezogen; die Refresh-Tokens der Mitglieder dieser Organisation für die Anwendung funktionieren nicht mehr.
notice-disabled = Das Mitglied ist gesperrt: Seine Sitzungen sind beendet, seine Tokens und Clients funktionieren nicht mehr.
notice-enabled = Das Mitglied ist wieder freigeschaltet.
notice-callback = Die Callback-Adresse ist eingetragen. Holen Sie jetzt ein Token.
notice-password = Ihr Passwort ist geändert. Jeder andere Browser, in dem Sie angemeldet waren, wurde abgemeldet.
notice-verification-sent = Ein Link zur Bestätigung Ihrer E-Mail-Adresse ist unterwegs. Er gilt 24 Stunden.
notice-enrol = Ihre Organisation verlangt einen zweiten Faktor: Richten Sie eine Authenticator-App ein oder fügen Sie einen Passkey hinzu, um fortzufahren.
notice-totp-removed = Die Authenticator-App ist entfernt.
notice-passkey-added = Der Passkey ist hinzugefügt: Melden Sie sich damit an, statt mit Ihrem Passwort oder danach.
notice-passkey-removed = Der Passkey ist entfernt.
notice-session-ended = Dieser Browser ist abgemeldet.
notice-joined-sso = Sie sind der Organisation beigetreten. Sie meldet ihre Mitglieder über ihren Identitätsanbieter an: melden Sie sich ab und dort an, um in ihr zu arbeiten.
notice-removed = Entfernt.
notice-sessions-ended = Alle anderen Browser sind abgemeldet.
notice-verification-not-sent = Es wurde kein Link gesendet: E-Mail ist ausgeschaltet, die Adresse ist schon bestätigt, oder in der letzten Stunde wurden zu viele Links gesendet.
# On a page that failed on the server's side (5xx); $id: the request's X-Request-Id.
error-request-id = Anfrage-ID: { $id } (damit findet der Betreiber, was geschehen ist).
