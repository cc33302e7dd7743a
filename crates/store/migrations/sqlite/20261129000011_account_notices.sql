-- PostgreSQL announces changes to accounts and tokens to every server (see the PostgreSQL
-- migration of the same number). An SQLite database has one server, which reads tokens from the
-- database each time: nothing to announce.
SELECT 1;
