# portal pages (en). Keys start with "portal-".
