DROP TABLE oauth_states;
DROP TABLE social_identities;
