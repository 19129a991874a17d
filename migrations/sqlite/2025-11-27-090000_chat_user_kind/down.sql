-- Back to one namespace per application. Where an application's user and
-- one of ours share an id (only an application minting our UUID can cause
-- that), our user's row is kept.
CREATE TABLE app_users_old (
    app_id TEXT NOT NULL REFERENCES apps (app_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    nickname TEXT,
    profile_image_url TEXT,
    -- A JSON array of strings.
    friends TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (app_id, user_id)
);

INSERT INTO app_users_old
    (app_id, user_id, nickname, profile_image_url, friends, created_at, updated_at)
SELECT app_id, user_id, nickname, profile_image_url, friends, created_at, updated_at
FROM app_users AS a
WHERE a.kind = 'own'
   OR NOT EXISTS (
       SELECT 1 FROM app_users AS o
       WHERE o.kind = 'own' AND o.app_id = a.app_id AND o.user_id = a.user_id
   );

DROP TABLE app_users;

ALTER TABLE app_users_old RENAME TO app_users;
