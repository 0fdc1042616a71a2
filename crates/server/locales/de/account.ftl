# account pages (de). Keys start with "account-".
# Anmelden, der zweite Schritt, Passkeys, Abmelden, der Einrichtungslink des ersten Inhabers,
# die Bestätigung vor heiklen Aktionen, Passwort zurücksetzen, Einladungen, Zustimmung und
# Freigabe, die Geräteseite, die Sicherheitseinstellungen und die Fehlerseiten. Jede Nachricht mit
# einer Variablen sagt, was sie enthält.

## Wörter, die viele dieser Seiten teilen
account-sign-in = Anmelden
account-email = E-Mail
account-password = Passwort
account-password-again = Passwort wiederholen
account-new-password = Neues Passwort
account-new-password-again = Neues Passwort wiederholen
account-current-password = Aktuelles Passwort
account-code = Code
account-cancel = Abbrechen
account-continue = Weiter
account-done = Fertig
account-name = Name
account-security = Sicherheit
account-use-passkey = Passkey verwenden
account-sign-in-with-passkey = Mit einem Passkey anmelden
account-forgot-password = Passwort vergessen?
account-authenticator-app = Authenticator-App
account-passwords-differ = Die beiden Passwörter stimmen nicht überein.
account-allow = Zulassen
account-deny = Ablehnen
# $email: die E-Mail-Adresse des Inhabers der Anwendung.
account-registered-by = Diese Anwendung wurde von { $email } registriert. Sie möchte:
# $count: Minuten bis zum nächsten Versuch.
account-locked-out = Zu viele fehlgeschlagene Versuche. Versuchen Sie es in { $count ->
        [one] einer Minute
       *[other] { $count } Minuten
    } erneut.

## Abgelehnte Anfragen und Formulare
account-request-failed = Diese Anfrage kann nicht abgeschlossen werden
account-authorize-form-only = Eine Autorisierungsanfrage wird im Query-String oder als Formular (application/x-www-form-urlencoded) gesendet.
account-choose-allow-deny = Wählen Sie „Zulassen“ oder „Ablehnen“.
account-cannot-continue = Fortfahren nicht möglich
account-bad-return-address = Die Adresse, zu der zurückgekehrt werden soll, ist ungültig.
account-form-expired = Dieses Formular ist abgelaufen
account-form-expired-text = Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es noch einmal.
account-form-unreadable = Dieses Formular kann nicht gelesen werden
account-form-unreadable-text = Gehen Sie zurück und versuchen Sie es mit weniger Einträgen noch einmal.

## Anmelden
account-login-password-set = Ihr neues Passwort ist festgelegt. Melden Sie sich damit an.
account-login-wrong = E-Mail-Adresse oder Passwort ist falsch.
account-login-passkey-not-checked = Dieser Passkey konnte nicht geprüft werden. Versuchen Sie es noch einmal, oder melden Sie sich mit Ihrem Passwort an.
account-passkey-sign-in-text = Ihr Browser fragt nach einem Ihrer Passkeys für diese Website: auf diesem Gerät, auf Ihrem Telefon oder auf einem Sicherheitsschlüssel.
account-passkey-password-instead = Stattdessen mit Ihrem Passwort anmelden

## Der zweite Schritt der Anmeldung
account-mfa-title = Zweiter Schritt
account-mfa-heading = Ihr zweiter Faktor
# $email: wer sich anmeldet.
account-mfa-signing-in-as = Anmeldung als { $email }.
account-mfa-hint-totp = Geben Sie den sechsstelligen Code ein, den Ihre Authenticator-App anzeigt, oder einen Ihrer Wiederherstellungscodes.
account-mfa-hint-passkey = Verwenden Sie Ihren Passkey, oder geben Sie einen Ihrer Wiederherstellungscodes ein.
account-mfa-sign-in-recovery = Mit einem Wiederherstellungscode anmelden
account-mfa-start-again = Von vorn beginnen
account-mfa-wrong-code = Dieser Code ist nicht richtig. Die Codes wechseln alle 30 Sekunden; jeder gilt nur einmal.
account-mfa-passkey-not-checked = Dieser Passkey konnte nicht geprüft werden. Versuchen Sie es noch einmal, oder geben Sie einen Code ein.
account-mfa-expired = Diese Anmeldung ist abgelaufen
account-mfa-expired-text = Melden Sie sich erneut an: Der zweite Schritt wartet 5 Minuten.

