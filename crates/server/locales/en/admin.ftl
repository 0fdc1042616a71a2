# admin pages (en). Keys start with "admin-".
