# admin pages (de). Keys start with "admin-".
# Die Admin-Seiten der Organisation (Mitglieder, Scopes, Freigaben, Protokoll, Einstellungen),
# Ihre Organisationen und Verbundene Anwendungen. Variablen: { $email } die E-Mail-Adresse einer
# Person, { $name } ein Name, { $when } ein Zeitpunkt, { $count } eine Zahl.

## Gemeinsam für die Seiten der Organisation
admin-actions = Aktionen
admin-save = Speichern
admin-email = E-Mail
admin-role = Rolle
admin-client-id = Client-ID
admin-role-member = Mitglied
admin-role-admin = Admin
admin-role-owner = Inhaber
# Ein Formular ohne gültige Rolle (klein geschrieben: die Seite macht einen Satz daraus).
admin-pick-role = wählen Sie eine Rolle: Mitglied, Admin oder Inhaber

## Mitglieder
admin-members-role-and-permission = Rolle und Berechtigung
admin-members-status = Status
admin-members-service-user = Service-Benutzer
admin-members-you = (Sie)
admin-members-role-of = Rolle von { $email }
admin-members-may-run-as = darf Run-as-Benutzer sein
admin-members-disabled = Gesperrt
admin-members-active = Aktiv
admin-members-enable = Freischalten
admin-members-disable = Sperren
admin-members-enable-who = { $email } freischalten
admin-members-disable-who = { $email } sperren
admin-members-invite-heading = Jemanden einladen
admin-members-invite-help = Ein Link zum Beitreten geht an diese Adresse und gilt 7 Tage. Die eingeladene Person wählt ihr Passwort oder meldet sich an, wenn sie schon ein Konto hat.
admin-members-send-invitation = Einladung senden
# Um den Befehl `tessera user invite` herum.
admin-members-mail-off-before = E-Mail ist auf diesem Server ausgeschaltet, daher können keine Einladungen verschickt werden. Der Betreiber kann mit
admin-members-mail-off-after = { " " }einladen, oder Sie fügen unten ein Mitglied hinzu.
admin-members-waiting-heading = Noch nicht angenommen
# $name: bis wann die Einladung gilt.
admin-members-until = gültig bis { $when }
admin-members-add-heading = Ein Mitglied hinzufügen
admin-members-initial-password = Anfangspasswort
admin-members-initial-password-help = (mindestens 12 Zeichen; leer lassen für einen Service-Benutzer; wer schon ein Konto hat, behält sein eigenes)
admin-members-may-run-as-check = Darf Run-as-Benutzer eines Clients sein (Anwendungen autorisieren)
admin-members-service-check = Service-Benutzer (kein Passwort, kann sich nicht anmelden; dient nur als Run-as-Benutzer)
admin-members-add = Mitglied hinzufügen
# Klein geschrieben: die Seite macht einen Satz daraus.
admin-members-password-needed = geben Sie dem neuen Mitglied ein Anfangspasswort, oder kreuzen Sie Service-Benutzer an

## Scopes
admin-scopes-heading = Scope-Katalog
admin-scopes-intro = Die Clients dieser Organisation registrieren Scopes aus dieser Liste. Einen eingeschränkten Scope dürfen nur Inhaber und Admins vergeben.
admin-scopes-scope = Scope
admin-scopes-who = Wer ihn vergeben darf
admin-scopes-restricted = Inhaber und Admins (eingeschränkt)
admin-scopes-everyone = alle
admin-scopes-unrestrict = Einschränkung aufheben
admin-scopes-restrict = Einschränken
admin-scopes-add-heading = Einen Scope hinzufügen
admin-scopes-name = Name
admin-scopes-restricted-check = Eingeschränkt (nur Inhaber und Admins)
admin-scopes-add = Scope hinzufügen

## Freigaben
admin-approvals-heading = Freigaben von Anwendungen
admin-approvals-intro = Anwendungen, die die Freigabe einer Organisation erfordern, erhalten Tokens für die Mitglieder dieser Organisation erst, wenn sie hier freigegeben sind.
admin-approvals-waiting-heading = Warten auf Ihre Freigabe
admin-approvals-none-waiting = Keine Anwendung wartet: Versucht ein Mitglied, eine Anwendung zu autorisieren, die eine Freigabe braucht, erscheint sie hier.
admin-approvals-application = Anwendung
admin-approvals-registered-by = Registriert von
admin-approvals-scopes = Scopes
admin-approvals-asked = Angefragt
# Nach einem Zeitpunkt: wer angefragt oder wer freigegeben hat.
admin-approvals-by = von { $email }
admin-approvals-times = ({ $count }-mal)
admin-approvals-approve = Freigeben
admin-approvals-approve-name = { $name } freigeben
admin-approvals-reject = Ablehnen
admin-approvals-reject-name = { $name } ablehnen
admin-approvals-approved = Freigegeben
admin-approvals-none-approved = Noch ist keine Anwendung freigegeben.
admin-approvals-withdraw = Zurückziehen
admin-approvals-withdraw-name = Freigabe von { $name } zurückziehen
admin-approvals-by-id-heading = Eine Anwendung über ihre Client-ID freigeben
admin-approvals-no-client = Es gibt keinen Client mit dieser ID.

