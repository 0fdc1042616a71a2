# account pages (de). Keys start with "account-".
