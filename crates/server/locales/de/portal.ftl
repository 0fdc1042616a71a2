# portal pages (de). Keys start with "portal-".