## Was der Browser sagt, während er nach einem Passkey fragt (assets/webauthn.js)
account-webauthn-unsupported = Dieser Browser kann hier keine Passkeys verwenden.
account-webauthn-waiting = Warten auf Ihren Passkey…
account-webauthn-not-allowed = Es wurde kein Passkey verwendet. Versuchen Sie es noch einmal, oder wählen Sie einen anderen Weg.
# $name: die Worte des Browsers für das, was schiefging.
account-webauthn-failed = Der Passkey konnte nicht verwendet werden: { $name }.
account-webauthn-unknown-error = unbekannter Fehler

## Abmelden
account-logout = Abmelden
# $email: wer angemeldet ist.
account-logout-signed-in-as = Sie sind als { $email } angemeldet.
# $name: der Markenname.
account-logout-question = Möchten Sie sich von { $name } abmelden?
account-signed-out = Sie sind abgemeldet
# $name: der Markenname.
account-signed-out-text = Sie wurden von { $name } abgemeldet. Sie können dieses Fenster schließen.
account-logout-failed = Abmelden nicht möglich
account-logout-malformed = Die Abmeldeanfrage ist fehlerhaft.

## Der Einrichtungslink des ersten Inhabers
# $name: der Markenname.
account-setup-title = { $name } einrichten
account-setup-heading = Den ersten Inhaber anlegen
# $name: die Organisation.
account-setup-text = Dieser einmalige Link legt den Inhaber der Organisation „{ $name }“ an. Nach der Verwendung funktioniert er nicht mehr.
account-setup-password = Passwort (mindestens 12 Zeichen)
account-setup-create = Inhaber anlegen
account-setup-not-valid = Dieser Einrichtungslink ist ungültig
account-setup-not-valid-text = Er wurde bereits verwendet, ist abgelaufen (ein Link gilt 24 Stunden) oder wurde durch einen neueren ersetzt. Sobald es den ersten Inhaber gibt, melden Sie sich stattdessen an.

## Bestätigen, wer Sie sind, vor einer heiklen Aktion
account-step-up-title = Bestätigen Sie, dass Sie es sind
# $name: was die Aktion tut, eine der Nachrichten account-step-up-to-….
account-step-up-passkey-text = Um { $name }, verwenden Sie einen Ihrer Passkeys oder Ihr Passwort und einen Code. Sie werden gefragt, weil Ihre Anmeldung mehr als 5 Minuten zurückliegt oder ohne Ihren zweiten Faktor erfolgte.
account-step-up-confirm-passkey = Mit einem Passkey bestätigen
account-step-up-or-password = Oder verwenden Sie Ihr Passwort
# $name: was die Aktion tut, eine der Nachrichten account-step-up-to-….
account-step-up-password-code-text = Um { $name }, geben Sie Ihr Passwort und einen Code aus Ihrer Authenticator-App ein. Sie werden gefragt, weil Ihre Anmeldung mehr als 5 Minuten zurückliegt oder ohne Ihren zweiten Faktor erfolgte.
# $name: was die Aktion tut, eine der Nachrichten account-step-up-to-….
account-step-up-password-text = Um { $name }, geben Sie Ihr Passwort ein. Sie werden gefragt, weil Ihre Anmeldung mehr als 5 Minuten zurückliegt.
account-step-up-code = Code aus Ihrer Authenticator-App oder ein Wiederherstellungscode
account-step-up-confirm = Bestätigen und fortfahren
account-step-up-to-add-second-factor = einen zweiten Faktor hinzuzufügen
account-step-up-to-add-passkey = einen Passkey hinzuzufügen
account-step-up-to-remove-passkey = einen Passkey zu entfernen
account-step-up-to-show-secret = das Secret anzuzeigen
account-step-up-to-make-secret = ein neues Secret zu erstellen
account-step-up-to-change-role = die Rolle eines Mitglieds zu ändern
account-step-up-to-change-settings = die Einstellungen der Organisation zu ändern

