-- Back to one namespace per application. Where an application's user and
-- one of ours share an id (only an application minting our UUID can cause
-- that), our user's row is kept.
DELETE FROM app_users AS a
WHERE a.kind = 'app'
  AND EXISTS (
      SELECT 1 FROM app_users AS o
      WHERE o.kind = 'own' AND o.app_id = a.app_id AND o.user_id = a.user_id
  );

ALTER TABLE app_users DROP CONSTRAINT app_users_pkey;

ALTER TABLE app_users ADD PRIMARY KEY (app_id, user_id);

ALTER TABLE app_users DROP COLUMN kind;
