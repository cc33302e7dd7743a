-- Every server keeps the accounts behind bearer tokens in memory (store::tokens). Any change to
-- an account, its roles or a token's validity, by motcua or by hand, is announced on the channel
-- `motcua_accounts`, and every server forgets what it kept.
CREATE FUNCTION motcua_accounts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('motcua_accounts', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_changed AFTER UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION motcua_accounts_changed();
CREATE TRIGGER users_truncated AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION motcua_accounts_changed();
CREATE TRIGGER user_roles_changed AFTER INSERT OR UPDATE OR DELETE ON user_roles
    FOR EACH STATEMENT EXECUTE FUNCTION motcua_accounts_changed();
CREATE TRIGGER user_roles_truncated AFTER TRUNCATE ON user_roles
    FOR EACH STATEMENT EXECUTE FUNCTION motcua_accounts_changed();
-- Recording a token's last use is not a change of what it grants.
CREATE TRIGGER api_tokens_changed AFTER UPDATE OF token_hash, user_id, scopes, revoked_at OR DELETE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION motcua_accounts_changed();
CREATE TRIGGER api_tokens_truncated AFTER TRUNCATE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION motcua_accounts_changed();