## Passwort vergessen, der Link zum Zurücksetzen und der Bestätigungslink
account-forgot-title = Passwort vergessen
account-forgot-text = Geben Sie die E-Mail-Adresse ein, mit der Sie sich anmelden. Gehört sie zu einem Konto, wird ihr ein Link geschickt, mit dem Sie ein neues Passwort wählen; der Link gilt 30 Minuten.
account-forgot-send = Link senden
# Danach folgt in Klammern der Befehl, den ein Betreiber ausführt.
account-forgot-mail-off = E-Mail ist auf diesem Server ausgeschaltet, daher kann kein Link zum Zurücksetzen verschickt werden. Bitten Sie einen Inhaber Ihrer Organisation oder den Betreiber des Servers, ein neues Passwort für Sie festzulegen
account-back-to-sign-in = Zurück zur Anmeldung
account-mail-off = E-Mail ist ausgeschaltet
account-mail-off-text = Von diesem Server kann kein Link zum Zurücksetzen verschickt werden.
account-check-mail = Sehen Sie in Ihrem Postfach nach
account-check-mail-text = Gehört die Adresse zu einem Konto, ist ein Link unterwegs, mit dem Sie ein neues Passwort wählen. Er gilt 30 Minuten und nur einmal; ein neuerer Link ersetzt ihn.
account-link-not-valid = Dieser Link ist ungültig
account-reset-link-not-valid-text = Er wurde bereits verwendet, ist abgelaufen oder wurde durch einen neueren ersetzt. Fordern Sie auf der Anmeldeseite über „Passwort vergessen?“ einen neuen an.
account-verify-link-not-valid-text = Er wurde bereits verwendet, ist abgelaufen oder wurde durch einen neueren ersetzt. Fordern Sie auf der Seite „Sicherheit“ einen neuen an.
account-email-verified = Ihre E-Mail-Adresse ist bestätigt
# $email: die Adresse.
account-email-verified-text = { $email } ist als Ihre Adresse bestätigt.
account-reset-title = Neues Passwort wählen
# $email: wessen Passwort.
account-reset-text = Für { $email }. Mindestens 12 Zeichen; einige Wörter, die nichts miteinander zu tun haben, ergeben ein gutes. Jeder Browser, in dem Sie angemeldet sind, wird abgemeldet.
account-reset-set = Passwort festlegen

## Der Einladungslink
# $name: die Organisation.
account-invite-join = { $name } beitreten
# $email: wer eingeladen ist, $name: die Organisation.
account-invite-text-owner = { $email } ist eingeladen, { $name } als Inhaber beizutreten.
# $email: wer eingeladen ist, $name: die Organisation.
account-invite-text-admin = { $email } ist eingeladen, { $name } als Administrator beizutreten.
# $email: wer eingeladen ist, $name: die Organisation.
account-invite-text-member = { $email } ist eingeladen, { $name } als Mitglied beizutreten.
# Vor dem Link „abmelden“. $email: wer angemeldet ist.
account-invite-other-account = Sie sind als { $email } angemeldet. Um die Einladung anzunehmen,
account-invite-sign-out = melden Sie sich ab
# Nach dem Link „abmelden“. $email: wer eingeladen ist.
account-invite-other-account-after = , öffnen Sie dann diesen Link erneut und melden Sie sich als { $email } an.
# Vor dem Link „anmelden“. $email: wer eingeladen ist.
account-invite-has-account = { $email } hat bereits ein Konto:
account-invite-sign-in = Melden Sie sich an
# Direkt nach dem Link „anmelden“.
account-invite-has-account-after = , um die Einladung anzunehmen.
account-invite-choose-password = Wählen Sie ein Passwort für Ihr Konto: mindestens 12 Zeichen; einige Wörter, die nichts miteinander zu tun haben, ergeben ein gutes.
account-invite-not-valid = Diese Einladung ist ungültig
account-invite-not-valid-text = Sie wurde bereits angenommen, ist abgelaufen (ein Link gilt 7 Tage) oder wurde durch eine neuere ersetzt. Bitten Sie um eine neue.

## Zustimmung
# $name: die Anwendung.
account-consent-title = { $name } zulassen?
# Vor dem Namen der Anwendung in der Überschrift.
account-consent-heading-before = Darf
# Nach dem Namen der Anwendung in der Überschrift.
account-consent-heading-after = Ihr Konto verwenden?
# $email: wer angemeldet ist.
account-consent-signed-in = Sie sind als { $email } angemeldet. Sie können diesen Zugriff später unter „Verbundene Apps“ widerrufen.
account-consent-organization = In welcher Ihrer Organisationen darf sie handeln?

