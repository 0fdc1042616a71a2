# admin pages (de). Keys start with "admin-".
