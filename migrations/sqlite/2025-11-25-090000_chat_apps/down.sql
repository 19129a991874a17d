DROP TABLE app_users;
DROP TABLE apps;