## Die Freigabe einer Anwendung für die Organisation durch einen Admin
# $name: die Anwendung.
account-approval-title = { $name } freigeben?
# Vor dem Namen der Anwendung in der Überschrift.
account-approval-heading-before = Möchten Sie
# Nach dem Namen der Anwendung in der Überschrift. $name: die Organisation.
account-approval-heading-after = für { $name } freigeben?
# $email: der Inhaber der Anwendung, $name: die Organisation.
account-approval-text = Registriert von { $email }. Nach der Freigabe darf diese Anwendung für die Mitglieder von { $name }, die sie autorisieren, den Zugriff behalten (Refresh-Tokens).
# $email: wer angemeldet ist.
account-approval-scopes = Mit der Freigabe darf sie auch Ihr eigenes Konto als { $email } verwenden, um:
# $name: die Organisation.
account-approval-already = Diese Anwendung ist für { $name } bereits freigegeben.
account-approve = Freigeben

## Die Geräteseite
account-device-title = Ein Gerät verbinden
# Vor dem Namen der Anwendung in der Überschrift.
account-device-heading-before = Möchten Sie
# Nach dem Namen der Anwendung in der Überschrift.
account-device-heading-after = auf Ihrem Gerät zulassen?
# Vor dem Code.
account-device-check = Prüfen Sie, ob Ihr Gerät den Code
# Direkt nach dem Code.
account-device-check-after = {" "}anzeigt.
# $email: wer angemeldet ist.
account-device-signed-in = Sie sind als { $email } angemeldet. Lehnen Sie ab, wenn Sie dies nicht auf einem Ihrer Geräte begonnen haben.
account-device-enter = Geben Sie den Code ein, den Ihr Gerät anzeigt.
account-device-hint = Nur Buchstaben; der Bindestrich ist optional, Groß- und Kleinschreibung spielt keine Rolle.
account-device-not-valid = Dieser Code ist ungültig. Prüfen Sie den Code auf Ihrem Gerät; vielleicht ist er abgelaufen.
# $count: Minuten bis zum nächsten Versuch.
account-device-too-many = Zu viele falsche Codes. Versuchen Sie es in { $count ->
        [one] einer Minute
       *[other] { $count } Minuten
    } erneut.
account-device-connected = Gerät verbunden
account-device-connected-text = Sie können zu Ihrem Gerät zurückkehren; es macht von selbst weiter.
account-device-denied = Anfrage abgelehnt
account-device-denied-text = Das Gerät hat keinen Zugriff erhalten. Sie können diese Seite schließen.
account-device-code-used = Dieser Code kann nicht verwendet werden
account-device-code-used-text = Er ist abgelaufen oder wurde bereits beantwortet.

## Passkeys, die Authenticator-App und Wiederherstellungscodes
account-add-passkey = Passkey hinzufügen
account-passkey-setup-text = Ein Passkey meldet Sie mit der Bildschirmsperre dieses Geräts, Ihrem Telefon oder einem Sicherheitsschlüssel an, statt mit einem Passwort oder danach. Geben Sie ihm einen Namen, damit Sie Ihre Passkeys auseinanderhalten können.
account-passkey-name-example = Arbeitslaptop
account-passkey-create = Passkey erstellen
account-totp-set-up = Authenticator-App einrichten
# Vor dem Link „in der App öffnen“.
account-totp-scan = Scannen Sie diesen Code mit Ihrer Authenticator-App (oder, auf diesem Telefon,
account-totp-open = öffnen Sie ihn in der App
# Direkt nach dem Link „in der App öffnen“.
account-totp-scan-after = ).
# Vor dem Schlüssel.
account-totp-type = Oder geben Sie diesen Schlüssel in die App ein:
account-totp-enter = Geben Sie den sechsstelligen Code ein, den die App jetzt anzeigt.
account-totp-code = Code aus der App
account-totp-turn-on = Einschalten
account-recovery-codes = Wiederherstellungscodes
account-recovery-heading = Ihre Wiederherstellungscodes
account-recovery-on = Die Authenticator-App ist eingeschaltet: Bei der Anmeldung wird jetzt nach einem Code aus ihr gefragt.
account-recovery-text = Falls Sie die App verlieren, meldet Sie jeder dieser Codes stattdessen einmal an. Bewahren Sie sie sicher auf: Sie werden nur jetzt angezeigt.

