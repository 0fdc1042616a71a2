# The mail Tessera sends, in English (SPEC §11, §16). { $brand } is the operator's brand name.

mail-reset-subject = Reset your { $brand } password
mail-reset-intro = Someone asked to reset the password of your { $brand } account. To choose a new password, open this link within { $minutes } minutes:
mail-reset-link = Choose a new password
mail-reset-outro = The link works once. If you did not ask for this, ignore this mail: your password stays as it is.

mail-verify-subject = Confirm your email for { $brand }
mail-verify-intro = To confirm that { $email } is your email address for { $brand }, open this link within 24 hours:
mail-verify-link = Confirm { $email }
mail-verify-outro = The link works once. If you did not ask for this, ignore this mail.

mail-invite-subject = Join { $org } on { $brand }
mail-invite-intro = { $inviter } invited you to { $org } on { $brand }, as { $role }. To join, open this link within 7 days:
mail-invite-link = Join { $org }
mail-invite-outro = The link works once. If you do not want to join, ignore this mail.
mail-invite-operator = The operator

## A member's role, as an invitation names it.
mail-role-owner = owner
mail-role-admin = admin
mail-role-member = member
