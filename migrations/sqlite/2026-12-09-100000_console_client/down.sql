DELETE FROM oauth_clients WHERE client_id = 'auth-console';