## Die Sicherheitseinstellungen
account-verified = bestätigt
account-not-verified = nicht bestätigt
account-verify = Bestätigen
account-verify-text = Schickt Ihnen einen Link, mit dem Sie nachweisen, dass Sie unter dieser Adresse E-Mails empfangen.
account-verify-mail-off = E-Mail ist auf diesem Server ausgeschaltet: Die Adresse kann hier nicht bestätigt werden.
account-second-factor = Zweiter Faktor
account-on = aktiv
# $count: wie viele Wiederherstellungscodes übrig sind.
account-codes-left = Verbleibende Wiederherstellungscodes: { $count }
account-remove-totp-password = Aktuelles Passwort, um die App zu entfernen
account-remove-totp = Authenticator-App entfernen
account-password-only = Bei der Anmeldung wird nur Ihr Passwort abgefragt. Mit einer Authenticator-App kommt ein Code von Ihrem Telefon hinzu.
# $count: wie viele Wiederherstellungscodes übrig sind.
account-passkeys-factor = Ihre Passkeys sind Ihr zweiter Faktor (verbleibende Wiederherstellungscodes: { $count }). Auch eine Authenticator-App kann einer sein.
account-passkeys = Passkeys
account-passkeys-text = Ein Passkey meldet Sie mit der Bildschirmsperre dieses Geräts, Ihrem Telefon oder einem Sicherheitsschlüssel an: statt mit Ihrem Passwort oder als zweiter Schritt danach.
account-added = Hinzugefügt
account-last-used = Zuletzt verwendet
# $name: der Name des Passkeys.
account-remove-passkey = Passkey { $name } entfernen
account-remove = Entfernen
account-passkeys-off = Passkeys sind auf diesem Server ausgeschaltet: Dafür muss er über einen Domainnamen erreichbar sein, nicht über eine IP-Adresse.
account-sessions = Angemeldete Browser
account-browser = Browser
account-address = Adresse
account-signed-in = Angemeldet
account-last-seen = Zuletzt gesehen
account-this-browser = dieser Browser
# $name: der Browser (account-browser-at), $when: wann er sich angemeldet hat.
account-sign-out-browser = { $name } abmelden, angemeldet { $when }
# $name: der Browser (account-browser-on-system), $address: seine IP-Adresse.
account-browser-at = { $name } mit der Adresse { $address }
# $name: der Name des Browsers (Firefox), $system: sein Betriebssystem (Linux).
account-browser-on-system = { $name } unter { $system }
account-a-browser = ein Browser
account-unknown = unbekannt
account-never = nie
account-sign-out = Abmelden
account-sign-out-others = Alle anderen Browser abmelden
account-change-password = Ihr Passwort ändern
account-change-password-text = Mindestens 12 Zeichen; einige Wörter, die nichts miteinander zu tun haben, ergeben ein gutes. Jeder andere Browser, in dem Sie angemeldet sind, wird abgemeldet.
account-change-password-button = Passwort ändern
account-new-passwords-differ = Die beiden neuen Passwörter stimmen nicht überein.

## Fehlerseiten
account-error-not-found = Nicht gefunden
# $name: was gesucht wurde, in den Worten des Dienstes (client, user, …).
account-error-not-found-text = Das Gesuchte gibt es hier nicht ({ $name }).
account-error-not-allowed = Nicht erlaubt
account-error-cannot = Das ist nicht möglich
account-error-off = Das ist hier ausgeschaltet
account-error-failed = Etwas ist schiefgelaufen
# $name: der Markenname.
account-error-failed-text = { $name } kann gerade nicht antworten. Versuchen Sie es gleich noch einmal.

## Single sign-on (http/sso.rs)

account-continue-with = Weiter mit { $name }
account-sso-failed = Die Anmeldung hat nicht geklappt
account-sso-sign-in-again = Erneut anmelden
account-password-sso-hint = Mit einer Firmen-E-Mail-Adresse lassen Sie das Passwort leer, um sich über Ihre Firma anzumelden.
account-login-joined-sso = Sie sind der Organisation beigetreten. Sie meldet ihre Mitglieder über ihren Identitätsanbieter an: nutzen Sie „Weiter mit“ ihm oder eine E-Mail-Adresse ihrer Domain ohne Passwort.
