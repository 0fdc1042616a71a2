# Die E-Mails von Tessera auf Deutsch (SPEC §11, §16). { $brand } ist der Markenname des Betreibers.

mail-reset-subject = Ihr Passwort für { $brand } zurücksetzen
mail-reset-intro = Jemand hat verlangt, das Passwort Ihres Kontos bei { $brand } zurückzusetzen. Um ein neues Passwort zu wählen, öffnen Sie diesen Link innerhalb von { $minutes } Minuten:
mail-reset-link = Neues Passwort wählen
mail-reset-outro = Der Link funktioniert einmal. Wenn Sie das nicht verlangt haben, ignorieren Sie diese E-Mail: Ihr Passwort bleibt, wie es ist.

mail-verify-subject = Bestätigen Sie Ihre E-Mail-Adresse für { $brand }
mail-verify-intro = Um zu bestätigen, dass { $email } Ihre E-Mail-Adresse für { $brand } ist, öffnen Sie diesen Link innerhalb von 24 Stunden:
mail-verify-link = { $email } bestätigen
mail-verify-outro = Der Link funktioniert einmal. Wenn Sie das nicht verlangt haben, ignorieren Sie diese E-Mail.

mail-invite-subject = Treten Sie { $org } bei { $brand } bei
mail-invite-intro = { $inviter } hat Sie zu { $org } bei { $brand } eingeladen, als { $role }. Um beizutreten, öffnen Sie diesen Link innerhalb von 7 Tagen:
mail-invite-link = { $org } beitreten
mail-invite-outro = Der Link funktioniert einmal. Wenn Sie nicht beitreten möchten, ignorieren Sie diese E-Mail.
mail-invite-operator = Der Betreiber

## Die Rolle eines Mitglieds, wie eine Einladung sie nennt.
mail-role-owner = Inhaber
mail-role-admin = Admin
mail-role-member = Mitglied
