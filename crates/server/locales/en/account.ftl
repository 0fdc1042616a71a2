# account pages (en). Keys start with "account-".