## Protokoll
admin-audit-actor = Akteur
admin-audit-actor-placeholder = E-Mail oder ID
admin-audit-action = Aktion
admin-audit-action-placeholder = beliebig
admin-audit-client = Client
admin-audit-client-placeholder = Client-ID
admin-audit-from = Von
admin-audit-to = Bis
admin-audit-filter = Filtern
admin-audit-none = Keine Einträge.
admin-audit-when = Zeitpunkt (UTC)
admin-audit-target = Ziel
admin-audit-address = Adresse
admin-audit-detail = Details
admin-audit-older = Ältere Einträge

## Einstellungen
admin-settings-require-mfa = Von jedem Mitglied einen zweiten Faktor verlangen
admin-settings-require-mfa-help = Mitglieder ohne Authenticator-App werden direkt nach der Anmeldung zur Einrichtung geschickt und können bis dahin nichts anderes tun. Schalten Sie dies erst ein, wenn Sie Ihre eigene eingerichtet haben.
admin-settings-mfa-required = Jedes Mitglied muss sich mit einem zweiten Faktor anmelden.
admin-settings-mfa-optional = Mitglieder dürfen sich allein mit ihrem Passwort anmelden; ein zweiter Faktor ist ihnen freigestellt.
admin-settings-owner-only = Nur ein Inhaber darf dies ändern.

## Ihre Organisationen
admin-orgs-heading = Ihre Organisationen
admin-orgs-intro = Sie melden sich einmal als { $email } an und arbeiten jeweils in einer Organisation: Deren Clients, deren Mitglieder und die Tokens, die Sie erhalten, gehören zu ihr.
admin-orgs-disabled = von der Organisation gesperrt
admin-orgs-current = Aktuell
admin-orgs-current-label = { $name }: die Organisation, in der Sie arbeiten
admin-orgs-switch = Wechseln
admin-orgs-switch-to = Zu { $name } wechseln

## Verbundene Anwendungen
admin-connected-heading = Verbundene Anwendungen
admin-connected-intro = Anwendungen, denen Sie die Nutzung Ihres Kontos erlaubt haben. Ein Widerruf beendet ihren Zugriff sofort; beim nächsten Mal fragt die Anwendung Sie erneut.
admin-connected-none = Sie haben noch keiner Anwendung erlaubt, Ihr Konto zu nutzen.
admin-connected-revoke = Zugriff widerrufen
admin-connected-revoke-name = Zugriff von { $name } widerrufen

## Single sign-on on the organization page

admin-settings-sign-in = Anmeldung
admin-settings-require-sso = Mitglieder melden sich über den Identitätsanbieter an
admin-settings-require-sso-help = Die Anmeldung mit Passwort ist für Mitglieder aus; Eigentümer behalten ihr Passwort als Zugang, falls der Anbieter ausfällt.
admin-settings-require-sso-needs = Verbinden Sie zuerst unten einen Identitätsanbieter.
admin-settings-sso-required = Mitglieder melden sich über den Identitätsanbieter der Organisation an.
admin-sso-heading = Single Sign-on
admin-sso-intro = Mitglieder können sich mit dem OpenID Provider Ihrer Firma anmelden (Okta, Entra ID, Google Workspace, Keycloak, …). Die Anmeldeseite Ihrer Anwendungen bietet „Weiter mit“ ihm an.
admin-sso-none = Kein Identitätsanbieter ist verbunden.
admin-sso-name = Name
admin-sso-issuer = Issuer
admin-sso-domains = E-Mail-Domains
admin-sso-no-domains = keine
admin-sso-default-role = Rolle neuer Mitglieder
admin-sso-remove = Trennen
admin-sso-remove-name = { $name } trennen
admin-sso-add-heading = Einen Identitätsanbieter verbinden
admin-sso-register = Tragen Sie dies als Weiterleitungs-URI einer Webanwendung bei Ihrem Anbieter ein:
admin-sso-name-help = Die Anmeldeseite sagt „Weiter mit“ diesem Namen.
admin-sso-client-id = Client-ID beim Anbieter
admin-sso-client-secret = Client-Secret beim Anbieter
admin-sso-domains-operator = E-Mail-Domains (deren Personen sich hier anmelden und bei der ersten Anmeldung Mitglied werden) legt der Betreiber des Servers fest.
admin-sso-add = Verbinden
admin-sso-copy-callback = die Weiterleitungs-URI
